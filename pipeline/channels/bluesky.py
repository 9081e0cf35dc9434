"""Bluesky: each announcement is one ``app.bsky.feed.post`` record, written over XRPC with httpx.

Why not the ``atproto`` SDK: importing it takes about 0.9 s (its generated models), against about
0.12 s for httpx, which the pipeline imports anyway; the six XRPC methods used here are small,
stable lexicons. Measured with ``python -X importtime`` (best of five, 2-core machine).

The post: the composed text with its links and hashtags as facets (UTF-8 byte ranges,
``pipeline.core.richtext``); an external embed, the link card (the permalink, title, excerpt and,
when the item has an image, a thumbnail blob downscaled under the lexicon's 1,000,000 bytes); and
for a thread, reply refs to the root and the parent.

Exactly once: the record key is a TID derived from ``Outgoing.key`` (``record_key``), so a create
repeated after any failure cannot make a second record. The reference PDS answers a key already in
use with a bare ``500 InternalServerError`` rather than a named error, so after any failed or
unanswered create the record is looked up by its key (``getRecord``) and adopted when it is
there. ``post`` of an item already posted therefore returns the existing record, and ``find``
always knows.

Sessions: ``createSession`` with the handle and app password once, ``refreshSession`` when the
PDS answers ``ExpiredToken`` (and a new session when the refresh token is spent too).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import stamina
from msgspec import Struct

from pipeline import __version__
from pipeline.channels.base import Outgoing, Sent
from pipeline.channels.images import fit_under
from pipeline.channels.settings import (
    BLUESKY_LIMITS,
    BlueskyCredentials,
    BlueskySettings,
    secure_url,
)
from pipeline.config import Secret
from pipeline.core.announce import Limits
from pipeline.core.richtext import facets
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    ChannelError,
    PipelineError,
    RateLimited,
)
from pipeline.redact import Redactor
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_now

T = TypeVar("T")
Clock = Callable[[], datetime]
JSON = dict[str, Any]

POST = "app.bsky.feed.post"
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
UPLOAD_BLOB = "com.atproto.repo.uploadBlob"
CREATE_RECORD = "com.atproto.repo.createRecord"
GET_RECORD = "com.atproto.repo.getRecord"
DELETE_RECORD = "com.atproto.repo.deleteRecord"
POST_URL = "https://bsky.app/profile/{did}/post/{rkey}"

THUMB_MAX_BYTES = 1_000_000  # app.bsky.embed.external#external.thumb maxSize
SESSION_ERRORS = ("ExpiredToken", "InvalidToken")
RATE_LIMIT_FALLBACK = timedelta(minutes=5)

# TIDs from keys: 53 bits of microseconds and 10 of clock id, base32-sortable, 13 characters.
# The timestamp part is the key's hash within 2023 (2^44 µs, about 204 days, from 2023-01-01):
# never in the future, and it cannot sort after the writer's own later posts in a repo listing.
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_EPOCH_US = 1_672_531_200_000_000
TID_SPAN_BITS = 44

AUTH_FIX = (
    "check handle and app_password in credentials.toml [bluesky] (or PIPELINE_BLUESKY_HANDLE, "
    "PIPELINE_BLUESKY_APP_PASSWORD); make an app password in Bluesky under Settings, Privacy "
    "and security, App passwords"
)

BLUESKY_RETRIES = RetryPolicy(
    attempts=4, wait_initial=1.0, wait_max=20.0, wait_jitter=1.0, timeout=None
)


def record_key(key: str) -> str:
    """The TID record key of the item with ``key``: the same key always gives the same TID."""
    digest = hashlib.sha256(f"pipeline/bluesky/{key}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    micros = TID_EPOCH_US + (number >> 10) % (1 << TID_SPAN_BITS)
    value = (micros << 10) | (number & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


class BlueskySession(Struct, frozen=True):
    did: str
    handle: str
    access: Secret
    refresh: Secret

    def __repr__(self) -> str:
        return f"BlueskySession(did={self.did!r}, handle={self.handle!r})"


class _XrpcError(Exception):
    """An XRPC error answer: status, the lexicon's error name, its message."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        self.status = response.status_code
        self.error = str(body.get("error") or response.reason_phrase or "Error")
        self.message = str(body.get("message") or self.error)
        self.headers = response.headers
        super().__init__(f"{self.status} {self.error}")


class _NotCreated(Exception):
    """The create failed and the lookup that followed found no record: safe to send again."""


class _Unknown(Exception):
    """The create got no answer and the lookup failed too: the record may or may not exist."""


class BlueskyChannel:
    """One Bluesky account on its PDS."""

    name = "bluesky"

    def __init__(
        self,
        http: httpx.Client,
        settings: BlueskySettings,
        credentials: BlueskyCredentials,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
        session: BlueskySession | None = None,
    ) -> None:
        if not credentials.configured:
            raise AuthError(f"no Bluesky credentials are configured (fix: {AUTH_FIX})")
        self._http = http
        self._service = secure_url(settings.service, "service", "bluesky")
        self._credentials = credentials
        self._retry = retry or BLUESKY_RETRIES
        self._clock = clock
        self._session = session
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls,
        settings: BlueskySettings,
        credentials: BlueskyCredentials,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
    ) -> BlueskyChannel:
        """A channel with its own httpx client (TLS verified, no redirects followed)."""
        secure_url(settings.service, "service", "bluesky")
        http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": f"pipeline/{__version__}", "Accept": "application/json"},
        )
        return cls(http, settings, credentials, retry=retry, clock=clock)

    def __repr__(self) -> str:
        return f"BlueskyChannel(service={self._service!r}, handle={self._credentials.handle!r})"

    @property
    def session(self) -> BlueskySession | None:
        """The current session (to keep between runs, as a secret), if logged in."""
        return self._session

    # -- the Channel interface --

    def limits(self) -> Limits:
        return BLUESKY_LIMITS

    def whoami(self) -> str:
        return self._login().handle

    def post(self, item: Outgoing) -> Sent:
        """Create the post, or adopt the record an earlier attempt left under its key."""
        session = self._login()
        rkey = record_key(item.key)
        record = self._record(item)
        body = {"repo": session.did, "collection": POST, "rkey": rkey, "record": record}
        doing = "posting"

        def attempt() -> Sent:
            try:
                answer = self._authed("POST", CREATE_RECORD, doing, json=body)
            except (httpx.TransportError, _XrpcError) as exc:
                if isinstance(exc, _XrpcError) and exc.status < 500:
                    raise self._failure(exc, doing) from exc
                found = self._lookup_after(rkey, exc)
                if found is None:
                    raise _NotCreated(self._describe(exc)) from exc
                return found
            cid = answer.get("cid")
            if isinstance(cid, str):
                return self._sent(session.did, rkey, cid, record)
            found = self._lookup(rkey)  # created, but the answer is unusable: read it back
            if found is None:
                raise AmbiguousOutcome("Bluesky accepted the post but its answer had no cid")
            return found

        try:
            return self._retrying((_NotCreated, _Unknown), attempt)
        except _NotCreated as exc:
            raise ChannelError(
                f"Bluesky failed the post ({exc}) and no record exists under its key; "
                "it is safe to try again"
            ) from exc
        except _Unknown as exc:
            raise AmbiguousOutcome(
                f"lost the connection to Bluesky while posting ({exc}): the post may or may not "
                "exist; the next attempt looks it up by its key first"
            ) from exc

    def find(self, item: Outgoing, *, attempted_at: datetime | None = None) -> Sent | None:
        """The record under the item's key, if there is one (the PDS always knows, whenever
        the attempt was)."""
        return self._lookup(record_key(item.key))

    def delete(self, sent: Sent) -> None:
        """Delete the post; one that is already gone counts as deleted."""
        did, collection, rkey = _parse_uri(sent.id)
        body = {"repo": did, "collection": collection, "rkey": rkey}
        self._safe("POST", DELETE_RECORD, "deleting the post", json=body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BlueskyChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the record --

    def _record(self, item: Outgoing) -> JSON:
        external: JSON = {"uri": item.link, "title": item.title, "description": item.excerpt}
        if item.image is not None:
            external["thumb"] = self._upload_thumb(item.image)
        record: JSON = {
            "$type": POST,
            "text": item.text,
            "createdAt": _timestamp(self._clock()),
            "embed": {"$type": "app.bsky.embed.external", "external": external},
        }
        found = facets(item.text)
        if found:
            record["facets"] = found
        if item.reply_to is not None:
            record["reply"] = self._reply_refs(item.reply_to)
        return record

    def _upload_thumb(self, image: Path) -> JSON:
        content, mime = fit_under(image, THUMB_MAX_BYTES)
        # An upload that went astray leaves only an unused blob, which the PDS deletes.
        answer = self._safe(
            "POST",
            UPLOAD_BLOB,
            "uploading the card's image",
            content=content,
            headers={"Content-Type": mime},
        )
        blob = answer.get("blob")
        if not isinstance(blob, dict):
            raise ChannelError("Bluesky's answer to the image upload had no blob")
        return blob

    def _reply_refs(self, parent: Sent) -> JSON:
        """Reply refs under ``parent``: its thread's root (itself, if it is the first part)."""
        cid = parent.extra.get("cid")
        root = (parent.extra.get("root_uri"), parent.extra.get("root_cid"))
        if not cid or not all(root):  # recorded without them: ask the PDS
            did, collection, rkey = _parse_uri(parent.id)
            found = self._lookup(rkey, did=did, collection=collection)
            if found is None:
                raise ChannelError(
                    f"the post to reply to ({parent.id}) no longer exists on Bluesky"
                )
            parent = found
            cid, root = parent.extra["cid"], (parent.extra["root_uri"], parent.extra["root_cid"])
        return {
            "root": {"uri": root[0], "cid": root[1]},
            "parent": {"uri": parent.id, "cid": cid},
        }

    def _sent(self, did: str, rkey: str, cid: str, value: Mapping[str, Any]) -> Sent:
        uri = f"at://{did}/{POST}/{rkey}"
        reply = value.get("reply")
        root = reply.get("root") if isinstance(reply, dict) else None
        root_uri, root_cid = (root["uri"], root["cid"]) if isinstance(root, dict) else (uri, cid)
        return Sent(
            id=uri,
            url=POST_URL.format(did=did, rkey=rkey),
            extra={"cid": cid, "rkey": rkey, "root_uri": root_uri, "root_cid": root_cid},
        )

    # -- looking records up --

    def _lookup(self, rkey: str, *, did: str | None = None, collection: str = POST) -> Sent | None:
        repo = did or self._login().did
        params = {"repo": repo, "collection": collection, "rkey": rkey}
        try:
            answer = self._safe(
                "GET", GET_RECORD, "looking up the post", authed=False, params=params
            )
        except ChannelError as exc:
            if exc.code == "RecordNotFound":
                return None
            raise
        value = answer.get("value")
        if not isinstance(value, dict) or not isinstance(answer.get("cid"), str):
            raise ChannelError("Bluesky's answer to getRecord had no record")
        return self._sent(repo, rkey, answer["cid"], value)

    def _lookup_after(self, rkey: str, failure: Exception) -> Sent | None:
        """After a failed create: the record if the create did happen. Raises _Unknown if the
        lookup cannot tell."""
        try:
            return self._lookup(rkey)
        except ChannelError as exc:
            raise _Unknown(f"{self._describe(failure)}; then {exc}") from exc

    # -- sessions --

    def _login(self) -> BlueskySession:
        with self._lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session

    def _create_session(self) -> BlueskySession:
        password = self._credentials.app_password
        assert password is not None  # checked in __init__
        handle = (self._credentials.handle or "").removeprefix("@")  # as people write it
        body = {"identifier": handle, "password": password.reveal()}
        answer = self._safe("POST", CREATE_SESSION, "logging in", authed=False, json=body)
        return _session(answer)

    def _refresh(self, stale: BlueskySession) -> BlueskySession:
        with self._lock:
            if self._session is not stale and self._session is not None:
                return self._session  # another thread refreshed it already
            headers = {"Authorization": f"Bearer {stale.refresh.reveal()}"}
            try:
                answer = self._xrpc(
                    "POST", REFRESH_SESSION, "refreshing the session", headers=headers
                )
                self._session = _session(answer)
            except _XrpcError as exc:
                if exc.error not in SESSION_ERRORS:
                    raise self._failure(exc, "refreshing the session") from exc
                self._session = self._create_session()  # the refresh token is spent too
            return self._session

    def _authed(self, method: str, nsid: str, doing: str, **options: Any) -> JSON:
        """An XRPC call with the access token, refreshed once if the PDS says it expired."""
        session = self._login()
        try:
            return self._xrpc(method, nsid, doing, token=session.access, **options)
        except _XrpcError as exc:
            if exc.status not in (400, 401) or exc.error not in SESSION_ERRORS:
                raise
        session = self._refresh(session)
        return self._xrpc(method, nsid, doing, token=session.access, **options)

    # -- XRPC --

    def _xrpc(
        self,
        method: str,
        nsid: str,
        doing: str,
        *,
        token: Secret | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> JSON:
        sent_headers = dict(headers or {})
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token.reveal()}"
        response = self._http.request(
            method, f"{self._service}/xrpc/{nsid}", headers=sent_headers, **options
        )
        if response.status_code >= 400:
            raise _XrpcError(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise ChannelError(f"Bluesky's answer while {doing} was not JSON") from exc
        if not isinstance(body, dict):
            raise ChannelError(f"Bluesky's answer while {doing} was not a JSON object")
        return body

    def _safe(
        self, method: str, nsid: str, doing: str, *, authed: bool = True, **options: Any
    ) -> JSON:
        """A call safe to repeat: retried after transport and server errors, errors translated."""

        def once() -> JSON:
            try:
                if authed:
                    return self._authed(method, nsid, doing, **options)
                return self._xrpc(method, nsid, doing, **options)
            except _XrpcError as exc:
                if exc.status >= 500:
                    raise _ServerError(exc) from exc
                raise

        try:
            return self._retrying((httpx.TransportError, _ServerError), once)
        except _ServerError as exc:
            raise self._failure(exc.error, doing) from exc
        except _XrpcError as exc:
            raise self._failure(exc, doing) from exc
        except httpx.TransportError as exc:
            raise ChannelError(
                f"could not reach Bluesky at {self._service} while {doing} ({self._describe(exc)})"
            ) from exc

    def _retrying(self, on: tuple[type[Exception], ...], call: Callable[[], T]) -> T:
        r = self._retry
        caller = stamina.RetryingCaller(
            attempts=r.attempts,
            timeout=r.timeout,
            wait_initial=r.wait_initial,
            wait_max=r.wait_max,
            wait_jitter=r.wait_jitter,
        )
        return caller(on, call)

    # -- errors --

    def _failure(self, exc: _XrpcError, doing: str) -> PipelineError:
        detail = self._redact(f"{exc.error}: {exc.message}")
        if exc.status == 401 or (exc.status == 400 and exc.error in SESSION_ERRORS):
            return AuthError(
                f"Bluesky refused the credentials while {doing} ({detail}) (fix: {AUTH_FIX})"
            )
        if exc.status == 429:
            reset_at = _reset_at(exc.headers, self._clock())
            return RateLimited(
                f"Bluesky's rate limit was reached while {doing}; try again after "
                f"{reset_at:%Y-%m-%d %H:%M:%S} UTC",
                reset_at=reset_at,
            )
        return ChannelError(
            f"Bluesky answered {exc.status} while {doing}: {detail}",
            status=exc.status,
            code=exc.error,
        )

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, _XrpcError):
            return self._redact(f"{exc.status} {exc.error}")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return "no connection"
        if isinstance(exc, httpx.TimeoutException):
            return "no answer in time"
        return "the connection was dropped"

    def _redact(self, text: str) -> str:
        values = self._credentials.secrets()
        if self._session is not None:
            values += [self._session.access.reveal(), self._session.refresh.reveal()]
        return Redactor(values)(text)


class _ServerError(Exception):
    """A 5xx answer to a call that is safe to repeat."""

    def __init__(self, error: _XrpcError) -> None:
        super().__init__(str(error))
        self.error = error


def _session(answer: JSON) -> BlueskySession:
    try:
        return BlueskySession(
            did=str(answer["did"]),
            handle=str(answer["handle"]),
            access=Secret(str(answer["accessJwt"])),
            refresh=Secret(str(answer["refreshJwt"])),
        )
    except KeyError as exc:
        raise ChannelError(f"Bluesky's session answer had no {exc.args[0]}") from exc


def _parse_uri(uri: str) -> tuple[str, str, str]:
    """(did, collection, rkey) of an at:// URI."""
    parts = uri.removeprefix("at://").split("/")
    if not uri.startswith("at://") or len(parts) != 3 or not all(parts):
        raise ChannelError(f"not a Bluesky post URI: {quote(uri)}")
    return parts[0], parts[1], parts[2]


def _timestamp(when: datetime) -> str:
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


def _reset_at(headers: httpx.Headers, now: datetime) -> datetime:
    reset = headers.get("ratelimit-reset")
    if reset is not None and reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return now + RATE_LIMIT_FALLBACK
