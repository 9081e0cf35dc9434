"""A fake Mastodon instance on loopback: a real HTTP server that checks what Mastodon checks.

In the shapes of mastodon/mastodon (Api::V1::StatusesController, PostStatusService,
StatusLengthValidator, Api::V2::MediaController, the RateLimitHeaders concern and rack-attack's
throttled responder), so that the real Mastodon.py client can be run against it:

* ``GET /api/v2/instance`` (``configuration.statuses.max_characters``,
  ``characters_reserved_per_url``, media limits) and the deprecated ``/api/v1/instance``, which
  answers with a ``Deprecation`` header as Mastodon 4.3+ does.
* ``GET /api/v1/accounts/verify_credentials``; ``GET /api/v1/accounts/:id/statuses`` newest first,
  paginated with ``Link`` headers (``max_id``).
* ``POST /api/v1/statuses`` (form or JSON): the ``Idempotency-Key`` header replays the status made
  with the same key for an hour (Redis ``setex 3600`` in Mastodon); the length rule counts
  extended grapheme clusters of spoiler text plus text, each URL with a scheme as
  ``characters_reserved_per_url`` and ``@user@domain`` as ``@user``; ``in_reply_to_id`` must
  exist (404 otherwise); media must be the account's own, unattached and processed.
* ``POST /api/v2/media``: 200 when processed at once (still images, as in Mastodon), or, with
  ``processing_polls`` set, 202 with ``url: null`` and then ``GET /api/v1/media/:id`` answering 206
  until processed, then 200. Alt text (``description``) up to the instance's limit.
* ``GET`` and ``DELETE /api/v1/statuses/:id``.
* Errors as Mastodon's ``{"error": "..."}``: 401 "The access token is invalid", 403 for a token
  without the scope, 404 "Record not found", 422 "Validation failed: ...".
* ``X-RateLimit-Limit/-Remaining/-Reset`` (ISO 8601) on every authenticated answer; 429 "Too many
  requests". Statuses: 300 per 3 hours; media: 30 per 30 minutes; the rest 300 per 5 minutes.

In tests: the ``fake_mastodon`` fixture yields a started ``FakeMastodon``; ``.url`` is the
``instance`` and ``.credentials()`` the access token it accepts. Standalone::

    python -m tests.fakemastodon --port 8092 [--access-token T]
"""

from __future__ import annotations

import hmac
import html
import itertools
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import regex

from pipeline.channels.settings import MastodonCredentials
from pipeline.config import Secret
from pipeline.core.twittertext import twitter_text
from tests.fakehttp import (
    LoopbackFake,
    Window,
    as_json,
    first,
    form_fields,
    run_standalone,
    standalone_parser,
)
from tests.fakex import Answer, Incoming, JSONDict, multipart

# Through the shim: twitter-text imports pkg_resources, which Python 3.12+ venvs do not have.
extract_urls_with_indices = twitter_text().extract_urls_with_indices

DEFAULT_TOKEN = "fakeMastodonAccessToken-0123456789abcdefghijklmnopq"
ACCOUNT_ID = "109876543210987654"
VERSION = "4.5.2"
IDEMPOTENCY_SECONDS = 3600
MAX_MEDIA = 4
DESCRIPTION_LIMIT = 1500
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
VISIBILITIES = ("public", "unlisted", "private", "direct")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/avif")
LIMITS = {  # window name -> (limit, period in seconds)
    "POST /api/v1/statuses": (300, 3 * 60 * 60),
    "POST /api/v2/media": (30, 30 * 60),
    "api": (300, 5 * 60),
}
DEPRECATED_SINCE = 1668384000  # 2022-11-14, deprecate_api on Api::V1::InstancesController

INVALID_TOKEN = {"error": "The access token is invalid"}
OUT_OF_SCOPE = {"error": "This action is outside the authorized scopes"}
NOT_FOUND = {"error": "Record not found"}
TOO_MANY = {"error": "Too many requests"}
REPLY_MISSING = {"error": "The post you are trying to reply to does not appear to exist."}
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
STATUS_TEXT = {
    500: "We're sorry, but something went wrong on our end.",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

ROUTES = (
    ("GET", re.compile(r"/api/v2/instance/?"), "GET /api/v2/instance"),
    ("GET", re.compile(r"/api/v1/instance/?"), "GET /api/v1/instance"),
    (
        "GET",
        re.compile(r"/api/v1/accounts/verify_credentials/?"),
        "GET /api/v1/accounts/verify_credentials",
    ),
    (
        "GET",
        re.compile(r"/api/v1/accounts/(?P<id>\d+)/statuses/?"),
        "GET /api/v1/accounts/:id/statuses",
    ),
    ("POST", re.compile(r"/api/v1/statuses/?"), "POST /api/v1/statuses"),
    ("GET", re.compile(r"/api/v1/statuses/(?P<id>\d+)/?"), "GET /api/v1/statuses/:id"),
    ("DELETE", re.compile(r"/api/v1/statuses/(?P<id>\d+)/?"), "DELETE /api/v1/statuses/:id"),
    ("POST", re.compile(r"/api/v2/media/?"), "POST /api/v2/media"),
    ("GET", re.compile(r"/api/v1/media/(?P<id>\d+)/?"), "GET /api/v1/media/:id"),
)
SCOPES = {  # endpoint -> the scopes that allow it (besides the top-level "read"/"write")
    "GET /api/v1/accounts/verify_credentials": ("read", "read:accounts", "profile"),
    "POST /api/v1/statuses": ("write", "write:statuses"),
    "DELETE /api/v1/statuses/:id": ("write", "write:statuses"),
    "POST /api/v2/media": ("write", "write:media"),
    "GET /api/v1/media/:id": ("write", "write:media"),
}
PUBLIC = {
    "GET /api/v2/instance",
    "GET /api/v1/instance",
    "GET /api/v1/accounts/:id/statuses",
    "GET /api/v1/statuses/:id",
}

# Mastodon's own rules, written out again here on purpose: sharing them with the code under
# test would let a mistake in one hide in the other.
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", regex.IGNORECASE
)
_HASHTAG = regex.compile(r"(?<![=/)\w])#(\w*[^\W\d_]\w*)")


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return endpoint, match.groupdict()
    return None


def validation_failed(*messages: str) -> Answer:
    return Answer(422, {"error": "Validation failed: " + ", ".join(messages)})


def countable_length(text: str, spoiler: str, per_url: int) -> int:
    """StatusLengthValidator: graphemes, URLs as ``per_url`` characters, mentions as @user."""
    pieces: list[tuple[int, int, str]] = [
        (u["indices"][0], u["indices"][1], "x" * per_url)
        for u in extract_urls_with_indices(text, extract_urls_without_protocol=False)
    ]
    pieces += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    out, at = [], 0
    for start, end, replacement in sorted(pieces):
        if start >= at:
            out += [text[at:start], replacement]
            at = end
    out.append(text[at:])
    return len(regex.findall(r"\X", spoiler + "".join(out)))


def iso(when: float) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class FakeMastodon(LoopbackFake):
    """A fake Mastodon instance with one account. See the module docstring."""

    thread_name = "fakemastodon"
    default_endpoint = "POST /api/v1/statuses"

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        scopes: tuple[str, ...] = ("read", "write"),
        username: str = "writer",
        max_characters: int = 500,
        url_length: int = 23,
        processing_polls: int = 0,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.access_token = access_token
        self.scopes = scopes
        self.username = username
        self.max_characters = max_characters
        self.url_length = url_length
        self.processing_polls = processing_polls  # media answers 202/206 this many times first
        self.statuses: list[JSONDict] = []
        self.media: dict[str, JSONDict] = {}
        self._idempotency: dict[str, tuple[str, float]] = {}
        self._sequence = itertools.count(1)

    def credentials(self) -> MastodonCredentials:
        return MastodonCredentials(access_token=Secret(self.access_token))

    # -- for tests --

    def live_statuses(self) -> list[JSONDict]:
        return [s for s in self.statuses if not s["deleted"]]

    def state(self) -> JSONDict:
        media = [{k: v for k, v in m.items() if k != "content"} for m in self.media.values()]
        return {"statuses": self.statuses, "media": media, "requests": self.requests}

    def seed_statuses(
        self, count: int, *, at: float | None = None, text: str = "Another post"
    ) -> None:
        """Statuses the account wrote at ``at`` (default: now), for finding in a long history."""
        with self._lock:
            for n in range(count):
                self._store_status(f"{text} {n}", {}, None, [], at=at)

    # -- LoopbackFake --

    def endpoint(self, incoming: Incoming) -> str | None:
        found = route(incoming.method, incoming.path)
        return found[0] if found else None

    def error(self, status: int) -> JSONDict:
        return {"error": STATUS_TEXT.get(status, "Error")}

    def serve(self, incoming: Incoming, endpoint: str | None) -> Answer:
        found = route(incoming.method, incoming.path)
        if endpoint is None or found is None:
            return Answer(404, {"error": "Not Found"})
        params = found[1]
        authed = self._token_ok(incoming)
        if endpoint not in PUBLIC:
            if not authed:
                return self._unauthorized()
            if not any(scope in self.scopes for scope in SCOPES.get(endpoint, ("read",))):
                return Answer(403, OUT_OF_SCOPE)
        elif incoming.header("Authorization") and not authed:
            return self._unauthorized()  # a bad token is refused even where none is needed
        window = LIMITS.get(endpoint, LIMITS["api"])
        taken = self.take(endpoint if endpoint in LIMITS else "api", *window)
        if taken is None:
            answer = Answer(429, TOO_MANY)
            taken = self.window(endpoint if endpoint in LIMITS else "api", *window)
        else:
            answer = self._act(endpoint, params, incoming)
        if authed:
            answer.headers.update(self._rate_headers(taken))
        return answer

    def _act(self, endpoint: str, params: dict[str, str], incoming: Incoming) -> Answer:
        if endpoint == "GET /api/v2/instance":
            return Answer(200, self._instance_v2())
        if endpoint == "GET /api/v1/instance":
            return Answer(200, self._instance_v1(), {"Deprecation": f"@{DEPRECATED_SINCE}"})
        if endpoint == "GET /api/v1/accounts/verify_credentials":
            return Answer(200, self._account(credential=True))
        if endpoint == "GET /api/v1/accounts/:id/statuses":
            return self._account_statuses(params["id"], incoming)
        if endpoint == "POST /api/v1/statuses":
            return self._create_status(incoming)
        if endpoint == "GET /api/v1/statuses/:id":
            status = self._status(params["id"])
            return Answer(200, self._view(status)) if status else Answer(404, NOT_FOUND)
        if endpoint == "DELETE /api/v1/statuses/:id":
            return self._delete_status(params["id"])
        if endpoint == "POST /api/v2/media":
            return self._upload(incoming)
        return self._media_show(params["id"])

    # -- auth and limits --

    def _token_ok(self, incoming: Incoming) -> bool:
        header = incoming.header("Authorization")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        return bool(token) and hmac.compare_digest(token.encode(), self.access_token.encode())

    def _unauthorized(self) -> Answer:
        return Answer(
            401,
            INVALID_TOKEN,
            {
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                'error_description="The access token is invalid"'
            },
        )

    def _rate_headers(self, window: Window) -> dict[str, str]:
        reset = datetime.fromtimestamp(window.reset, UTC)
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{reset:%Y-%m-%dT%H:%M:%S}.000000Z",
        }

    def rate_limit(
        self,
        *,
        remaining: int,
        reset_at: float,
        limit: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        """As LoopbackFake's; ``endpoint`` is a window name of LIMITS (default: statuses)."""
        name = endpoint or self.default_endpoint
        default = LIMITS.get(name, LIMITS["api"])
        with self._lock:
            self._windows[name] = Window(limit or default[0], default[1], remaining, int(reset_at))

    # -- instance and account --

    def _host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _instance_v2(self) -> JSONDict:
        return {
            "domain": self._host(),
            "title": "Fake Mastodon",
            "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A fake instance for tests.",
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{self.url}/packs/media/images/preview.png"},
            "icon": [],
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"ws://{self._host()}", "status": None},
                "vapid": {"public_key": "BFakeVapidKey"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": MAX_MEDIA,
                    "characters_reserved_per_url": self.url_length,
                },
                "media_attachments": {
                    "supported_mime_types": list(IMAGE_TYPES),
                    "description_limit": DESCRIPTION_LIMIT,
                    "image_size_limit": IMAGE_SIZE_LIMIT,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 6},
            "contact": {"email": "admin@example.com", "account": None},
            "rules": [],
        }

    def _instance_v1(self) -> JSONDict:
        v2 = self._instance_v2()
        return {
            "uri": self._host(),
            "title": v2["title"],
            "short_description": v2["description"],
            "description": v2["description"],
            "email": "admin@example.com",
            "version": VERSION,
            "urls": {"streaming_api": f"ws://{self._host()}"},
            "stats": {"user_count": 1, "status_count": len(self.statuses), "domain_count": 1},
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "configuration": {
                "statuses": v2["configuration"]["statuses"],
                "media_attachments": v2["configuration"]["media_attachments"],
            },
            "rules": [],
        }

    def _account(self, *, credential: bool = False) -> JSONDict:
        account: JSONDict = {
            "id": ACCOUNT_ID,
            "username": self.username,
            "acct": self.username,
            "display_name": "A Writer",
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2023-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{self.url}/@{self.username}",
            "uri": f"{self.url}/users/{self.username}",
            "avatar": f"{self.url}/avatars/original/missing.png",
            "avatar_static": f"{self.url}/avatars/original/missing.png",
            "header": f"{self.url}/headers/original/missing.png",
            "header_static": f"{self.url}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self.live_statuses()),
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }
        if credential:
            account["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": "en",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }
        return account

    def _account_statuses(self, account_id: str, incoming: Incoming) -> Answer:
        if account_id != ACCOUNT_ID:
            return Answer(404, NOT_FOUND)
        query = {k: v[0] for k, v in parse_qs(incoming.target.partition("?")[2]).items()}
        limit = min(int(query.get("limit") or 20), 40)
        newest_first = sorted(self.live_statuses(), key=lambda s: int(s["id"]), reverse=True)
        if query.get("max_id"):
            newest_first = [s for s in newest_first if int(s["id"]) < int(query["max_id"])]
        page = newest_first[:limit]
        headers = {}
        if page:
            base = f"{self.url}/api/v1/accounts/{ACCOUNT_ID}/statuses"
            older = urlencode({"limit": limit, "max_id": page[-1]["id"]})
            newer = urlencode({"limit": limit, "min_id": page[0]["id"]})
            links = [f'<{base}?{newer}>; rel="prev"']
            if len(page) == limit:  # Mastodon links the next page only after a full one
                links.insert(0, f'<{base}?{older}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return Answer(200, [self._view(s) for s in page], headers)  # type: ignore[arg-type]

    # -- statuses --

    def _status(self, status_id: str) -> JSONDict | None:
        return next((s for s in self.statuses if s["id"] == status_id and not s["deleted"]), None)

    def _create_status(self, incoming: Incoming) -> Answer:
        fields = self._fields(incoming)
        key = incoming.header("Idempotency-Key")
        if key:
            remembered = self._idempotency.get(key)
            if remembered is not None and remembered[1] > self.now:
                status = self._status(remembered[0])
                # Mastodon finds the status again; one deleted since is "Record not found".
                return Answer(200, self._view(status)) if status else Answer(404, NOT_FOUND)
        text = fields.get("status") or ""
        spoiler = fields.get("spoiler_text") or ""
        reply_to = fields.get("in_reply_to_id")
        if reply_to and self._status(reply_to) is None:
            return Answer(404, REPLY_MISSING)
        visibility = fields.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            return Answer(422, {"error": "Record invalid"})
        media_ids = fields.get("media_ids") or []
        problem = self._media_problem(media_ids)
        if problem is not None:
            return problem
        if not text.strip() and not media_ids:
            return validation_failed("Text can't be blank")
        if countable_length(text, spoiler, self.url_length) > self.max_characters:
            return validation_failed(f"Text character limit of {self.max_characters} exceeded")
        status = self._store_status(text, fields, reply_to, media_ids, visibility=visibility)
        if key:
            self._idempotency[key] = (status["id"], self.now + IDEMPOTENCY_SECONDS)
        return Answer(200, self._view(status))

    def _fields(self, incoming: Incoming) -> dict[str, Any]:
        """The status parameters, from a form (Mastodon.py) or a JSON body."""
        if "json" in incoming.header("Content-Type"):
            body = as_json(incoming.body)
            return body if isinstance(body, dict) else {}
        form = form_fields(incoming.body)
        fields: dict[str, Any] = {
            name: first(form, name) for name in form if not name.endswith("[]")
        }
        fields["media_ids"] = form.get("media_ids[]", [])
        return fields

    def _media_problem(self, media_ids: list[str]) -> Answer | None:
        if len(media_ids) > MAX_MEDIA:
            return Answer(422, {"error": f"You cannot attach more than {MAX_MEDIA} files."})
        usable = [self.media.get(str(m)) for m in media_ids]
        missing = [
            str(m)
            for m, media in zip(media_ids, usable, strict=True)
            if media is None or media["status_id"] is not None
        ]
        if missing:
            return Answer(
                422,
                {"error": f"Media with IDs {', '.join(missing)} not found or already attached"},
            )
        if any(media is not None and media["polls_left"] > 0 for media in usable):
            return Answer(422, {"error": NOT_READY})
        return None

    def _store_status(
        self,
        text: str,
        fields: dict[str, Any],
        reply_to: str | None,
        media_ids: list[str],
        *,
        visibility: str = "public",
        at: float | None = None,
    ) -> JSONDict:
        created = self.now if at is None else at
        status_id = str((int(created * 1000) << 16) | (next(self._sequence) & 0xFFFF))
        status = {
            "id": status_id,
            "text": text,
            "spoiler_text": fields.get("spoiler_text") or "",
            "sensitive": fields.get("sensitive") in ("1", "true", True),
            "visibility": visibility,
            "language": fields.get("language") or "en",
            "in_reply_to_id": reply_to or None,
            "media_ids": [str(m) for m in media_ids],
            "created_at": created,
            "deleted": False,
        }
        for media_id in status["media_ids"]:
            self.media[media_id]["status_id"] = status_id
        self.statuses.append(status)
        return status

    def _view(self, status: JSONDict) -> JSONDict:
        """The REST Status entity."""
        tags = sorted({m.group(1).lower() for m in _HASHTAG.finditer(status["text"])})
        reply_to = status["in_reply_to_id"]
        return {
            "id": status["id"],
            "created_at": iso(status["created_at"]),
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": ACCOUNT_ID if reply_to else None,
            "sensitive": status["sensitive"],
            "spoiler_text": status["spoiler_text"],
            "visibility": status["visibility"],
            "language": status["language"],
            "uri": f"{self.url}/users/{self.username}/statuses/{status['id']}",
            "url": f"{self.url}/@{self.username}/{status['id']}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": self._html(status["text"]),
            "filtered": [],
            "reblog": None,
            "application": {"name": "pipeline", "website": None},
            "account": self._account(),
            "media_attachments": [self._media_view(self.media[m]) for m in status["media_ids"]],
            "mentions": [],
            "tags": [{"name": t, "url": f"{self.url}/tags/{t}"} for t in tags],
            "emojis": [],
            "card": None,  # Mastodon fetches link cards later, in LinkCrawlWorker
            "poll": None,
        }

    def _html(self, text: str) -> str:
        """The status text as Mastodon's formatter renders it: paragraphs, links, hashtags."""
        entities = [
            (u["indices"][0], u["indices"][1], self._link_html(u["url"]))
            for u in extract_urls_with_indices(text, extract_urls_without_protocol=False)
        ]
        entities += [
            (m.start(), m.end(), self._tag_html(m.group(1))) for m in _HASHTAG.finditer(text)
        ]
        out, at = [], 0
        for start, end, rendered in sorted(entities):
            if start >= at:
                out += [html.escape(text[at:start], quote=False), rendered]
                at = end
        out.append(html.escape(text[at:], quote=False))
        paragraphs = "".join(out).split("\n\n")
        return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)

    @staticmethod
    def _link_html(url: str) -> str:
        scheme, _, rest = url.partition("://")
        return (
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{scheme}://</span><span class="">'
            f'{html.escape(rest, quote=False)}</span><span class="invisible"></span></a>'
        )

    def _tag_html(self, tag: str) -> str:
        return (
            f'<a href="{self.url}/tags/{html.escape(tag.lower())}" class="mention hashtag" '
            f'rel="tag">#<span>{html.escape(tag, quote=False)}</span></a>'
        )

    def _delete_status(self, status_id: str) -> Answer:
        status = self._status(status_id)
        if status is None:
            return Answer(404, NOT_FOUND)
        status["deleted"] = True
        return Answer(200, {**self._view(status), "text": status["text"]})

    # -- media --

    def _upload(self, incoming: Incoming) -> Answer:
        fields = multipart(incoming.header("Content-Type"), incoming.body) or {}
        if "file" not in fields:
            return Answer(400, {"error": "param is missing or the value is empty: file"})
        filename, content = fields["file"]
        description = fields.get("description", (None, b""))[1].decode("utf-8", "replace")
        mime = _sniff(content)
        if mime is None:
            return validation_failed("File content type is invalid", "File is invalid")
        if len(content) > IMAGE_SIZE_LIMIT:
            return validation_failed("File file size must be less than 16 MB")
        if len(regex.findall(r"\X", description)) > DESCRIPTION_LIMIT:
            return validation_failed(
                f"Description is too long (maximum is {DESCRIPTION_LIMIT} characters)"
            )
        media_id = str((int(self.now * 1000) << 16) | (next(self._sequence) & 0xFFFF))
        self.media[media_id] = {
            "id": media_id,
            "filename": filename,
            "mime": mime,
            "size": len(content),
            "content": content,
            "description": description or None,
            "status_id": None,
            "polls_left": self.processing_polls,
        }
        media = self.media[media_id]
        return Answer(202 if media["polls_left"] else 200, self._media_view(media))

    def _media_show(self, media_id: str) -> Answer:
        media = self.media.get(media_id)
        if media is None or media["status_id"] is not None:
            return Answer(404, NOT_FOUND)  # only the account's unattached media are shown
        if media["polls_left"] > 0:
            media["polls_left"] -= 1
            if media["polls_left"] > 0:
                return Answer(206, self._media_view(media))
        return Answer(200, self._media_view(media))

    def _media_view(self, media: JSONDict) -> JSONDict:
        ready = media["polls_left"] == 0
        url = (
            f"{self.url}/system/media_attachments/files/{media['id']}/original/{media['filename']}"
        )
        return {
            "id": media["id"],
            "type": "image",
            "url": url if ready else None,
            "preview_url": url.replace("/original/", "/small/"),
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {},
            "description": media["description"],
            "blurhash": "UFBWY:8_0Jxu%MD%M{xu9F-;xuIU9F%M%M-;",
        }


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@pytest.fixture
def fake_mastodon() -> Iterator[FakeMastodon]:
    """A started fake Mastodon instance with the default token; stopped after the test."""
    with FakeMastodon() as fake:
        yield fake


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m tests.fakemastodon", "A fake Mastodon on loopback.")
    parser.add_argument(
        "--access-token", default=os.environ.get("PIPELINE_MASTODON_ACCESS_TOKEN", DEFAULT_TOKEN)
    )
    parser.add_argument("--max-characters", type=int, default=500)
    args = parser.parse_args(argv)
    fake = FakeMastodon(access_token=args.access_token, max_characters=args.max_characters)
    fake.verbose = args.verbose
    return run_standalone(fake, args.port)


if __name__ == "__main__":
    sys.exit(main())
