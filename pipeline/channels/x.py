"""The X client: post, reply, attach an image, delete, on tweepy's v2 client.

Every tweepy and requests error is translated here into ``pipeline.errors``. Posting is the one
write that must happen at most once, so its failures are sorted with care:

* X answered 5xx: nothing was posted (as far as X tells us), so it is retried with backoff.
* The connection could not be opened: nothing was sent, so it is retried too.
* The connection broke or timed out after the request went out: the post may exist. That is
  ``AmbiguousOutcome``, never a blind retry.
* X answered 402 (the account's pay-per-use credits are spent): ``CreditsExhausted``, at once.

With an OAuth 2.0 login (``tokens``), the access token is renewed before it expires and once
after a 401, and the call is then made once more: a 401 means X did not act on it.
"""

from __future__ import annotations

import html
import logging
import mimetypes
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
import stamina
import tweepy
from msgspec import Struct
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.exceptions import MaxRetryError, NewConnectionError

from pipeline.auth.tokens import BearerSource
from pipeline.channels.base import Outgoing, Sent
from pipeline.config import DEFAULT_X_API, Secret, XCredentials
from pipeline.core.announce import X_LIMITS, Limits
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    CannotTell,
    CreditsExhausted,
    DuplicatePost,
    InputError,
    PipelineError,
    RateLimited,
    XError,
)
from pipeline.redact import Redactor
from pipeline.redactlog import RedactingFilter
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_now

# tweepy always talks to this host; a different api_url is reached by rewriting in the adapter.
PUBLIC_API = "https://api.twitter.com"
SAME_AS_PUBLIC = {PUBLIC_API, "https://api.x.com"}  # X's two names for one API
STATUS_URL = "https://x.com/{user}/status/{id}"
RATE_LIMIT_FALLBACK = timedelta(minutes=15)  # X's rate-limit window, when no reset is sent
CONNECT_TIMEOUT = 10.0

OAUTH1_FIX = (
    "check the four OAuth 1.0a keys in credentials.toml [x] or PIPELINE_X_*; the app needs "
    "Read and Write permission; regenerate the access token after changing permissions"
)
BEARER_FIX = (
    "check bearer_token in credentials.toml [x] or PIPELINE_X_BEARER_TOKEN: it must be an "
    "OAuth 2.0 user access token (not the app's bearer token) with the tweet.write scope, "
    "and it may have expired"
)
MISSING_FIX = (
    "set consumer_key, consumer_secret, access_token and access_token_secret (or bearer_token) "
    "in credentials.toml [x] or PIPELINE_X_*"
)
LOGIN_FIX = "run `pipeline login x` again; the app needs the tweet.write and media.write scopes"
CREDITS_FIX = (
    "top up the account's credits (or raise its spending limit) in the X Developer Console at "
    "https://console.x.com, then run `pipeline retry POST`"
)
# X's problem types that mean "these credentials may not do this", not "this request is bad".
PERMISSION_PROBLEMS = ("oauth1-permissions", "client-forbidden", "unsupported-authentication")

T = TypeVar("T")
log = logging.getLogger("pipeline.x")


class Tweet(Struct, frozen=True):
    id: str
    url: str


# How many of the newest posts find_recent reads (X's minimum page is 5; each read is charged).
FIND_RECENT = 10
# X is slower to recover than a WordPress host: wait longer between fewer attempts.
X_RETRIES = RetryPolicy(attempts=4, wait_initial=1.0, wait_max=30.0, wait_jitter=1.0, timeout=None)


class XClient:
    """One X account, through tweepy's v2 client, on OAuth 1.0a or an OAuth 2.0 user token."""

    def __init__(
        self,
        credentials: XCredentials,
        api_url: str = DEFAULT_X_API,
        *,
        timeout: float = 30.0,
        retries: RetryPolicy | None = None,
        tokens: BearerSource | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not credentials.configured and tokens is None:
            raise AuthError(f"no X credentials are configured (fix: {MISSING_FIX})")
        self._api_url = api_url.rstrip("/")
        self._tokens = tokens  # an OAuth 2.0 login, used instead of the keys
        self._clock = clock
        keys = credentials if tokens is None else XCredentials()
        self._oauth1 = keys.oauth1
        self._redact = Redactor(credentials.secrets())
        self._retries = retries or X_RETRIES
        self._username: str | None = None
        self._user_id: str | None = None
        self._client = _tweepy_client(keys)
        self._auth = _upload_auth(keys)
        adapter = _ApiAdapter(self._api_url, timeout=(min(CONNECT_TIMEOUT, timeout), timeout))
        self._client.session.mount(PUBLIC_API + "/", adapter)
        _LIBRARY_LOGS.add(self._redact)

    def __repr__(self) -> str:
        auth = "oauth1" if self._oauth1 else "bearer"
        return f"XClient(api_url={self._api_url!r}, auth={auth!r})"

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.session.close()

    def me(self) -> str:
        """The username the credentials belong to (also proves they work)."""
        body = self._call(lambda: self._client.get_me(user_auth=self._oauth1), "logging in")
        username = _field(body, "username")
        if username is None:
            raise XError("X's answer to /2/users/me had no username")
        self._username, self._user_id = username, _field(body, "id")
        return username

    def post(self, text: str, *, reply_to: str | None = None, image: Path | None = None) -> Tweet:
        """Create a post. Raises AmbiguousOutcome when it may or may not have been created."""
        media_ids = [self._upload(image)] if image is not None else None
        body = self._create(text, reply_to, media_ids)
        tweet_id = _field(body, "id")
        if tweet_id is None:
            raise AmbiguousOutcome("X accepted the post but its answer had no id", status=201)
        return Tweet(id=tweet_id, url=STATUS_URL.format(user=self._username or "i", id=tweet_id))

    def find_recent(self, text: str) -> Tweet | None:
        """The account's own recent post with exactly this text, if its timeline shows it.

        For an interrupted post that X then refused as a duplicate: its id (to thread the next
        part under it) and URL. One read of the newest posts (X charges per post read, so few
        are read); X shows links as t.co links, with the posted URL beside them.
        """
        if self._user_id is None:
            body = self._call(lambda: self._client.get_me(user_auth=self._oauth1), "logging in")
            self._user_id, self._username = _field(body, "id"), _field(body, "username")
        user_id = self._user_id
        answer = self._call(
            lambda: self._client.get_users_tweets(
                user_id,
                max_results=FIND_RECENT,
                tweet_fields=["entities"],
                user_auth=self._oauth1,
            ),
            "looking through the account's recent posts",
        )
        posts = answer.get("data") if isinstance(answer, dict) else None
        for post in posts if isinstance(posts, list) else []:
            if isinstance(post, dict) and _as_posted(post) == _plain(text):
                tweet_id = str(post["id"])
                url = STATUS_URL.format(user=self._username or "i", id=tweet_id)
                return Tweet(id=tweet_id, url=url)
        return None

    def delete(self, tweet_id: str) -> None:
        """Delete a post; one that is already gone counts as deleted."""
        try:
            self._call(
                lambda: self._client.delete_tweet(tweet_id, user_auth=self._oauth1),
                "deleting a post",
            )
        except XError as exc:
            if exc.status != 404:
                raise

    def _create(self, text: str, reply_to: str | None, media_ids: list[str] | None) -> Any:
        server_errors = 0

        def once() -> Any:
            nonlocal server_errors
            try:
                return self._client.create_tweet(
                    text=text,
                    in_reply_to_tweet_id=reply_to,
                    media_ids=media_ids,
                    user_auth=self._oauth1,
                )
            except tweepy.TwitterServerError:
                server_errors += 1
                raise

        try:
            return self._call(once, "posting", write=True)
        except DuplicatePost as exc:
            if not server_errors:
                raise
            # A 5xx can come after X did create the post; the retry then meets its own copy.
            raise AmbiguousOutcome(
                "X answered with a server error, then refused the retry as a duplicate: the "
                "first attempt probably did post; check the account before posting again",
                status=403,
            ) from exc

    def _upload(self, image: Path) -> str:
        content = _read_image(image)
        mime = mimetypes.guess_type(image.name)[0] or "application/octet-stream"

        def once() -> Any:
            response = self._client.session.post(
                f"{PUBLIC_API}/2/media/upload",
                files={"media": (image.name, content, mime)},
                data={"media_category": "tweet_image"},
                auth=self._auth.oauth1,
                headers=self._auth.headers,
            )
            _raise_for_status(response)
            return response.json()

        # An upload that went astray leaves only an unused media id, which X lets expire.
        media_id = _field(self._call(once, "uploading the image"), "id")
        if media_id is None:
            raise XError("X's answer to the media upload had no id")
        return media_id

    def _call(self, call: Callable[[], T], action: str, *, write: bool = False) -> T:
        try:
            try:
                return self._retrying(call, write)
            except tweepy.Unauthorized:
                if self._tokens is None:
                    raise
                rejected = self._bearer_in_use()
                self._use_bearer(self._tokens.after_unauthorized(rejected, self._clock()))
                return self._retrying(call, write)
        except tweepy.HTTPException as exc:
            raise self._http_error(exc, action) from exc
        except requests.RequestException as exc:
            raise self._connection_error(exc, action, write=write) from exc

    def _retrying(self, call: Callable[[], T], write: bool) -> T:
        if self._tokens is not None:
            self._use_bearer(self._tokens.access_token(self._clock()))
        r = self._retries
        caller = stamina.RetryingCaller(
            attempts=r.attempts,
            timeout=r.timeout,
            wait_initial=r.wait_initial,
            wait_max=r.wait_max,
            wait_jitter=r.wait_jitter,
        )
        return caller(_logging(_retry_write if write else _retry_read, r.attempts), call)

    def _use_bearer(self, token: Secret) -> None:
        value = token.reveal()
        if value not in self._redact.secrets:
            self._redact = self._redact.adding([value])
            _LIBRARY_LOGS.add(self._redact)
        self._client.bearer_token = value
        self._auth.headers = {"Authorization": f"Bearer {value}"}

    def _bearer_in_use(self) -> Secret:
        return Secret(str(self._client.bearer_token))

    def _http_error(self, exc: Any, action: str) -> PipelineError:
        status = int(exc.response.status_code)
        detail = self._redact("; ".join(map(str, exc.api_messages)) or str(exc.response.reason))
        fix = OAUTH1_FIX if self._oauth1 else LOGIN_FIX if self._tokens else BEARER_FIX
        if status == 402:
            return CreditsExhausted(
                f"X's pay-per-use credits are exhausted, so nothing was sent while {action} "
                f"({detail}) (fix: {CREDITS_FIX})"
            )
        if isinstance(exc, tweepy.Unauthorized):
            return AuthError(f"X refused the credentials while {action} ({detail}) (fix: {fix})")
        if isinstance(exc, tweepy.TooManyRequests):
            reset_at = _reset_at(exc.reset_time)
            return RateLimited(
                f"X's rate limit was reached while {action}; try again after "
                f"{reset_at:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=reset_at,
            )
        if isinstance(exc, tweepy.Forbidden) and "duplicate content" in detail.lower():
            return DuplicatePost(
                f"X refused the post as a duplicate ({detail})", status=403, code="duplicate"
            )
        if isinstance(exc, tweepy.Forbidden) and _problem_type(exc) in PERMISSION_PROBLEMS:
            return AuthError(
                f"X does not let these credentials do this while {action} ({detail}) (fix: {fix})"
            )
        return XError(f"X answered {status} while {action}: {detail}", status=status)

    def _connection_error(
        self, exc: requests.RequestException, action: str, *, write: bool
    ) -> PipelineError:
        if write and not _certainly_unsent(exc):
            return AmbiguousOutcome(
                f"lost the connection to X while {action} ({_describe(exc)}): the post may or "
                "may not exist; check the account before posting again"
            )
        return XError(f"could not reach X at {self._api_url} while {action} ({_describe(exc)})")


class XChannel:
    """X behind the :class:`~pipeline.channels.base.Channel` interface.

    X cannot look a post up by its text, only list the account's recent posts, so :meth:`find`
    proves a post exists but never that it does not; exactly once rests on re-sending an
    interrupted post with the same text, which X refuses as a duplicate if the first attempt
    went through (:class:`DuplicatePost`). Its id and URL are then read from the timeline.
    """

    name = "x"

    def __init__(self, client: XClient) -> None:
        self.client = client

    def limits(self) -> Limits:
        return X_LIMITS

    def post(self, item: Outgoing) -> Sent:
        reply_to = item.reply_to.id if item.reply_to is not None else None
        tweet = self.client.post(item.text, reply_to=reply_to, image=item.image)
        return Sent(tweet.id, tweet.url)

    def find(self, item: Outgoing, *, attempted_at: datetime | None = None) -> Sent | None:
        """The post of ``item`` if the account's recent posts show it. Not shown proves nothing
        (the timeline may lag, or it scrolled past), so that is ``CannotTell``, whenever the
        attempt was."""
        tweet = self.client.find_recent(item.text)
        if tweet is None:
            raise CannotTell("X's recent posts of the account do not show it")
        return Sent(tweet.id, tweet.url)

    def delete(self, sent: Sent) -> None:
        self.client.delete(sent.id)

    def whoami(self) -> str:
        return "@" + self.client.me()

    def close(self) -> None:
        self.client.close()


class _Auth:
    """How our own requests (the media upload) are signed: OAuth 1.0a or a bearer header."""

    def __init__(self, oauth1: Any = None, headers: dict[str, str] | None = None) -> None:
        self.oauth1 = oauth1
        self.headers = headers or {}

    def __repr__(self) -> str:
        return "_Auth(********)"


def _tweepy_client(credentials: XCredentials) -> Any:
    if credentials.oauth1:
        ck, cs, at, ats = _oauth1_keys(credentials)
        return tweepy.Client(
            consumer_key=ck,
            consumer_secret=cs,
            access_token=at,
            access_token_secret=ats,
            return_type=dict,
            wait_on_rate_limit=False,
        )
    return tweepy.Client(
        bearer_token=_bearer(credentials), return_type=dict, wait_on_rate_limit=False
    )


def _upload_auth(credentials: XCredentials) -> _Auth:
    if credentials.oauth1:
        return _Auth(oauth1=tweepy.OAuth1UserHandler(*_oauth1_keys(credentials)).apply_auth())
    return _Auth(headers={"Authorization": f"Bearer {_bearer(credentials)}"})


def _oauth1_keys(credentials: XCredentials) -> tuple[str, str, str, str]:
    keys = (
        credentials.consumer_key,
        credentials.consumer_secret,
        credentials.access_token,
        credentials.access_token_secret,
    )
    ck, cs, at, ats = (key.reveal() if key else "" for key in keys)
    return ck, cs, at, ats


def _bearer(credentials: XCredentials) -> str:
    return credentials.bearer_token.reveal() if credentials.bearer_token else ""


class _ApiAdapter(HTTPAdapter):
    """Sends requests for the public X API to ``api_url`` instead, always with a timeout.

    tweepy hard-codes https://api.twitter.com. The OAuth signature is computed for that public
    URL before the request reaches the adapter, and an X-compatible server checks it as such.
    """

    def __init__(self, api_url: str, *, timeout: tuple[float, float]) -> None:
        super().__init__()
        # Rewriting to api.x.com would break the signature made for api.twitter.com.
        self._target = None if api_url in SAME_AS_PUBLIC else api_url
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self._target and request.url and request.url.startswith(PUBLIC_API + "/"):
            request.url = self._target + request.url[len(PUBLIC_API) :]
            # The proxies were chosen for the public host; choose again for the real one.
            proxies = get_environ_proxies(request.url)
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self._timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _raise_for_status(response: requests.Response) -> None:
    """Raise tweepy's exception for an error answer, as tweepy does for its own calls."""
    status = response.status_code
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    errors = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
    }
    if status in errors:
        raise errors[status](response)
    if not 200 <= status < 300:
        raise tweepy.HTTPException(response)


def _retry_write(exc: Exception) -> bool:
    """Retry a post only when X certainly did not act on it."""
    if isinstance(exc, tweepy.TwitterServerError):
        return True
    return (
        isinstance(exc, requests.ConnectionError)
        and _certainly_unsent(exc)
        and not isinstance(exc, requests.exceptions.SSLError)
    )


def _retry_read(exc: Exception) -> bool:
    """Reads, deletes and uploads can be repeated safely after any transient failure."""
    if isinstance(exc, tweepy.TwitterServerError):
        return True
    return isinstance(exc, requests.ConnectionError | requests.Timeout) and not isinstance(
        exc, requests.exceptions.SSLError
    )


def _logging(retry: Callable[[Exception], bool], attempts: int) -> Callable[[Exception], bool]:
    """``retry``, saying so when another attempt follows (stamina asks after the last one too):
    the journal records warnings marked ``retry`` as the step's retries."""
    failures = 0

    def decide(exc: Exception) -> bool:
        nonlocal failures
        failures += 1
        again = retry(exc)
        if again and failures < attempts:
            if isinstance(exc, tweepy.HTTPException):
                why = f"X answered HTTP {exc.response.status_code}"
            elif isinstance(exc, requests.RequestException):
                why = f"X: {_describe(exc)} ({type(exc).__name__})"
            else:
                why = f"X: {type(exc).__name__}"
            log.warning("%s; retrying", why, extra={"retry": True})
        return again

    return decide


def _certainly_unsent(exc: requests.RequestException) -> bool:
    """True when the request never left: no connection (refused, unresolved, TLS failed)."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def _describe(exc: requests.RequestException) -> str:
    if _certainly_unsent(exc):
        return "no connection"
    if isinstance(exc, requests.Timeout):
        return "no answer in time"
    if isinstance(exc, requests.JSONDecodeError):
        return "an unreadable answer"
    return "the connection was dropped"


def _problem_type(exc: Any) -> str:
    try:
        problem = exc.response.json().get("type", "")
    except (ValueError, AttributeError):
        return ""
    return str(problem).rsplit("/", 1)[-1]


def _reset_at(reset_time: int | None) -> datetime:
    if reset_time is None:
        return datetime.now(UTC) + RATE_LIMIT_FALLBACK
    return datetime.fromtimestamp(reset_time, UTC)


def _field(body: Any, name: str) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    value = data.get(name) if isinstance(data, dict) else None
    return str(value) if value is not None else None


def _as_posted(post: Mapping[str, Any]) -> str:
    """A post's text as it was sent: X shows links as t.co links and escapes ``&<>``."""
    text = str(post.get("text", ""))
    entities = post.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    for url in urls if isinstance(urls, list) else []:
        if isinstance(url, dict) and url.get("url") and url.get("expanded_url"):
            text = text.replace(str(url["url"]), str(url["expanded_url"]))
    return _plain(html.unescape(text))


def _plain(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _read_image(image: Path) -> bytes:
    try:
        return image.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the image: {exc.strerror}",
            path=image,
            fix="check featured_image in the post's front matter",
        ) from exc


class _LibraryLogs:
    """Masks credentials in library debug logs: tweepy logs the bearer header, oauthlib the keys.
    One filter on those loggers for the process, masking the keys of every client made."""

    LOGGERS = (
        "tweepy.client",
        "requests_oauthlib.oauth1_auth",
        "oauthlib.oauth1.rfc5849",
        "oauthlib.oauth1.rfc5849.signature",
    )

    def __init__(self) -> None:
        self.filter = RedactingFilter()

    def add(self, redactor: Redactor) -> None:
        self.filter.redactor = self.filter.redactor.adding(redactor.secrets)
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self.filter)  # adding it twice is a no-op


_LIBRARY_LOGS = _LibraryLogs()
