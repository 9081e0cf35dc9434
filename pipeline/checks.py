"""``pipeline check``: problems only the whole workspace shows, and the online logins."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from pipeline.config import ENV_KEYS, line_of
from pipeline.core import schedule
from pipeline.core.announce import AnnouncementTooLong, Limits, check_template
from pipeline.core.jetpack import double_announcement_warning, x_accounts
from pipeline.core.posts import predicted_url
from pipeline.errors import ConfigError, InputError, PipelineError, PostError, shown
from pipeline.workspace import Workspace

if TYPE_CHECKING:
    from pipeline.channels.base import ChannelSetup
    from pipeline.core.posts import Post
    from pipeline.wordpress import WordPressClient

CHANNEL_NAMES = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def offline_problems(
    workspace: Workspace, setups: Sequence[ChannelSetup] | None = None
) -> list[InputError]:
    """Schedule clashes and announcement templates that cannot work, beyond each post's checks."""
    settings = workspace.settings
    _, problems = schedule.resolve(
        workspace.posts, settings.schedule, settings.path, settings.posts_dir
    )
    chosen = setups if setups is not None else offline_setups(workspace)
    return [*settings.schedule_problems, *problems, *template_problems(workspace, chosen)]


def template_problems(workspace: Workspace, setups: Sequence[ChannelSetup]) -> list[InputError]:
    """Every announcement template that cannot work: each channel's own and each post's
    ``announce:`` (for every channel, or the channel's entry of a table by channel).

    An unknown placeholder is an error wherever it is. Too long — the template's own words and
    a link over the channel's limit, as that network counts — only where the channel is set up
    (has credentials); the message names the channel, the count and the limit.
    """
    problems: list[InputError] = [*channel_template_problems(workspace, setups)]
    problems += post_template_problems(workspace, setups)
    problems += _partial_x_keys(workspace)
    return problems


def channel_template_problems(
    workspace: Workspace, setups: Sequence[ChannelSetup]
) -> list[ConfigError]:
    settings = workspace.settings
    longest = max(
        (predicted_url(settings.wordpress.url, p.slug) for p in workspace.posts),
        key=len,
        default=predicted_url(settings.wordpress.url, "post"),
    )
    problems = []
    for setup in setups:
        active = setup.inactive is None
        trouble = _template_trouble(setup.settings.template, setup.known_limits(), active, longest)
        if trouble is not None:
            problems.append(
                ConfigError(
                    f"{setup.name}.template: {trouble.message}",
                    path=settings.path,
                    line=line_of(settings.path, "template", setup.name),
                    fix=trouble.fix,
                )
            )
    return problems


def post_template_problems(workspace: Workspace, setups: Sequence[ChannelSetup]) -> list[PostError]:
    """The posts whose announcement on some channel can never be composed, one error each at
    its line: a post's own template, or the channel's with the post's series and part (which
    are never shortened). Publishing holds these posts back, like any post that does not load."""
    settings = workspace.settings
    problems: list[PostError] = []
    reported: set[Path] = set()
    for setup in setups:
        label = CHANNEL_NAMES[setup.name]
        limits = setup.known_limits()
        active = setup.inactive is None
        for post in workspace.posts:
            own = _own_template(post, setup.name)
            template = post.template(setup.name, setup.settings.template)
            if post.path in reported or not template:
                continue
            if own is None and not {"{series}", "{part}"} & set(_placeholders(template)):
                continue  # the channel's template alone: checked once, above
            url = predicted_url(settings.wordpress.url, post.slug)
            try:
                check_template(template, limits, url, series=post.series, part=post.part)
            except AnnouncementTooLong as exc:
                if not active:
                    continue
                trouble: InputError = exc
            except InputError as exc:
                trouble = exc
            else:
                continue
            reported.add(post.path)
            problems.append(_post_problem(post, label, setup.name, trouble, own is not None))
    return problems


@functools.lru_cache(maxsize=256)  # asked of every post and channel; templates are few
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\{[a-z]+\}", template))


def _post_problem(
    post: Post, label: str, channel: str, trouble: InputError, own: bool
) -> PostError:
    if own:
        return PostError(
            f"announce ({label}): {trouble.message}",
            path=post.path,
            line=post.line_of("announce"),
            fix=trouble.fix,
        )
    return PostError(
        f"series {shown(post.series)} with the [{channel}] template: {trouble.message}",
        path=post.path,
        line=post.line_of("series"),
        fix=f"shorten the series name or the [{channel}] template, or give this post its own "
        'announce: "..."',
    )


def _template_trouble(template: str, limits: Limits, active: bool, url: str) -> InputError | None:
    try:
        check_template(template, limits, url)
    except AnnouncementTooLong as exc:
        return exc if active else None
    except InputError as exc:
        return exc
    return None


def _partial_x_keys(workspace: Workspace) -> list[InputError]:
    """Three of X's four OAuth 1.0a keys: the writer meant to set X up, so it is an error here
    (publishing holds the announcements until the key is added, never drops them)."""
    missing = workspace.credentials.x.missing()
    if not missing:
        return []
    path = workspace.settings.credentials_path
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = text.splitlines()
    header = next((n for n, line in enumerate(lines, 1) if line.strip() == "[x]"), None)
    where = f"under [x] in {path.name}" if header else f"in a [x] table in {path.name}"
    add = " and ".join(f'{key} = "..."' for key in missing)
    env = " / ".join(ENV_KEYS[("x", key)] for key in missing)
    given = {1: "one of the four OAuth 1.0a keys is", 2: "two of the four OAuth 1.0a keys are"}.get(
        4 - len(missing), "three of the four OAuth 1.0a keys are"
    )
    return [
        ConfigError(
            f"X credentials incomplete: {', '.join(missing)} missing ({given} set); "
            "announcements on X are held until then",
            path=path,
            line=header,
            fix=f"add {add} {where}, or set {env}; then `pipeline retry POST` for held posts",
        )
    ]


def _own_template(post: Post, channel: str) -> str | None:
    """The template the post itself gives for ``channel``, if any (else the channel's serves)."""
    if isinstance(post.announce, str):
        return post.announce
    if isinstance(post.announce, Mapping):
        chosen = post.announce.get(channel)
        return chosen if isinstance(chosen, str) else None
    return None


def offline_setups(workspace: Workspace) -> list[ChannelSetup]:
    """The channels as an offline command sees them: Mastodon's limits as last read, if this
    site has a state yet (a check does not create one)."""
    from pipeline.store import Store
    from pipeline.wiring import channel_setups

    db = workspace.settings.db_path
    if not db.exists():
        return channel_setups(workspace, online=False)
    store = Store.open(db)
    try:
        return channel_setups(workspace, online=False, store=store)
    finally:
        store.close()


class Login(Struct, frozen=True):
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
    """Log in to WordPress and to every channel with credentials (X, Bluesky, Mastodon). A
    channel without credentials is not an error: its announcements are then recorded as
    skipped. A site whose Jetpack Social shares to X as well gets a warning line. Refused
    credentials are bad input (exit code 2, as when publishing), an unreachable site 1."""
    from pipeline.config import missing_wordpress_credentials
    from pipeline.wiring import channel_setups, close_channels, wordpress_client

    report: list[Login] = []
    setups = channel_setups(workspace)
    try:
        wordpress = wordpress_client(workspace)
        if wordpress is None:
            missing = missing_wordpress_credentials(workspace.settings.credentials_path)
            report.append(Login("WordPress", missing))
        else:
            with wordpress:
                login = _try(
                    f"WordPress {workspace.settings.wordpress.url}",
                    lambda: str(wordpress.me().get("name", "")),
                )
                report.append(login)
                if login.error is None and any(_announces(s) for s in setups if s.name == "x"):
                    report += _jetpack_report(wordpress)
        for setup in setups:
            report.append(_channel_report(setup))
    finally:
        close_channels(setups)
    return report


def _announces(setup: ChannelSetup) -> bool:
    return setup.client is not None or setup.incomplete is not None


def _jetpack_report(wordpress: WordPressClient) -> list[Login]:
    """A warning when Jetpack Social would share new posts on X too (never a failure)."""
    try:
        connections = wordpress.publicize_connections()
    except PipelineError as exc:
        return [Login(f"Jetpack Social: could not read its connections ({exc})")]
    accounts = x_accounts(connections) if connections is not None else ()
    if not accounts:
        return []
    return [Login(f"warning: {double_announcement_warning(accounts)}")]


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
