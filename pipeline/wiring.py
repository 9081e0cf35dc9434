"""The edges a command needs, built from the workspace: store, WordPress and X clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.config import find_config, load_settings, missing_wordpress_credentials
from pipeline.core.posts import Post
from pipeline.publisher import Echo, Publisher
from pipeline.store import Store
from pipeline.timeutil import utc_now
from pipeline.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    from pipeline.channels.x import XClient
    from pipeline.wordpress import WordPressClient


@dataclass
class Services:
    workspace: Workspace
    store: Store
    wordpress: WordPressClient | None
    x: XClient | None
    clock: Callable[[], datetime]

    def publisher(self, echo: Echo = lambda line: None) -> Publisher:
        return Publisher(
            self.workspace.settings,
            self.workspace.posts,
            self.store,
            self.wordpress,
            self.x,
            clock=self.clock,
            echo=echo,
        )

    def targets(self, refs: Sequence[str]) -> list[Post]:
        return [self.workspace.find(ref) for ref in refs]


def wordpress_client(
    workspace: Workspace, clock: Callable[[], datetime] = utc_now
) -> WordPressClient | None:
    if not workspace.credentials.wordpress.configured:
        return None
    from pipeline.wordpress import WordPressClient, make_http_client

    settings = workspace.settings.wordpress
    http = make_http_client(settings, workspace.credentials.wordpress)
    return WordPressClient.connect(http, settings, workspace.credentials.wordpress, clock=clock)


def x_client(workspace: Workspace) -> XClient | None:
    if not workspace.credentials.x.configured:
        return None
    from pipeline.channels.x import XClient

    return XClient(workspace.credentials.x, workspace.settings.x.api_url)


@contextmanager
def services(
    config: str | None, *, online: bool = True, clock: Callable[[], datetime] = utc_now
) -> Iterator[Services]:
    """Open the workspace with the slugs already published pinned, and the clients."""
    settings = load_settings(find_config(config))
    store = Store.open(settings.db_path, clock)
    wordpress: WordPressClient | None = None
    x: XClient | None = None
    try:
        workspace = load_workspace(settings, store.pinned_slugs())
        wordpress = wordpress_client(workspace, clock) if online else None
        x = x_client(workspace) if online else None
        yield Services(workspace, store, wordpress, x, clock)
    finally:
        if wordpress is not None:
            wordpress.close()
        if x is not None:
            x.close()
        store.close()


def require(value: WordPressClient | None, workspace: Workspace) -> WordPressClient:
    if value is None:
        raise missing_wordpress_credentials(workspace.settings.credentials_path)
    return value
