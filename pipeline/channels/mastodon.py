"""Mastodon: each announcement is one status, through Mastodon.py.

Mastodon.py is imported on first use, not with this module: it costs about 0.18 s (0.09 s of it
requests), which commands that never talk to Mastodon should not pay.

The limits are the instance's own (``/api/v2/instance``: ``max_characters`` and
``characters_reserved_per_url``). The featured image is uploaded through ``/api/v2/media`` with
its alt text; an upload answered 202 is polled until the instance has processed it. Threads use
``in_reply_to_id``; the visibility is the configured one.

Exactly once: every create carries an ``Idempotency-Key`` derived from ``Outgoing.key``, and
Mastodon answers a create repeated with the same key within an hour with the status it made the
first time. So ``post`` may send again after a dropped connection or a server error, and does.
``find`` does not create anything: it looks through the account's own statuses for the one that
links the article (see its docstring for when it cannot tell).
"""

from __future__ import annotations

import functools
import hashlib
import html
import itertools
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import stamina

from pipeline import __version__
from pipeline.channels.base import Outgoing, Sent
from pipeline.channels.images import read_image
from pipeline.channels.settings import (
    MASTODON_DEFAULT_LIMITS,
    VISIBILITIES,
    MastodonCredentials,
    MastodonSettings,
    secure_url,
)
from pipeline.core.announce import Limits
from pipeline.core.lengths import MASTODON_URL_LENGTH
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    CannotTell,
    ChannelError,
    ConfigError,
    PipelineError,
    RateLimited,
)
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_now

if TYPE_CHECKING:
    import requests
    from mastodon import Mastodon

T = TypeVar("T")
Clock = Callable[[], datetime]

# The oldest Mastodon with everything used here: /api/v2/instance (4.0), v2 media, idempotency.
# Telling Mastodon.py the version up front keeps it from asking the deprecated v1 instance.
MINIMUM_VERSION = "4.0.0"
DEFAULT_MAX_CHARACTERS = MASTODON_DEFAULT_LIMITS.max_length
DEFAULT_DESCRIPTION_LIMIT = 1500
FIND_PAGE = 40  # statuses per page, Mastodon's maximum
FIND_PAGES = 5  # how far back find looks: 200 statuses
CLOCK_SKEW = timedelta(minutes=5)  # between this machine and the instance, for find's cutoff
RATE_LIMIT_FALLBACK = timedelta(minutes=5)

AUTH_FIX = (
    "check access_token in credentials.toml [mastodon] (or PIPELINE_MASTODON_ACCESS_TOKEN): an "
    "access token of an application on this instance with the write:statuses and write:media "
    "scopes (Preferences, Development, New application)"
)

MASTODON_RETRIES = RetryPolicy(
    attempts=4, wait_initial=1.0, wait_max=20.0, wait_jitter=1.0, timeout=None
)
# Processing a still image takes seconds; a large one on a busy instance, up to minutes.
MEDIA_WAIT = RetryPolicy(attempts=40, wait_initial=1.0, wait_max=5.0, wait_jitter=0.5, timeout=180)


def idempotency_key(key: str) -> str:
    """The Idempotency-Key header for the item with ``key`` (stable, and no longer than needed)."""
    return "pipeline-" + hashlib.sha256(f"pipeline/mastodon/{key}".encode()).hexdigest()[:40]


class _Transient(Exception):
    """A failure after which the call may be sent again (server error, lost connection)."""

    def __init__(self, error: Exception, *, maybe_sent: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.maybe_sent = maybe_sent


class _StillProcessing(Exception):
    """The instance has not finished processing the uploaded media yet."""


class MastodonChannel:
    """One Mastodon account on its instance."""

    name = "mastodon"

    def __init__(
        self,
        settings: MastodonSettings,
        credentials: MastodonCredentials,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        media_wait: RetryPolicy | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if credentials.access_token is None:
            raise AuthError(f"no Mastodon access token is configured (fix: {AUTH_FIX})")
        if settings.visibility not in VISIBILITIES:
            raise ConfigError(
                f"[mastodon] visibility must be one of {', '.join(VISIBILITIES)}, "
                f"not {settings.visibility!r}",
                fix='e.g. visibility = "public"',
            )
        self._instance_url = secure_url(settings.instance, "instance", "mastodon")
        self._visibility = settings.visibility
        self._token = credentials.access_token
        self._session = session
        self._timeout = timeout
        self._retry = retry or MASTODON_RETRIES
        self._media_wait = media_wait or MEDIA_WAIT
        self._clock = clock
        self._lock = threading.Lock()
        self._api: Mastodon | None = None
        self._configuration: dict[str, Any] | None = None
        self._account: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"MastodonChannel(instance={self._instance_url!r})"

    # -- the Channel interface --

    def limits(self) -> Limits:
        statuses = self._config().get("statuses") or {}
        return Limits(
            max_length=int(statuses.get("max_characters") or DEFAULT_MAX_CHARACTERS),
            counting="mastodon",
            url_length=int(statuses.get("characters_reserved_per_url") or MASTODON_URL_LENGTH),
            network="Mastodon",
        )

    def whoami(self) -> str:
        acct = str(self._me()["acct"])
        host = urlsplit(self._instance_url).netloc
        return acct if "@" in acct else f"{acct}@{host}"

    def post(self, item: Outgoing) -> Sent:
        """Create the status; a create repeated with the same key returns the first status."""
        api = self._client()
        media_ids = [self._upload(item.image, item.image_alt)] if item.image is not None else None
        reply_to = item.reply_to.id if item.reply_to is not None else None
        status = self._call(
            lambda: api.status_post(
                item.text,
                in_reply_to_id=reply_to,
                media_ids=media_ids,
                visibility=self._visibility,
                idempotency_key=idempotency_key(item.key),
            ),
            "posting",
            write=True,
        )
        return _sent(status)

    def find(self, item: Outgoing, *, attempted_at: datetime | None = None) -> Sent | None:
        """The account's status that announces ``item.link``, if any.

        Looks through the newest ``FIND_PAGES`` pages of the account's own statuses for one that
        links the article (in its text or card) and, for a part of a thread, replies to the
        previous part. Found: that status. Not found: None when the whole history was seen, or
        when it reached back past ``attempted_at`` (when the first attempt was sent, if the
        caller knows it); otherwise ``CannotTell``: a longer history may still hold it.
        """
        api = self._client()
        account_id = self._me()["id"]
        cutoff = attempted_at - CLOCK_SKEW if attempted_at is not None else None
        page = self._call(
            lambda: api.account_statuses(account_id, exclude_reblogs=True, limit=FIND_PAGE),
            "looking through the account's posts",
        )
        for pages in itertools.count(1):
            for status in page:
                if _announces(status, item):
                    return _sent(status)
                if cutoff is not None and _created(status) < cutoff:
                    return None
            if len(page) < FIND_PAGE:
                return None  # the account's whole history has been seen
            if pages == FIND_PAGES:
                break
            page = self._call(
                functools.partial(api.fetch_next, page), "looking through the account's posts"
            )
            if not page:
                return None
        raise CannotTell(
            f"Mastodon: no post linking {item.link} among the account's newest "
            f"{FIND_PAGE * FIND_PAGES} posts, and there may be older ones; if it was "
            "announced before those, say so with pipeline retry"
        )

    def delete(self, sent: Sent) -> None:
        """Delete the status; one that is already gone counts as deleted."""
        api = self._client()
        try:
            self._call(lambda: api.status_delete(sent.id), "deleting the post")
        except ChannelError as exc:
            if exc.status != 404:
                raise

    def close(self) -> None:
        if self._api is not None:
            self._api.session.close()

    def __enter__(self) -> MastodonChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the client, the instance, the account --

    def _client(self) -> Mastodon:
        with self._lock:
            if self._api is None:
                from mastodon import Mastodon  # heavy: only once a command talks to Mastodon

                self._api = Mastodon(
                    access_token=self._token.reveal(),
                    api_base_url=self._instance_url,
                    ratelimit_method="throw",  # a rate limit defers the step; never sleep here
                    request_timeout=self._timeout,
                    # "created" applies the version given (it is ignored under "none", and
                    # Mastodon.py would then take the instance for 1.0 and use /api/v1/media).
                    mastodon_version=MINIMUM_VERSION,
                    version_check_mode="created",
                    session=self._session,
                    user_agent=f"pipeline/{__version__}",
                )
            return self._api

    def _config(self) -> dict[str, Any]:
        if self._configuration is None:
            api = self._client()
            instance = self._call(api.instance_v2, "reading the instance's limits")
            self._configuration = dict(instance.get("configuration") or {})
        return self._configuration

    def _me(self) -> dict[str, Any]:
        if self._account is None:
            api = self._client()
            self._account = dict(self._call(api.account_verify_credentials, "logging in"))
        return self._account

    # -- media --

    def _upload(self, image: Path, alt: str) -> str:
        api = self._client()
        content, mime = read_image(image)
        limit = (self._config().get("media_attachments") or {}).get("description_limit")
        description = alt[: int(limit or DEFAULT_DESCRIPTION_LIMIT)] or None
        # An upload that went astray leaves only unattached media, which Mastodon deletes.
        media = self._call(
            lambda: api.media_post(
                content, mime_type=mime, description=description, file_name=image.name
            ),
            "uploading the image",
        )
        if media.get("url") is None:  # 202: processing in the background
            media = self._processed(str(media["id"]))
        return str(media["id"])

    def _processed(self, media_id: str) -> Any:
        api = self._client()

        def check() -> Any:
            media = self._call(lambda: api.media(media_id), "waiting for the image")
            if media.get("url") is None:
                raise _StillProcessing(media_id)
            return media

        w = self._media_wait
        caller = stamina.RetryingCaller(
            attempts=w.attempts,
            timeout=w.timeout,
            wait_initial=w.wait_initial,
            wait_max=w.wait_max,
            wait_jitter=w.wait_jitter,
        )
        try:
            return caller(_StillProcessing, check)
        except _StillProcessing as exc:
            raise ChannelError(
                "Mastodon had not finished processing the image after waiting; try again later"
            ) from exc

    # -- calls and their errors --

    def _call(self, call: Callable[[], T], doing: str, *, write: bool = False) -> T:
        """``call`` retried after server errors and lost connections, errors translated.

        A status create is repeated too: its Idempotency-Key makes the repeat return the first.
        """
        from mastodon import MastodonError

        maybe_sent = False

        def once() -> T:
            nonlocal maybe_sent
            try:
                return call()
            except MastodonError as exc:
                transient = self._transient(exc)
                if transient is None:
                    raise
                maybe_sent = maybe_sent or transient.maybe_sent
                raise transient from exc

        r = self._retry
        caller = stamina.RetryingCaller(
            attempts=r.attempts,
            timeout=r.timeout,
            wait_initial=r.wait_initial,
            wait_max=r.wait_max,
            wait_jitter=r.wait_jitter,
        )
        try:
            return caller(_Transient, once)
        except _Transient as exc:
            if write and maybe_sent:
                raise AmbiguousOutcome(
                    f"Mastodon did not answer while {doing} ({self._describe(exc.error)}): the "
                    "post may or may not exist; posting again within the hour returns it if it "
                    "does"
                ) from exc
            raise ChannelError(
                f"could not reach Mastodon at {self._instance_url} while {doing} "
                f"({self._describe(exc.error)})"
            ) from exc
        except MastodonError as exc:
            raise self._failure(exc, doing) from exc

    def _transient(self, exc: Exception) -> _Transient | None:
        from mastodon import MastodonNetworkError, MastodonServerError

        if isinstance(exc, MastodonServerError):
            return _Transient(exc, maybe_sent=True)
        if isinstance(exc, MastodonNetworkError):
            return _Transient(exc, maybe_sent=not _certainly_unsent(exc))
        return None

    def _failure(self, exc: Exception, doing: str) -> PipelineError:
        from mastodon import (
            MastodonAPIError,
            MastodonIllegalArgumentError,
            MastodonRatelimitError,
            MastodonUnauthorizedError,
        )

        if isinstance(exc, MastodonRatelimitError):
            reset_at = self._reset_at()
            return RateLimited(
                f"Mastodon's rate limit was reached while {doing}; try again after "
                f"{reset_at:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=reset_at,
            )
        status, message = _api_error(exc) if isinstance(exc, MastodonAPIError) else (None, "")
        detail = self._redact(message or str(exc))
        if isinstance(exc, MastodonUnauthorizedError) or status == 403:
            return AuthError(
                f"Mastodon refused the access token while {doing} ({detail}) (fix: {AUTH_FIX})"
            )
        if isinstance(exc, MastodonIllegalArgumentError):
            return ChannelError(f"Mastodon.py refused the request while {doing}: {detail}")
        where = f"answered {status}" if status else "failed"
        return ChannelError(f"Mastodon {where} while {doing}: {detail}", status=status)

    def _reset_at(self) -> datetime:
        # Mastodon.py read X-RateLimit-Reset and moved it by the server's clock offset (Date).
        reset = self._api.ratelimit_reset if self._api is not None else None
        if reset:
            return datetime.fromtimestamp(float(reset), UTC)
        return self._clock() + RATE_LIMIT_FALLBACK

    def _describe(self, exc: Exception) -> str:
        from mastodon import MastodonNetworkError

        if isinstance(exc, MastodonNetworkError):
            return "no connection" if _certainly_unsent(exc) else "the connection was lost"
        status, message = _api_error(exc)
        return self._redact(f"{status} {message}".strip())

    def _redact(self, text: str) -> str:
        return text.replace(self._token.reveal(), "********")


def _api_error(exc: Exception) -> tuple[int | None, str]:
    """(HTTP status, Mastodon's error text) of a Mastodon.py API error."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else None
    message = args[3] if len(args) > 3 and isinstance(args[3], str) else ""
    return status, message


def _certainly_unsent(exc: Exception) -> bool:
    """True when the request never left: no connection could be made."""
    import requests
    from urllib3.exceptions import NewConnectionError

    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, requests.ConnectTimeout):
        return True
    reason = cause.args[0] if isinstance(cause, requests.ConnectionError) and cause.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, NewConnectionError)


def _sent(status: Any) -> Sent:
    url = status.get("url")
    return Sent(id=str(status["id"]), url=str(url) if url else None)


def _announces(status: Any, item: Outgoing) -> bool:
    """Whether ``status`` is this item's announcement: it links the article (and replies where
    the item does)."""
    if status.get("reblog"):
        return False
    card = status.get("card") or {}
    content = str(status.get("content") or "")
    # Linked (the usual case), or as plain text where Mastodon does not make it a link (a
    # host it does not take for a domain, such as an IP address).
    linked = (
        f'href="{html.escape(item.link)}"' in content
        or re.search(re.escape(html.escape(item.link, quote=False)) + r"(?=[\s<]|$)", content)
        or card.get("url") == item.link
    )
    if not linked:
        return False
    return item.reply_to is None or str(status.get("in_reply_to_id")) == item.reply_to.id


def _created(status: Any) -> datetime:
    created = status.get("created_at")
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(created).replace("Z", "+00:00"))
