"""The one wiring point: the edges a command needs, built from the workspace — the store, the
WordPress client and one :class:`ChannelSetup` per network.

A login made with ``pipeline login x`` or ``pipeline login wordpress.com`` (tokens in the state
folder) is used where the credentials file has no keys for that service: X then posts with the
OAuth 2.0 user token, renewed before it expires, and WordPress.com is reached on its REST root
(``public-api.wordpress.com/wp/v2/sites/SITE``) with the bearer token.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from pipeline.channels.base import ChannelSetup
from pipeline.config import (
    Secret,
    WordPressCredentials,
    WordPressSettings,
    XCredentials,
    find_config,
    load_settings,
    missing_wordpress_credentials,
)
from pipeline.core.announce import X_LIMITS, Limits
from pipeline.core.posts import Post
from pipeline.errors import PipelineError
from pipeline.store import Store
from pipeline.timeutil import utc_now
from pipeline.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import httpx

    from pipeline.auth.oauth2 import Provider
    from pipeline.auth.tokens import TokenManager
    from pipeline.channels.base import Channel
    from pipeline.channels.mastodon import MastodonChannel
    from pipeline.journal import Journal
    from pipeline.publisher import Echo, Freshness, Publisher
    from pipeline.wordpress import WordPressClient

X_LOGIN = "x"
WPCOM_LOGIN = "wordpress.com"


class Services(Struct):
    """The edges a command works through: the store, WordPress and the channels."""

    workspace: Workspace
    store: Store
    wordpress: WordPressClient | None
    channels: list[ChannelSetup]
    clock: Callable[[], datetime]
    freshness: Freshness | None = None  # a running scheduler's: see Freshness

    def journal(self, echo: Echo = lambda line: None) -> Journal:
        from pipeline.journal import Journal

        return Journal(
            self.store,
            clock=self.clock,
            max_attempts=self.workspace.settings.max_attempts,
            echo=echo,
        )

    def publisher(self, echo: Echo = lambda line: None) -> Publisher:
        from pipeline.publisher import Publisher

        return Publisher(
            self.workspace.settings,
            self.workspace.posts,
            self.wordpress,
            self.channels,
            journal=self.journal(echo),
            freshness=self.freshness,
        )

    def targets(self, refs: Sequence[str]) -> list[Post]:
        return [self.workspace.find(ref) for ref in refs]

    def channel(self, name: str) -> Channel | None:
        return next((c.client for c in self.channels if c.name == name), None)


class WordPressAccess(Struct, frozen=True):
    """How this site is reached: its settings (the REST root derived for WordPress.com), the
    credentials to name and redact, and the authentication to send."""

    settings: WordPressSettings
    credentials: WordPressCredentials
    auth: httpx.Auth


def wordpress_access(
    workspace: Workspace, clock: Callable[[], datetime] = utc_now
) -> WordPressAccess | None:
    """A token in credentials.toml, else a saved WordPress.com login, else the application
    password; None when there is nothing to log in with."""
    settings, creds = workspace.settings.wordpress, workspace.credentials.wordpress
    if creds.token is None and logged_in(workspace, WPCOM_LOGIN):
        from pipeline.auth.bearer import BearerAuth
        from pipeline.auth.oauth2 import wordpress_com_api_root

        tokens = token_manager(workspace, wordpress_com_login(workspace))
        root = settings.api_root or wordpress_com_api_root(settings.url)
        app = WordPressCredentials(client_id=creds.client_id, client_secret=creds.client_secret)
        return WordPressAccess(replace(settings, api_root=root), app, BearerAuth(tokens, clock))
    if not creds.configured:
        return None
    from pipeline.wordpress import make_auth

    return WordPressAccess(settings, creds, make_auth(creds))


def wordpress_client(
    workspace: Workspace,
    clock: Callable[[], datetime] = utc_now,
    transport: httpx.BaseTransport | None = None,
    store: Store | None = None,
) -> WordPressClient | None:
    """The site's client; ``transport`` is the one seam tests swap (a fake WordPress). With the
    ``store``, the REST root an earlier command discovered is used without asking again."""
    access = wordpress_access(workspace, clock)
    if access is None:
        return None
    from pipeline.wordpress import WordPressClient, make_http_client

    http = make_http_client(access.settings, access.credentials, transport, auth=access.auth)
    return WordPressClient.connect(
        http, access.settings, access.credentials, clock=clock, memory=store
    )


def announceable(workspace: Workspace, channels: Sequence[ChannelSetup]) -> Workspace:
    """The workspace with the posts whose announcement can never be composed held back (at
    their line, like posts that do not load): the rest of the batch goes on. A channel's own
    template that can never work is bad config: raised, as for any other key."""
    from pipeline.checks import channel_template_problems, post_template_problems

    problems = channel_template_problems(workspace, channels)
    if problems:
        raise problems[0]
    return workspace.holding_back(post_template_problems(workspace, channels))


def channel_setups(
    workspace: Workspace,
    *,
    online: bool = True,
    clock: Callable[[], datetime] = utc_now,
    store: Store | None = None,
) -> list[ChannelSetup]:
    """Every network, with its client when it has credentials (and ``online``). The ``store``
    remembers what a network told us for the offline commands (Mastodon's limits)."""
    return [
        _x_setup(workspace, online, clock),
        _bluesky_setup(workspace, online),
        _mastodon_setup(workspace, online, store),
    ]


def logged_in(workspace: Workspace, name: str) -> bool:
    """Whether `pipeline login NAME` saved tokens in this state folder."""
    from pipeline.auth import token_file

    return token_file(workspace.settings.state_dir, name).exists()


def x_login(workspace: Workspace) -> Provider:
    """X's OAuth 2.0 for this app: ``[x] client_id`` (and ``client_secret`` for a confidential
    client) from the credentials, the endpoints from ``[x] auth_url``/``token_url``."""
    from pipeline.auth.oauth2 import X_AUTHORIZE_URL, X_TOKEN_URL, x_provider

    settings, creds = workspace.settings.x, workspace.credentials.x
    return x_provider(
        creds.client_id or "",
        creds.client_secret,
        authorize_url=settings.auth_url or X_AUTHORIZE_URL,
        token_url=settings.token_url or X_TOKEN_URL,
    )


def wordpress_com_login(workspace: Workspace) -> Provider:
    """WordPress.com's OAuth 2 for this app and site; ``[wordpress] oauth_url`` moves the
    endpoints (``.../authorize`` and ``.../token``)."""
    from pipeline.auth.oauth2 import WPCOM_AUTHORIZE_URL, WPCOM_TOKEN_URL, wordpress_com_provider

    settings, creds = workspace.settings.wordpress, workspace.credentials.wordpress
    base = settings.oauth_url
    return wordpress_com_provider(
        creds.client_id or "",
        creds.client_secret or Secret(""),
        site=settings.url,
        authorize_url=f"{base}/authorize" if base else WPCOM_AUTHORIZE_URL,
        token_url=f"{base}/token" if base else WPCOM_TOKEN_URL,
    )


def token_manager(workspace: Workspace, provider: Provider) -> TokenManager:
    """The saved login of ``provider``, renewed through its token endpoint when it expires."""
    import httpx

    from pipeline.auth.tokens import TokenManager, TokenStore

    store = TokenStore(workspace.settings.state_dir, provider.name)
    # A renewal every two hours at most: no connection is kept open, so none is left to close.
    http = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
    return TokenManager(provider, store, http)


def close_channels(setups: Sequence[ChannelSetup]) -> None:
    for setup in setups:
        if setup.client is not None:
            setup.client.close()


def _x_setup(workspace: Workspace, online: bool, clock: Callable[[], datetime]) -> ChannelSetup:
    settings, creds = workspace.settings.x, workspace.credentials.x
    base = ChannelSetup("x", settings, limits=X_LIMITS, where=settings.api_url)
    # The four OAuth 1.0a keys, else the login (it renews itself), else a static bearer token.
    login = not creds.oauth1 and logged_in(workspace, X_LOGIN)
    if not creds.configured and not login:
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

    if login:  # no keys: the OAuth 2.0 login from `pipeline login x`
        tokens = token_manager(workspace, x_login(workspace))
        client = XClient(
            XCredentials(), settings.api_url, tokens=tokens, clock=clock, timeout=settings.timeout
        )
    else:
        client = XClient(creds, settings.api_url, clock=clock, timeout=settings.timeout)
    return replace(base, client=XChannel(client))


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
            import logging  # `status` and the other offline commands never get here

            logging.getLogger(__name__).warning(
                "Mastodon's limits could not be read (%s); using %s", exc, remembered
            )
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
        store.redactor = workspace.redactor()
        wordpress = wordpress_client(workspace, clock, transport, store) if online else None
        channels = channel_setups(workspace, online=online, clock=clock, store=store)
        workspace = announceable(workspace, channels)
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
