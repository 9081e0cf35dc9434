"""OAuth 2.0 Authorization Code with PKCE (RFC 6749 §4.1, RFC 7636) for X and WordPress.com.

The flow, as ``pipeline login`` runs it::

    with RedirectListener(provider, port) as listener:  # 127.0.0.1, one request
        request = start(provider, listener.redirect_uri) # state + S256 code challenge
        listener.expect(request.state)
        open_url(request.url)                           # the writer's browser
        code = listener.wait(timeout)                   # checks state
    tokens = exchange_code(provider, http, code, request, now)

Without a browser on this machine (``--no-browser`` on a server), print ``request.url``, let the
writer paste the address the browser was sent back to, and read it with ``parse_callback``.

Written on httpx rather than oauthlib/authlib: oauthlib refuses http:// endpoints (the loopback
fakes) unless a process-wide environment variable is set, and both read the wall clock for
expiry, where the pipeline passes ``now`` in. PKCE itself is four lines of RFC 7636 §4.1-4.2.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from msgspec import Struct, field

from pipeline.config import Secret
from pipeline.errors import AuthError, RemoteError
from pipeline.redact import Redactor

if TYPE_CHECKING:  # imported where a request is sent: reading saved logins needs neither
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import httpx

# X (https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code, 2026)
X_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
X_TOKEN_URL = "https://api.x.com/2/oauth2/token"  # noqa: S105 (an address)
X_REVOKE_URL = "https://api.x.com/2/oauth2/revoke"
# Write posts, read the account (tweet.read and users.read are needed by POST /2/tweets and
# GET /2/users/me), upload images, and a refresh token (offline.access), without which the
# access token dies after two hours with no way to renew it.
X_SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")

# WordPress.com (https://developer.wordpress.com/docs/oauth2/): a code-flow token is for one
# blog and does not expire; the newer /oauth2-1/ pair (OAuth 2.1) adds refresh tokens and a
# two-week lifetime. Either works here: the URLs are settings, refresh is used when offered.
WPCOM_AUTHORIZE_URL = "https://public-api.wordpress.com/oauth2/authorize"
WPCOM_TOKEN_URL = "https://public-api.wordpress.com/oauth2/token"  # noqa: S105
WPCOM_API_ROOT = "https://public-api.wordpress.com/wp/v2/sites/{site}"

CALLBACK_PATH = "/callback"
LOOPBACK = "127.0.0.1"  # X accepts 127.0.0.1 callbacks, no longer "localhost"
TOKEN_TIMEOUT = 30.0
SECRET_FIELDS = ("access_token", "refresh_token", "id_token")
SECRET_FORM_FIELDS = ("code", "code_verifier", "refresh_token", "token", "client_secret")


class ClientAuth(StrEnum):
    """How the app proves itself at the token endpoint."""

    BASIC = "basic"  # client_id:client_secret as HTTP Basic (X's confidential clients)
    POST = "post"  # client_id and client_secret in the form (WordPress.com)
    NONE = "none"  # a public client: only client_id in the form (X's native apps)


class Provider(Struct, frozen=True):
    """One OAuth 2.0 service as the pipeline logs in to it."""

    name: str  # "x" | "wordpress.com": names the token file and the login command
    title: str  # "X" | "WordPress.com", for messages
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: Secret | None
    client_auth: ClientAuth
    scopes: tuple[str, ...] = ()
    revoke_url: str | None = None
    extra_params: tuple[tuple[str, str], ...] = ()  # more authorize parameters (WP.com blog=)

    @property
    def login_command(self) -> str:
        return f"pipeline login {self.name}"

    def secrets(self) -> list[str]:
        if self.client_secret is None:
            return []
        secret = self.client_secret.reveal()
        return [secret, _basic(self.client_id, secret)]


def x_provider(
    client_id: str,
    client_secret: Secret | None = None,
    *,
    authorize_url: str = X_AUTHORIZE_URL,
    token_url: str = X_TOKEN_URL,
    revoke_url: str = X_REVOKE_URL,
) -> Provider:
    """X's OAuth 2.0. With a client secret the app is a confidential client (Web App, Automated
    App or bot) and X wants HTTP Basic; without one it is public (Native App) and sends only
    its client_id."""
    return Provider(
        name="x",
        title="X",
        authorize_url=authorize_url,
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        client_auth=ClientAuth.BASIC if client_secret is not None else ClientAuth.NONE,
        scopes=X_SCOPES,
        revoke_url=revoke_url,
    )


def wordpress_com_provider(
    client_id: str,
    client_secret: Secret,
    *,
    site: str | None = None,
    authorize_url: str = WPCOM_AUTHORIZE_URL,
    token_url: str = WPCOM_TOKEN_URL,
) -> Provider:
    """WordPress.com's OAuth 2. Without a scope the token is full access to one blog: ``site``
    (its URL or blog id) preselects it, else the writer picks one on the consent page."""
    return Provider(
        name="wordpress.com",
        title="WordPress.com",
        authorize_url=authorize_url,
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        client_auth=ClientAuth.POST,
        extra_params=(("blog", site),) if site else (),
    )


def wordpress_com_api_root(site_url: str, template: str = WPCOM_API_ROOT) -> str:
    """The ``wp/v2`` root of a WordPress.com site, from its address (or its blog id)."""
    host = urlsplit(site_url).hostname if "//" in site_url else site_url.strip("/")
    if not host:
        raise ValueError(f"{site_url!r} names no site")
    return template.format(site=host)


# ---- tokens ----------------------------------------------------------------------------------


class TokenSet(Struct, frozen=True):
    """What a token endpoint granted. ``extra`` holds the non-secret rest (WP.com's blog_id)."""

    access_token: Secret
    refresh_token: Secret | None = None
    expires_at: datetime | None = None  # None: does not expire (WordPress.com code flow)
    scope: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def expired(self, now: datetime, margin: timedelta = timedelta(0)) -> bool:
        return self.expires_at is not None and now + margin >= self.expires_at

    def secrets(self) -> list[str]:
        return [t.reveal() for t in (self.access_token, self.refresh_token) if t is not None]


def token_set(body: Mapping[str, Any], now: datetime) -> TokenSet:
    """Read a token endpoint's JSON answer (RFC 6749 §5.1); ``expires_in`` counts from ``now``."""
    access = body.get("access_token")
    kind = str(body.get("token_type", "bearer")).lower()
    if not isinstance(access, str) or not access or kind != "bearer":
        raise RemoteError("the token endpoint's answer had no bearer access token")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        expires_at = now + timedelta(seconds=float(expires_in))
    scope = body.get("scope")
    extra = {
        key: str(value)
        for key, value in body.items()
        if key not in (*SECRET_FIELDS, "token_type", "expires_in", "scope")
        and isinstance(value, str | int)
    }
    return TokenSet(
        access_token=Secret(access),
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scope=tuple(scope.split()) if isinstance(scope, str) else (),
        extra=extra,
    )


# ---- the authorize step ----------------------------------------------------------------------


class AuthorizationRequest(Struct, frozen=True):
    """One login attempt: the address to open and what its answer must match."""

    url: str
    state: str
    code_verifier: Secret
    redirect_uri: str

    def __repr__(self) -> str:
        return f"AuthorizationRequest(url=..., redirect_uri={self.redirect_uri!r})"


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(
    provider: Provider,
    redirect_uri: str,
    *,
    state: str | None = None,
    verifier: str | None = None,
) -> AuthorizationRequest:
    """The authorize URL, with a fresh state (CSRF) and PKCE verifier unless given (tests)."""
    state = state or secrets.token_urlsafe(32)
    # 64 random bytes are 86 URL-safe characters: within RFC 7636's 43 to 128.
    verifier = verifier or secrets.token_urlsafe(64)
    params = [
        ("response_type", "code"),
        ("client_id", provider.client_id),
        ("redirect_uri", redirect_uri),
        *([("scope", " ".join(provider.scopes))] if provider.scopes else []),
        ("state", state),
        ("code_challenge", code_challenge(verifier)),
        ("code_challenge_method", "S256"),
        *provider.extra_params,
    ]
    joiner = "&" if "?" in provider.authorize_url else "?"
    # Spaces as %20, as X's documentation writes its scope lists.
    url = provider.authorize_url + joiner + urlencode(params, quote_via=quote)
    return AuthorizationRequest(url, state, Secret(verifier), redirect_uri)


def parse_callback(provider: Provider, answer: str, expected_state: str) -> Secret:
    """The authorization code from the redirect: a full address, or just its query string."""
    query = urlsplit(answer).query if "?" in answer else answer.lstrip("?")
    params = {key: values[0] for key, values in parse_qs(query).items()}
    again = f"run `{provider.login_command}` again"
    if "error" in params:
        why = params.get("error_description") or params["error"]
        raise AuthError(f"{provider.title} did not grant the login: {why} (fix: {again})")
    state = params.get("state", "")
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise AuthError(
            f"the answer to the {provider.title} login did not carry this login's state (an "
            f"old or forged redirect) (fix: {again}, and open only the address it prints)"
        )
    code = params.get("code")
    if not code:
        raise AuthError(f"the answer to the {provider.title} login had no code (fix: {again})")
    return Secret(code)


class RedirectListener:
    """A one-shot HTTP server on 127.0.0.1 that waits for the browser's redirect.

    ``port=0`` takes a free port; X and WordPress.com match the redirect URI exactly, so the
    port registered with the app (e.g. ``http://127.0.0.1:8765/callback``) must be given.
    Nothing is logged: the request line carries the authorization code.
    """

    def __init__(self, provider: Provider, port: int = 0, path: str = CALLBACK_PATH) -> None:
        self._provider = provider
        self._path = path
        self._port = port
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._answer: str | None = None
        self._expected: str | None = None

    def __enter__(self) -> RedirectListener:
        from http.server import HTTPServer  # only a login listens: reading saved tokens does not

        try:
            self._server = HTTPServer((LOOPBACK, self._port), _handler(self))
        except OSError as exc:
            raise AuthError(
                f"cannot listen on {LOOPBACK}:{self._port} for the login's redirect "
                f"({exc.strerror}) (fix: close what uses the port, or register and use another)"
            ) from exc
        self._port = self._server.server_address[1]
        serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
        self._thread = threading.Thread(target=serve, name="login-redirect", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def redirect_uri(self) -> str:
        return f"http://{LOOPBACK}:{self._port}{self._path}"

    def expect(self, state: str) -> None:
        """The state the redirect must carry: set before the browser is sent off."""
        self._expected = state

    def wait(self, timeout: float) -> Secret:
        """The code, once the browser comes back; AuthError on a bad answer or no answer."""
        if self._expected is None:
            raise RuntimeError("expect(state) first")
        if not self._done.wait(timeout):
            raise AuthError(
                f"no answer from the browser within {timeout:.0f} s (fix: run "
                f"`{self._provider.login_command}` again and finish in the browser, or use "
                "--no-browser and paste the address the browser ends on)"
            )
        assert self._answer is not None
        return parse_callback(self._provider, self._answer, self._expected)

    # called from the server thread
    def _receive(self, target: str) -> tuple[int, str]:
        if urlsplit(target).path != self._path or self._done.is_set() or not self._expected:
            return 404, "Not the login's address."
        try:
            parse_callback(self._provider, target, self._expected)
        except AuthError as exc:
            status, page = 400, f"The {self._provider.title} login failed: {exc}"
        else:
            status, page = 200, f"Logged in to {self._provider.title}."
        self._answer = target
        self._done.set()
        return status, page + " You can close this tab and return to the terminal."


def _handler(listener: RedirectListener) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, text = listener._receive(self.path)
            page = f"<!doctype html><title>pipeline</title><p>{html.escape(text)}</p>\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the request line holds the authorization code."""

    return Handler


def login(
    provider: Provider,
    http: httpx.Client,
    *,
    open_url: Callable[[str], object],
    clock: Callable[[], datetime],
    port: int = 0,
    timeout: float = 300.0,
) -> TokenSet:
    """The whole browser login: listen, open the authorize URL, wait, exchange the code."""
    with RedirectListener(provider, port) as listener:
        request = start(provider, listener.redirect_uri)
        listener.expect(request.state)
        open_url(request.url)
        code = listener.wait(timeout)
    # X's authorization code lives 30 seconds: exchange it at once.
    return exchange_code(provider, http, code, request, clock())


# ---- the token endpoint ----------------------------------------------------------------------


def exchange_code(
    provider: Provider,
    http: httpx.Client,
    code: Secret,
    request: AuthorizationRequest,
    now: datetime,
) -> TokenSet:
    form = {
        "grant_type": "authorization_code",
        "code": code.reveal(),
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier.reveal(),
    }
    return token_set(_token_request(provider, http, form, "the login"), now)


def refresh(
    provider: Provider, http: httpx.Client, refresh_token: Secret, now: datetime
) -> TokenSet:
    """A new access token (and, where tokens rotate, a new refresh token: the old one is dead)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
    return token_set(_token_request(provider, http, form, "renewing the login"), now)


def revoke(provider: Provider, http: httpx.Client, token: Secret) -> None:
    """Invalidate a token (``pipeline logout``); a provider without revocation is a no-op."""
    if provider.revoke_url is not None:
        _post(provider, http, provider.revoke_url, {"token": token.reveal()}, "logging out")


def _token_request(
    provider: Provider, http: httpx.Client, form: dict[str, str], doing: str
) -> dict[str, Any]:
    return _post(provider, http, provider.token_url, form, doing)


def _post(
    provider: Provider, http: httpx.Client, url: str, form: dict[str, str], doing: str
) -> dict[str, Any]:
    form = dict(form)
    headers = {"Accept": "application/json"}
    if provider.client_auth is ClientAuth.BASIC:
        assert provider.client_secret is not None
        headers["Authorization"] = "Basic " + _basic(
            provider.client_id, provider.client_secret.reveal()
        )
    else:
        form["client_id"] = provider.client_id
        if provider.client_auth is ClientAuth.POST and provider.client_secret is not None:
            form["client_secret"] = provider.client_secret.reveal()
    response = _send(http, url, form, headers, provider.title, doing)
    secrets = [v for k, v in form.items() if k in SECRET_FORM_FIELDS] + provider.secrets()
    return _answer(provider, response, doing, secrets)


def _send(
    http: httpx.Client,
    url: str,
    form: dict[str, str],
    headers: dict[str, str],
    title: str,
    doing: str,
) -> httpx.Response:
    import httpx
    import stamina

    try:
        # Only a request that never left is repeated: a refresh that reached the server may
        # have rotated the refresh token already.
        for attempt in stamina.retry_context(on=httpx.ConnectError, attempts=3, timeout=30.0):
            with attempt:
                return http.post(url, data=form, headers=headers, timeout=TOKEN_TIMEOUT)
    except httpx.HTTPError as exc:
        raise RemoteError(f"could not reach {title} at {_origin(url)} while {doing}") from exc
    raise AssertionError("unreachable: stamina re-raises the last failure")


def _answer(
    provider: Provider, response: httpx.Response, doing: str, secrets: list[str]
) -> dict[str, Any]:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if response.status_code == 200:
        if not isinstance(body, dict):
            raise RemoteError(f"{provider.title} answered {doing} with something not JSON")
        return body
    detail = Redactor(secrets)(_oauth_error(body) or response.reason_phrase)
    if response.status_code in (400, 401, 403):
        raise AuthError(
            f"{provider.title} refused {doing} ({detail}) (fix: check the app's client id and "
            f"secret, then run `{provider.login_command}` again)"
        )
    raise RemoteError(
        f"{provider.title} answered {response.status_code} while {doing} ({detail})",
        status=response.status_code,
    )


def _oauth_error(body: object) -> str:
    """RFC 6749 §5.2: ``error`` and ``error_description``."""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("error", "error_description") if body.get(k)]
    return ": ".join(parts)


def _basic(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1 form-encodes both before joining them.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return base64.b64encode(pair.encode()).decode("ascii")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
