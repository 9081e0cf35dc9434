"""One suite, two WordPresses: the in-memory one (tests/memwp.py) and the real local one.

Every test runs against both backends through the pipeline's own ``WordPressClient``; changes
made "behind our back" (as a person in wp-admin would) go through the same REST API. A test that
passes on the real WordPress and fails on the in-memory one is a bug in the fake. The real
backend needs ``scripts/wordpress.sh start`` (skipped without it, required in CI) and is reset
before each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from msgspec.structs import replace

from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.errors import AmbiguousOutcome, AuthError, WordPressError
from pipeline.wordpress import ApiRoot, PostFields, WordPressClient, make_http_client
from tests.memwp import MemoryWordPress, png

SLUG = "fond-memories-part-2"
CONTENT = '<p>The <em>stink bomb</em> went off in <a href="https://example.com/">class</a>.</p>'
WRONG_PASSWORD = "aaaa bbbb cccc dddd eeee ffff"
Wrap = Callable[[httpx.BaseTransport], httpx.BaseTransport]

# What WordPress 6.1 answers for a post, an attachment and a term with context=edit.
POST_KEYS = {
    "id", "date", "date_gmt", "guid", "modified", "modified_gmt", "password", "slug", "status",
    "type", "link", "title", "permalink_template", "generated_slug", "content", "excerpt",
    "author", "featured_media", "comment_status", "ping_status", "sticky", "template", "format",
    "meta", "categories", "tags", "_links",
}  # fmt: skip
MEDIA_KEYS = {
    "id", "date", "date_gmt", "guid", "modified", "modified_gmt", "slug", "status", "type",
    "link", "title", "permalink_template", "generated_slug", "author", "comment_status",
    "ping_status", "template", "meta", "description", "caption", "alt_text", "media_type",
    "mime_type", "media_details", "post", "source_url", "missing_image_sizes", "_links",
}  # fmt: skip
TAG_KEYS = {"id", "count", "description", "link", "name", "slug", "taxonomy", "meta", "_links"}


@dataclass
class Backend:
    """A WordPress to test against: where it is, how to reach it, who may log in."""

    name: str
    url: str
    user: str
    app_password: str
    transport: Callable[[], httpx.BaseTransport | None]

    def client(self, *, password: str | None = None, wrap: Wrap | None = None) -> WordPressClient:
        """The pipeline's client, discovering the REST root as in production."""
        settings = WordPressSettings(url=self.url, timeout=30)
        creds = WordPressCredentials(
            user=self.user, app_password=Secret(password or self.app_password)
        )
        transport = self.transport() or httpx.HTTPTransport()
        http = make_http_client(settings, creds, transport=wrap(transport) if wrap else transport)
        return WordPressClient.connect(http, settings, creds)

    def rest(self, method: str, route: str, **kwargs: Any) -> httpx.Response:
        """A raw wp/v2 request, as a person in wp-admin (or a plugin) would make it."""
        with httpx.Client(
            auth=(self.user, self.app_password), transport=self.transport(), timeout=30
        ) as http:
            return http.request(method, f"{self.url}/wp-json/wp/v2{route}", **kwargs)

    def edit(self, post_id: int, **fields: Any) -> dict[str, Any]:
        answer = self.rest("POST", f"/posts/{post_id}", json=fields)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def memory_backend() -> Backend:
    site = MemoryWordPress()
    return Backend("memory", site.url, site.user, site.app_password, site.transport)


@pytest.fixture(params=["memory", pytest.param("real", marks=pytest.mark.wordpress)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return memory_backend()
    site = request.getfixturevalue("wordpress")  # reset before the test
    return Backend("real", site.url, site.user, site.app_password, lambda: None)


@pytest.fixture
def client(backend: Backend) -> Iterator[WordPressClient]:
    opened = backend.client()
    yield opened
    opened.close()


def fields(**changes: Any) -> PostFields:
    base = PostFields(title="Fond Memories, Part 2", slug=SLUG, content=CONTENT, status="publish")
    return replace(base, **changes)


def near_now(when: datetime | None) -> bool:
    return when is not None and abs(when - datetime.now(UTC)) < timedelta(minutes=2)


# -- discovery and login ---------------------------------------------------------------------


def test_discovers_the_pretty_root_and_logs_in(backend: Backend, client: WordPressClient) -> None:
    assert client.api_root == ApiRoot(f"{backend.url}/wp-json/wp/v2")
    me = client.me()
    assert (me["username"], me["slug"]) == (backend.user, backend.user)
    assert "administrator" in me["roles"]
    assert me["capabilities"]["manage_categories"] is True


def without_pretty_permalinks(inner: httpx.BaseTransport) -> httpx.BaseTransport:
    """/wp-json/ answers 404, as on a site with plain permalinks; the rest is the site."""

    class Transport(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.startswith("/wp-json"):
                return httpx.Response(404, text="<html>Not Found</html>")
            return inner.handle_request(request)

    return Transport()


def test_the_rest_route_form_reaches_the_same_api(backend: Backend) -> None:
    plain = backend.client(wrap=without_pretty_permalinks)
    try:
        assert plain.api_root == ApiRoot(f"{backend.url}/", "/wp/v2")
        post, action = plain.publish(fields())
        assert (action, post.status) == ("created", "publish")
        assert plain.find_post(SLUG) == post
        assert plain.term_ids("tags", ["Plain Tag"]) == plain.term_ids("tags", ["plain tag"])
    finally:
        plain.close()


def test_a_wrong_application_password_is_an_auth_error(backend: Backend) -> None:
    wrong = backend.client(password=WRONG_PASSWORD)
    try:
        with pytest.raises(AuthError) as caught:
            wrong.find_post(SLUG)
        with pytest.raises(AuthError):
            wrong.me()
    finally:
        wrong.close()
    message = str(caught.value)
    assert repr(backend.user) in message
    assert "Application Passwords" in message
    assert WRONG_PASSWORD not in message


def test_a_wrong_password_is_served_as_an_anonymous_visitor(backend: Backend) -> None:
    # WordPress 6.1 checks an application password only after the REST API has decided who
    # is asking, so a wrong one is not reported as such: the visitor is anonymous.
    with httpx.Client(auth=(backend.user, WRONG_PASSWORD), transport=backend.transport()) as http:
        me = http.get(f"{backend.url}/wp-json/wp/v2/users/me")
        posts = http.get(f"{backend.url}/wp-json/wp/v2/posts", params={"status": "any"})
    assert (me.status_code, me.json()["code"]) == (401, "rest_not_logged_in")
    assert posts.status_code == 400
    detail = posts.json()["data"]["details"]["status"]
    assert (detail["code"], detail["data"]) == ("rest_forbidden_status", {"status": 401})


# -- posts -----------------------------------------------------------------------------------


def test_find_adopt_and_update_by_slug(client: WordPressClient) -> None:
    assert client.find_post(SLUG) is None
    draft = client.create_post(fields(status="draft"))  # a create whose id was never recorded
    assert client.find_post(SLUG) == draft
    post, action = client.publish(fields())
    assert (action, post.id, post.status) == ("adopted", draft.id, "publish")
    changed, action = client.publish(fields(content="<p>Changed.</p>"), known_id=post.id)
    assert (action, changed.id, changed.content_raw) == ("updated", post.id, "<p>Changed.</p>")
    assert client.find_post(SLUG) == changed


def test_a_created_post_reads_back_as_sent(backend: Backend, client: WordPressClient) -> None:
    post, action = client.publish(fields(excerpt="A smell."))
    assert action == "created"
    assert (post.slug, post.status, post.link) == (SLUG, "publish", f"{backend.url}/{SLUG}/")
    assert (post.title_raw, post.content_raw, post.excerpt_raw) == (
        "Fond Memories, Part 2",
        CONTENT,
        "A smell.",
    )
    assert near_now(post.date_gmt)
    assert post.modified_gmt == post.date_gmt
    assert (post.categories, post.tags, post.featured_media) == ((1,), (), 0)  # Uncategorized
    assert client.get_post(post.id) == post


def test_the_post_answer_has_wordpress_fields(backend: Backend, client: WordPressClient) -> None:
    post = client.create_post(fields())
    answer = backend.rest("GET", f"/posts/{post.id}", params={"context": "edit"}).json()
    assert set(answer) == POST_KEYS
    assert set(answer["content"]) == {"raw", "rendered", "protected", "block_version"}
    assert set(answer["title"]) == {"raw", "rendered"}
    assert answer["date_gmt"] == answer["date"]  # the sites run on UTC
    assert len(answer["date_gmt"]) == len("2026-01-02T03:04:05")  # no offset, no fraction
    view = backend.rest("GET", f"/posts/{post.id}").json()
    assert "raw" not in view["content"]
    assert "password" not in view


def test_a_taken_slug_gets_a_number(client: WordPressClient) -> None:
    first = client.create_post(fields())
    second = client.create_post(fields(title="Another"))
    third = client.create_post(fields(title="A third", status="draft"))
    assert (first.slug, second.slug, third.slug) == (SLUG, f"{SLUG}-2", f"{SLUG}-3")
    # The lookup by slug finds the post that has it, not the renamed copies.
    assert client.find_post(SLUG) == first


def test_slugs_are_sanitized_as_wordpress_does(client: WordPressClient) -> None:
    accented = client.create_post(fields(slug="Café Crème – Part 2"))
    japanese = client.create_post(fields(slug="日本語"))
    numeric = client.create_post(fields(slug="2026"))
    assert accented.slug == "cafe-creme-part-2"
    assert japanese.slug == "%e6%97%a5%e6%9c%ac%e8%aa%9e"
    assert numeric.slug == "2026-2"  # a bare number would be read as a year archive
    assert client.find_post("日本語") == japanese
    assert client.find_post("CAFE-CREME-PART-2") == accented
    # A lookup reads the slug as WP_Query does: lower case, but accents and dashes as given
    # (sanitize_title_for_query), after splitting it on spaces and commas. The loader only
    # accepts [a-z0-9-] slugs, so the pipeline never asks for these.
    assert client.find_post("Café-Crème-Part-2") is None
    assert client.find_post("Café Crème – Part 2") is None


def test_a_future_post_is_scheduled_then_made_live(client: WordPressClient) -> None:
    when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    scheduled, action = client.publish(fields(status="future", date_gmt=when))
    assert (action, scheduled.status, scheduled.date_gmt) == ("created", "future", when)
    assert scheduled.link.endswith(f"?p={scheduled.id}")  # not public yet
    live, action = client.publish(fields(date_gmt=when), known_id=scheduled.id)
    assert (action, live.id, live.status) == ("updated", scheduled.id, "publish")
    assert near_now(live.date_gmt)


def test_publish_with_a_future_date_becomes_future(client: WordPressClient) -> None:
    when = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    post = client.create_post(fields(date_gmt=when))
    assert (post.status, post.date_gmt) == ("future", when)
    soon = client.create_post(fields(slug="soon", status="future", date_gmt=datetime.now(UTC)))
    assert soon.status == "publish"  # less than a minute ahead is now


def test_a_draft_keeps_no_date_until_published(backend: Backend, client: WordPressClient) -> None:
    draft = client.create_post(fields(status="draft"))
    answer = backend.rest("GET", f"/posts/{draft.id}", params={"context": "edit"}).json()
    assert near_now(draft.date_gmt)  # shown as "now", stored as 0000-00-00 (it floats)
    assert answer["link"] == f"{backend.url}/?p={draft.id}"
    post = client.update_post(draft.id, fields())
    assert (post.status, post.link) == ("publish", f"{backend.url}/{SLUG}/")
    assert near_now(post.date_gmt)


def test_posts_by_ids_reads_what_is_left(backend: Backend, client: WordPressClient) -> None:
    live = client.create_post(fields())
    draft = client.create_post(fields(slug="draft", status="draft"))
    trashed = client.create_post(fields(slug="trashed"))
    deleted = client.create_post(fields(slug="deleted"))
    backend.rest("DELETE", f"/posts/{trashed.id}")
    backend.rest("DELETE", f"/posts/{deleted.id}", params={"force": "true"})
    found = client.posts_by_ids([live.id, draft.id, trashed.id, deleted.id])
    assert set(found) == {live.id, draft.id, trashed.id}  # trash can be restored: not deleted
    assert found[trashed.id].status == "trash"
    assert found[live.id] == live
    listing = backend.rest("GET", "/posts", params={"status": "any", "per_page": 1})
    assert (listing.headers["X-WP-Total"], listing.headers["X-WP-TotalPages"]) == ("2", "2")
    assert 'rel="next"' in listing.headers["Link"]


def test_find_posts_looks_many_slugs_up_at_once(backend: Backend, client: WordPressClient) -> None:
    first = client.create_post(fields(slug="first"))
    second = client.create_post(fields(slug="second", status="draft"))
    trashed = client.create_post(fields(slug="trashed"))
    backend.rest("DELETE", f"/posts/{trashed.id}")
    before = client.requests_sent
    found = client.find_posts(["first", "second", "trashed", "nowhere"])
    assert client.requests_sent - before == 1
    assert {slug: post.id for slug, post in found.items()} == {
        "first": first.id,
        "second": second.id,
    }


# -- behind our back -------------------------------------------------------------------------


def test_a_post_edited_behind_our_back_reads_as_edited(
    backend: Backend, client: WordPressClient
) -> None:
    post, _ = client.publish(fields())
    backend.edit(post.id, content="<p>Edited in wp-admin.</p>", title="Edited")
    edited = client.get_post(post.id)
    assert edited is not None
    assert (edited.content_raw, edited.title_raw) == ("<p>Edited in wp-admin.</p>", "Edited")
    assert edited.modified_gmt is not None
    assert post.modified_gmt is not None
    assert edited.modified_gmt >= post.modified_gmt
    assert edited.date_gmt == post.date_gmt  # an edit keeps the publication date
    again, action = client.publish(fields(), known_id=post.id)
    assert (action, again.content_raw, again.title_raw) == ("updated", CONTENT, fields().title)


def test_a_post_drafted_behind_our_back_is_found_as_draft(
    backend: Backend, client: WordPressClient
) -> None:
    post, _ = client.publish(fields())
    backend.edit(post.id, status="draft")
    found = client.find_post(SLUG)
    assert found is not None
    assert (found.id, found.status, found.slug) == (post.id, "draft", SLUG)
    assert found.date_gmt == post.date_gmt  # a post once published keeps its date
    again, action = client.publish(fields(), known_id=post.id)
    assert (action, again.status) == ("updated", "publish")


def test_a_trashed_post_is_not_resurrected(backend: Backend, client: WordPressClient) -> None:
    post, _ = client.publish(fields())
    trashed = backend.rest("DELETE", f"/posts/{post.id}").json()
    assert (trashed["status"], trashed["slug"]) == ("trash", f"{SLUG}__trashed")
    again = backend.rest("DELETE", f"/posts/{post.id}")
    assert (again.status_code, again.json()["code"]) == (410, "rest_already_trashed")
    assert client.find_post(SLUG) is None
    in_trash = client.get_post(post.id)
    assert in_trash is not None
    assert (in_trash.status, in_trash.slug) == ("trash", f"{SLUG}__trashed")
    with pytest.raises(WordPressError, match="trash") as caught:
        client.publish(fields(), known_id=post.id)
    assert caught.value.code == "trashed"
    fresh, action = client.publish(fields())
    assert (action, fresh.slug) == ("created", SLUG)
    assert fresh.id != post.id


def test_a_post_restored_from_the_trash_gets_its_slug_back(
    backend: Backend, client: WordPressClient
) -> None:
    post, _ = client.publish(fields())
    backend.rest("DELETE", f"/posts/{post.id}")
    restored = backend.edit(post.id, status="publish")
    assert (restored["status"], restored["slug"]) == ("publish", SLUG)
    assert client.find_post(SLUG) == client.get_post(post.id)


def test_a_post_deleted_for_good_is_gone(backend: Backend, client: WordPressClient) -> None:
    post, _ = client.publish(fields())
    answer = backend.rest("DELETE", f"/posts/{post.id}", params={"force": "true"}).json()
    assert answer["deleted"] is True
    assert answer["previous"]["id"] == post.id
    assert client.get_post(post.id) is None
    missing = backend.rest("POST", f"/posts/{post.id}", json={"title": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_post_invalid_id")
    fresh, action = client.publish(fields(), known_id=post.id)
    assert (action, fresh.slug) == ("created", SLUG)


# -- media -----------------------------------------------------------------------------------


def test_media_upload_with_alt_text_and_caption(backend: Backend, client: WordPressClient) -> None:
    media = client.upload_media(
        "Café map.png", png(), "image/png", "A map & a key", "Where it <em>happened</em>"
    )
    assert (media.alt_text, media.caption_raw) == ("A map & a key", "Where it <em>happened</em>")
    assert media.source_url.startswith(f"{backend.url}/wp-content/uploads/")
    assert media.source_url.endswith("/Cafe-map.png")
    assert client.get_media(media.id) == media
    assert client.requests_by_method["POST"] == 1  # alt text and caption came with the upload
    answer = backend.rest("GET", f"/media/{media.id}", params={"context": "edit"}).json()
    assert set(answer) == MEDIA_KEYS
    assert (answer["media_type"], answer["mime_type"]) == ("image", "image/png")
    assert (answer["media_details"]["width"], answer["media_details"]["height"]) == (2, 2)
    again = client.upload_media("Café map.png", png(), "image/png", "", "")
    assert again.source_url.endswith("/Cafe-map-1.png")


def test_an_upload_is_found_again_by_the_slug_it_was_given(client: WordPressClient) -> None:
    key = "pipeline-sha256-" + "0f" * 32
    media = client.upload_media("a.png", png(3, 2), "image/png", "alt", "", slug=key)
    assert client.requests_by_method["POST"] == 1  # the slug came with the upload
    assert client.find_media([key, "pipeline-sha256-none"]) == {key: media}
    second = client.upload_media("b.png", png(2, 3), "image/png", "alt", "", slug=key)
    assert second.id != media.id  # WordPress made its slug unique: the first is the one found
    assert client.find_media([key]) == {key: media}
    assert client.download(media.source_url) == png(3, 2)  # the file, as the server serves it


def test_an_alt_text_wordpress_cleans_is_set_again(client: WordPressClient) -> None:
    media = client.upload_media("a.png", png(), "image/png", "Two\nlines <b>bold</b>", "")
    # WordPress keeps plain one-line alt text; the client tries once more, then accepts it.
    assert media.alt_text == "Two lines bold"
    assert client.requests_by_method["POST"] == 2


def test_an_image_as_featured_media(backend: Backend, client: WordPressClient) -> None:
    media = client.upload_media("a.png", png(), "image/png", "alt", "")
    post, _ = client.publish(fields(featured_media=media.id))
    assert post.featured_media == media.id
    backend.rest("DELETE", f"/media/{media.id}", params={"force": "true"})
    after = client.get_post(post.id)
    assert after is not None
    assert after.featured_media == 0
    bogus = client.update_post(post.id, fields(featured_media=999_999))
    assert bogus.featured_media == 0  # WordPress ignores a featured image that does not exist


def test_a_file_that_is_not_the_image_it_claims_is_refused(
    backend: Backend, client: WordPressClient
) -> None:
    # WordPress answers 500 (rest_upload_sideload_error); after a create the client cannot
    # tell a refusal from a crash, so it reports an unknown outcome.
    with pytest.raises(AmbiguousOutcome) as caught:
        client.upload_media("junk.png", b"not a png", "image/png", "", "")
    assert (caught.value.status, caught.value.code) == (500, "rest_upload_sideload_error")
    assert backend.rest("GET", "/media").json() == []


def test_media_refuses_trash_and_deletes_with_force(
    backend: Backend, client: WordPressClient
) -> None:
    media = client.upload_media("a.png", png(), "image/png", "", "")
    trash = backend.rest("DELETE", f"/media/{media.id}")
    assert (trash.status_code, trash.json()["code"]) == (501, "rest_trash_not_supported")
    assert backend.rest("DELETE", f"/media/{media.id}", params={"force": "true"}).json()["deleted"]
    assert client.get_media(media.id) is None


# -- terms -----------------------------------------------------------------------------------


def test_terms_are_created_once_and_found_again(backend: Backend) -> None:
    first = backend.client()
    second = backend.client()  # a later run: nothing cached
    try:
        tags = first.term_ids("tags", ["Fond Memories", "Tips & Tricks", "Café"])
        assert second.term_ids("tags", ["fond memories", "TIPS & TRICKS", "café"]) == tags
        assert second.requests_sent == 2  # discovery and one lookup
        categories = first.term_ids("categories", ["Stories"])
        assert second.term_ids("categories", ["stories"]) == categories
        assert set(categories) & set(tags) == set()
    finally:
        first.close()
        second.close()
    names = backend.rest("GET", "/tags", params={"include": ",".join(map(str, tags))}).json()
    assert {t["name"] for t in names} == {"Fond Memories", "Tips &amp; Tricks", "Café"}
    assert {t["slug"] for t in names} == {"fond-memories", "tips-tricks", "cafe"}


def test_an_existing_term_with_another_slug_is_found(backend: Backend) -> None:
    existing = backend.rest("POST", "/tags", json={"name": "Old Friends", "slug": "custom-slug"})
    assert existing.status_code == 201
    answer = backend.rest("POST", "/tags", json={"name": "old friends"})
    assert answer.status_code == 400
    error = answer.json()
    assert (error["code"], error["data"]) == (
        "term_exists",
        {"status": 400, "term_id": existing.json()["id"]},
    )
    client = backend.client()
    try:
        assert client.term_ids("tags", ["OLD FRIENDS"]) == (existing.json()["id"],)
    finally:
        client.close()
    assert set(existing.json()) == TAG_KEYS


def test_uncategorized_is_there_and_stays(backend: Backend, client: WordPressClient) -> None:
    assert client.term_ids("categories", ["Uncategorized"]) == (1,)
    refused = backend.rest("DELETE", "/categories/1", params={"force": "true"})
    assert (refused.status_code, refused.json()["code"]) == (403, "rest_cannot_delete")


def test_tags_are_replaced_and_categories_kept(backend: Backend, client: WordPressClient) -> None:
    categories = client.term_ids("categories", ["Stories"])
    first, second = client.term_ids("tags", ["One", "Two"])
    post, _ = client.publish(fields(categories=categories, tags=(first, second)))
    assert (post.categories, set(post.tags)) == (categories, {first, second})
    updated = client.update_post(post.id, fields(tags=(second,)))
    assert (updated.categories, updated.tags) == (categories, (second,))
    backend.rest("DELETE", f"/tags/{second}", params={"force": "true"})
    after = client.get_post(post.id)
    assert after is not None
    assert after.tags == ()


# -- errors ----------------------------------------------------------------------------------


def test_refusals_carry_wordpress_error_bodies(backend: Backend) -> None:
    bad_status = backend.rest("POST", "/posts", json={"title": "x", "status": "bogus"})
    assert bad_status.status_code == 400
    assert bad_status.json()["data"]["params"] == {
        "status": "status is not one of publish, future, draft, pending, and private."
    }
    too_many = backend.rest("GET", "/posts", params={"per_page": 101})
    assert too_many.json()["data"]["details"]["per_page"]["code"] == "rest_out_of_bounds"
    empty = backend.rest("POST", "/posts", json={"title": "", "content": ""})
    assert (empty.status_code, empty.json()["code"]) == (400, "empty_content")
    no_route = backend.rest("GET", "/nothing")
    assert (no_route.status_code, no_route.json()["code"]) == (404, "rest_no_route")
