"""``pipeline check``: problems only the whole workspace shows, and the online logins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.core import schedule
from pipeline.errors import ConfigError, InputError, PipelineError
from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.publisher import ChannelSetup

CHANNEL_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


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
    """Log in to WordPress and every channel. A channel without credentials is not an error:
    its announcements are then recorded as skipped."""
    from pipeline.config import missing_wordpress_credentials
    from pipeline.wiring import channel_setups, close_channels, wordpress_client

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
    setups = channel_setups(workspace)
    try:
        for setup in setups:
            report.append(_channel_report(setup))
    finally:
        close_channels(setups)
    return report


def _channel_report(setup: ChannelSetup) -> Login:
    name = f"{CHANNEL_NAMES[setup.name]} {setup.where}".strip()
    if setup.incomplete is not None:  # bad input: the writer meant to set it up
        return Login(name, ConfigError(setup.incomplete))
    client = setup.client
    if client is None:
        label = CHANNEL_NAMES[setup.name]
        return Login(f"{label}: no credentials; announcements will be recorded as skipped")
    return _try(name, client.whoami)


def _try(what: str, call: Callable[[], str]) -> Login:
    try:
        who = call()
    except PipelineError as exc:
        return Login(what, exc)
    return Login(f"{what}: logged in as {who}")
