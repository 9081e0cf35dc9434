"""A fake X API v2 on loopback: a real HTTP server that checks what X checks.

It verifies OAuth 1.0a HMAC-SHA1 signatures with oauthlib (against the public URL the client
signed, https://api.twitter.com/..., since the client's transport rewrites it to loopback), accepts
OAuth 2.0 user tokens, counts weighted length with twitter-text, refuses duplicates, keeps
rate-limit windows on its own controllable clock, and can fail, hang or drop a request on demand.
The account's timeline (``GET /2/users/:id/tweets``, newest first, 5 to 100 a page) shows posts as
X does: links as t.co links with the posted URL in ``entities.urls``, and ``&<>`` HTML-escaped.

X as it is in 2026: the OAuth 2.0 login (``fake.oauth``, see tests/fakex_oauth.py) issues
access tokens that expire on the fake's clock (then 401) and carry scopes that are checked; the
account is pay-per-use when ``fake.credits`` is set: each post is charged X's published price
and, with nothing left, posting and uploading answer 402 with X's CreditsDepleted problem.

In tests: the ``fake_x`` fixture yields a started ``FakeX``; ``fake_x.credentials()`` are the keys
it accepts and ``fake_x.url`` is its address (the ``api_url`` for ``XClient``).

Standalone, for the quick start and crash tests in another process::

    python -m tests.fakex --port 8090 [--consumer-key K ...]   # or PIPELINE_X_* in the environment

prints its URL and serves until interrupted. Outside the X API it answers ``GET /_fake/state`` (what
was posted) and ``POST /_fake/{fail_next,drop_next,delay_next,rate_limit,clock}`` with the keyword
arguments of the methods of the same name as a JSON body.
"""

from __future__ import annotations

import argparse
import email.policy
import hashlib
import hmac
import html
import itertools
import json
import os
import re
import signal
import string
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint

from pipeline.config import Secret, XCredentials
from pipeline.core.twittertext import twitter_text
from tests.fakex_oauth import FakeOAuth
from tests.loopback import Loopback

# Through the shim: twitter-text imports pkg_resources, which Python 3.12+ venvs do not have.
extract_urls = twitter_text().extract_urls
extract_urls_with_indices = twitter_text().extract_urls_with_indices
parse_tweet = twitter_text().parse_tweet

# The hosts a client may have signed for; the signature names the URL it was meant for.
PUBLIC_BASES = ("https://api.twitter.com", "https://api.x.com")
MAX_LENGTH = 280
WINDOW_SECONDS = 15 * 60
DEFAULT_LIMIT = 300
MEDIA_LIFETIME = 24 * 60 * 60
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MEDIA_CATEGORIES = ("tweet_image", "dm_image", "subtitles")
FIRST_ID = 1_870_000_000_000_000_000  # ids look like X's 19-digit snowflakes
ACCOUNT_ID = "2059529979700846592"  # the developer account the app is enrolled under
# https://docs.x.com/x-api/getting-started/pricing: "Content: Create" and "... (with URL)"
PRICE_PER_POST = Decimal("0.015")
PRICE_PER_LINK_POST = Decimal("0.200")
METERED = ("POST /2/tweets", "POST /2/media/upload")  # refused with 402 when out of credits
OAUTH_PATHS = ("/i/oauth2/authorize", "/2/oauth2/token", "/2/oauth2/revoke")
# What each endpoint needs of an OAuth 2.0 user token (X's authentication mapping).
REQUIRED_SCOPES = {
    "POST /2/tweets": {"tweet.read", "tweet.write", "users.read"},
    "DELETE /2/tweets/:id": {"tweet.read", "tweet.write", "users.read"},
    "GET /2/users/me": {"tweet.read", "users.read"},
    "GET /2/users/:id/tweets": {"tweet.read", "users.read"},
    "POST /2/media/upload": {"media.write"},
}

DEFAULT_KEYS = {
    "consumer_key": "fakeConsumerKey0123456789",
    "consumer_secret": "fakeConsumerSecret0123456789abcdefghijklmnopqrstuv",
    "access_token": "1234567890-fakeAccessToken0123456789abcdefghijkl",
    "access_token_secret": "fakeAccessTokenSecret0123456789abcdefghijklmn",
    "bearer_token": "fakeUserBearerToken-0123456789abcdefghijklmnopqrstuvwxyz",
}
TWEET_FIELDS = {
    "text",
    "reply",
    "media",
    "quote_tweet_id",
    "poll",
    "reply_settings",
    "geo",
    "for_super_followers_only",
    "direct_message_deep_link",
    "community_id",
    "nullcast",
    "card_uri",
    "edit_options",
    "made_with_ai",
    "paid_partnership",
    "share_with_followers",
}
IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)

JSONDict = dict[str, Any]


# ---- X's answers -----------------------------------------------------------------------------


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> JSONDict:
    return {"title": title, "detail": detail, "type": kind, "status": status}


def invalid_request(message: str) -> JSONDict:
    return {
        "errors": [{"message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


UNAUTHORIZED = problem(401, "Unauthorized", "Unauthorized")
DUPLICATE = problem(
    403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
)
REPLY_TO_MISSING = problem(
    403, "Forbidden", "You attempted to reply to a Tweet that is deleted or not visible to you."
)
APP_ONLY_FORBIDDEN = problem(
    403,
    "Unsupported Authentication",
    "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
    "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
    "https://api.twitter.com/2/problems/unsupported-authentication",
)
TOO_MANY = problem(429, "Too Many Requests", "Too Many Requests")
FORBIDDEN = problem(403, "Forbidden", "Forbidden")
STATUS_TITLES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input (which never matches)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def credits_depleted(account_id: str) -> JSONDict:
    """X's 402 body, byte for byte in its keys (185 bytes with a 19-digit account id)."""
    return {
        "title": "CreditsDepleted",
        "detail": f"Your enrolled account [{account_id}] does not have any credits to fulfill "
        "this request.",
        "type": "https://api.twitter.com/2/problems/credits",
    }


def not_found(detail: str) -> JSONDict:
    return problem(
        404, "Not Found Error", detail, "https://api.twitter.com/2/problems/resource-not-found"
    )


# ---- requests in, answers out ----------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")


@dataclass
class Answer:
    status: int
    body: JSONDict | None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0


@dataclass
class _Window:
    limit: int
    remaining: int
    reset: int


@dataclass
class _Fault:
    endpoint: str
    kind: str  # "fail" (answer ``status``), "drop" (close unanswered), "delay" (answer late)
    executed: bool  # act on the request first (X did it, whatever the client hears)
    status: int = 0
    delay: float = 0.0


ROUTES = (
    ("POST", re.compile(r"/2/tweets"), "POST /2/tweets"),
    ("DELETE", re.compile(r"/2/tweets/(?P<id>[^/]+)"), "DELETE /2/tweets/:id"),
    ("GET", re.compile(r"/2/users/me"), "GET /2/users/me"),
    ("GET", re.compile(r"/2/users/(?P<id>[^/]+)/tweets"), "GET /2/users/:id/tweets"),
    ("POST", re.compile(r"/2/media/upload"), "POST /2/media/upload"),
)


def route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The endpoint name (e.g. ``DELETE /2/tweets/:id``) and path parameters, if any route."""
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return endpoint, match.groupdict()
    return None


# ---- OAuth 1.0a ------------------------------------------------------------------------------


class _Validator(RequestValidator):
    """Knows exactly one app and one user, as a real account's keys would."""

    def __init__(self, keys: dict[str, str]) -> None:
        super().__init__()
        self.keys = keys

    # X's keys and tokens contain '-' and are longer than oauthlib's defaults allow.
    @property
    def safe_characters(self) -> set[str]:
        return set(string.ascii_letters + string.digits + "-_")

    client_key_length = (1, 200)
    access_token_length = (1, 200)
    nonce_length = (1, 200)
    enforce_ssl = False  # we are the loopback end of a rewritten https URL
    dummy_client = "dummy-client"
    dummy_access_token = "dummy-token"

    def validate_client_key(self, client_key: str, request: object) -> bool:
        return _same(client_key, self.keys["consumer_key"])

    def get_client_secret(self, client_key: str, request: object) -> str:
        if _same(client_key, self.keys["consumer_key"]):
            return self.keys["consumer_secret"]
        return "dummy-secret"

    def get_access_token_secret(self, client_key: str, token: str, request: object) -> str:
        if _same(token, self.keys["access_token"]):
            return self.keys["access_token_secret"]
        return "dummy-secret"

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: object,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        return True  # replays are checked by FakeX, once the signature is known to be good


# ---- the fake --------------------------------------------------------------------------------


class FakeX(Loopback):
    """A fake X API v2 server on 127.0.0.1. See the module docstring."""

    thread_name = "fakex"

    def __init__(
        self,
        *,
        consumer_key: str = DEFAULT_KEYS["consumer_key"],
        consumer_secret: str = DEFAULT_KEYS["consumer_secret"],
        access_token: str = DEFAULT_KEYS["access_token"],
        access_token_secret: str = DEFAULT_KEYS["access_token_secret"],
        bearer_token: str | None = DEFAULT_KEYS["bearer_token"],
        app_bearer_token: str | None = None,
        username: str = "writer",
        user_id: str = "1234567890",
        name: str = "A Writer",
        port: int = 0,
    ) -> None:
        self.keys = {
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "access_token": access_token,
            "access_token_secret": access_token_secret,
        }
        self.bearer_token = bearer_token
        self.app_bearer_token = app_bearer_token  # an app-only token: valid, but not for posting
        self.user = {"id": user_id, "name": name, "username": username}
        super().__init__(port=port)
        self.clock: Callable[[], float] = time.time
        self.oauth = FakeOAuth(clock=lambda: self.now)
        self.account_id = ACCOUNT_ID
        self.credits: Decimal | None = None  # None: not metered (the X of before 2026)
        self.charges: list[JSONDict] = []
        self.tweets: list[JSONDict] = []
        self.media: list[JSONDict] = []
        self.requests: list[JSONDict] = []
        self.verbose = False
        self._endpoint = SignatureOnlyEndpoint(_Validator(self.keys))
        self._nonces: set[tuple[str, str, str]] = set()
        self._windows: dict[str, _Window] = {}
        self._faults: list[_Fault] = []
        self._ids = itertools.count(FIRST_ID)
        self._lock = threading.RLock()

    def make_server(self) -> _Server:
        return _Server(("127.0.0.1", self.port), self)

    def credentials(self) -> XCredentials:
        """The OAuth 1.0a keys this fake accepts."""
        return XCredentials(**{key: Secret(value) for key, value in self.keys.items()})

    def bearer_credentials(self) -> XCredentials:
        """The OAuth 2.0 user token this fake accepts."""
        assert self.bearer_token is not None
        return XCredentials(bearer_token=Secret(self.bearer_token))

    # -- control, for tests --

    @property
    def now(self) -> float:
        return self.clock()

    @now.setter
    def now(self, value: float | None) -> None:
        """Freeze the fake's clock at ``value`` (epoch seconds), or back to real time on None."""
        self.clock = time.time if value is None else (lambda: float(value))

    def rate_limit(
        self,
        *,
        remaining: int,
        reset_at: float,
        limit: int | None = None,
        endpoint: str = "POST /2/tweets",
    ) -> None:
        """Set an endpoint's window: at ``remaining == 0`` it answers 429 until ``reset_at``."""
        with self._lock:
            self._windows[endpoint] = _Window(
                limit or max(remaining, DEFAULT_LIMIT), remaining, int(reset_at)
            )

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        executed: bool = False,
        endpoint: str = "POST /2/tweets",
    ) -> None:
        """Answer the next ``times`` calls with ``status`` (after acting, if ``executed``)."""
        with self._lock:
            self._faults += [_Fault(endpoint, "fail", executed, status) for _ in range(times)]

    def drop_next(self, *, executed: bool = True, endpoint: str = "POST /2/tweets") -> None:
        """Close the next call's connection unanswered, by default after acting on it."""
        with self._lock:
            self._faults.append(_Fault(endpoint, "drop", executed))

    def delay_next(self, seconds: float, *, endpoint: str = "POST /2/tweets") -> None:
        """Act on the next call, then wait ``seconds`` before answering (for client timeouts)."""
        with self._lock:
            self._faults.append(_Fault(endpoint, "delay", True, delay=seconds))

    def set_credits(self, amount: Decimal | float | str | None) -> None:
        """Make the account pay-per-use with this balance in dollars (None: unmetered)."""
        with self._lock:
            self.credits = None if amount is None else Decimal(str(amount))

    def live_texts(self) -> list[str]:
        return [t["text"] for t in self.tweets if not t["deleted"]]

    def state(self) -> JSONDict:
        with self._lock:
            media = [{k: v for k, v in m.items() if k != "content"} for m in self.media]
            return {"tweets": list(self.tweets), "media": media, "requests": list(self.requests)}

    # -- serving --

    def respond(self, incoming: Incoming) -> Answer:
        if incoming.path.startswith("/_fake/"):
            return self._control(incoming)
        if incoming.path in OAUTH_PATHS:
            return self._oauth(incoming)
        with self._lock:
            found = route(incoming.method, incoming.path)
            endpoint = found[0] if found else f"{incoming.method} {incoming.path}"
            auth = self._authenticate(incoming)
            answer = self._answer(incoming, found, auth)
            answer.headers.update(self._rate_headers(endpoint))
            self._log(incoming, endpoint, auth, answer)
            return answer

    def _answer(
        self, incoming: Incoming, found: tuple[str, dict[str, str]] | None, auth: str | None
    ) -> Answer:
        if auth is None:
            return Answer(401, UNAUTHORIZED)
        if found is None:
            return Answer(404, not_found(f"No route for {incoming.method} {incoming.path}."))
        endpoint, params = found
        if auth == "app":
            return Answer(403, APP_ONLY_FORBIDDEN)
        if auth == "oauth2" and not REQUIRED_SCOPES[endpoint] <= set(self._scopes(incoming)):
            return Answer(403, FORBIDDEN)
        if endpoint in METERED and self.credits is not None and self.credits <= 0:
            return Answer(402, credits_depleted(self.account_id))
        if not self._take_request(endpoint):
            return Answer(429, TOO_MANY)
        fault = self._take_fault(endpoint)
        if fault is not None and not fault.executed:
            return self._fault_answer(fault)
        answer = self._act(endpoint, params, incoming)
        self._charge(endpoint, answer)
        return answer if fault is None else self._fault_answer(fault, answer)

    def _act(self, endpoint: str, params: dict[str, str], incoming: Incoming) -> Answer:
        if endpoint == "POST /2/tweets":
            return self._create_tweet(incoming)
        if endpoint == "DELETE /2/tweets/:id":
            return self._delete_tweet(params["id"])
        if endpoint == "GET /2/users/me":
            return Answer(200, {"data": dict(self.user)})
        if endpoint == "GET /2/users/:id/tweets":
            return self._timeline(params["id"], incoming)
        return self._upload(incoming)

    def _fault_answer(self, fault: _Fault, done: Answer | None = None) -> Answer:
        if fault.kind == "drop":
            return Answer(0, None, drop=True)
        if fault.kind == "delay" and done is not None:  # the real answer, late
            done.delay = fault.delay
            return done
        title = STATUS_TITLES.get(fault.status, "Error")
        return Answer(fault.status, problem(fault.status, title, title))

    # -- auth --

    def _authenticate(self, incoming: Incoming) -> str | None:
        """ "oauth1", "bearer" (a user token), "app" (an app-only token), or None."""
        header = incoming.header("Authorization")
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
            if self.bearer_token and _same(token, self.bearer_token):
                return "bearer"
            if self.app_bearer_token and _same(token, self.app_bearer_token):
                return "app"
            if self.oauth.scopes_of(token) is not None:
                return "oauth2"  # a user token from the OAuth 2.0 login
            return None
        if header.startswith("OAuth ") and self._verify_oauth1(incoming):
            return "oauth1"
        return None

    def _scopes(self, incoming: Incoming) -> tuple[str, ...]:
        token = incoming.header("Authorization").removeprefix("Bearer ").strip()
        return self.oauth.scopes_of(token) or ()

    def _verify_oauth1(self, incoming: Incoming) -> bool:
        # Only a form-encoded body is part of the signature (RFC 5849 3.4.1.3.1).
        form = "application/x-www-form-urlencoded" in incoming.header("Content-Type")
        body = incoming.body.decode("utf-8", "replace") if form else ""
        for uri in self._signed_uris(incoming):
            valid, request = self._endpoint.validate_request(
                uri, incoming.method, body, dict(incoming.headers)
            )
            token = request.resource_owner_key or ""
            if valid and _same(token, self.keys["access_token"]):
                return self._fresh_nonce(request.client_key, request.timestamp, request.nonce)
        return False

    def _signed_uris(self, incoming: Incoming) -> Iterator[str]:
        for base in PUBLIC_BASES:
            yield base + incoming.target
        host = incoming.header("Host")
        if host:  # a client that signed for our own address, without rewriting
            yield f"http://{host}{incoming.target}"

    def _fresh_nonce(self, client_key: str, timestamp: str, nonce: str) -> bool:
        key = (client_key, timestamp, nonce)
        if key in self._nonces:
            return False  # a replayed request, as X refuses it
        self._nonces.add(key)
        return True

    # -- rate limits --

    def _window(self, endpoint: str) -> _Window:
        now = int(self.now)
        window = self._windows.get(endpoint)
        if window is None or now >= window.reset:
            limit = window.limit if window else DEFAULT_LIMIT
            window = _Window(limit, limit, now + WINDOW_SECONDS)
            self._windows[endpoint] = window
        return window

    def _take_request(self, endpoint: str) -> bool:
        window = self._window(endpoint)
        if window.remaining <= 0:
            return False
        window.remaining -= 1
        return True

    def _rate_headers(self, endpoint: str) -> dict[str, str]:
        window = self._window(endpoint)
        return {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(window.reset),
        }

    def _take_fault(self, endpoint: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.endpoint == endpoint:
                return self._faults.pop(index)
        return None

    # -- endpoints --

    def _create_tweet(self, incoming: Incoming) -> Answer:
        try:
            body = json.loads(incoming.body or b"null")
        except ValueError:
            return Answer(400, invalid_request("The request body is not valid JSON."))
        problem_text = _tweet_problem(body)
        if problem_text:
            return Answer(400, invalid_request(problem_text))
        text = body.get("text", "")
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = list((body.get("media") or {}).get("media_ids") or [])
        if reply_to is not None and self._live_tweet(str(reply_to)) is None:
            return Answer(403, REPLY_TO_MISSING)
        if not all(self._usable_media(str(m)) for m in media_ids):
            return Answer(400, invalid_request("Your media IDs are invalid."))
        if text and text in self.live_texts():
            return Answer(403, DUPLICATE)
        tweet_id = str(next(self._ids))
        self.tweets.append(
            {
                "id": tweet_id,
                "text": text,
                "reply_to": None if reply_to is None else str(reply_to),
                "media_ids": [str(m) for m in media_ids],
                "deleted": False,
                "created_at": self.now,
            }
        )
        return Answer(
            201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        )

    def _timeline(self, user_id: str, incoming: Incoming) -> Answer:
        """The user's posts, newest first, as X shows them: links as t.co links (the posted
        URL in ``entities.urls[].expanded_url``) and ``&``, ``<``, ``>`` HTML-escaped."""
        query = parse_qs(urlsplit(incoming.target).query)
        wanted = query.get("max_results", ["10"])[0]
        if not wanted.isdigit() or not 5 <= int(wanted) <= 100:
            return Answer(
                400,
                invalid_request(
                    f"The `max_results` query parameter value [{wanted}] is not between 5 and 100"
                ),
            )
        if user_id != self.user["id"]:
            detail = f"Could not find user with id: [{user_id}]."
            return Answer(200, {"errors": [not_found(detail) | {"resource_id": user_id}]})
        fields = ",".join(query.get("tweet.fields", [])).split(",")
        posts = [t for t in reversed(self.tweets) if not t["deleted"]][: int(wanted)]
        data = [_as_shown(t, "entities" in fields) for t in posts]
        meta: JSONDict = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return Answer(200, {"data": data, "meta": meta} if data else {"meta": meta})

    def _live_tweet(self, tweet_id: str) -> JSONDict | None:
        return next((t for t in self.tweets if t["id"] == tweet_id and not t["deleted"]), None)

    def _usable_media(self, media_id: str) -> bool:
        return any(m["id"] == media_id and m["expires_at"] > self.now for m in self.media)

    def _delete_tweet(self, tweet_id: str) -> Answer:
        tweet = self._live_tweet(tweet_id)
        if tweet is None:
            return Answer(404, not_found(f"Could not find tweet with id: [{tweet_id}]."))
        tweet["deleted"] = True
        return Answer(200, {"data": {"deleted": True}})

    def _upload(self, incoming: Incoming) -> Answer:
        fields = multipart(incoming.header("Content-Type"), incoming.body)
        if fields is None or "media" not in fields:
            return Answer(400, invalid_request("media is required (multipart/form-data)."))
        category = fields.get("media_category", (None, b""))[1].decode("utf-8", "replace")
        if category not in MEDIA_CATEGORIES:
            return Answer(
                400,
                invalid_request(f"media_category must be one of {', '.join(MEDIA_CATEGORIES)}."),
            )
        filename, content = fields["media"]
        if len(content) > MAX_IMAGE_BYTES:
            return Answer(400, invalid_request("File size exceeds 5242880 bytes."))
        if not _looks_like_image(content):
            return Answer(400, invalid_request("media type unrecognized."))
        media_id = str(next(self._ids))
        self.media.append(
            {
                "id": media_id,
                "media_key": f"3_{media_id}",
                "category": category,
                "filename": filename,
                "size": len(content),
                "content": content,
                "expires_at": self.now + MEDIA_LIFETIME,
            }
        )
        return Answer(
            200,
            {
                "data": {
                    "id": media_id,
                    "media_key": f"3_{media_id}",
                    "size": len(content),
                    "expires_after_secs": MEDIA_LIFETIME,
                    "processing_info": {"state": "succeeded"},
                }
            },
        )

    # -- pay-per-use --

    def _charge(self, endpoint: str, answer: Answer) -> None:
        """Deduct a created post's price; a balance may go slightly negative, as X's does."""
        if endpoint != "POST /2/tweets" or answer.status != 201 or answer.body is None:
            return
        text = answer.body["data"]["text"]
        cost = PRICE_PER_LINK_POST if extract_urls(text) else PRICE_PER_POST
        self.charges.append({"tweet_id": answer.body["data"]["id"], "cost": cost, "at": self.now})
        if self.credits is not None:
            self.credits -= cost

    # -- OAuth 2.0 --

    def _oauth(self, incoming: Incoming) -> Answer:
        with self._lock:
            kind = incoming.header("Content-Type")
            authorization = incoming.header("Authorization")
            if incoming.method == "GET" and incoming.path == "/i/oauth2/authorize":
                status, body, headers = self.oauth.authorize(incoming.target)
            elif incoming.method == "POST" and incoming.path == "/2/oauth2/token":
                status, body, headers = self.oauth.token(kind, authorization, incoming.body)
            elif incoming.method == "POST" and incoming.path == "/2/oauth2/revoke":
                status, body, headers = self.oauth.revoke(kind, authorization, incoming.body)
            else:
                status, body, headers = 405, problem(405, "Method Not Allowed", incoming.method), {}
            answer = Answer(status, body, headers)
            self._log(incoming, f"{incoming.method} {incoming.path}", None, answer)
            return answer

    # -- bookkeeping --

    def _log(self, incoming: Incoming, endpoint: str, auth: str | None, answer: Answer) -> None:
        entry: JSONDict = {
            "method": incoming.method,
            "path": incoming.path,
            "endpoint": endpoint,
            "auth": auth,
            "status": None if answer.drop else answer.status,
            "dropped": answer.drop,
        }
        if "json" in incoming.header("Content-Type"):
            try:
                entry["json"] = json.loads(incoming.body)
            except ValueError:
                entry["json"] = None
        self.requests.append(entry)
        if self.verbose:
            print(f"{incoming.method} {incoming.path} -> {entry['status']}", file=sys.stderr)

    def _control(self, incoming: Incoming) -> Answer:
        """The standalone server's remote control (not part of X's API)."""
        action = incoming.path.removeprefix("/_fake/")
        if incoming.method == "GET" and action == "state":
            return Answer(200, self.state())
        actions: dict[str, Callable[..., None]] = {
            "fail_next": self.fail_next,
            "drop_next": self.drop_next,
            "delay_next": self.delay_next,
            "rate_limit": self.rate_limit,
            "clock": lambda now=None: setattr(self, "now", now),
            "credits": lambda amount=None: self.set_credits(amount),
        }
        if incoming.method != "POST" or action not in actions:
            return Answer(404, not_found(f"No control action {action!r}."))
        try:
            actions[action](**json.loads(incoming.body or b"{}"))
        except (TypeError, ValueError) as exc:
            return Answer(400, invalid_request(str(exc)))
        return Answer(200, {"ok": True})


def _as_shown(tweet: JSONDict, entities: bool) -> JSONDict:
    text = tweet["text"]
    urls = []
    for found in reversed(extract_urls_with_indices(text)):
        start, end = found["indices"]
        short = f"https://t.co/{hashlib.sha256(found['url'].encode()).hexdigest()[:10]}"
        text = text[:start] + short + text[end:]
        urls.append({"url": short, "expanded_url": found["url"], "display_url": found["url"]})
    shown: JSONDict = {
        "id": tweet["id"],
        "text": html.escape(text, quote=False),
        "edit_history_tweet_ids": [tweet["id"]],
    }
    if entities and urls:
        shown["entities"] = {"urls": list(reversed(urls))}
    return shown


def _tweet_problem(body: object) -> str | None:
    """What X's schema check would say about a create-tweet body, or None if it passes."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    unknown = sorted(set(body) - TWEET_FIELDS)
    if unknown:
        return (
            f"$.{unknown[0]}: is not defined in the schema and the schema does not allow "
            "additional properties"
        )
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        return "$.text: string expected"
    media_ids = (
        (body.get("media") or {}).get("media_ids") if isinstance(body.get("media"), dict) else None
    )
    if not text and not media_ids:
        return "Post text or media is required."
    if media_ids is not None and not (isinstance(media_ids, list) and 1 <= len(media_ids) <= 4):
        return "$.media.media_ids: between 1 and 4 media ids are allowed"
    return _text_problem(text) if text else None


def _text_problem(text: str) -> str | None:
    parsed = parse_tweet(text)
    if parsed.weightedLength > MAX_LENGTH:
        return (
            f"Post text is too long: {parsed.weightedLength} weighted characters, "
            f"{MAX_LENGTH} allowed."
        )
    if not parsed.valid:
        return "Post text contains invalid characters."
    return None


def _looks_like_image(content: bytes) -> bool:
    webp = content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    return webp or any(content.startswith(magic) for magic in IMAGE_MAGIC)


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]] | None:
    """The fields of a multipart/form-data body: name -> (filename, bytes); None if not one."""
    if not content_type.startswith("multipart/form-data"):
        return None
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


# ---- HTTP plumbing ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeX) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (a timeout test) is not the fake's failure.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like X, so a dropped connection is a real drop
    timeout = 30  # an idle keep-alive connection is closed after this
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every request is in ``FakeX.requests`` instead."""

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._write(Answer(411, problem(411, "Length Required", "Length Required")))
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        incoming = Incoming(
            self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
        )
        fake = self.server.fake
        answer = fake.respond(incoming)
        if answer.delay:
            fake._stopping.wait(answer.delay)
        if answer.drop:
            self.close_connection = True  # nothing written: the client hears only the close
            return
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


# ---- pytest and standalone -------------------------------------------------------------------


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """A started fake X API with the default keys; stopped after the test."""
    with FakeX() as fake:
        yield fake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakex", description="A fake X API v2 on loopback."
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    for key, default in DEFAULT_KEYS.items():
        env = f"PIPELINE_X_{key.upper()}"
        parser.add_argument(
            f"--{key.replace('_', '-')}",
            default=os.environ.get(env, default),
            help=f"default: ${env}, else a fixed fake value",
        )
    parser.add_argument("--username", default="writer")
    parser.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    args = parser.parse_args(argv)
    keys = {key: getattr(args, key) for key in DEFAULT_KEYS}
    fake = FakeX(port=args.port, username=args.username, **keys)
    fake.verbose = args.verbose
    done = threading.Event()

    def finish(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    with fake:
        print(fake.url, flush=True)
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
