"""The one wiring point: the edges a command needs, built from the workspace — the store, the
WordPress client and one :class:`ChannelSetup` per network."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.config import find_config, load_settings, missing_wordpress_credentials
from pipeline.core.announce import X_LIMITS, Limits
from pipeline.core.posts import Post
from pipeline.errors import PipelineError
from pipeline.journal import Journal
from pipeline.publisher import ChannelSetup, Echo, Publisher
from pipeline.store import Store
from pipeline.timeutil import utc_now
from pipeline.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import httpx

    from pipeline.channels.base import Channel
    from pipeline.channels.mastodon import MastodonChannel
    from pipeline.wordpress import WordPressClient

log = logging.getLogger(__name__)


@dataclass
class Services:
    workspace: Workspace
    store: Store
    wordpress: WordPressClient | None
    channels: list[ChannelSetup]
    clock: Callable[[], datetime]

    def journal(self, echo: Echo = lambda line: None) -> Journal:
        return Journal(
            self.store,
            clock=self.clock,
            max_attempts=self.workspace.settings.max_attempts,
            echo=echo,
        )

    def publisher(self, echo: Echo = lambda line: None) -> Publisher:
        return Publisher(
            self.workspace.settings,
            self.workspace.posts,
            self.wordpress,
            self.channels,
            journal=self.journal(echo),
        )

    def targets(self, refs: Sequence[str]) -> list[Post]:
        return [self.workspace.find(ref) for ref in refs]

    def channel(self, name: str) -> Channel | None:
        return next((c.client for c in self.channels if c.name == name), None)


def wordpress_client(
    workspace: Workspace,
    clock: Callable[[], datetime] = utc_now,
    transport: httpx.BaseTransport | None = None,
) -> WordPressClient | None:
    """The site's client; ``transport`` is the one seam tests swap (a fake WordPress)."""
    if not workspace.credentials.wordpress.configured:
        return None
    from pipeline.wordpress import WordPressClient, make_http_client

    settings = workspace.settings.wordpress
    http = make_http_client(settings, workspace.credentials.wordpress, transport)
    return WordPressClient.connect(http, settings, workspace.credentials.wordpress, clock=clock)


def channel_setups(
    workspace: Workspace, *, online: bool = True, store: Store | None = None
) -> list[ChannelSetup]:
    """Every network, with its client when it has credentials (and ``online``). The ``store``
    remembers what a network told us for the offline commands (Mastodon's limits)."""
    return [
        _x_setup(workspace, online),
        _bluesky_setup(workspace, online),
        _mastodon_setup(workspace, online, store),
    ]


def close_channels(setups: Sequence[ChannelSetup]) -> None:
    for setup in setups:
        if setup.client is not None:
            setup.client.close()


def _x_setup(workspace: Workspace, online: bool) -> ChannelSetup:
    settings, creds = workspace.settings.x, workspace.credentials.x
    base = ChannelSetup("x", settings, limits=X_LIMITS, where=settings.api_url)
    if not creds.configured:
        missing = creds.missing()
        if missing:
            return replace(
                base,
                incomplete=f"X credentials incomplete: {', '.join(missing)} missing (fix: add "
                "them to credentials.toml [x] or PIPELINE_X_*, then `pipeline retry POST`)",
            )
        return replace(base, inactive="no X credentials: recorded as skipped")
    if not online:
        return base
    from pipeline.channels.x import XChannel, XClient

    return replace(base, client=XChannel(XClient(creds, settings.api_url)))


def _bluesky_setup(workspace: Workspace, online: bool) -> ChannelSetup:
    from pipeline.channels.settings import BLUESKY_LIMITS

    settings, creds = workspace.settings.bluesky, workspace.credentials.bluesky
    base = ChannelSetup("bluesky", settings, limits=BLUESKY_LIMITS, where=settings.service)
    if not creds.configured:
        missing = creds.missing()
        if missing:
            return replace(
                base,
                incomplete=f"Bluesky credentials incomplete: {', '.join(missing)} missing (fix: "
                "add it to credentials.toml [bluesky] or PIPELINE_BLUESKY_HANDLE / "
                "PIPELINE_BLUESKY_APP_PASSWORD, then `pipeline retry POST --channel bluesky`)",
            )
        return replace(base, inactive="no Bluesky credentials: recorded as skipped")
    if not online:
        return base
    from pipeline.channels.bluesky import BlueskyChannel

    return replace(base, client=BlueskyChannel.connect(settings, creds))


def _mastodon_setup(workspace: Workspace, online: bool, store: Store | None) -> ChannelSetup:
    """Mastodon's limits are the instance's: asked when first needed online and remembered in
    the state, so that an offline plan composes what a publish will send."""
    settings, creds = workspace.settings.mastodon, workspace.credentials.mastodon
    remembered = remembered_limits(store, settings.instance)
    base = ChannelSetup("mastodon", settings, limits=remembered, where=settings.instance)
    if not creds.configured:
        return replace(base, inactive="no Mastodon credentials: recorded as skipped")
    if not online:
        return base
    from pipeline.channels.mastodon import MastodonChannel

    client = MastodonChannel(settings, creds)
    read = _instance_limits(client, store, settings.instance, remembered)
    return replace(base, client=client, limits=None, read_limits=read)


def _limits_key(instance: str) -> str:
    return f"limits:mastodon:{instance}"


def remembered_limits(store: Store | None, instance: str) -> Limits:
    """The limits last read from ``instance``, or Mastodon's defaults (500, URLs as 23)."""
    from pipeline.channels.settings import MASTODON_DEFAULT_LIMITS

    raw = store.meta(_limits_key(instance)) if store is not None else None
    if not raw:
        return MASTODON_DEFAULT_LIMITS
    try:
        known = json.loads(raw)
        return replace(
            MASTODON_DEFAULT_LIMITS,
            max_length=int(known["max_length"]),
            url_length=int(known["url_length"]),
        )
    except (ValueError, TypeError, KeyError):
        return MASTODON_DEFAULT_LIMITS  # unreadable: asked again on the next online run


def _instance_limits(
    client: MastodonChannel, store: Store | None, instance: str, remembered: Limits
) -> Callable[[], Limits]:
    @functools.cache
    def read() -> Limits:
        try:
            limits = client.limits()
        except PipelineError as exc:
            # Posting will meet the same trouble and say so; the plan goes on with the last.
            log.warning("Mastodon's limits could not be read (%s); using %s", exc, remembered)
            return remembered
        if store is not None and limits != remembered:
            value = {"max_length": limits.max_length, "url_length": limits.url_length}
            store.set_meta(_limits_key(instance), json.dumps(value))
        return limits

    return read


@contextmanager
def services(
    config: str | None,
    *,
    online: bool = True,
    clock: Callable[[], datetime] = utc_now,
    transport: httpx.BaseTransport | None = None,
) -> Iterator[Services]:
    """Open the workspace with the slugs already published pinned, and the clients."""
    settings = load_settings(find_config(config))
    store = Store.open(settings.db_path, clock)
    wordpress: WordPressClient | None = None
    channels: list[ChannelSetup] = []
    try:
        workspace = load_workspace(settings, store.pinned_slugs())
        wordpress = wordpress_client(workspace, clock, transport) if online else None
        channels = channel_setups(workspace, online=online, store=store)
        yield Services(workspace, store, wordpress, channels, clock)
    finally:
        if wordpress is not None:
            wordpress.close()
        close_channels(channels)
        store.close()


def require(value: WordPressClient | None, workspace: Workspace) -> WordPressClient:
    if value is None:
        raise missing_wordpress_credentials(workspace.settings.credentials_path)
    return value
