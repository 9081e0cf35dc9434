"""``pipeline check``: problems only the whole workspace shows, and the online logins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.core import schedule
from pipeline.errors import InputError, PipelineError
from pipeline.workspace import Workspace


def offline_problems(workspace: Workspace) -> list[InputError]:
    """Schedule clashes, beyond each post's own checks (announcements included: the workspace
    holds back a post whose announcement cannot be made)."""
    settings = workspace.settings
    _, problems = schedule.resolve(
        workspace.posts, settings.schedule, settings.path, settings.posts_dir
    )
    return [*settings.schedule_problems, *problems]


@dataclass(frozen=True)
class Login:
    """One online check: what was checked, and the error if it failed."""

    what: str
    error: PipelineError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error is not None else 0

    def describe(self) -> str:
        if self.error is None:
            return self.what
        message = self.error.render() if isinstance(self.error, InputError) else str(self.error)
        return f"{self.what}: {message}"


def online_report(workspace: Workspace) -> list[Login]:
    """Log in to WordPress and X. Missing X credentials are not an error: announcements are
    then recorded as skipped."""
    from pipeline.config import missing_wordpress_credentials
    from pipeline.wiring import wordpress_client, x_client

    report: list[Login] = []
    wordpress = wordpress_client(workspace)
    if wordpress is None:
        missing = missing_wordpress_credentials(workspace.settings.credentials_path)
        report.append(Login("WordPress", missing))
    else:
        with wordpress:
            report.append(
                _try(
                    f"WordPress {workspace.settings.wordpress.url}",
                    lambda: str(wordpress.me().get("name", "")),
                )
            )
    x = x_client(workspace)
    if x is None:
        report.append(Login("X: no credentials; announcements will be recorded as skipped"))
    else:
        with x:
            report.append(_try(f"X {workspace.settings.x.api_url}", lambda: "@" + x.me()))
    return report


def _try(what: str, call: Callable[[], str]) -> Login:
    try:
        who = call()
    except PipelineError as exc:
        return Login(what, exc)
    return Login(f"{what}: logged in as {who}")
