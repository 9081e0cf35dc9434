"""The REST root discovered by one command, remembered in the state for the next (issue 15).

Against the in-memory WordPress (tests/memwp.py), which answers as the real one does when its
REST API moves: with pretty permalinks switched off, a GET to ``/wp-json/...`` is redirected
(the canonical trailing slash) and a POST gets the theme's page, 200 in HTML, advertising the
REST index at ``?rest_route=/`` (both seen on the real WordPress: see
test_wordpress_live.py's test of the same switch).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from msgspec.structs import replace

from pipeline.errors import ConfigError, WordPressError
from pipeline.redact import Redactor
from pipeline.store import Store
from pipeline.wordpress import ApiRoot, PostFields, WordPressClient, make_http_client
from pipeline.wordpress.discovery import RememberedRoot
from tests.memwp import MemoryWordPress
from tests.sites import WordPressSite, make_site, open_site, remote
from tests.wp_local import LocalWordPress, set_option

SITE = "https://blog.example.com"
KEY = f"api_root:wordpress:{SITE}"
PRETTY = ApiRoot(f"{SITE}/wp-json/wp/v2")
PLAIN = ApiRoot(f"{SITE}/index.php", "/wp/v2")
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def wp() -> MemoryWordPress:
    return MemoryWordPress(SITE)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state" / "pipeline.db")
    yield opened
    opened.close()


def command(
    wp: MemoryWordPress,
    store: Store,
    handler: Handler | None = None,
    **settings: Any,
) -> WordPressClient:
    """The client a new command builds: its own connection, the state's memory."""
    wp_settings = replace(wp.settings(), **settings)
    creds = wp.credentials()
    transport = httpx.MockTransport(handler or wp)
    http = make_http_client(wp_settings, creds, transport=transport)
    return WordPressClient.connect(http, wp_settings, creds, memory=store)


def routes(wp: MemoryWordPress, since: int = 0) -> list[str]:
    """The requests sent, as "GET /wp-json/wp/v2/posts" or "GET ?rest_route=/wp/v2/posts"."""
    sent = []
    for request in wp.requests[since:]:
        route = request.url.params.get("rest_route")
        where = f"?rest_route={route}" if route is not None else request.url.path
        sent.append(f"{request.method} {where}")
    return sent


def keep(store: Store, root: ApiRoot, site: str = SITE) -> None:
    """What an earlier command left in the state for ``site``, written as it writes it."""
    RememberedRoot(store, site, lambda text: text).remember(root)


def remembered(store: Store) -> ApiRoot | None:
    raw = store.meta(KEY)
    if raw is None:
        return None
    saved = json.loads(raw)
    return ApiRoot(saved["base"], saved["route_prefix"])


def fields(slug: str = "hello") -> PostFields:
    return PostFields(title="Hello", slug=slug, content="<p>Hi.</p>", status="draft")


def test_a_new_command_uses_the_root_the_last_one_found(wp: MemoryWordPress, store: Store) -> None:
    with command(wp, store) as first:
        assert first.find_post("hello") is None
    assert routes(wp) == ["GET /wp-json/", "GET /wp-json/wp/v2/posts"]
    assert remembered(store) == PRETTY

    mark = len(wp.requests)
    with command(wp, store) as second:
        assert second.find_post("hello") is None
        assert second.requests_sent == 1
    assert routes(wp, mark) == ["GET /wp-json/wp/v2/posts"]


def test_a_read_through_a_root_that_moved_finds_it_again_and_is_sent_once_more(
    wp: MemoryWordPress, store: Store
) -> None:
    with command(wp, store) as first:
        first.create_post(fields())
    wp.pretty_permalinks = False  # /wp-json/... is now the theme's, the API at ?rest_route=
    mark = len(wp.requests)
    with command(wp, store) as second:
        found = second.find_post("hello")
        assert found is not None
        assert found.slug == "hello"
        assert second.api_root == PLAIN
    assert routes(wp, mark) == [
        "GET /wp-json/wp/v2/posts",  # the remembered root: a redirect (not followed)
        "GET /wp-json/",  # discovery: the theme's page, whose Link names ?rest_route=/
        "GET ?rest_route=/",  # the REST index there
        "GET ?rest_route=/wp/v2/posts",  # the read, once more
    ]
    assert remembered(store) == PLAIN

    mark = len(wp.requests)
    with command(wp, store) as third:
        assert third.find_post("hello") is not None
    assert routes(wp, mark) == ["GET ?rest_route=/wp/v2/posts"], "the new root remembered"


def test_a_create_that_met_the_themes_page_is_sent_once_more_and_makes_one_post(
    wp: MemoryWordPress, store: Store
) -> None:
    with command(wp, store) as first:
        first.find_post("other")
    wp.pretty_permalinks = False
    mark = len(wp.requests)
    with command(wp, store) as second:
        post = second.create_post(fields())
    # The posts endpoint never saw the first POST: WordPress served its home page instead.
    assert routes(wp, mark) == [
        "POST /wp-json/wp/v2/posts",  # the theme's page: 200, HTML, advertising ?rest_route=/
        "GET /wp-json/",
        "GET ?rest_route=/",
        "POST ?rest_route=/wp/v2/posts",
    ]
    assert [row.id for row in wp.posts()] == [post.id]


def test_a_create_answered_in_html_without_wordpress_link_is_not_resent(
    wp: MemoryWordPress, store: Store
) -> None:
    """A PHP warning printed before the JSON of a post created: no proof it was not done. (The
    remembered ?rest_route= root still works, and discovery would now find /wp-json/.)"""
    keep(store, PLAIN)

    def warning_after_saving(request: httpx.Request) -> httpx.Response:
        answer = wp(request)
        if request.method == "POST":
            return httpx.Response(201, text="<b>Warning</b>: headers already sent" + answer.text)
        return answer

    with (
        command(wp, store, warning_after_saving) as second,
        pytest.raises(WordPressError, match="not JSON"),
    ):
        second.create_post(fields())
    assert len(wp.posts()) == 1
    assert len(wp.sent("POST", "/posts")) == 1
    assert remembered(store) == PLAIN


def test_a_create_answered_with_a_redirect_is_not_resent(wp: MemoryWordPress, store: Store) -> None:
    """After a POST, a redirect may point at work done ("see it there")."""
    with command(wp, store) as first:
        first.find_post("other")

    posted: list[httpx.Request] = []

    def moved(request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return wp(request)
        posted.append(request)
        return httpx.Response(301, headers={"Location": "https://elsewhere.example.com/"})

    mark = len(wp.requests)
    with command(wp, store, moved) as second, pytest.raises(WordPressError, match="HTTP 301"):
        second.create_post(fields())
    assert len(posted) == 1
    assert wp.requests[mark:] == [], "not found again either: the POST is not resent"


def test_a_root_found_again_that_still_fails_is_bad_config_and_not_tried_again(
    wp: MemoryWordPress, store: Store
) -> None:
    keep(store, PRETTY)

    page = httpx.Response(404, text="<html>Not Found</html>")  # not WordPress's, nor JSON
    wp.fail_next("GET", "/posts", response=page, times=10)
    with command(wp, store) as client:
        with pytest.raises(ConfigError, match="its REST API is not where"):
            client.find_post("hello")
        # Discovery found the same root: nothing else to try, so the request is not resent.
        assert routes(wp) == ["GET /wp-json/wp/v2/posts", "GET /wp-json/"]
        with pytest.raises(ConfigError, match="its REST API is not where"):
            client.find_post("hello")
        assert routes(wp)[2:] == ["GET /wp-json/wp/v2/posts"], "found again once, never more"


def test_a_missing_route_is_not_a_moved_root(wp: MemoryWordPress, store: Store) -> None:
    """``rest_no_route``: the REST API answered there, only the route is missing."""
    with command(wp, store) as first:
        first.find_post("hello")
    mark = len(wp.requests)
    with command(wp, store) as second, pytest.raises(ConfigError, match="HTTP 404"):
        second.block_types()  # not a route the in-memory WordPress has
    assert routes(wp, mark) == ["GET /wp-json/wp/v2/block-types"]
    assert remembered(store) == PRETTY


def test_another_url_never_uses_the_root_remembered_for_the_old_one(
    wp: MemoryWordPress, store: Store
) -> None:
    old = "https://old.example.com"
    keep(store, ApiRoot(f"{old}/wp-json/wp/v2"), site=old)
    with command(wp, store) as client:
        client.find_post("hello")
    assert routes(wp) == ["GET /wp-json/", "GET /wp-json/wp/v2/posts"]
    assert all(request.url.host == "blog.example.com" for request in wp.requests)
    assert remembered(store) == PRETTY
    assert store.meta(f"api_root:wordpress:{old}") is not None  # that site's, kept for it


@pytest.mark.parametrize(
    "damaged",
    [
        "not json",
        "[]",
        "null",
        json.dumps({"route_prefix": None}),
        json.dumps({"base": f"{SITE}/index.php", "route_prefix": 7}),
        json.dumps({"base": f"{SITE}/index.php", "route_prefix": "wp/v2"}),
        json.dumps({"base": "ftp://blog.example.com/wp-json/wp/v2"}),
        json.dumps({"base": "http://blog.example.com/wp-json/wp/v2"}),  # plain http, refused
        json.dumps({"base": "https://user:pw@blog.example.com/wp-json/wp/v2"}),
        json.dumps({"base": "/wp-json/wp/v2"}),
        json.dumps({"base": "https://[::1/wp-json"}),
    ],
)
def test_a_damaged_entry_is_ignored_and_written_over(
    wp: MemoryWordPress, store: Store, damaged: str
) -> None:
    store.set_meta(KEY, damaged)
    with command(wp, store) as client:
        assert client.find_post("hello") is None
    assert routes(wp) == ["GET /wp-json/", "GET /wp-json/wp/v2/posts"]
    assert remembered(store) == PRETTY


def test_a_configured_api_root_is_neither_recalled_nor_remembered(
    wp: MemoryWordPress, store: Store
) -> None:
    keep(store, ApiRoot(f"{SITE}/elsewhere/wp/v2"))
    with command(wp, store, api_root=f"{SITE}/wp-json/wp/v2") as client:
        client.find_post("hello")
    assert routes(wp) == ["GET /wp-json/wp/v2/posts"]
    assert json.loads(store.meta(KEY) or "{}")["base"] == f"{SITE}/elsewhere/wp/v2"


def test_a_root_holding_a_secret_is_not_remembered(wp: MemoryWordPress, store: Store) -> None:
    """A REST index advertised with the password in its query string (a misconfigured proxy)."""
    secret = wp.app_password
    link = f'<{SITE}/index.php?rest_route=/&key={secret}>; rel="https://api.w.org/"'

    def leaky(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/wp-json/":
            return httpx.Response(404, headers={"Link": link}, text="<html></html>")
        return wp(request)

    with command(wp, store, leaky) as client:
        assert client.find_post("hello") is None
        assert "key" in str(client.api_root.url("/posts"))  # used by this command ...
    assert store.meta(KEY) is None  # ... never written
    written = " ".join(key + value for key, value in store.conn.execute("SELECT * FROM meta"))
    assert Redactor([secret])(written) == written


def test_threads_meeting_a_moved_root_find_it_again_once(wp: MemoryWordPress, store: Store) -> None:
    with command(wp, store) as first:
        for n in range(8):
            first.create_post(fields(f"post-{n}"))
    wp.pretty_permalinks = False
    mark = len(wp.requests)
    start = threading.Barrier(4)

    def read(n: int) -> int:
        start.wait()
        found = second.find_post(f"post-{n}")
        assert found is not None
        return found.id

    with command(wp, store) as second, ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(read, range(4)))
    assert len(set(ids)) == 4
    assert routes(wp, mark).count("GET /wp-json/") == 1
    assert remembered(store) == PLAIN


# -- commands: the state folder remembers, through wiring.services() ---------------------------


class Recorder(httpx.BaseTransport):
    """Passes requests on to ``inner`` and keeps them, as "GET /wp-json/..." lines (the REST route
    of a ``?rest_route=`` URL; a post's id as ``{id}``)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        route = request.url.params.get("rest_route")
        where = re.sub(r"/\d+$", "/{id}", route if route is not None else request.url.path)
        self.sent.append(f"{request.method} {where}")
        return self.inner.handle_request(request)


def publish_command(config: Path, recorder: Recorder, slug: str) -> list[str]:
    """One `pipeline publish --no-announce SLUG`: its own services, hence its own client."""
    mark = len(recorder.sent)
    with open_site(config, transport=recorder) as site:
        result = site.publisher().publish(site.targets([slug]), announce=False)
    assert result.ok, result.failed
    return recorder.sent[mark:]


def one_post_site(root: Path, wordpress: WordPressSite) -> Path:
    config = make_site(root, wordpress)
    for path in (root / "posts").glob("*.md"):
        path.unlink()
    post = "---\ntitle: Remembered\nslug: remembered\nstatus: ready\n---\nThe root, kept.\n"
    (root / "posts" / "remembered.md").write_text(post, encoding="utf-8")
    return config


def test_a_second_command_asks_for_nothing_but_its_read(tmp_path: Path) -> None:
    site = MemoryWordPress()
    config = one_post_site(tmp_path, site)
    recorder = Recorder(site.transport())
    first = publish_command(config, recorder, "remembered")
    assert first[0] == "GET /wp-json/"
    again = publish_command(config, recorder, "remembered")
    # The in-memory WordPress has no block registry, so each command asks for it again.
    assert again == ["GET /wp-json/wp/v2/block-types", "GET /wp-json/wp/v2/posts"]


@pytest.mark.wordpress
def test_commands_go_on_when_the_real_site_switches_its_permalinks(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = one_post_site(tmp_path, wordpress)
    recorder = Recorder(httpx.HTTPTransport())
    try:
        assert "GET /wp-json/" in publish_command(config, recorder, "remembered")
        set_option("permalink_structure", "")  # Settings -> Permalinks -> Plain
        source = tmp_path / "posts" / "remembered.md"
        source.write_text(source.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
        edited = publish_command(config, recorder, "remembered")
        assert edited == [
            "GET /wp-json/wp/v2/posts",  # the remembered root: WordPress redirects it
            "GET /wp-json/",  # discovery: the theme's page, advertising index.php?rest_route=/
            "GET /",
            "GET /wp/v2/posts",  # the refresh read, once more, through ?rest_route=
            "POST /wp/v2/posts/{id}",
        ]
        assert publish_command(config, recorder, "remembered") == ["GET /wp/v2/posts"]
        set_option("permalink_structure", "/%postname%/")
        # ?rest_route= works with pretty permalinks too: nothing to find again.
        assert publish_command(config, recorder, "remembered") == ["GET /wp/v2/posts"]
    finally:
        set_option("permalink_structure", "/%postname%/")
    found = remote(wordpress, "remembered")
    assert found is not None
    assert "Edited." in found["content"]["raw"]


def test_a_site_that_moved_is_followed_to_its_new_address(
    wp: MemoryWordPress, store: Store
) -> None:
    """The configured address now redirects everything to another host (the site moved)."""
    old = "https://old.example.com"
    keep(store, ApiRoot(f"{old}/wp-json/wp/v2"), site=old)

    def moved(request: httpx.Request) -> httpx.Response:
        if request.url.host == "old.example.com":
            new = request.url.copy_with(host="blog.example.com")
            return httpx.Response(301, headers={"Location": str(new)})
        return wp(request)

    with command(wp, store, moved, url=old) as client:
        assert client.find_post("hello") is None
        assert client.api_root == PRETTY
    assert routes(wp) == ["GET /wp-json/", "GET /wp-json/wp/v2/posts"]  # on the new host
    saved = json.loads(store.meta(f"api_root:wordpress:{old}") or "{}")
    assert saved["base"] == PRETTY.base
