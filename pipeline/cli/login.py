"""``pipeline login x|wordpress.com``: an OAuth 2.0 login in the browser, kept in the state folder.

The tokens go to ``STATE_DIR/tokens/<service>.json`` (mode 0600) and are never printed; the
publisher renews them by itself (:mod:`pipeline.auth.tokens`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pipeline.cli.app import Context
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from pipeline.auth.oauth2 import Provider, TokenSet
    from pipeline.workspace import Workspace

DEFAULT_PORT = 8765
APPS = {
    "x": (
        "register an app in the X Developer Console (https://console.x.com) with the callback "
        "URL {callback} and OAuth 2.0 on, then set [x] client_id (and client_secret for a "
        "confidential app) in credentials.toml, or PIPELINE_X_CLIENT_ID and "
        "PIPELINE_X_CLIENT_SECRET"
    ),
    "wordpress.com": (
        "create an app at https://developer.wordpress.com/apps/ with the redirect URL "
        "{callback}, then set [wordpress] client_id and client_secret in credentials.toml, or "
        "PIPELINE_WORDPRESS_CLIENT_ID and PIPELINE_WORDPRESS_CLIENT_SECRET"
    ),
}


@click.command()
@click.argument("service", type=click.Choice(sorted(APPS)), metavar="x|wordpress.com")
@click.option(
    "--no-browser",
    is_flag=True,
    help="On a machine without a browser: open the printed address anywhere, then paste back "
    "the address the browser ends on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The port of the callback URL registered with the app: http://127.0.0.1:PORT/callback.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the browser.",
)
@click.pass_obj
def login(obj: Context, service: str, no_browser: bool, port: int, timeout: float) -> None:
    """Log in to X or WordPress.com with OAuth 2.0 in the browser.

    The tokens are kept in the state folder (tokens/SERVICE.json, readable only by you), never
    printed, and renewed by themselves before they expire. X is then announced on with this
    login unless credentials.toml has the four OAuth 1.0a keys; a WordPress.com site is
    published to on public-api.wordpress.com with it, with no application password.

    \b
    Needs the app's client id (and secret) in credentials.toml:
      [x] client_id, client_secret            (X Developer Console, OAuth 2.0)
      [wordpress] client_id, client_secret    (developer.wordpress.com/apps)
    and its callback URL registered as http://127.0.0.1:PORT/callback.
    """
    import httpx

    from pipeline import wiring
    from pipeline.auth.tokens import TokenStore

    workspace = _workspace(obj)
    provider = (
        wiring.x_login(workspace) if service == "x" else wiring.wordpress_com_login(workspace)
    )
    _require_app(provider, workspace, port)
    with httpx.Client() as http:
        tokens = (
            _paste(provider, http, port) if no_browser else _browser(provider, http, port, timeout)
        )
    store = TokenStore(workspace.settings.state_dir, provider.name)
    store.save(tokens)  # before anything else: X's code is spent, the login is this file
    click.echo(f"Saved the {provider.title} login to {store.path} (readable only by you).")
    click.echo(obj.redact(_check(workspace, service)))


def _workspace(obj: Context) -> Workspace:
    """Settings and credentials; a login needs no posts."""
    from pipeline.config import find_config, load_credentials, load_settings
    from pipeline.core.posts import LoadResult
    from pipeline.workspace import Workspace, redactor_for

    settings = load_settings(find_config(obj.config))
    credentials = load_credentials(settings.credentials_path)
    obj.use(redactor_for(settings, credentials))
    return Workspace(settings, credentials, LoadResult((), (), ()))


def _require_app(provider: Provider, workspace: Workspace, port: int) -> None:
    secret_needed = provider.name == "wordpress.com"
    if provider.client_id and (provider.client_secret or not secret_needed):
        return
    callback = f"http://127.0.0.1:{port}/callback"
    raise ConfigError(
        f"no {provider.title} app to log in with",
        path=workspace.settings.credentials_path,
        fix=APPS[provider.name].format(callback=callback),
    )


def _browser(provider: Provider, http: httpx.Client, port: int, timeout: float) -> TokenSet:
    import webbrowser

    from pipeline.auth.oauth2 import login as browser_login
    from pipeline.timeutil import utc_now

    def open_url(url: str) -> None:
        click.echo(f"Open this address in your browser to log in to {provider.title}:")
        click.echo(f"  {url}")
        click.echo(f"Waiting for the browser (up to {timeout:.0f} s)...")
        webbrowser.open(url)  # where there is no browser, the address above is what counts

    return browser_login(
        provider, http, open_url=open_url, clock=utc_now, port=port, timeout=timeout
    )


def _paste(provider: Provider, http: httpx.Client, port: int) -> TokenSet:
    from pipeline.auth.oauth2 import LOOPBACK, exchange_code, parse_callback, start
    from pipeline.timeutil import utc_now

    request = start(provider, f"http://{LOOPBACK}:{port}/callback")
    click.echo(f"Open this address in a browser on any machine to log in to {provider.title}:")
    click.echo(f"  {request.url}")
    click.echo(
        f"After you approve, the browser goes to {request.redirect_uri}?... , which does not "
        "load there. Copy that whole address from the address bar and paste it here."
    )
    answer = click.prompt("Address", prompt_suffix=": ")
    code = parse_callback(provider, answer.strip(), request.state)
    return exchange_code(provider, http, code, request, utc_now())


def _check(workspace: Workspace, service: str) -> str:
    """Use the new login once, as the pipeline will, and say who it is."""
    from pipeline import wiring

    if service == "x":
        from pipeline.channels.x import XClient
        from pipeline.config import XCredentials

        settings, creds = workspace.settings.x, workspace.credentials.x
        tokens = wiring.token_manager(workspace, wiring.x_login(workspace))
        with XClient(XCredentials(), settings.api_url, tokens=tokens) as client:
            who = f"Logged in to X as @{client.me()}."
        if creds.oauth1:
            who += " Note: credentials.toml has X OAuth 1.0a keys; they are used until removed."
        return who
    wordpress = wiring.require(wiring.wordpress_client(workspace), workspace)
    with wordpress:
        me = wordpress.me()
    who = f"Logged in to WordPress.com as {me.get('name', '?')} ({wordpress.api_root.base})."
    if workspace.credentials.wordpress.token is not None:
        who += " Note: credentials.toml has a [wordpress] token; it is used instead until removed."
    return who
