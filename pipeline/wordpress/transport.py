"""Sending requests to WordPress: authentication, retries with backoff, and turning answers that
went wrong into :mod:`pipeline.errors` that say what to do.

Reads and updates are idempotent and retried (429/502/503/504, timeouts, dropped connections) with
backoff through ``stamina``, honouring ``Retry-After``. Creates are retried only when the request
certainly never reached the server or WordPress said 429; any other failure after sending is an
:class:`AmbiguousOutcome`.
"""

from __future__ import annotations

import base64
import email.utils
import html
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx
import stamina

from pipeline import __version__
from pipeline.config import (
    Secret,
    WordPressCredentials,
    WordPressSettings,
    missing_wordpress_credentials,
)
from pipeline.errors import AmbiguousOutcome, AuthError, WordPressError
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_now
from pipeline.wordpress.discovery import require_secure

log = logging.getLogger("pipeline.wordpress")

Clock = Callable[[], datetime]
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# A 500 is often a PHP fatal error that the next try meets again, but a single one (a database
# hiccup) should not cost a publish its 30 s backoff: an idempotent request is sent once more.
RETRY_ONCE_STATUSES = frozenset({500})
RETRY = {"retry": True}  # marks the warnings the journal records as a retry of the step
# Errors raised before a single byte of the request left this machine: safe to resend even a create.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after which an idempotent request is worth sending again.
TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
SNIPPET_CHARS = 200


class _BasicAuth(httpx.Auth):
    """A WordPress application password. The secret is read only when a request is sent."""

    def __init__(self, user: str, password: Secret) -> None:
        self._user = user
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = f"{self._user}:{self._password.reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        yield request

    def __repr__(self) -> str:
        return f"_BasicAuth(user={self._user!r}, password=********)"


class _BearerAuth(httpx.Auth):
    """A WordPress.com OAuth2 token."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(token=********)"


def make_auth(creds: WordPressCredentials) -> httpx.Auth:
    if creds.token is not None:
        return _BearerAuth(creds.token)
    if creds.user is not None and creds.app_password is not None:
        return _BasicAuth(creds.user, creds.app_password)
    raise missing_wordpress_credentials()


def make_http_client(
    settings: WordPressSettings,
    creds: WordPressCredentials,
    transport: httpx.BaseTransport | None = None,
    *,
    auth: httpx.Auth | None = None,
) -> httpx.Client:
    """The client for one site: authenticated (``auth``, else from ``creds``), TLS verified, no
    silent redirects."""
    require_secure(settings.url, settings.allow_insecure_http)
    if settings.api_root is not None:
        require_secure(settings.api_root, settings.allow_insecure_http)
    return httpx.Client(
        auth=auth or make_auth(creds),
        timeout=settings.timeout,
        verify=True,
        transport=transport,
        headers={"User-Agent": f"pipeline/{__version__}", "Accept": "application/json"},
        follow_redirects=False,
    )


class _Retryable(Exception):
    """An answer worth waiting for and asking again (429, 502, 503, 504)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class Transport:
    """One site's HTTP conversation: sends with the right retry rules, counts requests, and
    turns failed answers into errors naming the site, the user and the fix. Thread-safe."""

    def __init__(
        self,
        http: httpx.Client,
        site_url: str,
        user_label: str,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
        redact: Sequence[str] = (),
    ) -> None:
        self.http = http
        self._site = site_url.rstrip("/")
        self._user = user_label
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._redact = tuple(s for s in redact if s)
        self._lock = threading.Lock()
        self.requests_by_method: Counter[str] = Counter()

    def send_idempotent(
        self,
        request: httpx.Request,
        doing: str,
        *,
        follow_redirects: bool = False,
        anonymous: bool = False,
    ) -> httpx.Response:
        """``anonymous`` sends no credentials (a public file, perhaps on another host)."""
        what = f"{request.method} {_route(request.url)}"
        response: httpx.Response | None = None
        try:
            for attempt in self._attempts(self._backoff_hook(what, creates=False)):
                with attempt:
                    response = self._send_once(request, follow_redirects, anonymous)
        except _Retryable as exc:
            return exc.response
        except httpx.TransportError as exc:
            raise WordPressError(
                self.clean(
                    f"could not reach WordPress at {self._site} ({doing}): "
                    f"{_transport_reason(exc)} (fix: check the site is up and reachable from "
                    "here, then run again)"
                )
            ) from exc
        assert response is not None
        return response

    def send_create(self, request: httpx.Request, doing: str) -> httpx.Response:
        what = f"{request.method} {_route(request.url)}"
        response: httpx.Response | None = None
        try:
            for attempt in self._attempts(self._backoff_hook(what, creates=True)):
                with attempt:
                    response = self._send_once(request, follow_redirects=False)
        except _Retryable as exc:
            return self._ambiguous_status(exc.response, doing)
        except NOT_SENT_ERRORS as exc:
            raise WordPressError(
                self.clean(
                    f"could not reach WordPress at {self._site} ({doing}): "
                    f"{_transport_reason(exc)} (fix: check the site is up, then run again)"
                )
            ) from exc
        except httpx.TransportError as exc:
            raise AmbiguousOutcome(
                self.clean(
                    f"{doing}: the request may or may not have reached WordPress "
                    f"({_transport_reason(exc)}); check before trying again"
                )
            ) from exc
        assert response is not None
        if response.status_code >= 500:
            return self._ambiguous_status(response, doing)
        return response

    def _ambiguous_status(self, response: httpx.Response, doing: str) -> NoReturn:
        """A 5xx after a create: WordPress (or a plugin) may have died after saving."""
        if response.status_code == 429:
            self.fail(response, doing)
        reason = _error_text(response) or f"HTTP {response.status_code}"
        raise AmbiguousOutcome(
            self.clean(
                f"{doing}: WordPress failed with {reason}; it may or may not have "
                "been done — check before trying again"
            ),
            status=response.status_code,
            code=_error_code(response),
        )

    def _attempts(self, hook: Callable[[Exception], bool | float]) -> Iterable[stamina.Attempt]:
        policy = self._retry
        return stamina.retry_context(
            on=hook,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        )

    def _send_once(
        self, request: httpx.Request, follow_redirects: bool, anonymous: bool = False
    ) -> httpx.Response:
        self._count(request.method)
        if anonymous:  # auth=None: httpx then sends no Authorization header, nor on redirects
            response = self.http.send(request, follow_redirects=follow_redirects, auth=None)
        else:
            response = self.http.send(request, follow_redirects=follow_redirects)
        for _ in response.history:
            self._count("GET")
        log.debug("%s %s -> %d", request.method, _route(request.url), response.status_code)
        if response.status_code in RETRY_STATUSES | RETRY_ONCE_STATUSES:
            raise _Retryable(response)
        return response

    def _count(self, method: str) -> None:
        with self._lock:
            self.requests_by_method[method] += 1

    def _backoff_hook(self, what: str, *, creates: bool) -> Callable[[Exception], bool | float]:
        """Decide whether (and how long after) ``what`` is sent again, and log it."""

        server_errors = failures = 0

        def hook(exc: Exception) -> bool | float:
            nonlocal server_errors, failures
            failures += 1
            if failures >= self._retry.attempts:
                return False  # stamina asks after the last attempt too: no "retrying" then
            if isinstance(exc, _Retryable) and exc.response.status_code in RETRY_ONCE_STATUSES:
                server_errors += 1
                if creates or server_errors > 1:
                    return False
                log.warning(
                    "%s: WordPress answered HTTP %d; retrying once",
                    what,
                    exc.response.status_code,
                    extra=RETRY,
                )
                return True
            if isinstance(exc, _Retryable):
                return self._status_backoff(exc.response, what, creates)
            if isinstance(exc, NOT_SENT_ERRORS if creates else TRANSIENT_ERRORS):
                log.warning("%s failed (%s); retrying", what, _transport_reason(exc), extra=RETRY)
                return True
            return False

        return hook

    def _status_backoff(self, response: httpx.Response, what: str, creates: bool) -> bool | float:
        status = response.status_code
        if creates and status != 429:
            return False  # a gateway error after a create is an unknown outcome, not a retry
        wait = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        if wait is None:
            log.warning("%s: WordPress answered HTTP %d; retrying", what, status, extra=RETRY)
            return True
        if wait > self._retry.max_retry_after:
            log.warning(
                "%s: WordPress answered HTTP %d and asks to wait %.0fs; giving up",
                what,
                status,
                wait,
            )
            return False
        log.warning(
            "%s: WordPress answered HTTP %d; retrying in %.1fs (Retry-After)",
            what,
            status,
            wait,
            extra=RETRY,
        )
        return wait

    def json(self, response: httpx.Response, doing: str) -> Any:
        """The JSON of a successful answer; PHP notices or HTML instead are an error."""
        try:
            return response.json()
        except ValueError as exc:
            raise WordPressError(
                self.clean(
                    f"WordPress answered {doing} with HTTP {response.status_code} but not JSON: "
                    f"{_snippet(response)!r} (fix: a PHP warning or a plugin is printing into the "
                    "answer; turn off display_errors / WP_DEBUG_DISPLAY on the site)"
                ),
                status=response.status_code,
                code="not_json",
            ) from exc

    def fail(self, response: httpx.Response, doing: str) -> NoReturn:
        status = response.status_code
        if status in (401, 403) or _login_ignored(response):
            raise self._auth_error(response, doing)
        text = _error_text(response)
        if text is None:
            message = (
                f"WordPress answered {doing} with HTTP {status} and no JSON error: "
                f"{_snippet(response)!r}"
            )
        else:
            message = f"WordPress refused {doing}: {text}"
        wait = response.headers.get("Retry-After")
        if status in RETRY_STATUSES and wait:
            message += f" (it asks to wait {wait.strip()}s; try again later)"
        raise WordPressError(self.clean(message), status=status, code=_error_code(response))

    def _auth_error(self, response: httpx.Response, doing: str) -> AuthError:
        what = _error_text(response) or f"HTTP {response.status_code}"
        if response.status_code == 403:
            head = f"WordPress at {self._site} does not let user {self._user!r} do this"
        else:
            head = f"WordPress at {self._site} did not accept the login of user {self._user!r}"
        hint = _auth_hint(response.status_code, _error_code(response))
        return AuthError(self.clean(f"{head} ({doing}): {what}. {hint}"))

    def as_dict(self, data: Any, doing: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.unexpected(doing, data)
        return data

    def as_list(self, data: Any, doing: str) -> list[dict[str, Any]]:
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self.unexpected(doing, data)
        return data

    def unexpected(self, doing: str, data: Any) -> WordPressError:
        shown = repr(data)[:SNIPPET_CHARS]
        return WordPressError(
            self.clean(f"unexpected answer from WordPress {doing}: {shown}"),
            code="unexpected_answer",
        )

    def clean(self, text: str) -> str:
        for secret in self._redact:
            text = text.replace(secret, "********")
        return text


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """The wait a ``Retry-After`` header asks for: delta seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _server_date(response: httpx.Response) -> datetime | None:
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _error_json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and "code" in data else None


def _error_code(response: httpx.Response) -> str | None:
    data = _error_json(response)
    return str(data["code"]) if data is not None else None


def _error_text(response: httpx.Response) -> str | None:
    """WordPress's error JSON as one line: message, parameter details, [code, HTTP status]."""
    data = _error_json(response)
    if data is None:
        return None
    message = html.unescape(re.sub(r"<[^>]+>", "", str(data.get("message", "")))).strip()
    details = data.get("data")
    params = details.get("params") if isinstance(details, dict) else None
    if isinstance(params, dict) and params:
        message += " (" + "; ".join(f"{key}: {value}" for key, value in params.items()) + ")"
    return f"{message} [{data['code']}, HTTP {response.status_code}]"


def _login_ignored(response: httpx.Response) -> bool:
    """A parameter only a logged-in user may use was refused with 401 inside a 400.

    Some WordPress setups do not reject a wrong application password: they serve the request as
    an anonymous visitor, and ``status=any`` or ``context=edit`` then fails as "forbidden".
    """
    error = _error_json(response) or {}
    data = error.get("data")
    details = data.get("details") if isinstance(data, dict) else None
    if not isinstance(details, dict):
        return False
    inner = [d.get("data") for d in details.values() if isinstance(d, dict)]
    return any(isinstance(d, dict) and d.get("status") == 401 for d in inner)


def _auth_hint(status: int, code: str | None) -> str:
    if status == 403:
        return (
            "The user lacks the permission (fix: give the user the Author role or higher — "
            "Editor to create categories — or use another account)."
        )
    wrong = (
        "the application password is wrong or was revoked (fix: create a new one under "
        "Users → Profile → Application Passwords and put it in credentials.toml)"
    )
    unavailable = (
        "application passwords work only over HTTPS unless the site sets "
        "WP_ENVIRONMENT_TYPE to 'local'"
    )
    stripped = (
        "the web server drops the Authorization header before WordPress sees it (fix "
        'for Apache: add `SetEnvIf Authorization "(.*)" HTTP_AUTHORIZATION=$1` to '
        ".htaccess)"
    )
    if code in ("incorrect_password", "invalid_username", "invalid_email"):
        causes = [wrong]
    elif code == "application_passwords_disabled":
        causes = [unavailable, wrong]
    else:  # served as anonymous: the login never arrived or was silently ignored
        causes = [wrong, stripped, unavailable]
    return "Likely: " + "; or ".join(causes) + "."


def _route(url: httpx.URL) -> str:
    route = url.params.get("rest_route")
    return route if route is not None else url.path


def _snippet(response: httpx.Response) -> str:
    return " ".join(response.text.split())[:SNIPPET_CHARS]


def _transport_reason(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
