"""The WordPress REST API client: find, create and update posts, upload media, resolve terms.

Everything here speaks WordPress's ``wp/v2`` routes through an ``httpx.Client`` that is passed
in, so tests swap the transport. Library errors become :mod:`pipeline.errors` at this edge.

Exactly-once rules this module keeps:

- Reads and updates are idempotent and retried (429/502/503/504, timeouts, dropped connections) with
  backoff through ``stamina``, honouring ``Retry-After``.
- Creates (posts, media) are retried only when the request certainly never reached the server (the
  connection could not be opened) or WordPress said 429. Any other failure after sending is an
  :class:`AmbiguousOutcome`; :meth:`WordPressClient.publish` then looks the slug up before anything
  else is sent.
- A trashed post is treated as deleted: WordPress renames its slug to ``SLUG__trashed`` and
  ``status=any`` leaves trash out, so a lookup by slug does not see it and a new post is created.
  A post the caller knows by id (``known_id``) that sits in the trash is never resurrected
  silently: :meth:`WordPressClient.publish` stops and says how to restore or delete it.
"""

from __future__ import annotations

import base64
import email.utils
import html
import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn
from urllib.parse import quote, unquote

import httpx
import stamina

from pipeline import __version__
from pipeline.config import (
    Secret,
    WordPressCredentials,
    WordPressSettings,
    is_loopback,
    missing_wordpress_credentials,
)
from pipeline.errors import AmbiguousOutcome, AuthError, ConfigError, WordPressError
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_now

log = logging.getLogger("pipeline.wordpress")

Status = Literal["publish", "future", "draft"]
Taxonomy = Literal["categories", "tags"]
Action = Literal["created", "updated", "adopted"]
Params = tuple[tuple[str, str | int], ...]
Clock = Callable[[], datetime]
TERM_NOUNS: dict[str, str] = {"categories": "category", "tags": "tag"}

API_INDEX_REL = "https://api.w.org/"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Errors raised before a single byte of the request left this machine: safe to resend even a create.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Errors after which an idempotent request is worth sending again.
TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
SNIPPET_CHARS = 200
# Long captions go in a second request: a URL of many kilobytes is refused by some servers.
MAX_QUERY_TEXT = 1500
WP_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class RemotePost:
    id: int
    slug: str
    status: str
    link: str
    date_gmt: datetime | None  # aware, UTC
    modified_gmt: datetime | None  # aware, UTC
    title_raw: str
    content_raw: str
    excerpt_raw: str
    featured_media: int
    categories: tuple[int, ...]
    tags: tuple[int, ...]


@dataclass(frozen=True)
class RemoteMedia:
    id: int
    source_url: str
    alt_text: str = ""
    caption_raw: str = ""


@dataclass(frozen=True)
class PostFields:
    """What the pipeline wants a post to look like. ``None`` means "leave as it is"."""

    title: str
    slug: str
    content: str
    status: Status
    date_gmt: datetime | None = None  # aware
    excerpt: str | None = None
    categories: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()
    featured_media: int | None = None

    def __post_init__(self) -> None:
        if not self.slug:
            raise ValueError("PostFields.slug must not be empty")
        if self.date_gmt is not None and self.date_gmt.tzinfo is None:
            raise ValueError("PostFields.date_gmt must be timezone-aware")
        if self.status == "future" and self.date_gmt is None:
            raise ValueError("a post with status 'future' needs date_gmt")

    def to_json(self) -> dict[str, Any]:
        # The slug is always sent: it is how the pipeline finds the post again after a crash.
        # Tags are always sent, so removing one from the front matter removes it online.
        # An empty category list is not sent: WordPress would then leave the post in no
        # category at all rather than in its default one ("Uncategorized").
        body: dict[str, Any] = {
            "title": self.title,
            "slug": self.slug,
            "content": self.content,
            "status": self.status,
            "tags": list(self.tags),
        }
        if self.categories:
            body["categories"] = list(self.categories)
        if self.date_gmt is not None:
            body["date_gmt"] = wp_date(self.date_gmt)
        if self.excerpt is not None:
            body["excerpt"] = self.excerpt
        if self.featured_media is not None:
            body["featured_media"] = self.featured_media
        return body


def wp_date(when: datetime) -> str:
    """WordPress's date format: ``YYYY-MM-DDTHH:MM:SS`` in UTC, no offset."""
    return when.astimezone(UTC).strftime(WP_DATE_FORMAT)


def parse_wp_date(value: object) -> datetime | None:
    """A ``*_gmt`` field: naive ISO text meaning UTC (or null/empty for "no date")."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


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


def live_fields(fields: PostFields, existing: RemotePost | None, now: datetime) -> PostFields:
    """The fields to send so that a wanted ``publish`` really goes live now.

    WordPress turns ``publish`` with a date a minute or more ahead of its clock into ``future``
    (scheduled by its own cron, which the pipeline does not rely on). So a future date is never
    sent with ``publish``: it is left out, and WordPress stamps the post with its own clock; a post
    that is already scheduled online gets ``now`` explicitly, since leaving the date out would
    keep its future date.
    """
    if fields.status != "publish":
        return fields
    wanted = fields.date_gmt
    if wanted is not None and wanted <= now:
        return fields
    if existing is not None and _is_scheduled(existing, now):
        return replace(fields, date_gmt=now.replace(microsecond=0))
    return replace(fields, date_gmt=None)


def _is_scheduled(post: RemotePost, now: datetime) -> bool:
    return post.status == "future" or (post.date_gmt is not None and post.date_gmt > now)


def content_disposition(filename: str) -> str:
    """``attachment; filename="..."`` safe for WordPress's simple parser, plus RFC 5987.

    WordPress reads only ``filename=`` and splits on ``;`` and ``,`` without honouring quotes, so
    that part is reduced to plain ASCII without quotes, separators or backslashes. The exact name
    goes in ``filename*`` for servers that read it.
    """
    name = re.split(r"[\\/]", filename)[-1]
    fallback = ascii_filename(name)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def ascii_filename(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = _ascii_part(stem) or "upload"
    extension = _ascii_part(extension)
    return f"{stem}.{extension}" if extension else stem


def _ascii_part(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._ -]+", "_", plain).strip(" ._")


def same_slug(a: str, b: str) -> bool:
    """Slugs as WordPress compares them: it stores non-ASCII ones %-encoded, in lower case."""
    return unquote(a).casefold() == unquote(b).casefold()


def _name_key(name: str) -> str:
    """How term names are compared: WordPress escapes ``&`` as ``&amp;`` and ignores case."""
    return " ".join(html.unescape(name).split()).casefold()


# ---------------------------------------------------------------------------------------------
# The REST root


@dataclass(frozen=True)
class ApiRoot:
    """Where the ``wp/v2`` routes live.

    Either a path prefix (``https://blog/wp-json/wp/v2`` + ``/posts``), or, on sites without
    pretty permalinks, a page plus ``?rest_route=/wp/v2/posts``.
    """

    base: str
    route_prefix: str | None = None  # set for the ?rest_route= form

    @classmethod
    def from_setting(cls, api_root: str) -> ApiRoot:
        """``api_root`` from pipeline.toml: the wp/v2 root itself (e.g. WordPress.com's)."""
        url = httpx.URL(api_root)
        route = url.params.get("rest_route")
        if route is not None:
            return cls(str(url.copy_remove_param("rest_route")), route.rstrip("/"))
        return cls(api_root.rstrip("/"))

    @classmethod
    def from_index(cls, index_url: httpx.URL) -> ApiRoot:
        """The wp/v2 root below a REST index (``.../wp-json/`` or ``...?rest_route=/``)."""
        if "rest_route" in index_url.params:
            page = index_url.copy_remove_param("rest_route").copy_remove_param("_fields")
            return cls(str(page), "/wp/v2")
        return cls(str(index_url.copy_with(query=None)).rstrip("/") + "/wp/v2")

    def url(self, path: str, params: Params = ()) -> httpx.URL:
        if self.route_prefix is None:
            return httpx.URL(self.base + path).copy_merge_params(params)
        route = (("rest_route", self.route_prefix + path),)
        return httpx.URL(self.base).copy_merge_params(route + params)


def require_secure(url: str, allow_insecure_http: bool) -> None:
    """Refuse to send credentials over plain http to anything but this machine."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https":
        return
    if parsed.scheme != "http":
        raise ConfigError(f"{url}: not an http(s) URL", fix='use "https://..."')
    if not allow_insecure_http and not is_loopback(parsed.host):
        raise ConfigError(
            f"refusing plain http:// to {parsed.host}: the WordPress password would travel "
            "unencrypted",
            fix="use https:// (wordpress.url, or the site's REST address), or set "
            "allow_insecure_http = true in [wordpress] if you accept that",
        )


# ---------------------------------------------------------------------------------------------
# Authentication and the HTTP client


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
) -> httpx.Client:
    """The client for one site: authenticated, TLS verified, no silent redirects."""
    require_secure(settings.url, settings.allow_insecure_http)
    if settings.api_root is not None:
        require_secure(settings.api_root, settings.allow_insecure_http)
    return httpx.Client(
        auth=make_auth(creds),
        timeout=settings.timeout,
        verify=True,
        transport=transport,
        headers={"User-Agent": f"pipeline/{__version__}", "Accept": "application/json"},
        follow_redirects=False,
    )


# ---------------------------------------------------------------------------------------------
# The client


class _Retryable(Exception):
    """An answer worth waiting for and asking again (429, 502, 503, 504)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class WordPressClient:
    """One site's ``wp/v2`` API. Safe to share between threads; caches terms for its lifetime."""

    def __init__(
        self,
        http: httpx.Client,
        api_root: str | None,
        site_url: str,
        user_label: str,
        *,
        allow_insecure_http: bool = False,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
        redact: Sequence[str] = (),
    ) -> None:
        self._http = http
        self._site = site_url.rstrip("/")
        self._user = user_label
        self._allow_insecure = allow_insecure_http
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._redact = tuple(s for s in redact if s)
        self._lock = threading.Lock()  # counters and the term cache
        self._discovery_lock = threading.Lock()  # so that threads discover the root once
        self._root = ApiRoot.from_setting(api_root) if api_root else None
        self._terms: dict[str, dict[str, int]] = {"categories": {}, "tags": {}}
        self.requests_by_method: Counter[str] = Counter()

    @classmethod
    def connect(
        cls,
        http: httpx.Client,
        settings: WordPressSettings,
        creds: WordPressCredentials,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
    ) -> WordPressClient:
        """A client for the configured site; the REST root is discovered on first use."""
        require_secure(settings.url, settings.allow_insecure_http)
        if settings.api_root is not None:
            require_secure(settings.api_root, settings.allow_insecure_http)
        secrets = creds.secrets()
        if creds.user is not None and creds.app_password is not None:
            # A server echoing our Authorization header must not leak it into a message either.
            pair = f"{creds.user}:{creds.app_password.reveal()}".encode()
            secrets.append(base64.b64encode(pair).decode("ascii"))
        return cls(
            http,
            settings.api_root,
            settings.url,
            creds.user or "(WordPress.com token)",
            allow_insecure_http=settings.allow_insecure_http,
            retry=retry,
            clock=clock,
            redact=secrets,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WordPressClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def requests_sent(self) -> int:
        return sum(self.requests_by_method.values())

    @property
    def api_root(self) -> ApiRoot:
        """The wp/v2 root, discovered once from the site URL unless configured."""
        with self._discovery_lock:
            if self._root is None:
                self._root = self._discover()
            root = self._root
        require_secure(root.base, self._allow_insecure)
        return root

    # -- operations --------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The logged-in user (``pipeline check --online``)."""
        doing = "checking the login"
        response = self._request("GET", "/users/me", doing, params=(("context", "edit"),))
        return self._dict(self._json(response, doing), doing)

    def find_post(self, slug: str) -> RemotePost | None:
        """The post with this slug in any status but trash (see the module docstring)."""
        params: Params = (
            ("slug", slug),
            ("status", "any"),
            ("context", "edit"),
            ("per_page", 10),
        )
        doing = f"looking up the post with slug {slug!r}"
        data = self._json(self._request("GET", "/posts", doing, params=params), doing)
        # WordPress compares slugs after sanitize_title() (lower case, non-ASCII %-encoded),
        # so whatever it returns has this slug as far as it is concerned.
        matches = [self._post(item, doing) for item in self._list(data, doing)]
        if len(matches) > 1:
            log.warning(
                "%d posts have the slug %r (ids %s); using the lowest id",
                len(matches),
                slug,
                ", ".join(str(p.id) for p in matches),
            )
        return min(matches, key=lambda post: post.id) if matches else None

    def get_post(self, post_id: int) -> RemotePost | None:
        """The post with this id (trashed ones too, with status ``trash``); None if deleted."""
        doing = f"reading post {post_id}"
        response = self._request(
            "GET", f"/posts/{post_id}", doing, params=(("context", "edit"),), missing_ok=True
        )
        if response.status_code in (404, 410):
            return None
        return self._post(self._json(response, doing), doing)

    def posts_by_ids(self, ids: Sequence[int]) -> dict[int, RemotePost]:
        """The posts with these ids that still exist, in any status but trash, 100 a request."""
        found: dict[int, RemotePost] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            params: Params = (
                ("include", ",".join(str(i) for i in chunk)),
                ("status", "any"),
                ("context", "edit"),
                ("per_page", 100),
            )
            doing = f"reading {len(chunk)} posts"
            data = self._json(self._request("GET", "/posts", doing, params=params), doing)
            for item in self._list(data, doing):
                post = self._post(item, doing)
                found[post.id] = post
        return found

    def create_post(self, fields: PostFields) -> RemotePost:
        """Create a post. Never resent blindly: an unknown outcome raises AmbiguousOutcome."""
        post, _ = self._save(None, fields)
        return post

    def update_post(self, post_id: int, fields: PostFields) -> RemotePost:
        """Update a post (idempotent, so retried)."""
        post, _ = self._save(post_id, fields)
        return post

    def get_media(self, media_id: int) -> RemoteMedia | None:
        doing = f"reading media {media_id}"
        response = self._request(
            "GET", f"/media/{media_id}", doing, params=(("context", "edit"),), missing_ok=True
        )
        if response.status_code in (404, 410):
            return None
        return self._media(self._json(response, doing), doing)

    def upload_media(
        self, filename: str, content: bytes, mime: str, alt: str, caption: str
    ) -> RemoteMedia:
        """Upload a file as the raw body, with its alt text and caption.

        WordPress reads ``alt_text`` and ``caption`` from the query string of the upload itself,
        so that is one request; a long caption, or one WordPress did not keep, is set afterwards.
        Not resent blindly (it creates): an unknown outcome raises AmbiguousOutcome.
        """
        doing = f"uploading {filename!r}"
        headers = {"Content-Type": mime, "Content-Disposition": content_disposition(filename)}
        inline = len(alt) + len(caption) <= MAX_QUERY_TEXT
        params: Params = (("alt_text", alt), ("caption", caption)) if inline else ()
        response = self._request(
            "POST", "/media", doing, params=params, content=content, headers=headers, creates=True
        )
        media = self._media(self._json(response, doing), doing)
        if media.alt_text == alt and media.caption_raw == caption:
            return media
        return self._describe_media(media, alt, caption)

    def term_ids(self, taxonomy: Taxonomy, names: Sequence[str]) -> tuple[int, ...]:
        """Ids for category or tag names, creating missing terms; cached for this client.

        Names match case-insensitively, after unescaping WordPress's HTML entities. Existing
        terms are found in one request by their default slugs (WordPress derives the slug from
        the name); the rest are created, and WordPress's ``term_exists`` answer gives the id of
        a term with that name but another slug.
        """
        wanted = _unique_names(names)
        missing = [name for name in wanted if _name_key(name) not in self._terms[taxonomy]]
        if missing:
            self._remember(taxonomy, self._find_terms(taxonomy, missing))
        for name in wanted:
            if _name_key(name) not in self._terms[taxonomy]:
                self._remember(taxonomy, {_name_key(name): self._create_term(taxonomy, name)})
        return tuple(self._terms[taxonomy][_name_key(name)] for name in wanted)

    def publish(
        self,
        fields: PostFields,
        *,
        known_id: int | None = None,
        existing: RemotePost | None = None,
    ) -> tuple[RemotePost, Action]:
        """Create or update the post so it matches ``fields``; never a second copy.

        The post is found by ``known_id`` if given (and still there), else by slug; an existing
        post is updated ("updated" for ``known_id``, "adopted" when found by slug), and only
        when none exists is one created. A create with an unknown outcome is checked by slug
        and adopted if it happened. With status ``publish`` the post is verified to be live.
        ``existing`` is the post ``known_id`` names, if the caller has just read it.
        """
        now = self._clock()
        if existing is None or existing.id != known_id or existing.status == "trash":
            existing = self._existing(fields.slug, known_id)
        to_send = live_fields(fields, existing, now)
        if existing is None:
            post, action, server_now = self._create_or_adopt(to_send)
        else:
            post, server_now = self._save(existing.id, to_send)
            action = "updated" if existing.id == known_id else "adopted"
        if not same_slug(post.slug, fields.slug):
            log.warning(
                "WordPress gave post %d the slug %r instead of %r: another item already "
                "uses it; rename that item's slug in WordPress",
                post.id,
                post.slug,
                fields.slug,
            )
        return self._make_live(post, to_send, now, server_now), action

    # -- publish steps -----------------------------------------------------------------------

    def _existing(self, slug: str, known_id: int | None) -> RemotePost | None:
        if known_id is not None:
            post = self.get_post(known_id)
            if post is not None and post.status == "trash":
                raise WordPressError(
                    f"post {known_id} ({slug!r}) is in the WordPress trash (fix: restore it "
                    "under Posts → Trash to publish it again, or delete it permanently to "
                    "publish a new copy)",
                    code="trashed",
                )
            if post is not None:
                return post
            log.warning("post %d is gone from WordPress; looking for %r by slug", known_id, slug)
        return self.find_post(slug)

    def _create_or_adopt(self, fields: PostFields) -> tuple[RemotePost, Action, datetime | None]:
        try:
            post, server_now = self._save(None, fields)
        except AmbiguousOutcome:
            found = self.find_post(fields.slug)
            if found is None:
                raise
            log.warning(
                "creating %r had an unknown outcome; it did happen: adopting post %d",
                fields.slug,
                found.id,
            )
            # Update anyway: the request may have died half-way (terms or image not yet set).
            post, server_now = self._save(found.id, fields)
            return post, "adopted", server_now
        return post, "created", server_now

    def _make_live(
        self, post: RemotePost, fields: PostFields, now: datetime, server_now: datetime | None
    ) -> RemotePost:
        """Undo WordPress's publish-to-future switch (its clock may run behind ours)."""
        if fields.status != "publish" or post.status != "future":
            return post
        live_at = min(now, server_now) if server_now is not None else now
        log.warning(
            "WordPress scheduled post %d instead of publishing it; dating it %s",
            post.id,
            wp_date(live_at),
        )
        post, _ = self._save(post.id, replace(fields, date_gmt=live_at.replace(microsecond=0)))
        if post.status == "future":
            raise WordPressError(
                f"WordPress keeps post {post.id} scheduled instead of live (fix: check the "
                "clock and timezone of the WordPress server and of this machine)",
                code="still_future",
            )
        return post

    def _save(self, post_id: int | None, fields: PostFields) -> tuple[RemotePost, datetime | None]:
        """Create (no id) or update a post; also WordPress's clock, from the Date header."""
        if post_id is None:
            doing = f"creating the post {fields.slug!r}"
            response = self._request("POST", "/posts", doing, json=fields.to_json(), creates=True)
        else:
            doing = f"updating post {post_id} ({fields.slug!r})"
            response = self._request("POST", f"/posts/{post_id}", doing, json=fields.to_json())
        post = self._post(self._json(response, doing), doing)
        return post, _server_date(response)

    # -- media and terms ---------------------------------------------------------------------

    def _describe_media(self, media: RemoteMedia, alt: str, caption: str) -> RemoteMedia:
        doing = f"setting the alt text and caption of media {media.id}"
        body = {"alt_text": alt, "caption": caption}
        response = self._request("POST", f"/media/{media.id}", doing, json=body)
        return self._media(self._json(response, doing), doing)

    def _remember(self, taxonomy: Taxonomy, found: Mapping[str, int]) -> None:
        with self._lock:
            self._terms[taxonomy].update(found)

    def _find_terms(self, taxonomy: Taxonomy, names: Sequence[str]) -> dict[str, int]:
        # WordPress turns each slug[] value into a slug with sanitize_title(), exactly as it
        # does for a new term's name, so the names themselves find the terms they created.
        params: Params = (
            *(("slug[]", name) for name in names),
            ("per_page", 100),
            ("hide_empty", "false"),
            ("_fields", "id,name,slug"),
        )
        doing = f"looking up {taxonomy} {', '.join(names)}"
        data = self._json(self._request("GET", f"/{taxonomy}", doing, params=params), doing)
        keys = {_name_key(name) for name in names}
        found: dict[str, int] = {}
        for item in self._list(data, doing):
            key = _name_key(str(item.get("name", "")))
            if key in keys and key not in found:
                found[key] = int(item["id"])
        return found

    def _create_term(self, taxonomy: Taxonomy, name: str) -> int:
        doing = f"creating the {TERM_NOUNS[taxonomy]} {name!r}"
        # Safe to resend: WordPress refuses a second term with the same name (term_exists).
        response = self._request(
            "POST", f"/{taxonomy}", doing, json={"name": name}, accept=frozenset({400})
        )
        if response.status_code == 400:
            return self._existing_term_id(response, doing)
        data = self._dict(self._json(response, doing), doing)
        try:
            return int(data["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected(doing, data) from exc

    def _existing_term_id(self, response: httpx.Response, doing: str) -> int:
        """``term_exists`` carries the id of the term that already has this name."""
        error = _error_json(response) or {}
        details = error.get("data")
        if error.get("code") == "term_exists" and isinstance(details, dict):
            term_id = details.get("term_id")
            if isinstance(term_id, int | str) and str(term_id).isdigit():
                return int(term_id)
        self._fail(response, doing)

    # -- discovery ---------------------------------------------------------------------------

    def _discover(self) -> ApiRoot:
        """Find the REST API: /wp-json/, then the advertised Link, then ?rest_route=/."""
        tried: list[str] = []
        pretty = httpx.URL(f"{self._site}/wp-json/")
        first = self._probe(pretty, tried)
        if isinstance(first, ApiRoot):
            return first
        # WordPress advertises its REST index on every page it serves, 404 pages included.
        advertised = first.links.get(API_INDEX_REL, {}).get("url")
        if advertised and first.url.join(advertised) != pretty:
            linked = self._probe(first.url.join(advertised), tried)
            if isinstance(linked, ApiRoot):
                return linked
        plain = self._probe(httpx.URL(f"{self._site}/").copy_set_param("rest_route", "/"), tried)
        if isinstance(plain, ApiRoot):
            return plain
        raise WordPressError(
            f"{self._site} does not look like a WordPress site with the REST API on: "
            f"{'; '.join(tried)} (fix: set [wordpress] url to the blog's home page address; if "
            "it is WordPress, a plugin or the host may have disabled the REST API — enable it, "
            "or set api_root)",
            code="not_wordpress",
        )

    def _probe(self, url: httpx.URL, tried: list[str]) -> ApiRoot | httpx.Response:
        """The root if ``url`` is a REST index with wp/v2, else the answer (for its Link)."""
        require_secure(str(url), self._allow_insecure)
        doing = f"reading the REST API index at {url}"
        request = self._http.build_request("GET", url.copy_set_param("_fields", "namespaces"))
        response = self._send_idempotent(request, doing, follow_redirects=True)
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            self._fail(response, doing)
        namespaces = _namespaces(response)
        if namespaces is not None and "wp/v2" in namespaces:
            return ApiRoot.from_index(response.url)
        tried.append(f"{url} answered {_describe(response, namespaces)}")
        return response

    # -- sending -----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: Params = (),
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        creates: bool = False,
        missing_ok: bool = False,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one API request; ``doing`` says what for, in error messages.

        ``creates`` marks a request that is not idempotent. Returns successful answers and
        those in ``accept`` (404/410 too with ``missing_ok``); anything else becomes an error
        that says what to do.
        """
        request = self._http.build_request(
            method,
            self.api_root.url(path, params),
            json=json,
            content=content,
            headers=headers,
        )
        send = self._send_create if creates else self._send_idempotent
        response = send(request, doing)
        ok = (
            response.is_success
            or response.status_code in accept
            or (missing_ok and response.status_code in (404, 410))
        )
        if not ok:
            self._fail(response, doing)
        return response

    def _send_idempotent(
        self, request: httpx.Request, doing: str, *, follow_redirects: bool = False
    ) -> httpx.Response:
        what = f"{request.method} {_route(request.url)}"
        response: httpx.Response | None = None
        try:
            for attempt in self._attempts(self._backoff_hook(what, creates=False)):
                with attempt:
                    response = self._send_once(request, follow_redirects)
        except _Retryable as exc:
            return exc.response
        except httpx.TransportError as exc:
            raise WordPressError(
                self._clean(
                    f"could not reach WordPress at {self._site} ({doing}): "
                    f"{_transport_reason(exc)} (fix: check the site is up and reachable from "
                    "here, then run again)"
                )
            ) from exc
        assert response is not None
        return response

    def _send_create(self, request: httpx.Request, doing: str) -> httpx.Response:
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
                self._clean(
                    f"could not reach WordPress at {self._site} ({doing}): "
                    f"{_transport_reason(exc)} (fix: check the site is up, then run again)"
                )
            ) from exc
        except httpx.TransportError as exc:
            raise AmbiguousOutcome(
                self._clean(
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
            self._fail(response, doing)
        reason = _error_text(response) or f"HTTP {response.status_code}"
        raise AmbiguousOutcome(
            self._clean(
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

    def _send_once(self, request: httpx.Request, follow_redirects: bool) -> httpx.Response:
        self._count(request.method)
        response = self._http.send(request, follow_redirects=follow_redirects)
        for _ in response.history:
            self._count("GET")
        log.debug("%s %s -> %d", request.method, _route(request.url), response.status_code)
        if response.status_code in RETRY_STATUSES:
            raise _Retryable(response)
        return response

    def _count(self, method: str) -> None:
        with self._lock:
            self.requests_by_method[method] += 1

    def _backoff_hook(self, what: str, *, creates: bool) -> Callable[[Exception], bool | float]:
        """Decide whether (and how long after) ``what`` is sent again, and log it."""

        def hook(exc: Exception) -> bool | float:
            if isinstance(exc, _Retryable):
                return self._status_backoff(exc.response, what, creates)
            if isinstance(exc, NOT_SENT_ERRORS if creates else TRANSIENT_ERRORS):
                log.warning("%s failed (%s); retrying", what, _transport_reason(exc))
                return True
            return False

        return hook

    def _status_backoff(self, response: httpx.Response, what: str, creates: bool) -> bool | float:
        status = response.status_code
        if creates and status != 429:
            return False  # a gateway error after a create is an unknown outcome, not a retry
        wait = retry_after_seconds(response.headers.get("Retry-After"), self._clock())
        if wait is None:
            log.warning("%s: WordPress answered HTTP %d; retrying", what, status)
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
            "%s: WordPress answered HTTP %d; retrying in %.1fs (Retry-After)", what, status, wait
        )
        return wait

    # -- answers -----------------------------------------------------------------------------

    def _json(self, response: httpx.Response, doing: str) -> Any:
        """The JSON of a successful answer; PHP notices or HTML instead are an error."""
        try:
            return response.json()
        except ValueError as exc:
            raise WordPressError(
                self._clean(
                    f"WordPress answered {doing} with HTTP {response.status_code} but not JSON: "
                    f"{_snippet(response)!r} (fix: a PHP warning or a plugin is printing into the "
                    "answer; turn off display_errors / WP_DEBUG_DISPLAY on the site)"
                ),
                status=response.status_code,
                code="not_json",
            ) from exc

    def _fail(self, response: httpx.Response, doing: str) -> NoReturn:
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
        raise WordPressError(self._clean(message), status=status, code=_error_code(response))

    def _auth_error(self, response: httpx.Response, doing: str) -> AuthError:
        what = _error_text(response) or f"HTTP {response.status_code}"
        if response.status_code == 403:
            head = f"WordPress at {self._site} does not let user {self._user!r} do this"
        else:
            head = f"WordPress at {self._site} did not accept the login of user {self._user!r}"
        hint = _auth_hint(response.status_code, _error_code(response))
        return AuthError(self._clean(f"{head} ({doing}): {what}. {hint}"))

    def _post(self, data: Any, doing: str) -> RemotePost:
        try:
            return _post_from(self._dict(data, doing))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected(doing, data) from exc

    def _media(self, data: Any, doing: str) -> RemoteMedia:
        try:
            return _media_from(self._dict(data, doing))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected(doing, data) from exc

    def _dict(self, data: Any, doing: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self._unexpected(doing, data)
        return data

    def _list(self, data: Any, doing: str) -> list[dict[str, Any]]:
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self._unexpected(doing, data)
        return data

    def _unexpected(self, doing: str, data: Any) -> WordPressError:
        shown = repr(data)[:SNIPPET_CHARS]
        return WordPressError(
            self._clean(f"unexpected answer from WordPress {doing}: {shown}"),
            code="unexpected_answer",
        )

    def _clean(self, text: str) -> str:
        for secret in self._redact:
            text = text.replace(secret, "********")
        return text


# ---------------------------------------------------------------------------------------------
# Reading answers


def _post_from(data: Mapping[str, Any]) -> RemotePost:
    return RemotePost(
        id=int(data["id"]),
        slug=str(data.get("slug", "")),
        status=str(data.get("status", "")),
        link=str(data.get("link", "")),
        date_gmt=parse_wp_date(data.get("date_gmt")),
        modified_gmt=parse_wp_date(data.get("modified_gmt")),
        title_raw=_raw(data.get("title")),
        content_raw=_raw(data.get("content")),
        excerpt_raw=_raw(data.get("excerpt")),
        featured_media=int(data.get("featured_media") or 0),
        categories=tuple(int(i) for i in data.get("categories") or ()),
        tags=tuple(int(i) for i in data.get("tags") or ()),
    )


def _media_from(data: Mapping[str, Any]) -> RemoteMedia:
    return RemoteMedia(
        id=int(data["id"]),
        source_url=str(data.get("source_url", "")),
        alt_text=str(data.get("alt_text") or ""),
        caption_raw=_raw(data.get("caption")),
    )


def _raw(field: object) -> str:
    """``{"raw": ..., "rendered": ...}`` (raw needs context=edit), or a plain string."""
    if isinstance(field, dict):
        return str(field.get("raw", field.get("rendered", "")))
    return "" if field is None else str(field)


def _namespaces(response: httpx.Response) -> list[str] | None:
    if not response.is_success:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    names = data.get("namespaces") if isinstance(data, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else None


def _describe(response: httpx.Response, namespaces: list[str] | None) -> str:
    if namespaces is not None:
        return "a REST index without the wp/v2 routes"
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    return f"HTTP {response.status_code} ({kind})"


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


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        cleaned = " ".join(name.split())
        if cleaned and _name_key(cleaned) not in seen:
            seen.add(_name_key(cleaned))
            unique.append(cleaned)
    return unique


__all__ = [
    "Action",
    "ApiRoot",
    "PostFields",
    "RemoteMedia",
    "RemotePost",
    "RetryPolicy",
    "Status",
    "Taxonomy",
    "WordPressClient",
    "content_disposition",
    "live_fields",
    "make_http_client",
    "parse_wp_date",
    "retry_after_seconds",
    "wp_date",
]
