"""An in-memory WordPress for tests: WordPress 6.1's wp/v2 REST API behind ``httpx.MockTransport``.

It answers the routes the pipeline uses the way the real WordPress does (checked by
tests/test_wordpress_contract.py, which runs the same tests against both): REST discovery
(``/wp-json/``, the ``Link`` header, ``?rest_route=``), application-password Basic auth, posts,
media, categories, tags and ``users/me``. Behaviour follows WordPress's source:

- responses in WordPress's shapes and ``context`` rules (``raw`` fields only with
  ``context=edit``), ``_fields`` filtering, ``X-WP-Total`` / ``X-WP-TotalPages`` and the
  ``Location`` of a created item; errors as ``{code, message, data: {status, ...}}``, with
  ``rest_invalid_param`` details as ``has_valid_params()`` builds them;
- ``wp_insert_post()``: slugs through ``sanitize_title()`` and ``wp_unique_post_slug()`` (a
  taken slug gets ``-2``), a draft's floating date, ``publish`` with a date a minute or more
  ahead becomes ``future`` (and ``future`` too close becomes ``publish``), the default category,
  ``modified_gmt`` stamped on every update;
- the trash: ``DELETE`` moves a post to ``trash`` and renames its slug ``SLUG__trashed``
  (``status=any`` leaves it out); a second ``DELETE`` is ``410 rest_already_trashed``;
  ``force=true`` deletes; restoring it (an update with another status) gives the slug back;
- terms: names stored as WordPress stores them (``&`` as ``&amp;``), slugs derived from them,
  ``term_exists`` (with ``data.term_id``) for a second term of the same name;
- media: the raw-body upload with ``Content-Disposition`` parsed as WordPress parses it,
  ``alt_text`` and ``caption`` from the query string, image types checked by their bytes;
- auth: as WordPress 6.1 serves the REST API, a wrong application password is not an error by
  itself: the request is served to an anonymous visitor (``rest_not_logged_in``,
  ``rest_forbidden_status``...). ``report_auth_errors=True`` answers ``401 incorrect_password``
  instead, as sites do where something asks for the current user early.

Not modelled: revisions, comments, pages, meta, sticky posts, a site timezone other than UTC,
image sub-sizes. ``rendered`` fields are close to WordPress's but not its full filter chain:
compare ``raw`` ones.

In tests: the ``memwp_site`` fixture is a fresh ``MemoryWordPress``; ``memwp`` is a
``WordPressClient`` connected to it (``site.client()`` makes more). Changes a person makes in
wp-admin: ``site.edit(id, content=..., status=...)``, ``site.trash(id)``, ``site.delete(id)``,
or any ``site.rest(method, route, ...)``; these go through the same REST code, are not counted
in ``site.requests`` and no fault applies to them. ``site.fail_next(...)`` makes the next
matching request fail (an answer instead, or a transport error before or after WordPress did
the work); ``site.clock`` is WordPress's clock (real time unless given).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import secrets
import string
import struct
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_plus, unquote

import httpx
import pytest

from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.wordpress import WordPressClient, make_http_client
from tests import memwp_text as text

Json = dict[str, Any]
Clock = Callable[[], datetime]
Handler = Callable[["Call"], httpx.Response]

DEFAULT_URL = "https://blog.example.com"
WP_VERSION = "6.1.9"
MINUTE = timedelta(minutes=1)
PASSWORD_CHARS = string.ascii_letters + string.digits
PER_PAGE_MAX = 100
# The feeds and "embed": slugs WordPress never gives a post.
BAD_SLUGS = frozenset({"feed", "rdf", "rss", "rss2", "atom", "embed"})
# Collection parameters WordPress turns into lists (so its paging links show them as a[0]=...).
LIST_PARAMS = frozenset({"status", "include", "exclude", "slug", "categories", "tags"})
POST_STATUSES = ("publish", "future", "draft", "pending", "private")
# WP_Query's status=any: every status not excluded from search (so neither trash nor auto-draft).
ANY_STATUSES = frozenset(POST_STATUSES)
FLOATING_STATUSES = frozenset({"draft", "pending", "auto-draft"})
NAMESPACES = ["oembed/1.0", "wp/v2", "wp-site-health/v1", "wp-block-editor/v1"]
TAXONOMIES = {"categories": "category", "tags": "post_tag"}
IMAGE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
}
OTHER_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
}
IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
# populate_roles() of WordPress 6.1: each role has the one before it and these.
# fmt: off
ROLE_ADDS: dict[str, tuple[str, ...]] = {
    "subscriber": (
        "read", "level_0",
    ),
    "contributor": (
        "edit_posts", "level_1", "delete_posts",
    ),
    "author": (
        "upload_files", "edit_published_posts", "publish_posts", "level_2",
        "delete_published_posts",
    ),
    "editor": (
        "moderate_comments", "manage_categories", "manage_links", "unfiltered_html",
        "edit_others_posts", "edit_pages", "level_7", "level_6", "level_5", "level_4",
        "level_3", "edit_others_pages", "edit_published_pages", "publish_pages",
        "delete_pages", "delete_others_pages", "delete_published_pages", "delete_others_posts",
        "delete_private_posts", "edit_private_posts", "read_private_posts",
        "delete_private_pages", "edit_private_pages", "read_private_pages",
    ),
    "administrator": (
        "switch_themes", "edit_themes", "activate_plugins", "edit_plugins", "edit_users",
        "edit_files", "manage_options", "import", "level_10", "level_9", "level_8",
        "delete_users", "create_users", "unfiltered_upload", "edit_dashboard",
        "update_plugins", "delete_plugins", "install_plugins", "update_themes",
        "install_themes", "update_core", "list_users", "remove_users", "promote_users",
        "edit_theme_options", "delete_themes", "export",
    ),
}
# fmt: on
ROLE_CAPS: dict[str, frozenset[str]] = {}
for _role, _adds in ROLE_ADDS.items():
    ROLE_CAPS[_role] = frozenset(_adds).union(*ROLE_CAPS.values())


# ---------------------------------------------------------------------------------------------
# The data: rows of wp_posts, terms, users


@dataclass
class Row:
    """One row of ``wp_posts`` (a post or an attachment) with its meta and terms."""

    id: int
    type: str
    status: str
    name: str
    date: datetime  # post_date; the site's timezone is UTC
    date_gmt: datetime | None  # None: 0000-00-00 00:00:00, a draft's floating date
    modified: datetime
    title: str = ""
    content: str = ""
    excerpt: str = ""
    author: int = 1
    guid: str = ""
    mime_type: str = ""
    comment_status: str = "open"
    ping_status: str = "open"
    password: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    terms: dict[str, list[int]] = field(default_factory=dict)
    file: str = ""  # uploads path of an attachment
    data: bytes = b""


@dataclass
class Term:
    id: int
    taxonomy: str  # "category" | "post_tag"
    name: str  # as stored: sanitized, & escaped
    slug: str
    description: str = ""
    parent: int = 0


@dataclass
class User:
    id: int
    login: str
    email: str
    name: str
    roles: tuple[str, ...]
    registered: datetime
    app_passwords: list[str] = field(default_factory=list)  # without spaces, as WordPress compares

    def can(self, capability: str) -> bool:
        return any(capability in ROLE_CAPS[role] for role in self.roles)

    def capabilities(self) -> dict[str, bool]:
        caps = {cap: True for role in self.roles for cap in ROLE_CAPS[role]}
        return caps | dict.fromkeys(self.roles, True)


class RestError(Exception):
    """A WP_Error on its way out as ``{code, message, data}``."""

    def __init__(self, code: str, message: str, status: int, **data: Any) -> None:
        super().__init__(message)
        self.body: Json = {"code": code, "message": message, "data": {"status": status, **data}}
        self.status = status


def invalid_param(name: str, message: str, code: str, data: Any = None) -> RestError:
    """``rest_invalid_param`` as WP_REST_Request::has_valid_params() reports one parameter."""
    error = RestError("rest_invalid_param", f"Invalid parameter(s): {name}", 400)
    error.body["data"]["params"] = {name: message}
    error.body["data"]["details"] = {name: {"code": code, "message": message, "data": data}}
    return error


def not_in_enum(name: str, values: tuple[str, ...], param: str | None = None) -> RestError:
    """rest_validate_enum(); ``param`` is the parameter reported when ``name`` is an item."""
    listed = ", ".join(values[:-1]) + ", and " + values[-1]
    return invalid_param(param or name, f"{name} is not one of {listed}.", "rest_not_in_enum")


@dataclass
class Call:
    """One REST request as the handlers see it."""

    method: str
    route: str
    params: Json  # JSON body over query string, as WP_REST_Request::get_param() merges them
    query: Json
    json: Json | None
    body: bytes
    headers: httpx.Headers
    user: User | None
    match: Mapping[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.params

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def context(self) -> str:
        return str(self.get("context") or "view")


@dataclass
class Fault:
    """Make the next ``times`` matching requests fail: an answer instead, or a transport error.

    With ``after=True`` the request is served first (WordPress did the work) and then the
    connection breaks, as when an answer is lost.
    """

    method: str
    route: str  # a wp/v2 route such as "/posts" or "/posts/12"; "*" for any
    response: httpx.Response | None = None
    error: Exception | None = None
    after: bool = False
    times: int = 1

    def matches(self, request: httpx.Request) -> bool:
        if self.times <= 0 or request.method != self.method:
            return False
        return self.route == "*" or wp_route(request) == self.route


def wp_route(request: httpx.Request) -> str:
    """The wp/v2 route of a request in either URL form ("/posts/7")."""
    route = request.url.params.get("rest_route")
    path = route if route is not None else request.url.path.removeprefix("/wp-json")
    return path.removeprefix("/wp/v2").rstrip("/") or "/"


# ---------------------------------------------------------------------------------------------
# The site


class MemoryWordPress:
    """A WordPress site in memory; an ``httpx.MockTransport`` handler (call it with a request).

    ``url``, ``user`` and ``app_password`` match ``tests.wp_local.LocalWordPress``, so code that
    builds a site folder for the real WordPress can be pointed at this one.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        clock: Clock | None = None,
        pretty_permalinks: bool = True,
        report_auth_errors: bool = False,
        user: str = "admin",
        password: str | None = None,
        role: str = "administrator",
    ) -> None:
        self.url = url.rstrip("/")
        # The publisher sends from several threads; WordPress runs each request against one
        # database, so requests are served one at a time here (as MySQL serialises its writes).
        self._serving = threading.RLock()
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.pretty_permalinks = pretty_permalinks
        self.report_auth_errors = report_auth_errors
        self.rows: dict[int, Row] = {}
        self.terms: dict[int, Term] = {1: Term(1, "category", "Uncategorized", "uncategorized")}
        self.users: dict[int, User] = {}
        self.requests: list[httpx.Request] = []
        self.faults: list[Fault] = []
        self._row_ids = itertools.count(1)
        self._term_ids = itertools.count(2)
        self._user_ids = itertools.count(1)
        self.app_password = self.add_user(user, role, password)
        self.user = user
        self._routes = self._route_table()
        self._behind: User | None = None  # who sends the request rest() is sending

    # -- test helpers --------------------------------------------------------------------------

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.app_password)

    def add_user(self, login: str, role: str, password: str | None = None) -> str:
        """A user with one application password (made up if not given), which is returned."""
        if password is None:
            chars = "".join(secrets.choice(PASSWORD_CHARS) for _ in range(24))
            password = " ".join(chars[i : i + 4] for i in range(0, 24, 4))
        user_id = next(self._user_ids)
        self.users[user_id] = User(
            user_id,
            login,
            f"{login}@example.com",
            login,
            (role,),
            self._now(),
            [re.sub(r"[^a-z\d]", "", password, flags=re.I)],
        )
        return password

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def settings(self, **changes: Any) -> WordPressSettings:
        return WordPressSettings(url=self.url, **changes)

    def credentials(self) -> WordPressCredentials:
        return WordPressCredentials(user=self.user, app_password=Secret(self.app_password))

    def client(self, clock: Clock | None = None, **settings: Any) -> WordPressClient:
        """A ``WordPressClient`` for this site (REST root discovered, as in production)."""
        wp_settings = self.settings(**settings)
        creds = self.credentials()
        http = make_http_client(wp_settings, creds, transport=self.transport())
        return WordPressClient.connect(http, wp_settings, creds, clock=clock or self.clock)

    def fail_next(
        self,
        method: str,
        route: str,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
        after: bool = False,
        times: int = 1,
    ) -> Fault:
        fault = Fault(method, route, response, error, after, times)
        self.faults.append(fault)
        return fault

    def sent(self, method: str, route: str) -> list[httpx.Request]:
        """The requests sent so far with this method to this wp/v2 route."""
        return [r for r in self.requests if r.method == method and wp_route(r) == route]

    def posts(self) -> list[Row]:
        return [row for row in self.rows.values() if row.type == "post"]

    # -- transport -----------------------------------------------------------------------------

    def rest(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        """A wp/v2 request by the admin behind the pipeline's back (wp-admin, a plugin).

        It is not recorded in ``requests`` and no fault applies to it.
        """
        main = next(u for u in self.users.values() if u.login == self.user)
        self._behind = next((u for u in self.users.values() if u.can("manage_options")), main)
        try:
            with httpx.Client(transport=self.transport()) as http:
                return http.request(method, f"{self.url}/wp-json/wp/v2{route}", **kwargs)
        finally:
            self._behind = None

    def trash(self, post_id: int) -> Json:
        """Move a post to the trash, as wp-admin does."""
        return dict(self._expect(self.rest("DELETE", f"/posts/{post_id}")))

    def edit(self, post_id: int, **fields: Any) -> Json:
        """Change a post (content, status, slug...), as a person in wp-admin would."""
        return dict(self._expect(self.rest("POST", f"/posts/{post_id}", json=fields)))

    def delete(self, post_id: int) -> None:
        """Delete a post for good."""
        self._expect(self.rest("DELETE", f"/posts/{post_id}", params={"force": "true"}))

    @staticmethod
    def _expect(answer: httpx.Response) -> Any:
        assert answer.is_success, f"{answer.request.method} {answer.request.url}: {answer.text}"
        return answer.json()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self._behind is not None:
            return self._serve(request)
        self.requests.append(request)
        fault = next((f for f in self.faults if f.matches(request)), None)
        if fault is None:
            return self._serve(request)
        fault.times -= 1
        if fault.response is not None:
            return fault.response
        assert fault.error is not None, "a Fault needs a response or an error"
        if fault.after:
            self._serve(request)
        raise fault.error

    def _serve(self, request: httpx.Request) -> httpx.Response:
        route = self._rest_route(request.url)
        if route is None:
            with self._serving:
                return self._page(request)
        headers = self._rest_headers()
        try:
            with self._serving:
                call = self._call(request, route)
                response = self._dispatch(call)
        except RestError as error:
            response = httpx.Response(error.status, json=error.body)
        # The answer's own headers win, as PHP's header() replaces one sent earlier (so a
        # paging or "alternate" Link replaces the REST API's Link).
        own = {k.lower(): v for k, v in response.headers.items() if k.lower() != "content-type"}
        response.headers.clear()
        response.headers.update({k.lower(): v for k, v in headers.items()} | own)
        if request.method == "HEAD":
            return httpx.Response(response.status_code, headers=response.headers)
        return response

    def _rest_route(self, url: httpx.URL) -> str | None:
        """The REST route a URL asks for, or None for an ordinary page."""
        if "rest_route" in url.params:
            return url.params["rest_route"].rstrip("/") or "/"
        if self.pretty_permalinks and (url.path == "/wp-json" or url.path.startswith("/wp-json/")):
            return unquote(url.path.removeprefix("/wp-json")).rstrip("/") or "/"
        return None

    def rest_url(self, route: str = "/") -> str:
        if self.pretty_permalinks:
            return f"{self.url}/wp-json{route}" if route != "/" else f"{self.url}/wp-json/"
        return f"{self.url}/index.php?rest_route={route}"

    def _rest_headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=UTF-8",
            "Date": http_date(self._now()),
            "X-Robots-Tag": "noindex",
            "Link": f'<{self.rest_url()}>; rel="https://api.w.org/"',
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Expose-Headers": "X-WP-Total, X-WP-TotalPages, Link",
            "Access-Control-Allow-Headers": (
                "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
            ),
        }

    def _page(self, request: httpx.Request) -> httpx.Response:
        """A theme page: a published post by its slug, the home page, or a 404 page."""
        headers = {
            "Content-Type": "text/html; charset=UTF-8",
            "Date": http_date(self._now()),
            "Link": f'<{self.rest_url()}>; rel="https://api.w.org/"',
        }
        if request.url.path.startswith("/wp-content/uploads/"):
            return self._file(request.url.path.removeprefix("/wp-content/uploads/"))
        by_id = "p" in request.url.params
        path = request.url.path
        # redirect_canonical(): a GET of a path without its trailing slash is sent to it.
        slash = not path.endswith(("/", ".php"))
        if not self.pretty_permalinks and request.method in ("GET", "HEAD") and slash:
            moved = request.url.copy_with(path=path + "/")
            return httpx.Response(301, headers={**headers, "Location": str(moved)})
        if not by_id and (path == "/" or not self.pretty_permalinks):
            # Without pretty permalinks WordPress reads no path: every page is the home page.
            return httpx.Response(200, headers=headers, text="<html><body>Home</body></html>")
        row = self._public_row(request.url)
        if row is None:
            page = "<html><body><h1>Page not found</h1></body></html>"
            return httpx.Response(404, headers=headers, text=page)
        body = f"<html><body><h1>{text.texturize_title(row.title)}</h1>{text.autop(row.content)}"
        return httpx.Response(200, headers=headers, text=body + "</body></html>")

    def _file(self, path: str) -> httpx.Response:
        """An uploaded file, as the web server serves it (WordPress is not involved)."""
        row = next(
            (r for r in self.rows.values() if r.type == "attachment" and r.file == path), None
        )
        if row is None:
            return httpx.Response(404, text="Not Found")
        return httpx.Response(200, headers={"Content-Type": row.mime_type}, content=row.data)

    def _public_row(self, url: httpx.URL) -> Row | None:
        if "p" in url.params:
            row = self.rows.get(int(url.params["p"])) if url.params["p"].isdigit() else None
        else:
            slug = url.path.strip("/").lower()
            row = next((r for r in self.posts() if r.name == slug and slug), None)
        return row if row is not None and row.status == "publish" else None

    # -- requests ------------------------------------------------------------------------------

    def _call(self, request: httpx.Request, route: str) -> Call:
        query = php_query(request.url)
        query.pop("rest_route", None)
        body = request.content
        data: Json | None = None
        if body and request.headers.get("Content-Type", "").startswith("application/json"):
            try:
                parsed = json.loads(body)
            except ValueError as exc:
                raise RestError(
                    "rest_invalid_json",
                    "Invalid JSON body passed.",
                    400,
                    json_error_code=4,
                    json_error_message="Syntax error",
                ) from exc
            data = parsed if isinstance(parsed, dict) else {}
        params = {**query, **(data or {})}
        user = self._behind or self._authenticate(request.headers.get("Authorization"))
        return Call(request.method, route, params, query, data, body, request.headers, user)

    def _authenticate(self, header: str | None) -> User | None:
        """Basic auth with an application password; anything else is an anonymous visitor."""
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            login, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        user = next((u for u in self.users.values() if login in (u.login, u.email)), None)
        if user is None:
            code = "invalid_email" if "@" in login else "invalid_username"
            self._refused(
                code,
                "<strong>Error:</strong> Unknown username. Check again or try your email address.",
            )
            return None
        if re.sub(r"[^a-z\d]", "", password, flags=re.I) in user.app_passwords:
            return user
        self._refused(
            "incorrect_password", "The provided password is an invalid application password."
        )
        return None

    def _refused(self, code: str, message: str) -> None:
        """The login was wrong: an error only where the site reports it (see the docstring)."""
        if self.report_auth_errors:
            raise RestError(code, message, 401)

    def _dispatch(self, call: Call) -> httpx.Response:
        method = "GET" if call.method == "HEAD" else call.method
        for pattern, handlers in self._routes:
            match = pattern.fullmatch(call.route)
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                break
            call.match = match.groupdict()
            check_common_params(call)
            response = filter_fields(handler(call), call.get("_fields"))
            return with_index_links(response) if call.route == "/" else response
        raise RestError(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        )

    def _route_table(self) -> list[tuple[re.Pattern[str], dict[str, Handler]]]:
        item = r"(?P<id>[\d]+)"
        table: list[tuple[str, dict[str, Handler]]] = [
            ("/", {"GET": self._index}),
            ("/wp/v2", {"GET": self._namespace_index}),
            ("/wp/v2/posts", {"GET": self._list_posts, "POST": self._create_post}),
            (
                f"/wp/v2/posts/{item}",
                item_methods(self._get_post, self._update_post, self._delete_post),
            ),
            ("/wp/v2/media", {"GET": self._list_media, "POST": self._upload}),
            (
                f"/wp/v2/media/{item}",
                item_methods(self._get_media, self._update_media, self._delete_media),
            ),
            ("/wp/v2/users/me", {"GET": self._me}),
        ]
        for base in TAXONOMIES:
            table.append((f"/wp/v2/{base}", {"GET": self._list_terms, "POST": self._create_term}))
            table.append(
                (
                    f"/wp/v2/{base}/{item}",
                    item_methods(self._get_term, self._update_term, self._delete_term),
                )
            )
        return [(re.compile(route, re.IGNORECASE), handlers) for route, handlers in table]

    # -- the index -----------------------------------------------------------------------------

    def _index(self, call: Call) -> httpx.Response:
        return reply(
            200,
            {
                "name": "Pipeline Test Site",
                "description": "",
                "url": self.url,
                "home": self.url,
                "gmt_offset": 0,
                "timezone_string": "UTC",
                "namespaces": NAMESPACES,
                "authentication": {
                    "application-passwords": {
                        "endpoints": {
                            "authorization": f"{self.url}/wp-admin/authorize-application.php"
                        }
                    }
                },
                "routes": {route.pattern: {} for route, _ in self._routes},
                "site_logo": 0,
                "site_icon": 0,
                "site_icon_url": "",
            },
        )

    def _namespace_index(self, call: Call) -> httpx.Response:
        return reply(200, {"namespace": "wp/v2", "routes": {}})

    # -- posts: reading ------------------------------------------------------------------------

    def _list_posts(self, call: Call) -> httpx.Response:
        statuses = self._status_filter(call)
        if call.context == "edit" and (call.user is None or not call.user.can("edit_posts")):
            raise RestError(
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
                auth_status(call.user),
            )
        rows = [r for r in self.posts() if r.status in statuses]
        if call.has("slug"):
            # WP_Query's post_name__in: sanitize_title_for_query(), which keeps accents.
            slugs = {text.sanitize_title_for_query(part) for part in parse_list(call.get("slug"))}
            rows = [r for r in rows if r.name in slugs]
        if call.has("include"):
            ids = set(id_list(call.get("include")))
            rows = [r for r in rows if r.id in ids]
        if call.has("exclude"):
            rows = [r for r in rows if r.id not in set(id_list(call.get("exclude")))]
        if call.get("search"):
            needle = str(call.get("search")).lower()
            rows = [r for r in rows if needle in (r.title + r.excerpt + r.content).lower()]
        rows = self._sorted(rows, call)
        permitted = self._can_edit if call.context == "edit" else self._can_read
        return self._page_of(
            call,
            rows,
            lambda row: self._post_json(row, call.context),
            lambda row: permitted(call.user, row),
        )

    def _status_filter(self, call: Call) -> frozenset[str]:
        """sanitize_post_statuses(): anything but ``publish`` needs edit_posts."""
        wanted = slug_list(call.get("status", "publish"))
        allowed = (*POST_STATUSES, "trash", "auto-draft", "inherit", "any")
        for status in wanted:
            if status == "publish":
                continue
            if call.user is None or not call.user.can("edit_posts"):
                status_code = 401 if call.user is None else 403
                raise invalid_param(
                    "status",
                    "Status is forbidden.",
                    "rest_forbidden_status",
                    {"status": status_code},
                )
            if status not in allowed:
                raise not_in_enum("status[0]", allowed, param="status")
        found: set[str] = set()
        for status in wanted:
            found |= ANY_STATUSES if status == "any" else {status}
        return frozenset(found)

    def _sorted(self, rows: list[Row], call: Call) -> list[Row]:
        orderby = str(call.get("orderby") or "date")
        reverse = str(call.get("order") or "desc").lower() == "desc"
        keys: dict[str, Callable[[Row], Any]] = {
            "date": lambda r: r.date,
            "id": lambda r: r.id,
            "modified": lambda r: r.modified,
            "slug": lambda r: r.name,
            "title": lambda r: r.title.lower(),
        }
        if orderby == "include" and call.has("include"):
            order = id_list(call.get("include"))
            return sorted(rows, key=lambda r: order.index(r.id))
        if orderby not in keys:
            listed = (*keys, "author", "include", "parent", "relevance", "include_slugs")
            raise not_in_enum("orderby", tuple(listed))
        # Ties come in MySQL's scan order: backwards along the date index for a plain listing,
        # by id when a slug or id list picks the rows (as the real WordPress answers).
        by_id = sorted(rows, key=lambda r: r.id, reverse=reverse and not self._picked(call))
        return sorted(by_id, key=keys[orderby], reverse=reverse)

    @staticmethod
    def _picked(call: Call) -> bool:
        return call.has("slug") or call.has("include")

    def _page_of(
        self,
        call: Call,
        rows: list[Any],
        shape: Callable[[Any], Json],
        permitted: Callable[[Any], bool] = lambda item: True,
    ) -> httpx.Response:
        """One page of a collection with WordPress's paging headers."""
        per_page = int(call.get("per_page", 10))
        page = int(call.get("page", 1))
        offset = int(call.get("offset") or 0) or (page - 1) * per_page
        total = len(rows)
        pages = -(-total // per_page)
        if page > pages and total > 0:
            raise RestError(
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
                400,
            )
        items = [shape(item) for item in rows[offset : offset + per_page] if permitted(item)]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = self._paging_links(call, page, pages)
        if links:
            headers["Link"] = links
        return reply(200, items, headers)

    def _paging_links(self, call: Call, page: int, pages: int) -> str:
        """The ``prev``/``next`` links, from the query as WordPress sanitized it."""
        base = [(k, v) for k, v in call.query.items() if k != "rest_route"]
        links = []
        if page > 1:
            links.append(f'<{self._collection_url(call, base, min(page - 1, pages))}>; rel="prev"')
        if pages > page:
            links.append(f'<{self._collection_url(call, base, page + 1)}>; rel="next"')
        return ", ".join(links)

    def _collection_url(self, call: Call, params: list[tuple[str, Any]], page: int) -> str:
        pairs: list[tuple[str, str]] = []
        for key, value in params:
            if key in LIST_PARAMS:
                items: list[Any] = (
                    id_list(value)
                    if key in ("include", "exclude")
                    else slug_list(value)
                    if key == "status"
                    else parse_list(value)
                )
                pairs += [(f"{key}[{i}]", str(item)) for i, item in enumerate(items)]
            elif key != "page":
                pairs.append((key, str(value)))
            else:
                pairs.append((key, str(page)))  # add_query_arg() replaces it in place
        if "page" not in call.query:
            pairs.append(("page", str(page)))
        url = httpx.URL(self.rest_url(call.route))
        query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs)
        return str(url) + ("&" if url.query else "?") + query

    def _get_post(self, call: Call) -> httpx.Response:
        row = self._post_row(call)
        if call.context == "edit" and not self._can_edit(call.user, row):
            raise RestError(
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit this post.",
                auth_status(call.user),
            )
        if not self._can_read(call.user, row):
            raise RestError(
                "rest_forbidden",
                "Sorry, you are not allowed to do that.",
                auth_status(call.user),
            )
        link = f'<{self._link(row)}>; rel="alternate"; type=text/html'
        return reply(200, self._post_json(row, call.context), {"Link": link})

    def _post_row(self, call: Call, post_type: str = "post") -> Row:
        row = self.rows.get(int(call.match["id"]))
        if row is None or row.type != post_type:
            code = "rest_post_invalid_id"
            raise RestError(code, "Invalid post ID.", 404)
        return row

    def _can_read(self, user: User | None, row: Row) -> bool:
        if row.status == "publish" or (row.type == "attachment" and row.status == "inherit"):
            return True
        return self._can_edit(user, row)

    def _can_edit(self, user: User | None, row: Row) -> bool:
        if user is None or not user.can("edit_posts"):
            return False
        if row.author != user.id and not user.can("edit_others_posts"):
            return False
        return row.status not in ("publish", "future") or user.can("edit_published_posts")

    # -- posts: writing ------------------------------------------------------------------------

    def _create_post(self, call: Call) -> httpx.Response:
        if call.get("id"):
            raise RestError("rest_post_exists", "Cannot create existing post.", 400)
        self._require(
            call,
            "edit_posts",
            "rest_cannot_create",
            "Sorry, you are not allowed to create posts as this user.",
        )
        fields = self._post_fields(call, None)
        row = self._insert(fields, None, call.user)
        self._after_save(row, call)
        location = {"Location": self.rest_url(f"/wp/v2/posts/{row.id}")}
        return reply(201, self._post_json(row, "edit"), location)

    def _update_post(self, call: Call) -> httpx.Response:
        row = self._post_row(call)
        if not self._can_edit(call.user, row):
            raise RestError(
                "rest_cannot_edit",
                "Sorry, you are not allowed to edit this post.",
                auth_status(call.user),
            )
        fields = self._post_fields(call, row)
        self._insert(fields, row, call.user)
        self._after_save(row, call)
        return reply(200, self._post_json(row, "edit"))

    def _require(self, call: Call, capability: str, code: str, message: str) -> None:
        if call.user is None or not call.user.can(capability):
            raise RestError(code, message, auth_status(call.user))

    def _post_fields(self, call: Call, row: Row | None) -> Json:
        """prepare_item_for_database(): the columns a request sets, validated."""
        fields: Json = {}
        for name in ("title", "content", "excerpt"):
            if call.has(name):
                fields[name] = raw_value(call.get(name), name)
        if call.has("status") and (row is None or call.get("status") != row.status):
            fields["status"] = self._status_param(call, row)
        fields.update(self._date_param(call, row))
        if call.has("slug"):
            fields["name"] = text.sanitize_title(str(call.get("slug")))
        for name in ("featured_media",):
            if call.has(name):
                fields[name] = int_param(call.get(name), name)
        for base in TAXONOMIES:
            if call.has(base):
                fields[base] = int_list_param(call.get(base), base)
        for name in ("comment_status", "ping_status"):
            if call.get(name):
                fields[name] = str(call.get(name))
        return fields

    def _status_param(self, call: Call, row: Row | None) -> str:
        status = str(call.get("status"))
        if status not in POST_STATUSES:
            raise not_in_enum("status", POST_STATUSES)
        assert call.user is not None  # create/edit permission came first
        if status in ("publish", "future", "private") and not call.user.can("publish_posts"):
            raise RestError(
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
                403,
            )
        return status

    def _date_param(self, call: Call, row: Row | None) -> Json:
        """``date_gmt`` (or ``date``, the same here: the site runs on UTC); null resets it."""
        for name in ("date", "date_gmt"):
            if not call.has(name):
                continue
            value = call.get(name)
            if value is None:
                return {"date": None}
            when = parse_rest_date(value, name, force_utc=name == "date_gmt")
            if row is None or when != row.date_gmt:
                return {"date": when, "edit_date": True}
            return {}
        return {}

    def _insert(self, fields: Json, row: Row | None, user: User | None) -> Row:
        """wp_insert_post() / wp_update_post() for the columns the REST API sets."""
        now = self._now()
        requested = fields.get("status") or (row.status if row else None)
        status = requested or "draft"
        title = text_trim(fields.get("title", row.title if row else ""))
        content = fields.get("content", row.content if row else "")
        excerpt = fields.get("excerpt", row.excerpt if row else "")
        if not (title or content or excerpt):
            raise RestError("empty_content", "Content, title, and excerpt are empty.", 400)
        date, date_gmt = self._dates(fields, row, status, now)
        if status == "publish" and date_gmt is not None and date_gmt - now >= MINUTE:
            status = "future"
        elif status == "future" and (date_gmt or datetime.min) - now < MINUTE:
            status = "publish"
        if row is None:
            # A new row's modified date is its post date (wp_insert_post's rule).
            row = Row(next(self._row_ids), "post", status, "", date, date_gmt, date)
            row.author = user.id if user else 0
            row.terms = {"category": [], "post_tag": []}
            self.rows[row.id] = row
            previous = "new"
        else:
            previous = row.status
            row.modified = now
        name = self._post_name(fields, row, requested, status, title, previous)
        row.status, row.date, row.date_gmt, row.name = status, date, date_gmt, name
        row.title, row.content, row.excerpt = title, content, excerpt
        for column in ("comment_status", "ping_status"):
            if column in fields:
                setattr(row, column, fields[column])
        if not row.guid:
            row.guid = self._link(row)
        return row

    def _dates(
        self, fields: Json, row: Row | None, status: str, now: datetime
    ) -> tuple[datetime, datetime | None]:
        """wp_resolve_post_date(): the given date, the kept one, or now; drafts float."""
        date: datetime | None = None
        date_gmt: datetime | None = None
        if row is not None:
            date, date_gmt = row.date, row.date_gmt
            if row.status in FLOATING_STATUSES and date_gmt is None and not fields.get("edit_date"):
                date = now  # a draft's date is "whenever it is saved" until one is set
        if "date" in fields:
            date = date_gmt = fields["date"]
        if date is None:
            date = date_gmt if date_gmt is not None else now
        if date_gmt is None and status not in FLOATING_STATUSES:
            date_gmt = date
        return date, date_gmt

    def _post_name(
        self, fields: Json, row: Row, requested: str | None, status: str, title: str, previous: str
    ) -> str:
        """The slug: given, kept or made from the title; trash renames; then made unique."""
        name = str(fields.get("name", row.name))
        if name and requested in ("draft", "pending"):
            # The REST controller asks for a unique slug as if the draft were published.
            name = self._unique_slug(name, row.id, "post")
        if not name and status not in FLOATING_STATUSES:
            name = text.sanitize_title(title, str(row.id))
        if previous == "trash" and status != "trash":
            name = row.meta.pop("_wp_desired_post_slug", "") or name
        if status != "trash" and name:
            for other in self.posts():
                if other.id != row.id and other.status == "trash" and other.name == name:
                    self._trash_name(other)
        if status == "trash" and previous not in ("trash", "new"):
            self._trash_name(row)
            name = row.name
        if status in FLOATING_STATUSES:
            return name
        return self._unique_slug(name, row.id, "post")

    def _trash_name(self, row: Row) -> None:
        if row.name.endswith("__trashed"):
            return
        row.meta["_wp_desired_post_slug"] = row.name
        row.name = text.truncate_slug(row.name, 191) + "__trashed"

    def _unique_slug(self, slug: str, row_id: int, post_type: str) -> str:
        """wp_unique_post_slug(): posts are unique among posts, attachments among everything."""

        def taken(candidate: str) -> bool:
            return any(
                r.name == candidate
                and r.id != row_id
                and (post_type == "attachment" or r.type == post_type)
                for r in self.rows.values()
            )

        if not taken(slug) and slug not in BAD_SLUGS and not self._date_archive(slug, row_id):
            return slug
        for suffix in itertools.count(2):
            candidate = f"{text.truncate_slug(slug, 200 - (len(str(suffix)) + 1))}-{suffix}"
            if not taken(candidate):
                return candidate
        raise AssertionError("unreachable")

    def _date_archive(self, slug: str, row_id: int) -> bool:
        """A new numeric slug would be read as a year archive under /%postname%/."""
        row = self.rows.get(row_id)
        if not self.pretty_permalinks or (row is not None and row.name == slug):
            return False
        return slug.isdigit() and int(slug) != 0 and (row is None or row.type == "post")

    def _after_save(self, row: Row, call: Call) -> None:
        """What the controller does after inserting: featured image, then terms."""
        if call.has("featured_media"):
            media_id = int_param(call.get("featured_media"), "featured_media")
            media = self.rows.get(media_id)
            if media_id == 0:
                row.meta.pop("_thumbnail_id", None)
            elif (
                media is not None
                and media.type == "attachment"
                and media.mime_type.startswith("image/")
            ):
                row.meta["_thumbnail_id"] = str(media_id)
            # Anything else is silently ignored, as create_item() ignores the error.
        for base, taxonomy in TAXONOMIES.items():
            if call.has(base):
                ids = int_list_param(call.get(base), base)
                row.terms[taxonomy] = [
                    i for i in dict.fromkeys(ids) if self._term(i, taxonomy) is not None
                ]
        if not row.terms["category"] and "categories" not in call.params:
            row.terms["category"] = [1]  # the default category

    def _delete_post(self, call: Call) -> httpx.Response:
        row = self._post_row(call)
        if (
            not self._can_edit(call.user, row)
            or call.user is None
            or not call.user.can("delete_posts")
        ):
            raise RestError(
                "rest_cannot_delete",
                "Sorry, you are not allowed to delete this post.",
                auth_status(call.user),
            )
        if truthy(call.get("force")):
            previous = self._post_json(row, "edit")
            self._remove(row)
            return reply(200, {"deleted": True, "previous": previous})
        if row.status == "trash":
            raise RestError("rest_already_trashed", "The post has already been deleted.", 410)
        row.meta["_wp_trash_meta_status"] = row.status
        row.meta["_wp_trash_meta_time"] = str(int(self._now().timestamp()))
        self._insert({"status": "trash"}, row, call.user)
        return reply(200, self._post_json(row, "edit"))

    def _remove(self, row: Row) -> None:
        del self.rows[row.id]
        if row.type == "attachment":
            for other in self.rows.values():
                if other.meta.get("_thumbnail_id") == str(row.id):
                    del other.meta["_thumbnail_id"]

    # -- posts: answers ------------------------------------------------------------------------

    def _post_json(self, row: Row, context: str) -> Json:
        edit = context == "edit"
        data: Json = {
            "id": row.id,
            "date": rfc3339(row.date),
            "date_gmt": rfc3339(row.date_gmt or row.date),
            "guid": {"rendered": row.guid, "raw": row.guid} if edit else {"rendered": row.guid},
            "modified": rfc3339(row.modified),
            "modified_gmt": rfc3339(row.modified),
        }
        if edit:
            data["password"] = row.password
        data |= {
            "slug": row.name,
            "status": row.status,
            "type": row.type,
            "link": self._link(row),
            "title": self._rendered(row.title, self._display_title(row), edit),
        }
        if edit:
            data["permalink_template"] = self._permalink_template(row)
            # get_sample_permalink(): from the title, unique, shown decoded (editable_slug).
            slug = self._unique_slug(text.sanitize_title(row.title, str(row.id)), row.id, row.type)
            data["generated_slug"] = unquote(slug)
        return data | self._post_body(row, edit)

    def _post_body(self, row: Row, edit: bool) -> Json:
        content = self._rendered(row.content, text.autop(row.content), edit)
        content["protected"] = False
        if edit:
            content["block_version"] = int("<!-- wp:" in row.content)
        excerpt = row.excerpt or text.trim_excerpt(row.content)
        return {
            "content": content,
            "excerpt": self._rendered(row.excerpt, text.autop(excerpt), edit)
            | {"protected": False},
            "author": row.author,
            "featured_media": int(row.meta.get("_thumbnail_id", 0)),
            "comment_status": row.comment_status,
            "ping_status": row.ping_status,
            "sticky": False,
            "template": "",
            "format": "standard",
            "meta": [],
            "categories": list(row.terms.get("category", [])),
            "tags": list(row.terms.get("post_tag", [])),
            "_links": self._post_links(row),
        }

    @staticmethod
    def _display_title(row: Row) -> str:
        """get_the_title(): a private post's title says so."""
        title = text.texturize_title(row.title)
        return f"Private: {title}" if row.status == "private" else title

    @staticmethod
    def _rendered(raw: str, rendered: str, edit: bool) -> Json:
        return {"raw": raw, "rendered": rendered} if edit else {"rendered": rendered}

    def _post_links(self, row: Row) -> Json:
        base = "media" if row.type == "attachment" else "posts"
        return {
            "self": [{"href": self.rest_url(f"/wp/v2/{base}/{row.id}")}],
            "collection": [{"href": self.rest_url(f"/wp/v2/{base}")}],
            "author": [{"embeddable": True, "href": self.rest_url(f"/wp/v2/users/{row.author}")}],
        }

    def _permalink_template(self, row: Row) -> str:
        """get_sample_permalink(): pretty for every status but the trash."""
        if self.pretty_permalinks and row.status != "trash":
            return f"{self.url}/%postname%/"
        return f"{self.url}/?p={row.id}"

    def _link(self, row: Row) -> str:
        """get_permalink(): pretty for what the public can see, ``?p=ID`` for the rest."""
        if row.type == "attachment":
            if self.pretty_permalinks and row.name:
                return f"{self.url}/{row.name}/"
            return f"{self.url}/?attachment_id={row.id}"
        if self.pretty_permalinks and row.status in ("publish", "private") and row.name:
            return f"{self.url}/{row.name}/"
        return f"{self.url}/?p={row.id}"

    # -- media ---------------------------------------------------------------------------------

    def _upload(self, call: Call) -> httpx.Response:
        self._require(
            call,
            "edit_posts",
            "rest_cannot_create",
            "Sorry, you are not allowed to create posts as this user.",
        )
        if call.user is None or not call.user.can("upload_files"):
            raise RestError(
                "rest_cannot_create",
                "Sorry, you are not allowed to upload media on this site.",
                400,
            )
        filename, mime = self._upload_name(call)
        stem = filename.rsplit(".", 1)[0]
        now = self._now()
        row = Row(
            next(self._row_ids), "attachment", "inherit", "", now, now, now, author=call.user.id
        )
        row.ping_status = "closed"  # get_default_comment_status('attachment', 'pingback')
        row.mime_type = mime
        row.file = f"{now:%Y/%m}/{filename}"
        row.guid = f"{self.url}/wp-content/uploads/{row.file}"
        row.data = call.body
        row.title = text_trim(raw_value(call.get("title"), "title")) if call.get("title") else stem
        # prepare_item_for_database(): a slug given with the upload is the attachment's name.
        wanted = str(call.get("slug")) if call.get("slug") else row.title
        row.name = self._unique_slug(text.sanitize_title(wanted), row.id, "attachment")
        row.excerpt = raw_value(call.get("caption"), "caption") if call.has("caption") else ""
        row.content = (
            raw_value(call.get("description"), "description") if call.has("description") else ""
        )
        self.rows[row.id] = row
        if call.has("alt_text"):
            row.meta["_wp_attachment_image_alt"] = text.sanitize_text_field(
                str(call.get("alt_text"))
            )
        location = {
            "Location": self.rest_url(f"/wp/v2/media/{row.id}"),
            "X-WP-Upload-Attachment-ID": str(row.id),
        }
        return reply(201, self._media_json(row, "edit"), location)

    def _upload_name(self, call: Call) -> tuple[str, str]:
        """upload_from_data(): the checks, then the name wp_handle_sideload() would give it."""
        if not call.body:
            raise RestError("rest_upload_no_data", "No data supplied.", 400)
        if not call.headers.get("Content-Type"):
            raise RestError("rest_upload_no_content_type", "No Content-Type supplied.", 400)
        disposition = call.headers.get("Content-Disposition")
        if not disposition:
            raise RestError(
                "rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400
            )
        filename = filename_from_disposition(disposition)
        if not filename:
            raise RestError(
                "rest_upload_invalid_disposition",
                "Invalid Content-Disposition supplied. Content-Disposition needs to be formatted "
                'as `attachment; filename="image.png"` or similar.',
                400,
            )
        name = text.sanitize_file_name(filename.replace("\\", "/").rsplit("/", 1)[-1])
        stem, _, extension = name.rpartition(".")
        extension = extension.lower()
        mime = IMAGE_TYPES.get(extension) or OTHER_TYPES.get(extension)
        if mime is not None and mime.startswith("image/"):
            real = sniff_image(call.body)
            if real is None:
                mime = None
            elif IMAGE_TYPES[real] != mime:
                extension, mime = real, IMAGE_TYPES[real]
        if mime is None or not stem:
            raise RestError(
                "rest_upload_sideload_error",
                "Sorry, you are not allowed to upload this file type.",
                500,
            )
        return self._unique_file(f"{stem}.{extension}"), mime

    def _unique_file(self, name: str) -> str:
        """wp_unique_filename(): ``name-1.png``, ``name-2.png``... in this month's folder."""
        folder = f"{self._now():%Y/%m}/"
        used = {r.file.lower() for r in self.rows.values() if r.type == "attachment"}
        stem, _, extension = name.rpartition(".")
        candidate, number = name, 1
        while (folder + candidate).lower() in used:
            candidate = f"{stem}-{number}.{extension}"
            number += 1
        return candidate

    def _list_media(self, call: Call) -> httpx.Response:
        rows = [r for r in self.rows.values() if r.type == "attachment"]
        if call.has("include"):
            rows = [r for r in rows if r.id in set(id_list(call.get("include")))]
        if call.has("slug"):
            slugs = {text.sanitize_title_for_query(part) for part in parse_list(call.get("slug"))}
            rows = [r for r in rows if r.name in slugs]
        return self._page_of(
            call, self._sorted(rows, call), lambda r: self._media_json(r, call.context)
        )

    def _get_media(self, call: Call) -> httpx.Response:
        row = self._post_row(call, "attachment")
        if call.context == "edit" and not self._can_edit(call.user, row):
            raise RestError(
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit this post.",
                auth_status(call.user),
            )
        return reply(200, self._media_json(row, call.context))

    def _update_media(self, call: Call) -> httpx.Response:
        row = self._post_row(call, "attachment")
        if not self._can_edit(call.user, row):
            raise RestError(
                "rest_cannot_edit",
                "Sorry, you are not allowed to edit this post.",
                auth_status(call.user),
            )
        if call.has("title"):
            row.title = text_trim(raw_value(call.get("title"), "title"))
        if call.has("caption"):
            row.excerpt = raw_value(call.get("caption"), "caption")
        if call.has("description"):
            row.content = raw_value(call.get("description"), "description")
        if call.has("alt_text"):
            row.meta["_wp_attachment_image_alt"] = text.sanitize_text_field(
                str(call.get("alt_text"))
            )
        if call.has("slug"):
            row.name = self._unique_slug(
                text.sanitize_title(str(call.get("slug"))), row.id, "attachment"
            )
        row.modified = self._now()
        return reply(200, self._media_json(row, "edit"))

    def _delete_media(self, call: Call) -> httpx.Response:
        row = self._post_row(call, "attachment")
        if not self._can_edit(call.user, row):
            raise RestError(
                "rest_cannot_delete",
                "Sorry, you are not allowed to delete this post.",
                auth_status(call.user),
            )
        if not truthy(call.get("force")):
            raise RestError(
                "rest_trash_not_supported",
                "The post does not support trashing. Set 'force=true' to delete.",
                501,
            )
        previous = self._media_json(row, "edit")
        self._remove(row)
        return reply(200, {"deleted": True, "previous": previous})

    def _media_json(self, row: Row, context: str) -> Json:
        edit = context == "edit"
        data: Json = {
            "id": row.id,
            "date": rfc3339(row.date),
            "date_gmt": rfc3339(row.date_gmt or row.date),
            "guid": {"rendered": row.guid, "raw": row.guid} if edit else {"rendered": row.guid},
            "modified": rfc3339(row.modified),
            "modified_gmt": rfc3339(row.modified),
            "slug": row.name,
            "status": row.status,
            "type": "attachment",
            "link": self._link(row),
            "title": self._rendered(row.title, text.texturize_title(row.title), edit),
        }
        if edit:
            data["permalink_template"] = f"{self.url}/?attachment_id={row.id}"
            data["generated_slug"] = row.name
        description = self._attachment_html(row) + text.autop(row.content)
        data |= {
            "author": row.author,
            "comment_status": row.comment_status,
            "ping_status": row.ping_status,
            "template": "",
            "meta": [],
            "description": self._rendered(row.content, description, edit),
            "caption": self._rendered(row.excerpt, text.autop(row.excerpt), edit),
            "alt_text": row.meta.get("_wp_attachment_image_alt", ""),
            "media_type": "image" if row.mime_type.startswith("image/") else "file",
            "mime_type": row.mime_type,
            "media_details": self._media_details(row),
            "post": None,
            "source_url": row.guid,
        }
        if edit:
            data["missing_image_sizes"] = []
        data["_links"] = self._post_links(row)
        return data

    def _media_details(self, row: Row) -> Json:
        """wp_generate_attachment_metadata() for an image small enough to need no sub-sizes."""
        size = image_size(row.data)
        if size is None:
            return {"filesize": len(row.data)}
        width, height = size
        return {
            "width": width,
            "height": height,
            "file": row.file,
            "filesize": len(row.data),
            "sizes": {},
            "image_meta": dict(IMAGE_META),
        }

    def _attachment_html(self, row: Row) -> str:
        """prepend_attachment(): the image, linked to its file, before the description."""
        size = image_size(row.data) if row.mime_type.startswith("image/") else None
        if size is None:
            return f"<p class=\"attachment\"><a href='{row.guid}'>{row.title}</a></p>\n"
        alt = text.esc_attr(row.meta.get("_wp_attachment_image_alt", ""))
        image = (
            f'<img width="{size[0]}" height="{size[1]}" src="{row.guid}" '
            f'class="attachment-medium size-medium" alt="{alt}" decoding="async" '
            'loading="lazy" />'
        )
        return f"<p class=\"attachment\"><a href='{row.guid}'>{image}</a></p>\n"

    # -- terms ---------------------------------------------------------------------------------

    def _taxonomy(self, call: Call) -> str:
        return TAXONOMIES[call.route.split("/")[3].lower()]

    def _term(self, term_id: int, taxonomy: str) -> Term | None:
        term = self.terms.get(term_id)
        return term if term is not None and term.taxonomy == taxonomy else None

    def _list_terms(self, call: Call) -> httpx.Response:
        taxonomy = self._taxonomy(call)
        terms = [t for t in self.terms.values() if t.taxonomy == taxonomy]
        if call.has("slug"):
            slugs = slug_list(call.get("slug"))
            terms = [t for t in terms if t.slug in slugs]
        if call.has("include"):
            ids = set(id_list(call.get("include")))
            terms = [t for t in terms if t.id in ids]
        if call.has("exclude"):
            terms = [t for t in terms if t.id not in set(id_list(call.get("exclude")))]
        if call.get("search"):
            needle = str(call.get("search")).lower()
            terms = [t for t in terms if needle in t.name.lower() or needle in t.slug]
        if truthy(call.get("hide_empty")):
            terms = [t for t in terms if self._count(t) > 0]
        if call.has("parent") and taxonomy == "category":
            terms = [t for t in terms if t.parent == int_param(call.get("parent"), "parent")]
        orderby = str(call.get("orderby") or "name")
        keys: dict[str, Callable[[Term], Any]] = {
            "name": lambda t: (t.name.lower(), t.id),
            "id": lambda t: t.id,
            "slug": lambda t: t.slug,
            "count": lambda t: (self._count(t), t.id),
        }
        terms.sort(
            key=keys.get(orderby, keys["name"]), reverse=str(call.get("order")).lower() == "desc"
        )
        return self._page_of(call, terms, lambda t: self._term_json(t, call.context))

    def _count(self, term: Term) -> int:
        """The published posts in the term (WordPress keeps this count up to date)."""
        return sum(
            1
            for r in self.posts()
            if r.status == "publish" and term.id in r.terms.get(term.taxonomy, [])
        )

    def _get_term(self, call: Call) -> httpx.Response:
        return reply(200, self._term_json(self._term_row(call), call.context))

    def _term_row(self, call: Call) -> Term:
        term = self._term(int(call.match["id"]), self._taxonomy(call))
        if term is None:
            raise RestError("rest_term_invalid", "Term does not exist.", 404)
        return term

    def _create_term(self, call: Call) -> httpx.Response:
        taxonomy = self._taxonomy(call)
        capability = "manage_categories" if taxonomy == "category" else "edit_posts"
        self._require(
            call,
            capability,
            "rest_cannot_create",
            "Sorry, you are not allowed to create terms in this taxonomy.",
        )
        if not call.has("name"):
            raise RestError(
                "rest_missing_callback_param", "Missing parameter(s): name", 400, params=["name"]
            )
        parent = int_param(call.get("parent", 0), "parent")
        if parent and taxonomy != "category":
            raise RestError(
                "rest_taxonomy_not_hierarchical",
                "Cannot set parent term, taxonomy is not hierarchical.",
                400,
            )
        if parent and self._term(parent, taxonomy) is None:
            raise RestError("rest_term_invalid", "Parent term does not exist.", 400)
        term = self._insert_term(
            taxonomy,
            str(call.get("name")),
            str(call.get("slug") or ""),
            str(call.get("description") or ""),
            parent,
        )
        location = {"Location": self.rest_url(f"/wp/v2/{call.route.split('/')[3]}/{term.id}")}
        return reply(201, self._term_json(term, "edit"), location)

    def _insert_term(
        self, taxonomy: str, raw_name: str, raw_slug: str, description: str, parent: int
    ) -> Term:
        """wp_insert_term(): refuses a second term of the same name (term_exists)."""
        name = text.sanitize_term_name(raw_name)
        if not name.strip():
            raise RestError("empty_term_name", "A name is required for this term.", 400)
        slug = text.sanitize_title(raw_slug) if raw_slug else text.sanitize_title(name)
        existing = self._existing_term(taxonomy, name, slug, bool(raw_slug), parent)
        if existing is not None:
            message = (
                "A term with the name provided already exists with this parent."
                if taxonomy == "category"
                else "A term with the name provided already exists in this taxonomy."
            )
            error = RestError("term_exists", message, 400, term_id=existing.id)
            error.body["additional_data"] = [existing.id, existing.id]
            raise error
        term = Term(
            next(self._term_ids), taxonomy, name, "", text.sanitize_text_field(description), parent
        )
        term.slug = self._unique_term_slug(slug or str(term.id), taxonomy)
        self.terms[term.id] = term
        return term

    def _existing_term(
        self, taxonomy: str, name: str, slug: str, slug_given: bool, parent: int
    ) -> Term | None:
        same_name = [
            t
            for t in self.terms.values()
            if t.taxonomy == taxonomy and t.name.lower() == name.lower() and t.parent == parent
        ]
        if not same_name:
            return None
        match = same_name[0]
        by_slug = next(
            (t for t in self.terms.values() if t.taxonomy == taxonomy and t.slug == slug), None
        )
        if slug_given and match.slug != slug and by_slug is None:
            return None
        if taxonomy != "category":
            return match
        siblings = [t for t in self.terms.values() if t.taxonomy == taxonomy and t.parent == parent]
        if (not slug_given or match.slug == slug) and name in [t.name for t in siblings]:
            return match
        if by_slug is not None and by_slug in siblings:
            return by_slug
        return None

    def _unique_term_slug(self, slug: str, taxonomy: str) -> str:
        """wp_unique_term_slug(): unique within the taxonomy; numbered across all terms."""
        if not any(t.slug == slug and t.taxonomy == taxonomy for t in self.terms.values()):
            return slug
        for number in itertools.count(2):
            candidate = f"{slug}-{number}"
            if not any(t.slug == candidate for t in self.terms.values()):
                return candidate
        raise AssertionError("unreachable")

    def _update_term(self, call: Call) -> httpx.Response:
        term = self._term_row(call)
        self._require(
            call,
            "manage_categories",
            "rest_cannot_update",
            "Sorry, you are not allowed to edit this term.",
        )
        if call.has("name"):
            term.name = text.sanitize_term_name(str(call.get("name")))
        if call.has("slug"):
            term.slug = self._unique_term_slug(
                text.sanitize_title(str(call.get("slug"))), term.taxonomy
            )
        if call.has("description"):
            term.description = text.sanitize_text_field(str(call.get("description")))
        return reply(200, self._term_json(term, "edit"))

    def _delete_term(self, call: Call) -> httpx.Response:
        term = self._term_row(call)
        if call.user is None or not call.user.can("manage_categories") or term.id == 1:
            raise RestError(
                "rest_cannot_delete",
                "Sorry, you are not allowed to delete this term.",
                auth_status(call.user),
            )
        if not truthy(call.get("force")):
            raise RestError(
                "rest_trash_not_supported",
                "Terms do not support trashing. Set 'force=true' to delete.",
                501,
            )
        previous = self._term_json(term, "edit")
        del self.terms[term.id]
        for row in self.rows.values():
            ids = row.terms.get(term.taxonomy, [])
            if term.id in ids:
                ids.remove(term.id)
                if term.taxonomy == "category" and not ids:
                    ids.append(1)
        return reply(200, {"deleted": True, "previous": previous})

    def _term_json(self, term: Term, context: str) -> Json:
        base = "categories" if term.taxonomy == "category" else "tags"
        prefix = "category" if term.taxonomy == "category" else "tag"
        link = (
            f"{self.url}/{prefix}/{term.slug}/"
            if self.pretty_permalinks
            else f"{self.url}/?{'cat' if prefix == 'category' else 'tag'}="
            + (str(term.id) if prefix == "category" else term.slug)
        )
        data: Json = {
            "id": term.id,
            "count": self._count(term),
            "description": term.description,
            "link": link,
            "name": term.name,
            "slug": term.slug,
            "taxonomy": term.taxonomy,
        }
        if term.taxonomy == "category":
            data["parent"] = term.parent
        data["meta"] = []
        data["_links"] = {
            "self": [{"href": self.rest_url(f"/wp/v2/{base}/{term.id}")}],
            "collection": [{"href": self.rest_url(f"/wp/v2/{base}")}],
        }
        return data

    # -- users ---------------------------------------------------------------------------------

    def _me(self, call: Call) -> httpx.Response:
        user = call.user
        if user is None:
            raise RestError("rest_not_logged_in", "You are not currently logged in.", 401)
        data: Json = {
            "id": user.id,
            "name": user.name,
            "url": self.url if user.id == 1 else "",
            "description": "",
            "link": f"{self.url}/author/{user.login}/",
            "slug": user.login,
            "avatar_urls": avatar_urls(user.email, self.url.startswith("https:")),
            "meta": {"persisted_preferences": []} if call.context == "edit" else [],
        }
        if call.context == "edit":
            data |= {
                "username": user.login,
                "first_name": "",
                "last_name": "",
                "email": user.email,
                "locale": "en_US",
                "nickname": user.login,
                "roles": list(user.roles),
                "registered_date": rfc3339(user.registered.replace(tzinfo=None)) + "+00:00",
                "capabilities": user.capabilities(),
                "extra_capabilities": dict.fromkeys(user.roles, True),
            }
        return reply(200, data)

    # -- time ----------------------------------------------------------------------------------

    def _now(self) -> datetime:
        """The site's clock as MySQL keeps it: naive UTC, whole seconds."""
        return self.clock().astimezone(UTC).replace(tzinfo=None, microsecond=0)


# ---------------------------------------------------------------------------------------------
# Request helpers (WordPress's parsing rules)


def item_methods(read: Handler, edit: Handler, delete: Handler) -> dict[str, Handler]:
    """READABLE, EDITABLE (POST, PUT, PATCH) and DELETABLE, as WordPress registers an item."""
    return {"GET": read, "POST": edit, "PUT": edit, "PATCH": edit, "DELETE": delete}


def php_query(url: httpx.URL) -> Json:
    """The query string as PHP's $_GET sees it: ``a[]=1&a[]=2`` is a list, else the last wins."""
    params: Json = {}
    for key, value in url.params.multi_items():
        if key.endswith("[]"):
            params.setdefault(key[:-2], [])
            if isinstance(params[key[:-2]], list):
                params[key[:-2]].append(value)
        else:
            params[key] = value
    return params


def parse_list(value: Any) -> list[str]:
    """wp_parse_list(): a list, or a string split on commas and whitespace."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in re.split(r"[\s,]+", str(value)) if part]


def slug_list(value: Any) -> list[str]:
    """wp_parse_slug_list(): each part through sanitize_title()."""
    return list(dict.fromkeys(text.sanitize_title(part) for part in parse_list(value)))


def id_list(value: Any) -> list[int]:
    """wp_parse_id_list(): absint() of each part."""
    ids = []
    for part in parse_list(value):
        match = re.match(r"-?\d+", part.strip())
        ids.append(abs(int(match.group(0))) if match else 0)
    return list(dict.fromkeys(ids))


def check_common_params(call: Call) -> None:
    """The collection parameters every route validates before its handler runs."""
    if call.has("context") and call.get("context") not in ("view", "embed", "edit"):
        raise not_in_enum("context", ("view", "embed", "edit"))
    if call.method == "GET" and call.has("per_page"):
        per_page = call.get("per_page")
        if not re.fullmatch(r"-?\d+", str(per_page)):
            raise invalid_param(
                "per_page",
                "per_page is not of type integer.",
                "rest_invalid_type",
                {"param": "per_page"},
            )
        if not 1 <= int(per_page) <= PER_PAGE_MAX:
            message = f"per_page must be between 1 (inclusive) and {PER_PAGE_MAX} (inclusive)"
            raise invalid_param("per_page", message, "rest_out_of_bounds")
    page = str(call.get("page", "1"))
    if call.method == "GET" and (not re.fullmatch(r"\d+", page) or int(page) < 1):
        raise invalid_param("page", "page must be greater than or equal to 1", "rest_out_of_bounds")


def raw_value(value: Any, name: str) -> str:
    """A title/content/excerpt/caption given as a string or as ``{"raw": ...}``."""
    if isinstance(value, dict):
        return str(value.get("raw", ""))
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise invalid_param(
        name, f"{name} is not of type object,string.", "rest_invalid_type", {"param": name}
    )


def text_trim(value: str) -> str:
    return value.strip(" \t\n\r\0\x0b")


def int_param(value: Any, name: str) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value)):
        raise invalid_param(
            name, f"{name} is not of type integer.", "rest_invalid_type", {"param": name}
        )
    return int(value)


def int_list_param(value: Any, name: str) -> list[int]:
    items = value if isinstance(value, list) else parse_list(value)
    for i, item in enumerate(items):
        if isinstance(item, bool) or not re.fullmatch(r"-?\d+", str(item)):
            message = f"{name}[{i}] is not of type integer."
            raise invalid_param(name, message, "rest_invalid_type", {"param": f"{name}[{i}]"})
    return [int(item) for item in items]


def truthy(value: Any) -> bool:
    """rest_sanitize_boolean()."""
    if isinstance(value, str):
        return value.lower() not in ("", "0", "false")
    return bool(value)


DATE_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}(?::\d{2})?)?$"
)


def parse_rest_date(value: Any, name: str, *, force_utc: bool) -> datetime:
    """rest_parse_date() then rest_get_date_with_gmt(): ``date_gmt`` ignores any offset."""
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise invalid_param(name, "Invalid date.", "rest_invalid_date")
    stamp = re.sub(r"(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$", "", value).replace(" ", "T").upper()
    when = datetime.fromisoformat(stamp)
    offset = re.search(r"([+-])(\d{2}):?(\d{2})?$", value)
    if offset and not force_utc:
        sign = 1 if offset.group(1) == "+" else -1
        when -= sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
    return when


def rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def auth_status(user: User | None) -> int:
    """rest_authorization_required_code(): 401 for visitors, 403 for a logged-in user."""
    return 401 if user is None else 403


def filename_from_disposition(header: str) -> str | None:
    """get_filename_from_disposition(): only ``filename=``, split on ``;`` ignoring quotes."""
    value = header.strip()
    if ";" not in value:
        return None
    _, rest = value.split(";", 1)
    attributes = {}
    for part in rest.split(";"):
        if "=" in part:
            key, _, item = part.partition("=")
            attributes[key.strip()] = item.strip()
    filename = attributes.get("filename", "").strip()
    if len(filename) >= 2 and filename[0] == '"' and filename[-1] == '"':
        filename = filename[1:-1]
    return filename or None


IMAGE_META = {
    "aperture": "0",
    "credit": "",
    "camera": "",
    "caption": "",
    "created_timestamp": "0",
    "copyright": "",
    "focal_length": "0",
    "iso": "0",
    "shutter_speed": "0",
    "title": "",
    "orientation": "0",
    "keywords": [],
}


def image_size(data: bytes) -> tuple[int, int] | None:
    """getimagesize() for PNG, GIF, BMP and JPEG: (width, height), or None."""
    kind = sniff_image(data)
    if kind == "png" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if kind == "gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if kind == "bmp" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return int(width), abs(int(height))
    if kind == "jpg":
        return jpeg_size(data)
    return None


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame size from a JPEG's first SOF marker."""
    at = 2
    while at + 9 < len(data) and data[at] == 0xFF:
        marker, length = data[at + 1], struct.unpack(">H", data[at + 2 : at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        at += 2 + int(length)
    return None


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes really are (wp_get_image_mime), as an extension."""
    for magic, extension in IMAGE_MAGIC:
        if data.startswith(magic):
            return extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def filter_fields(response: httpx.Response, fields: Any) -> httpx.Response:
    """rest_filter_response_fields(): ``_fields=a,b.c`` keeps only those (nested) keys."""
    if not fields or response.status_code >= 400:
        return response
    wanted = parse_list(fields)
    data = json.loads(response.content)
    kept = [pick(item, wanted) for item in data] if isinstance(data, list) else pick(data, wanted)
    return reply(response.status_code, kept, response.headers)


def pick(data: Any, wanted: list[str]) -> Any:
    if not isinstance(data, dict):
        return data
    kept: Json = {}
    for path in wanted:
        head, _, rest = path.partition(".")
        if head not in data:
            continue
        if not rest:
            kept[head] = data[head]
        elif isinstance(data[head], dict):
            inner = pick(data[head], [rest])
            kept[head] = (
                {**kept.get(head, {}), **inner} if isinstance(kept.get(head), dict) else inner
            )
    return kept


def with_index_links(response: httpx.Response) -> httpx.Response:
    """The index's own links, which WordPress adds whatever ``_fields`` asked for."""
    data = json.loads(response.content)
    data["_links"] = {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]}
    return reply(response.status_code, data, response.headers)


def reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A JSON answer; a Content-Length among ``headers`` (from an earlier body) is dropped."""
    kept = {k: v for k, v in (headers or {}).items() if k.lower() != "content-length"}
    return httpx.Response(status, json=body, headers=kept)


def png(width: int = 2, height: int = 2) -> bytes:
    """A small valid PNG (WordPress reads uploaded images)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def memwp_site() -> MemoryWordPress:
    """A fresh in-memory WordPress."""
    return MemoryWordPress()


@pytest.fixture
def memwp(memwp_site: MemoryWordPress) -> Iterator[WordPressClient]:
    """A WordPressClient connected to ``memwp_site``."""
    client = memwp_site.client()
    yield client
    client.close()


def avatar_urls(email: str, secure: bool) -> dict[str, str]:
    """get_avatar_url(): Gravatar by the md5 of the e-mail address, at three sizes."""
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    host = "https://secure" if secure else f"http://{int(digest[0], 16) % 3}"
    return {
        str(size): f"{host}.gravatar.com/avatar/{digest}?s={size}&d=mm&r=g" for size in (24, 48, 96)
    }


def http_date(when: datetime) -> str:
    return format_datetime(when.replace(tzinfo=UTC), usegmt=True)
