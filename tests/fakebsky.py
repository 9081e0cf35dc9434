"""A fake Bluesky PDS on loopback: a real HTTP server that checks what the reference PDS checks.

XRPC over HTTP, in the shapes of bluesky-social/atproto's PDS (packages/pds) and its lexicons:

* ``com.atproto.server.createSession`` / ``refreshSession`` / ``getSession``: access and refresh
  JWTs (HS256 here), the access token expiring after two hours as the PDS's does; an expired
  access token is answered ``400 ExpiredToken`` ("Token has expired"), a refresh token that was
  already rotated ``400 ExpiredToken`` ("Token has been revoked"), a wrong password
  ``401 AuthenticationRequired`` ("Invalid identifier or password").
* ``com.atproto.repo.uploadBlob``: the PDS's upload limit (5 MiB by default) as
  ``413 PayloadTooLarge``; the MIME type sniffed from the bytes.
* ``com.atproto.repo.createRecord`` for ``app.bsky.feed.post``: the record key must be a valid
  TID (the lexicon's ``key: tid``); the text at most 300 graphemes and 3000 UTF-8 bytes; facets
  and embeds in their lexicon shapes; the external embed's thumb a blob of this repo, image/*,
  at most 1,000,000 bytes, its mimeType and size as stored. A record key already in use is
  answered with a bare ``500 InternalServerError``, as the reference PDS does (atproto issue
  #3718; PR #4728 to name the error is still open), after validation.
* ``getRecord`` (no auth, ``400 RecordNotFound``), ``deleteRecord`` (a no-op when absent).
* Rate limits in ``RateLimit-Limit/-Remaining/-Reset/-Policy`` headers; ``429
  RateLimitExceeded``. createSession: 30 per 5 minutes; repo writes: 5000 points per hour, a
  create costing 3 and a delete 1.

``strict`` (on by default) adds what the real PDS leaves to the AppView and the apps, so that a
test of our client fails loudly instead of producing a post that shows wrongly: facet byte ranges
must lie on character boundaries and cover exactly the link (its URI) or the hashtag (``#`` and
its tag), and a reply's root and parent must exist here with the CIDs given.

In tests: the ``fake_bsky`` fixture yields a started ``FakeBluesky``; ``fake_bsky.url`` is the
``service``, ``fake_bsky.credentials()`` the handle and app password it accepts. Standalone::

    python -m tests.fakebsky --port 8091 [--handle H --app-password P]
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import pytest
import regex

from pipeline.channels.settings import BlueskyCredentials
from pipeline.config import Secret
from tests.fakehttp import LoopbackFake, Window, as_json, run_standalone, standalone_parser
from tests.fakex import Answer, Incoming, JSONDict

DEFAULT_HANDLE = "writer.bsky.social"
DEFAULT_APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DEFAULT_DID = "did:plc:fakewriter2345abcdefghij"
SERVICE_DID = "did:web:pds.fake.test"
POST = "app.bsky.feed.post"

ACCESS_LIFETIME = 2 * 60 * 60  # the PDS's access tokens last two hours
REFRESH_LIFETIME = 90 * 24 * 60 * 60
BLOB_UPLOAD_LIMIT = 5 * 1024 * 1024  # the PDS's default (PDS_BLOB_UPLOAD_LIMIT)
THUMB_MAX_SIZE = 1_000_000  # app.bsky.embed.external#external.thumb maxSize
MAX_GRAPHEMES = 300
MAX_BYTES = 3000

SESSION_LIMIT = (30, 5 * 60)  # createSession: 30 per 5 minutes
WRITE_LIMIT = (5000, 60 * 60)  # repo-write-hour: 5000 points
WRITE_POINTS = {"com.atproto.repo.createRecord": 3, "com.atproto.repo.deleteRecord": 1}

PROCEDURES = {
    "com.atproto.server.createSession",
    "com.atproto.server.refreshSession",
    "com.atproto.repo.uploadBlob",
    "com.atproto.repo.createRecord",
    "com.atproto.repo.deleteRecord",
}
QUERIES = {"com.atproto.repo.getRecord", "com.atproto.server.getSession"}

TID = regex.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
RECORD_KEY = regex.compile(r"[A-Za-z0-9._:~-]{1,512}")
AT_URI = regex.compile(r"at://(did:[a-z]+:[A-Za-z0-9._:%-]+)/([A-Za-z0-9.-]+)/([A-Za-z0-9._:~-]+)")
CID = regex.compile(r"b[a-z2-7]{50,}")
URI = regex.compile(r"[a-z][a-z0-9+.-]*:\S+", regex.IGNORECASE)
EMBEDS = {
    "app.bsky.embed.images",
    "app.bsky.embed.video",
    "app.bsky.embed.gallery",
    "app.bsky.embed.external",
    "app.bsky.embed.record",
    "app.bsky.embed.recordWithMedia",
}
FEATURES = {
    "app.bsky.richtext.facet#mention",
    "app.bsky.richtext.facet#link",
    "app.bsky.richtext.facet#tag",
}
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
STATUS_NAMES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "XRPCNotSupported",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "UpstreamFailure",
    503: "NotEnoughResources",
    504: "UpstreamTimeout",
}
STATUS_TEXT = {
    500: "Internal Server Error",
    501: "Method Not Implemented",
    502: "Upstream Failure",
    503: "Not Enough Resources",
    504: "Upstream Timeout",
    429: "Rate Limit Exceeded",
}


def xrpc_error(error: str, message: str) -> JSONDict:
    return {"error": error, "message": message}


def invalid(message: str, error: str = "InvalidRequest") -> Answer:
    return Answer(400, xrpc_error(error, message))


def record_problem(message: str, path: str) -> Answer:
    return invalid(f"Invalid {POST} record: {message} at $.record{path}")


class _Refused(Exception):
    """A request the PDS refuses: carries its answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def cid_for(data: bytes, codec: int) -> str:
    """A CIDv1 (sha2-256) in base32, as the PDS writes them: raw 0x55 blobs, dag-cbor 0x71."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeBluesky(LoopbackFake):
    """A fake PDS with one account. See the module docstring."""

    thread_name = "fakebsky"
    default_endpoint = "com.atproto.repo.createRecord"

    def __init__(
        self,
        *,
        handle: str = DEFAULT_HANDLE,
        app_password: str = DEFAULT_APP_PASSWORD,
        did: str = DEFAULT_DID,
        access_lifetime: int = ACCESS_LIFETIME,
        blob_limit: int = BLOB_UPLOAD_LIMIT,
        strict: bool = True,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.handle = handle
        self.app_password = app_password
        self.did = did
        self.access_lifetime = access_lifetime
        self.blob_limit = blob_limit
        self.strict = strict
        self.records: dict[tuple[str, str], JSONDict] = {}
        self.blobs: dict[str, JSONDict] = {}
        self.sessions_created = 0
        self.refreshes = 0
        self._key = secrets.token_bytes(32)
        self._live_refresh: set[str] = set()  # jti of refresh tokens not yet rotated
        self._tid_last = 0

    def _next_tid(self) -> str:
        """A fresh TID, for the PDS's own record keys and commit revisions."""
        self._tid_last = max(self._tid_last + 1, int(self.now * 1_000_000))
        return _tid(self._tid_last)

    def credentials(self) -> BlueskyCredentials:
        return BlueskyCredentials(handle=self.handle, app_password=Secret(self.app_password))

    # -- for tests --

    def posts(self) -> list[JSONDict]:
        """The live post records, oldest first: {uri, cid, rkey, value}."""
        return [r for (c, _), r in self.records.items() if c == POST and not r["deleted"]]

    def state(self) -> JSONDict:
        blobs = [{k: v for k, v in b.items() if k != "content"} for b in self.blobs.values()]
        return {"records": list(self.records.values()), "blobs": blobs, "requests": self.requests}

    def revoke_sessions(self) -> None:
        """Every refresh token stops working (a password change, or the PDS forgetting them)."""
        with self._lock:
            self._live_refresh.clear()

    # -- LoopbackFake --

    def endpoint(self, incoming: Incoming) -> str | None:
        if not incoming.path.startswith("/xrpc/"):
            return None
        return incoming.path.removeprefix("/xrpc/")

    def error(self, status: int) -> JSONDict:
        name = STATUS_NAMES.get(status, "InternalServerError")
        return xrpc_error(name, STATUS_TEXT.get(status, name))

    def serve(self, incoming: Incoming, endpoint: str | None) -> Answer:
        if endpoint is None:
            return Answer(404, xrpc_error("NotFound", "Not Found"))
        if endpoint not in PROCEDURES | QUERIES:
            return Answer(501, self.error(501))
        expected = "POST" if endpoint in PROCEDURES else "GET"
        if incoming.method != expected:
            return invalid(f"Incorrect HTTP method ({incoming.method}) expected {expected}")
        try:
            return self._method(endpoint, incoming)
        except _Refused as refused:
            return refused.answer

    def _method(self, endpoint: str, incoming: Incoming) -> Answer:
        if endpoint == "com.atproto.server.createSession":
            return self._create_session(incoming)
        if endpoint == "com.atproto.server.refreshSession":
            return self._refresh_session(incoming)
        if endpoint == "com.atproto.repo.getRecord":
            return self._get_record(incoming)
        self._access(incoming)  # every other method needs the access token
        if endpoint == "com.atproto.server.getSession":
            return Answer(200, self._account())
        if endpoint == "com.atproto.repo.uploadBlob":
            return self._upload_blob(incoming)
        body = as_json(incoming.body)
        if not isinstance(body, dict):
            return invalid("Request body must be a JSON object")
        window = self._spend_write(endpoint)
        answer = (
            self._create_record(body) if endpoint.endswith("createRecord") else self._delete(body)
        )
        answer.headers.update(_rate_headers(window))
        return answer

    # -- sessions --

    def _create_session(self, incoming: Incoming) -> Answer:
        window = self.take("createSession", *SESSION_LIMIT)
        if window is None:
            return self._too_many(self.window("createSession", *SESSION_LIMIT))
        body = as_json(incoming.body)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("identifier", "password")
        ):
            return invalid("Input must have the properties identifier and password")
        known = body["identifier"].lower() in (self.handle.lower(), self.did)
        if not (
            known and hmac.compare_digest(body["password"].encode(), self.app_password.encode())
        ):
            answer = Answer(
                401, xrpc_error("AuthenticationRequired", "Invalid identifier or password")
            )
        else:
            self.sessions_created += 1
            answer = Answer(200, self._new_session())
        answer.headers.update(_rate_headers(window))
        return answer

    def _refresh_session(self, incoming: Incoming) -> Answer:
        claims = self._verify(incoming, "refresh+jwt", "com.atproto.refresh")
        if claims["jti"] not in self._live_refresh:
            return invalid("Token has been revoked", "ExpiredToken")
        self._live_refresh.discard(claims["jti"])  # rotated: the old refresh token is spent
        self.refreshes += 1
        return Answer(200, self._new_session())

    def _new_session(self) -> JSONDict:
        now = int(self.now)
        jti = secrets.token_urlsafe(16)
        self._live_refresh.add(jti)
        access = self._jwt(
            "at+jwt",
            {
                "scope": "com.atproto.appPass",
                "sub": self.did,
                "aud": SERVICE_DID,
                "iat": now,
                "exp": now + self.access_lifetime,
            },
        )
        refresh = self._jwt(
            "refresh+jwt",
            {
                "scope": "com.atproto.refresh",
                "sub": self.did,
                "aud": SERVICE_DID,
                "jti": jti,
                "iat": now,
                "exp": now + REFRESH_LIFETIME,
            },
        )
        return {"accessJwt": access, "refreshJwt": refresh, **self._account()}

    def _account(self) -> JSONDict:
        return {
            "handle": self.handle,
            "did": self.did,
            "email": "writer@example.com",
            "emailConfirmed": True,
            "active": True,
        }

    def _jwt(self, typ: str, claims: JSONDict) -> str:
        head = _b64(json.dumps({"typ": typ, "alg": "HS256"}).encode())
        body = _b64(json.dumps(claims).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    def _verify(self, incoming: Incoming, typ: str, scope: str) -> JSONDict:
        header = incoming.header("Authorization")
        if not header.startswith("Bearer "):
            raise _Refused(Answer(401, xrpc_error("AuthMissing", "Authentication Required")))
        token = header.removeprefix("Bearer ").strip()
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            valid = hmac.compare_digest(_unb64(signature), expected)
            kind = json.loads(_unb64(head)).get("typ")
            claims = json.loads(_unb64(body))
        except (ValueError, AttributeError):
            valid, kind, claims = False, None, {}
        if not valid or kind != typ:
            raise _Refused(invalid("Token could not be verified", "InvalidToken"))
        if claims.get("exp", 0) <= self.now:
            raise _Refused(invalid("Token has expired", "ExpiredToken"))
        if claims.get("scope") not in (scope, "com.atproto.access"):
            raise _Refused(invalid("Bad token scope", "InvalidToken"))
        return dict(claims)

    def _access(self, incoming: Incoming) -> None:
        self._verify(incoming, "at+jwt", "com.atproto.appPass")

    # -- rate limits --

    def _spend_write(self, endpoint: str) -> Window:
        window = self.take("repo-write", *WRITE_LIMIT, points=WRITE_POINTS[endpoint])
        if window is None:
            raise _Refused(self._too_many(self.window("repo-write", *WRITE_LIMIT)))
        return window

    def _too_many(self, window: Window) -> Answer:
        answer = Answer(429, xrpc_error("RateLimitExceeded", "Rate Limit Exceeded"))
        answer.headers.update(_rate_headers(window))
        return answer

    def rate_limit(
        self,
        *,
        remaining: int,
        reset_at: float,
        limit: int | None = None,
        endpoint: str | None = None,
    ) -> None:
        """As LoopbackFake's, by window: "repo-write" (the default) or "createSession"."""
        window = endpoint or "repo-write"
        default = WRITE_LIMIT if window == "repo-write" else SESSION_LIMIT
        with self._lock:
            self._windows[window] = Window(
                limit or default[0], default[1], remaining, int(reset_at)
            )

    # -- blobs --

    def _upload_blob(self, incoming: Incoming) -> Answer:
        content = incoming.body
        if len(content) > self.blob_limit:
            return Answer(413, xrpc_error("PayloadTooLarge", "request entity too large"))
        mime = next((m for magic, m in MAGIC if content.startswith(magic)), None)
        if mime is None and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
            mime = "image/webp"
        mime = mime or incoming.header("Content-Type") or "application/octet-stream"
        cid = cid_for(content, 0x55)
        self.blobs[cid] = {"cid": cid, "mimeType": mime, "size": len(content), "content": content}
        return Answer(200, {"blob": _blob_ref(cid, mime, len(content))})

    # -- records --

    def _get_record(self, incoming: Incoming) -> Answer:
        query = {k: v[0] for k, v in parse_qs(incoming.target.partition("?")[2]).items()}
        if not all(query.get(k) for k in ("repo", "collection", "rkey")):
            return invalid("Params must have the properties repo, collection and rkey")
        if query["repo"] not in (self.did, self.handle):
            return invalid(f"Could not find repo: {query['repo']}")
        uri = f"at://{self.did}/{query['collection']}/{query['rkey']}"
        record = self.records.get((query["collection"], query["rkey"]))
        if record is None or record["deleted"] or query.get("cid") not in (None, record["cid"]):
            return invalid(f"Could not locate record: {uri}", "RecordNotFound")
        return Answer(200, {"uri": uri, "cid": record["cid"], "value": record["value"]})

    def _create_record(self, body: JSONDict) -> Answer:
        collection, record, rkey = body.get("collection"), body.get("record"), body.get("rkey")
        if body.get("repo") not in (self.did, self.handle):
            return Answer(401, xrpc_error("AuthenticationRequired", "Authentication Required"))
        if not isinstance(collection, str) or not isinstance(record, dict):
            return invalid("Input must have the properties repo, collection and record")
        if rkey is None:
            rkey = self._next_tid()
        if not isinstance(rkey, str) or not RECORD_KEY.fullmatch(rkey) or rkey in (".", ".."):
            return invalid(f"Invalid record key: {rkey}")
        problem = self._post_problem(record, rkey) if collection == POST else None
        if problem is not None:
            return problem
        existing = self.records.get((collection, rkey))
        if existing is not None and not existing["deleted"]:
            # The reference PDS: "There is already a value at key", hidden behind a bare 500.
            return Answer(500, self.error(500))
        blob_problem = self._blob_problem(record)
        if blob_problem is not None:
            return blob_problem
        value = {"$type": collection, **record}
        cid = cid_for(json.dumps(value, sort_keys=True).encode(), 0x71)
        uri = f"at://{self.did}/{collection}/{rkey}"
        self.records[(collection, rkey)] = {
            "uri": uri,
            "cid": cid,
            "rkey": rkey,
            "value": value,
            "deleted": False,
        }
        commit = {"cid": cid_for(f"commit-{uri}".encode(), 0x71), "rev": self._next_tid()}
        return Answer(200, {"uri": uri, "cid": cid, "commit": commit, "validationStatus": "valid"})

    def _delete(self, body: JSONDict) -> Answer:
        if body.get("repo") not in (self.did, self.handle):
            return Answer(401, xrpc_error("AuthenticationRequired", "Authentication Required"))
        record = self.records.get((str(body.get("collection")), str(body.get("rkey"))))
        if record is None or record["deleted"]:
            return Answer(200, {})  # deleteRecord makes sure the record is gone: a no-op here
        record["deleted"] = True
        uri = record["uri"]
        return Answer(
            200,
            {"commit": {"cid": cid_for(f"del-{uri}".encode(), 0x71), "rev": self._next_tid()}},
        )

    # -- validation of app.bsky.feed.post, as the PDS's lexicon check does --

    def _post_problem(self, record: JSONDict, rkey: str) -> Answer | None:
        if record.get("$type", POST) != POST:
            return invalid(f"Invalid $type: expected {POST}, got {record.get('$type')}")
        if not TID.fullmatch(rkey):
            return invalid(f"Invalid record key for {POST}: Invalid TID format")
        text = record.get("text")
        if not isinstance(text, str):
            return record_problem("Expected string value type", ".text")
        if len(text.encode()) > MAX_BYTES:
            return record_problem(
                f"string too big (maximum {MAX_BYTES}, got {len(text.encode())})", ".text"
            )
        if graphemes(text) > MAX_GRAPHEMES:
            return record_problem(
                f"grapheme too big (maximum {MAX_GRAPHEMES}, got {graphemes(text)})", ".text"
            )
        if not _is_datetime(record.get("createdAt")):
            return record_problem("Invalid datetime format", ".createdAt")
        for check in (self._facets_problem, self._embed_problem, self._reply_problem):
            problem = check(record, text)
            if problem is not None:
                return problem
        return None

    def _facets_problem(self, record: JSONDict, text: str) -> Answer | None:
        facets = record.get("facets", [])
        if not isinstance(facets, list):
            return record_problem("Expected array value type", ".facets")
        data = text.encode()
        for n, facet in enumerate(facets):
            path = f".facets[{n}]"
            index = facet.get("index") if isinstance(facet, dict) else None
            features = facet.get("features") if isinstance(facet, dict) else None
            if not isinstance(index, dict) or not isinstance(features, list):
                return record_problem('Missing required key "index" or "features"', path)
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not all(isinstance(v, int) and v >= 0 for v in (start, end)):
                return record_problem(
                    "byteStart and byteEnd must be integers >= 0", path + ".index"
                )
            for m, feature in enumerate(features):
                problem = _feature_problem(feature, f"{path}.features[{m}]")
                if problem is not None:
                    return problem
            if self.strict:
                problem = _facet_placement(data, start, end, features, path)
                if problem is not None:
                    return problem
        return None

    def _embed_problem(self, record: JSONDict, text: str) -> Answer | None:
        embed = record.get("embed")
        if embed is None:
            return None
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind not in EMBEDS:
            return record_problem(f"Expected one of {', '.join(sorted(EMBEDS))}", ".embed")
        if kind != "app.bsky.embed.external":
            return None
        external = embed.get("external")
        if not isinstance(external, dict):
            return record_problem('Missing required key "external"', ".embed")
        for key in ("uri", "title", "description"):
            if not isinstance(external.get(key), str):
                return record_problem(f'Missing required key "{key}"', ".embed.external")
        if not URI.fullmatch(external["uri"]):
            return record_problem("Invalid URI format", ".embed.external.uri")
        thumb = external.get("thumb")
        if thumb is None:
            return None
        if not _is_blob_ref(thumb):
            return record_problem("Expected blob value type", ".embed.external.thumb")
        if not str(thumb["mimeType"]).startswith("image/"):
            return record_problem(
                f"{thumb['mimeType']} not accepted (expected image/*)", ".embed.external.thumb"
            )
        if thumb["size"] > THUMB_MAX_SIZE:
            return record_problem(
                f"blob too big (maximum {THUMB_MAX_SIZE}, got {thumb['size']})",
                ".embed.external.thumb",
            )
        return None

    def _reply_problem(self, record: JSONDict, text: str) -> Answer | None:
        reply = record.get("reply")
        if reply is None:
            return None
        if not isinstance(reply, dict):
            return record_problem("Expected object value type", ".reply")
        for part in ("root", "parent"):
            ref = reply.get(part)
            ok = isinstance(ref, dict) and isinstance(ref.get("uri"), str)
            if not ok or not AT_URI.fullmatch(ref["uri"]) or not CID.fullmatch(str(ref.get("cid"))):
                return record_problem(f'Missing or invalid strongRef "{part}"', ".reply")
            if self.strict:
                target = self._by_uri(ref["uri"])
                if target is None or target["cid"] != ref["cid"]:
                    return record_problem(
                        f"reply {part} {ref['uri']} is not a post here with that cid (the AppView "
                        "would show an orphaned reply)",
                        f".reply.{part}",
                    )
        return None

    def _by_uri(self, uri: str) -> JSONDict | None:
        match = AT_URI.fullmatch(uri)
        if match is None or match.group(1) != self.did:
            return None
        record = self.records.get((match.group(2), match.group(3)))
        return None if record is None or record["deleted"] else record

    def _blob_problem(self, record: JSONDict) -> Answer | None:
        """The PDS's check of referenced blobs, made when the record is written."""
        embed = record.get("embed")
        external = embed.get("external") if isinstance(embed, dict) else None
        thumb = external.get("thumb") if isinstance(external, dict) else None
        if thumb is None:
            return None
        cid = thumb["ref"]["$link"]
        stored = self.blobs.get(cid)
        if stored is None:
            return invalid(f"Could not find blob: {cid}", "BlobNotFound")
        if stored["mimeType"] != thumb["mimeType"]:
            return invalid(
                "Referenced Mimetype does not match stored blob. Expected: "
                f"{stored['mimeType']}, Got: {thumb['mimeType']}",
                "InvalidMimeType",
            )
        if stored["size"] != thumb["size"]:
            return invalid(
                f"Referenced Size does not match stored blob. Expected: {stored['size']}, "
                f"Got: {thumb['size']}",
                "InvalidSize",
            )
        return None


def _feature_problem(feature: object, path: str) -> Answer | None:
    kind = feature.get("$type") if isinstance(feature, dict) else None
    if kind not in FEATURES:
        return record_problem(f"Expected one of {', '.join(sorted(FEATURES))}", path)
    assert isinstance(feature, dict)
    if kind.endswith("#link") and not (
        isinstance(feature.get("uri"), str) and URI.fullmatch(feature["uri"])
    ):
        return record_problem("Invalid URI format", path + ".uri")
    if kind.endswith("#tag"):
        tag = feature.get("tag")
        if not isinstance(tag, str) or len(tag.encode()) > 640 or graphemes(tag) > 64:
            return record_problem("tag must be a string of at most 64 graphemes", path + ".tag")
    if kind.endswith("#mention") and not str(feature.get("did", "")).startswith("did:"):
        return record_problem("Invalid DID format", path + ".did")
    return None


def _facet_placement(
    data: bytes, start: int, end: int, features: list[Any], path: str
) -> Answer | None:
    """Strict: the byte range lies on characters and covers what its feature says."""
    if not start < end <= len(data):
        return record_problem(
            f"byte range {start}..{end} is outside the text ({len(data)} bytes)", path + ".index"
        )
    try:
        covered = data[start:end].decode("utf-8")
    except UnicodeDecodeError:
        return record_problem(
            f"byte range {start}..{end} cuts a character (offsets are UTF-8 bytes)",
            path + ".index",
        )
    for feature in features:
        if feature["$type"].endswith("#link") and covered != feature["uri"]:
            return record_problem(
                f"link facet covers {covered!r}, not the link {feature['uri']!r}", path + ".index"
            )
        if feature["$type"].endswith("#tag") and covered not in (
            "#" + feature["tag"],
            "＃" + feature["tag"],
        ):
            return record_problem(
                f"tag facet covers {covered!r}, not #{feature['tag']}", path + ".index"
            )
    return None


def _is_blob_ref(value: object) -> bool:
    if not isinstance(value, dict) or value.get("$type") != "blob":
        return False
    ref = value.get("ref")
    return (
        isinstance(ref, dict)
        and isinstance(ref.get("$link"), str)
        and isinstance(value.get("mimeType"), str)
        and isinstance(value.get("size"), int)
    )


def _blob_ref(cid: str, mime: str, size: int) -> JSONDict:
    return {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": size}


def _is_datetime(value: object) -> bool:
    """atproto's datetime: RFC 3339 with a timezone (Z or an offset)."""
    if not isinstance(value, str) or not regex.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value
    ):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def _tid(micros: int) -> str:
    value = (micros << 10) | 0x155  # the fake's clock id
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _rate_headers(window: Window) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(window.limit),
        "RateLimit-Remaining": str(window.remaining),
        "RateLimit-Reset": str(window.reset),
        "RateLimit-Policy": f"{window.limit};w={window.period}",
    }


@pytest.fixture
def fake_bsky() -> Iterator[FakeBluesky]:
    """A started fake PDS with the default account; stopped after the test."""
    with FakeBluesky() as fake:
        yield fake


def main(argv: list[str] | None = None) -> int:
    parser = standalone_parser("python -m tests.fakebsky", "A fake Bluesky PDS on loopback.")
    parser.add_argument(
        "--handle", default=os.environ.get("PIPELINE_BLUESKY_HANDLE", DEFAULT_HANDLE)
    )
    parser.add_argument(
        "--app-password",
        default=os.environ.get("PIPELINE_BLUESKY_APP_PASSWORD", DEFAULT_APP_PASSWORD),
    )
    args = parser.parse_args(argv)
    fake = FakeBluesky(handle=args.handle, app_password=args.app_password)
    fake.verbose = args.verbose
    return run_standalone(fake, args.port)


if __name__ == "__main__":
    sys.exit(main())
