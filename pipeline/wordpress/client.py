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

import html
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
from msgspec.structs import replace

from pipeline.config import WordPressCredentials, WordPressSettings
from pipeline.errors import AmbiguousOutcome, ConfigError, WordPressError
from pipeline.redact import NO_SECRETS, Redactor
from pipeline.retrying import RetryPolicy
from pipeline.timeutil import utc_iso, utc_now
from pipeline.wordpress.discovery import (
    API_INDEX_REL,
    ApiRoot,
    Memory,
    Params,
    RememberedRoot,
    discover,
    require_secure,
)
from pipeline.wordpress.models import (
    TERM_NOUNS,
    Action,
    PostFields,
    RemoteMedia,
    RemotePost,
    Taxonomy,
    _media_from,
    _name_key,
    _post_from,
    content_disposition,
    live_fields,
    same_slug,
    wp_date,
)
from pipeline.wordpress.transport import (
    Transport,
    _error_json,
    _server_date,
)

log = logging.getLogger("pipeline.wordpress")
Clock = Callable[[], datetime]
# Long captions go in a second request: a URL of many kilobytes is refused by some servers.
MAX_QUERY_TEXT = 1500


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
        redactor: Redactor = NO_SECRETS,
        credentials_origin: str = "credentials.toml",
        settings: WordPressSettings | None = None,
        memory: Memory | None = None,
    ) -> None:
        """``memory`` keeps the discovered REST root between commands (the state's store)."""
        self._t = Transport(
            http,
            site_url,
            user_label,
            retry=retry,
            clock=clock,
            redactor=redactor,
            credentials_origin=credentials_origin,
        )
        self._site = site_url.rstrip("/")
        self._allow_insecure = allow_insecure_http
        self._clock = clock
        self._lock = threading.Lock()  # the term cache
        self._discovery_lock = threading.Lock()  # so that threads discover the root once
        self._root = ApiRoot.from_setting(api_root) if api_root else None
        self._remembered = (
            RememberedRoot(memory, self._site, self._t.clean)
            if memory is not None and self._root is None
            else None
        )
        # The root the state remembered. An answer from it saying the API is not there finds
        # the root again, once per client (a root this client discovered or was given is never
        # doubted); requests that other threads sent it meanwhile go again to the one found.
        self._recalled: ApiRoot | None = None
        self._found_again = False
        # For errors that are the config's: where url and api_root are written.
        self._settings = settings or WordPressSettings(url=site_url, api_root=api_root)
        self._terms: dict[str, dict[str, int]] = {"categories": {}, "tags": {}}

    @classmethod
    def connect(
        cls,
        http: httpx.Client,
        settings: WordPressSettings,
        creds: WordPressCredentials,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock = utc_now,
        memory: Memory | None = None,
    ) -> WordPressClient:
        """A client for the configured site; the REST root is discovered on first use (or read
        from ``memory``, where an earlier command left it)."""
        require_secure(settings.url, settings.allow_insecure_http)
        if settings.api_root is not None:
            require_secure(settings.api_root, settings.allow_insecure_http)
        # A server echoing our Authorization header must not leak it into a message either.
        password = creds.app_password
        pairs = [(creds.user, password.reveal())] if creds.user and password else []
        return cls(
            http,
            settings.api_root,
            settings.url,
            creds.user or "(WordPress.com token)",
            allow_insecure_http=settings.allow_insecure_http,
            retry=retry,
            clock=clock,
            redactor=Redactor(creds.secrets(), pairs=pairs),
            credentials_origin=creds.origin,
            settings=settings,
            memory=memory,
        )

    def close(self) -> None:
        self._t.http.close()

    def __enter__(self) -> WordPressClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def requests_by_method(self) -> Counter[str]:
        return self._t.requests_by_method

    @property
    def requests_sent(self) -> int:
        return sum(self.requests_by_method.values())

    @property
    def api_root(self) -> ApiRoot:
        """The wp/v2 root: configured, else remembered from an earlier command, else discovered
        from the site URL (once)."""
        with self._discovery_lock:
            if self._root is None and self._remembered is not None:
                self._root = self._recalled = self._remembered.recall(self._allow_insecure)
            if self._root is None:
                self._root = self._discover()
            root = self._root
        require_secure(root.base, self._allow_insecure)
        return root

    def _discover(self) -> ApiRoot:
        try:
            root = discover(self._t, self._site, self._allow_insecure)
        except ConfigError as exc:
            raise self._settings.error("url", exc.message, exc.fix or "") from exc
        if self._remembered is not None:
            self._remembered.remember(root)
        return root

    def _rediscover(self, failed: ApiRoot, answer: httpx.Response) -> ApiRoot | None:
        """The root found again after the remembered ``failed`` got ``answer``, or None when
        there is none other to try. Once per client, whichever thread asks first."""
        with self._discovery_lock:
            if not self._found_again and self._remembered is not None:
                self._found_again = True
                log.info(
                    "the REST API remembered for %s (%s) answered HTTP %d: finding it again",
                    self._site,
                    failed.base,
                    answer.status_code,
                )
                self._root = None
                self._remembered.forget()
                self._root = self._discover()
            root = self._root
        return root if root is not None and root != failed else None

    # -- operations --------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The logged-in user (``pipeline check --online``)."""
        doing = "checking the login"
        response = self._request("GET", "/users/me", doing, params=(("context", "edit"),))
        return self._t.as_dict(self._t.json(response, doing), doing)

    def publicize_connections(self) -> Any:
        """Jetpack Social's connections (``GET wpcom/v2/publicize/connections``, as JSON), or
        None when the site has no such route (no Jetpack Social)."""
        doing = "reading Jetpack Social's connections"
        url = self.api_root.namespace("wpcom/v2").url("/publicize/connections")
        response = self._t.send_idempotent(self._t.http.build_request("GET", url), doing)
        if response.status_code in (404, 410):
            return None
        if not response.is_success:
            self._t.fail(response, doing)
        return self._t.json(response, doing)

    def find_post(self, slug: str) -> RemotePost | None:
        """The post with this slug in any status but trash (see the module docstring)."""
        params: Params = (
            ("slug", slug),
            ("status", "any"),
            ("context", "edit"),
            ("per_page", 10),
        )
        doing = f"looking up the post with slug {slug!r}"
        data = self._t.json(self._request("GET", "/posts", doing, params=params), doing)
        # WordPress compares slugs after sanitize_title() (lower case, non-ASCII %-encoded),
        # so whatever it returns has this slug as far as it is concerned.
        matches = [self._post(item, doing) for item in self._t.as_list(data, doing)]
        if len(matches) > 1:
            log.warning(
                "%d posts have the slug %r (ids %s); using the lowest id",
                len(matches),
                slug,
                ", ".join(str(p.id) for p in matches),
            )
        return min(matches, key=lambda post: post.id) if matches else None

    def find_posts(self, slugs: Sequence[str]) -> dict[str, RemotePost]:
        """The posts with these slugs (any status but trash), 100 slugs a request; a slug
        with no post is absent. For a batch of creates: one lookup instead of one per post."""
        found: dict[str, RemotePost] = {}
        wanted = list(dict.fromkeys(slugs))
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            params: Params = (
                *(("slug[]", slug) for slug in chunk),
                ("status", "any"),
                ("context", "edit"),
                ("per_page", 100),
            )
            doing = f"looking up {len(chunk)} slugs"
            data = self._t.json(self._request("GET", "/posts", doing, params=params), doing)
            posts = sorted(
                (self._post(item, doing) for item in self._t.as_list(data, doing)),
                key=lambda post: post.id,
            )
            for slug in chunk:
                match = next((post for post in posts if same_slug(post.slug, slug)), None)
                if match is not None:
                    found[slug] = match
        return found

    def block_types(self) -> list[dict[str, Any]]:
        """The site's block registry (each block's ``block.json``): how its editor saves."""
        doing = "reading the block types"
        params: Params = (("context", "edit"), ("_fields", "name,supports,attributes"))
        data = self._t.json(self._request("GET", "/block-types", doing, params=params), doing)
        return self._t.as_list(data, doing)

    def get_post(self, post_id: int) -> RemotePost | None:
        """The post with this id (trashed ones too, with status ``trash``); None if deleted."""
        doing = f"reading post {post_id}"
        response = self._request(
            "GET", f"/posts/{post_id}", doing, params=(("context", "edit"),), missing_ok=True
        )
        if response.status_code in (404, 410):
            return None
        return self._post(self._t.json(response, doing), doing)

    def posts_by_ids(self, ids: Sequence[int]) -> dict[int, RemotePost]:
        """The posts with these ids that still exist, in any status (trash too: a trashed post is
        not the same as a deleted one — it can be restored), 100 a request."""
        found: dict[int, RemotePost] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            params: Params = (
                ("include", ",".join(str(i) for i in chunk)),
                ("status", "publish,future,draft,pending,private,trash"),
                ("context", "edit"),
                ("per_page", 100),
            )
            doing = f"reading {len(chunk)} posts"
            data = self._t.json(self._request("GET", "/posts", doing, params=params), doing)
            for item in self._t.as_list(data, doing):
                post = self._post(item, doing)
                found[post.id] = post
        return found

    def list_posts(
        self,
        statuses: Sequence[str] = ("publish", "future", "draft"),
        since: datetime | None = None,
    ) -> list[RemotePost]:
        """Every post in these statuses (dated after ``since``), oldest first, 100 a request."""
        posts: list[RemotePost] = []
        for page in range(1, 10_000):
            params: Params = (
                ("status", ",".join(statuses)),
                ("context", "edit"),
                ("per_page", 100),
                ("page", page),
                ("orderby", "date"),
                ("order", "asc"),
                *((("after", utc_iso(since)),) if since else ()),
            )
            doing = f"listing posts (page {page})"
            response = self._request("GET", "/posts", doing, params=params)
            items = self._t.as_list(self._t.json(response, doing), doing)
            posts += [self._post(item, doing) for item in items]
            pages = response.headers.get("X-WP-TotalPages", "")
            if len(items) < 100 or (pages.isdigit() and page >= int(pages)):
                break
        return posts

    def term_names(self, taxonomy: Taxonomy, ids: Sequence[int]) -> dict[int, str]:
        """The names of these category or tag ids (the ones that still exist)."""
        names: dict[int, str] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            params: Params = (("include", ",".join(map(str, chunk))), ("per_page", 100))
            doing = f"reading {len(chunk)} {TERM_NOUNS[taxonomy]} names"
            data = self._t.json(self._request("GET", f"/{taxonomy}", doing, params=params), doing)
            for item in self._t.as_list(data, doing):
                names[int(item["id"])] = html.unescape(str(item.get("name", "")))
        return names

    def download(self, url: str) -> bytes:
        """A public file (an uploaded image), fetched without credentials: it may sit on a CDN."""
        require_secure(url, self._allow_insecure)
        doing = f"downloading {url}"
        request = self._t.http.build_request("GET", url)
        response = self._t.send_idempotent(request, doing, follow_redirects=True, anonymous=True)
        if not response.is_success:
            self._t.fail(response, doing)
        return response.content

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
        return self._media(self._t.json(response, doing), doing)

    def find_media(self, slugs: Sequence[str]) -> dict[str, RemoteMedia]:
        """The attachments with these slugs (100 a request), by slug: how an upload is found
        again by the key it was given (:meth:`upload_media`'s ``slug``)."""
        found: dict[str, RemoteMedia] = {}
        wanted = list(dict.fromkeys(slugs))
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            params: Params = (
                ("slug", ",".join(chunk)),
                ("context", "edit"),
                ("per_page", 100),
                ("orderby", "id"),
                ("order", "asc"),
            )
            doing = f"looking up {len(chunk)} uploads in the media library"
            data = self._t.json(self._request("GET", "/media", doing, params=params), doing)
            for item in self._t.as_list(data, doing):
                slug = str(item.get("slug", "")) if isinstance(item, dict) else ""
                if slug in chunk and slug not in found:  # the first upload, if ever two
                    found[slug] = self._media(item, doing)
        return found

    def upload_media(
        self,
        filename: str,
        content: bytes,
        mime: str,
        alt: str,
        caption: str,
        *,
        slug: str | None = None,
    ) -> RemoteMedia:
        """Upload a file as the raw body, with its alt text and caption.

        WordPress reads ``alt_text``, ``caption`` and ``slug`` from the query string of the
        upload itself, so that is one request; a long caption, or one WordPress did not keep,
        is set afterwards. ``slug`` is the key :meth:`find_media` finds the upload by.
        Not resent blindly (it creates): an unknown outcome raises AmbiguousOutcome.
        """
        doing = f"uploading {filename!r}"
        headers = {"Content-Type": mime, "Content-Disposition": content_disposition(filename)}
        inline = len(alt) + len(caption) <= MAX_QUERY_TEXT
        params: Params = (("alt_text", alt), ("caption", caption)) if inline else ()
        params += (("slug", slug),) if slug else ()
        response = self._request(
            "POST", "/media", doing, params=params, content=content, headers=headers, creates=True
        )
        media = self._media(self._t.json(response, doing), doing)
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
        looked_up: bool = False,
    ) -> tuple[RemotePost, Action]:
        """Create or update the post so it matches ``fields``; never a second copy.

        The post is found by ``known_id`` if given (and still there), else by slug; an existing
        post is updated ("updated" for ``known_id``, "adopted" when found by slug), and only
        when none exists is one created. A create with an unknown outcome is checked by slug
        and adopted if it happened. With status ``publish`` the post is verified to be live.
        ``existing`` is the post ``known_id`` names, if the caller has just read it; with
        ``looked_up`` (and no ``known_id``) it is what the caller's own lookup of the slug found
        just now (None: nothing), so it is not looked up again.
        """
        now = self._clock()
        fresh = looked_up and known_id is None
        if not fresh and (
            existing is None or existing.id != known_id or existing.status == "trash"
        ):
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
        except AmbiguousOutcome as exc:
            found = self.find_post(fields.slug)
            if found is None:
                raise
            log.warning(
                "creating %r had an unknown outcome (%s); it did happen: adopting post %d",
                fields.slug,
                exc,
                found.id,
                extra={"retry": True, "outcome": "adopted"},  # in the job log too
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
        post = self._post(self._t.json(response, doing), doing)
        return post, _server_date(response)

    # -- media and terms ---------------------------------------------------------------------

    def _describe_media(self, media: RemoteMedia, alt: str, caption: str) -> RemoteMedia:
        doing = f"setting the alt text and caption of media {media.id}"
        body = {"alt_text": alt, "caption": caption}
        response = self._request("POST", f"/media/{media.id}", doing, json=body)
        return self._media(self._t.json(response, doing), doing)

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
        data = self._t.json(self._request("GET", f"/{taxonomy}", doing, params=params), doing)
        keys = {_name_key(name) for name in names}
        found: dict[str, int] = {}
        for item in self._t.as_list(data, doing):
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
        data = self._t.as_dict(self._t.json(response, doing), doing)
        try:
            return int(data["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._t.unexpected(doing, data) from exc

    def _existing_term_id(self, response: httpx.Response, doing: str) -> int:
        """``term_exists`` carries the id of the term that already has this name."""
        error = _error_json(response) or {}
        details = error.get("data")
        if error.get("code") == "term_exists" and isinstance(details, dict):
            term_id = details.get("term_id")
            if isinstance(term_id, int | str) and str(term_id).isdigit():
                return int(term_id)
        self._t.fail(response, doing)

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
        root = self.api_root

        def send(to: ApiRoot) -> httpx.Response:
            url = to.url(path, params)
            request = self._t.http.build_request(
                method, url, json=json, content=content, headers=headers
            )
            if creates:
                return self._t.send_create(request, doing)
            return self._t.send_idempotent(request, doing)

        response = send(root)
        if root == self._recalled and _root_moved(response, creates):
            found = self._rediscover(root, response)
            if found is not None:
                response = send(found)
        if response.status_code == 404 and _no_route(response):
            raise self._wrong_root(response, f"{method} {path}")
        ok = (
            response.is_success
            or response.status_code in accept
            or (missing_ok and response.status_code in (404, 410))
        )
        if not ok:
            self._t.fail(response, doing)
        return response

    def _wrong_root(self, response: httpx.Response, route: str) -> ConfigError:
        """WordPress answers a missing post or media with its JSON error; a 404 without one, or
        ``rest_no_route``, means the API is not where we send: the config is wrong."""
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        if self._settings.api_root is not None:
            return self._settings.error(
                "api_root",
                f"{self._settings.api_root} is not a WordPress REST API root: {route} answered "
                f"HTTP 404 ({kind})",
                "set api_root to the site's wp/v2 root (WordPress.com: "
                "https://public-api.wordpress.com/wp/v2/sites/YOUR-SITE), or remove it to find "
                "it from url",
            )
        return self._settings.error(
            "url",
            f"{self._site} answers {route} with HTTP 404 ({kind}): its REST API is not where "
            "WordPress advertises it",
            "check url is the blog's home page address, or set api_root",
        )

    def _post(self, data: Any, doing: str) -> RemotePost:
        try:
            return _post_from(self._t.as_dict(data, doing))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._t.unexpected(doing, data) from exc

    def _media(self, data: Any, doing: str) -> RemoteMedia:
        try:
            return _media_from(self._t.as_dict(data, doing))
        except (KeyError, TypeError, ValueError) as exc:
            raise self._t.unexpected(doing, data) from exc


def _no_route(response: httpx.Response) -> bool:
    error = _error_json(response)
    return error is None or error.get("code") == "rest_no_route"


def _root_moved(response: httpx.Response, creates: bool) -> bool:
    """Whether an answer says the REST API is not where the request went.

    The REST API answers in JSON and never redirects. A site whose API moved answers at the old
    place with a 404 page; with pretty permalinks switched off, a GET to ``/wp-json/...`` gets a
    redirect (the canonical trailing slash) and a POST the theme's page, 200 in HTML; a moved
    site, a redirect to elsewhere. ``rest_no_route`` is not one of them: the API answered, so it
    is there, and only that route is missing (``/block-types`` on some sites).

    For a create, only what proves the posts endpoint did not run it: a 404 page, or one of
    WordPress's own pages (HTML advertising its REST index: had the REST server run the request,
    it would have answered in JSON) -- so it is sent once more, to the root found again. A
    redirect after a POST may follow work done ("see the result there"), and HTML without
    WordPress's Link may be a PHP warning printed before the JSON of a post created: neither is
    resent (the step fails, and its retry looks the slug up first).
    """
    status = response.status_code
    if status == 404:
        return _error_json(response) is None
    json_answer = "json" in response.headers.get("Content-Type", "")
    if creates:
        return response.is_success and not json_answer and API_INDEX_REL in response.links
    return response.is_redirect or (response.is_success and not json_answer)


def _unique_names(names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for name in names:
        cleaned = " ".join(name.split())
        if cleaned and _name_key(cleaned) not in seen:
            seen.add(_name_key(cleaned))
            unique.append(cleaned)
    return unique
