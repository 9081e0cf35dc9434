"""The WordPress client against a real WordPress (scripts/wordpress.sh; reset before each test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.errors import AuthError, WordPressError
from pipeline.wordpress import ApiRoot, PostFields, WordPressClient, make_http_client
from tests.images import png
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress

SLUG = "fond-memories-part-2"
CONTENT = '<p>The <em>stink bomb</em> went off in <a href="https://example.com/">class</a>.</p>'


class Site:
    """A client for the local WordPress, plus a raw HTTP client for checks behind its back."""

    def __init__(
        self,
        wordpress: LocalWordPress,
        *,
        password: str | None = None,
        api_root: str | None = None,
        wrap: Callable[[httpx.BaseTransport], httpx.BaseTransport] | None = None,
    ) -> None:
        secret = Secret(password if password is not None else wordpress.app_password)
        self.settings = WordPressSettings(url=wordpress.url, api_root=api_root, timeout=30)
        self.creds = WordPressCredentials(user=wordpress.user, app_password=secret)
        transport = wrap(httpx.HTTPTransport()) if wrap else None
        self.http = make_http_client(self.settings, self.creds, transport=transport)
        self.client = WordPressClient.connect(self.http, self.settings, self.creds)

    def get(self, path: str, *params: tuple[str, str | int]) -> Any:
        response = self.http.get(self.client.api_root.url(path, params))
        response.raise_for_status()
        return response.json()

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, self.client.api_root.url(path), json=body)
        return response.json()

    def posts_with_slug(self, slug: str) -> list[dict[str, Any]]:
        return list(self.get("/posts", ("slug", slug), ("status", "any"), ("context", "edit")))

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def site(wordpress: LocalWordPress) -> Iterator[Site]:
    opened = Site(wordpress)
    yield opened
    opened.close()


def fields(**changes: Any) -> PostFields:
    values: dict[str, Any] = {
        "title": "Fond Memories, Part 2",
        "slug": SLUG,
        "content": CONTENT,
        "status": "publish",
    }
    values.update(changes)
    return PostFields(**values)


# -- discovery -------------------------------------------------------------------------------


def test_discovers_the_pretty_root(site: Site) -> None:
    assert site.client.api_root == ApiRoot(f"{site.settings.url.rstrip('/')}/wp-json/wp/v2")
    assert site.client.me()["slug"] == site.creds.user


def without_pretty_permalinks(inner: httpx.BaseTransport) -> httpx.BaseTransport:
    """/wp-json/ answers 404, as on a site with plain permalinks; the rest is the real site."""

    class Transport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/wp-json"):
                return httpx.Response(404, text="<html>Not Found</html>")
            return inner.handle_request(request)

    return Transport()


def test_discovers_and_uses_the_rest_route_form(wordpress: LocalWordPress) -> None:
    plain = Site(wordpress, wrap=without_pretty_permalinks)
    try:
        assert plain.client.api_root.route_prefix == "/wp/v2"
        post, action = plain.client.publish(fields())
        assert action == "created"
        assert plain.client.find_post(SLUG) == post
        assert plain.client.term_ids("tags", ["Plain Tag"]) == plain.client.term_ids(
            "tags", ["plain tag"]
        )
    finally:
        plain.close()
    configured = Site(wordpress, api_root=f"{wordpress.url.rstrip('/')}/?rest_route=/wp/v2")
    try:
        assert configured.client.get_post(post.id) == post
    finally:
        configured.close()


# -- publishing ------------------------------------------------------------------------------


def test_publish_with_terms_and_a_featured_image_reads_back(site: Site) -> None:
    client = site.client
    media = client.upload_media(
        "Café map.png", png(), "image/png", "A map & a key", "Where it <em>happened</em>"
    )
    categories = client.term_ids("categories", ["Stories"])
    tags = client.term_ids("tags", ["Fond Memories", "Tips & Tricks"])
    post, action = client.publish(
        fields(categories=categories, tags=tags, featured_media=media.id, excerpt="A smell.")
    )
    assert (action, post.status) == ("created", "publish")

    again = client.get_post(post.id)
    assert again is not None
    assert (again.content_raw, again.title_raw, again.excerpt_raw) == (
        CONTENT,
        "Fond Memories, Part 2",
        "A smell.",
    )
    assert (again.categories, set(again.tags), again.featured_media) == (
        categories,
        set(tags),
        media.id,
    )
    names = {t["id"]: t["name"] for t in site.get("/tags", ("include", ",".join(map(str, tags))))}
    assert names == {tags[0]: "Fond Memories", tags[1]: "Tips &amp; Tricks"}  # WordPress escapes
    stored = client.get_media(media.id)
    assert stored is not None
    assert (stored.alt_text, stored.caption_raw) == ("A map & a key", "Where it <em>happened</em>")
    assert stored.source_url.endswith(".png")
    assert post.date_gmt is not None
    assert abs(post.date_gmt - datetime.now(UTC)) < timedelta(minutes=5)


def test_requests_for_a_new_post_with_an_image_and_known_terms(site: Site) -> None:
    site.client.term_ids("categories", ["Stories"])
    site.client.term_ids("tags", ["Fond Memories"])
    fresh = WordPressClient.connect(site.http, site.settings, site.creds)
    assert fresh.api_root.route_prefix is None  # discovery: one request, counted apart
    assert fresh.requests_sent == 1
    media = fresh.upload_media("a.png", png(), "image/png", "alt", "caption")
    categories = fresh.term_ids("categories", ["Stories"])
    tags = fresh.term_ids("tags", ["Fond Memories"])
    fresh.publish(fields(categories=categories, tags=tags, featured_media=media.id))
    # upload, one lookup per taxonomy, the slug lookup, the create
    assert dict(fresh.requests_by_method) == {"GET": 1 + 3, "POST": 2}


def test_publishing_again_updates_the_same_post(site: Site) -> None:
    first, _ = site.client.publish(fields())
    same, action = site.client.publish(fields())
    assert (action, same.id) == ("adopted", first.id)
    changed, action = site.client.publish(fields(content="<p>Changed.</p>"), known_id=first.id)
    assert (action, changed.id, changed.content_raw) == ("updated", first.id, "<p>Changed.</p>")
    assert site.client.get_post(first.id).content_raw == "<p>Changed.</p>"  # type: ignore[union-attr]
    assert [p["id"] for p in site.posts_with_slug(SLUG)] == [first.id]


def test_a_future_post_is_scheduled_then_made_live(site: Site) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    scheduled, action = site.client.publish(fields(status="future", date_gmt=when))
    assert (action, scheduled.status, scheduled.date_gmt) == ("created", "future", when)
    live, action = site.client.publish(fields(date_gmt=when), known_id=scheduled.id)
    assert (action, live.id, live.status) == ("updated", scheduled.id, "publish")
    assert live.date_gmt is not None
    assert live.date_gmt <= datetime.now(UTC) + timedelta(seconds=5)


def test_a_forgotten_create_is_adopted_not_duplicated(site: Site) -> None:
    site.client.create_post(fields(status="draft"))  # then the process died: id never recorded
    post, action = site.client.publish(fields())
    assert (action, post.status) == ("adopted", "publish")
    assert [p["id"] for p in site.posts_with_slug(SLUG)] == [post.id]


def timeout_after_create(inner: httpx.BaseTransport) -> httpx.BaseTransport:
    """The create reaches WordPress, then the answer is lost."""

    class Transport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if request.method == "POST" and request.url.path.endswith("/wp/v2/posts"):
                response.read()
                raise httpx.ReadTimeout("timed out", request=request)
            return response

    return Transport()


def test_a_create_whose_answer_is_lost_is_adopted(wordpress: LocalWordPress) -> None:
    lossy = Site(wordpress, wrap=timeout_after_create)
    try:
        post, action = lossy.client.publish(fields())
        assert (action, post.status) == ("adopted", "publish")
        assert lossy.client.requests_by_method["POST"] == 2  # the lost create, then an update
        assert [p["id"] for p in lossy.posts_with_slug(SLUG)] == [post.id]
    finally:
        lossy.close()


def test_a_trashed_post_is_not_resurrected(site: Site) -> None:
    post, _ = site.client.publish(fields())
    trashed = site.send("DELETE", f"/posts/{post.id}")
    assert (trashed["status"], trashed["slug"]) == ("trash", f"{SLUG}__trashed")
    assert site.client.find_post(SLUG) is None
    with pytest.raises(WordPressError, match="trash"):
        site.client.publish(fields(), known_id=post.id)
    fresh, action = site.client.publish(fields())
    assert action == "created"
    assert (fresh.slug, fresh.id != post.id) == (SLUG, True)


# -- terms and errors ------------------------------------------------------------------------


def test_term_exists_returns_the_existing_tag(site: Site) -> None:
    existing = site.send("POST", "/tags", {"name": "Old Friends", "slug": "custom-slug"})
    answer = site.send("POST", "/tags", {"name": "old friends"})
    assert answer["code"] == "term_exists"
    assert answer["data"]["term_id"] == existing["id"]
    assert site.client.term_ids("tags", ["OLD FRIENDS"]) == (existing["id"],)
    assert len(site.get("/tags", ("search", "old friends"))) == 1


def test_a_wrong_application_password_is_an_auth_error(wordpress: LocalWordPress) -> None:
    wrong = "aaaa bbbb cccc dddd eeee ffff"
    bad = Site(wordpress, password=wrong)
    try:
        with pytest.raises(AuthError) as caught:
            bad.client.find_post(SLUG)
    finally:
        bad.close()
    message = str(caught.value)
    assert wordpress.url.rstrip("/") in message
    assert repr(wordpress.user) in message
    assert "Application Passwords" in message  # what to do about it
    assert wrong not in message
