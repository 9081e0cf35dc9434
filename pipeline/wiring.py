"""The one wiring point: the edges a command needs, built from the workspace — the store, the
WordPress client and one :class:`ChannelSetup` per network."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.config import find_config, load_settings, missing_wordpress_credentials
from pipeline.core.announce import X_LIMITS
from pipeline.core.posts import Post
from pipeline.journal import Journal
from pipeline.publisher import ChannelSetup, Echo, Publisher
from pipeline.store import Store
from pipeline.timeutil import utc_now
from pipeline.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import httpx

    from pipeline.channels.base import Channel
    from pipeline.wordpress import WordPressClient


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


def channel_setups(workspace: Workspace, *, online: bool = True) -> list[ChannelSetup]:
    """Every network, with its client when it has credentials (and ``online``)."""
    return [_x_setup(workspace, online)]


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

    client = XClient(creds, settings.api_url, timeout=settings.timeout)
    return replace(base, client=XChannel(client))


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
        channels = channel_setups(workspace, online=online)
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
