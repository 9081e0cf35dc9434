"""The WordPress client against the in-memory WordPress (tests/memwp.py).

Faults (errors, lost answers, odd replies) are injected with ``Fault``; how the in-memory
WordPress answers otherwise is checked against the real one in test_wordpress_contract.py.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import stamina
from msgspec.structs import replace

from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.errors import AmbiguousOutcome, AuthError, ConfigError, WordPressError
from pipeline.retrying import RetryPolicy
from pipeline.wordpress import ApiRoot, PostFields, WordPressClient, make_http_client
from pipeline.wordpress.models import content_disposition, live_fields, wp_date
from pipeline.wordpress.transport import retry_after_seconds
from tests.memwp import Fault, MemoryWordPress, png

SITE = "https://blog.example.com"
ROOT = f"{SITE}/wp-json/wp/v2"
USER = "editor"
PASSWORD = "abcd efgh ijkl mnop qrst uvwx"
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def clock() -> datetime:
    return NOW


def error(code: str, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status}}


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    all_headers = {"Date": format_datetime(NOW, usegmt=True), **(headers or {})}
    return httpx.Response(status, json=body, headers=all_headers)


def html_page(
    status: int,
    text: str = "<html><body>Not found</body></html>",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(
        status, text=text, headers={"Content-Type": "text/html", **(headers or {})}
    )


def settings(url: str = SITE, **kwargs: Any) -> WordPressSettings:
    return WordPressSettings(url=url, **kwargs)


def creds(password: str = PASSWORD) -> WordPressCredentials:
    return WordPressCredentials(user=USER, app_password=Secret(password))


def client_for(
    handler: Handler,
    *,
    url: str = SITE,
    api_root: str | None = ROOT,
    password: str = PASSWORD,
    retry: RetryPolicy | None = None,
) -> WordPressClient:
    wp_settings = settings(url, api_root=api_root)
    credentials = creds(password)
    http = make_http_client(wp_settings, credentials, transport=httpx.MockTransport(handler))
    return WordPressClient.connect(http, wp_settings, credentials, retry=retry, clock=clock)


def fields(**changes: Any) -> PostFields:
    base = PostFields(
        title="Fond Memories, Part 2",
        slug="fond-memories-part-2",
        content="<p>Stink bomb.</p>",
        status="publish",
        date_gmt=NOW,
        categories=(3,),
        tags=(4, 5),
    )
    return replace(base, **changes)


@pytest.fixture
def wp() -> MemoryWordPress:
    return MemoryWordPress(SITE, clock=clock, user=USER, password=PASSWORD, role="editor")


@pytest.fixture
def no_sleep() -> Iterator[None]:
    """stamina's testing mode: no real waits; our own attempt limits still apply."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


# -- REST root discovery ---------------------------------------------------------------------


def index() -> dict[str, Any]:
    return {"name": "Blog", "namespaces": ["oembed/1.0", "wp/v2"]}


def test_discovers_the_root_at_wp_json(wp: MemoryWordPress) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/wp-json/":
            return reply(200, index())
        return wp(request)

    client = client_for(handler, api_root=None)
    assert client.me()["name"] == USER
    assert client.api_root == ApiRoot(ROOT)
    assert str(wp.requests[-1].url) == f"{ROOT}/users/me?context=edit"
    assert client.requests_sent == 2  # discovery happens once
    client.me()
    assert client.requests_sent == 3


def test_follows_the_link_header_when_wp_json_is_missing(wp: MemoryWordPress) -> None:
    link = f'<{SITE}/index.php?rest_route=/>; rel="https://api.w.org/"'

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/wp-json/":
            return html_page(404, headers={"Link": link})
        if request.url.path == "/index.php" and request.url.params.get("rest_route") == "/":
            return reply(200, index())
        return wp(request)

    client = client_for(handler, api_root=None)
    assert client.find_post("hello") is None
    sent = wp.requests[-1].url
    assert sent.path == "/index.php"
    assert sent.params["rest_route"] == "/wp/v2/posts"
    assert sent.params["slug"] == "hello"
    assert sent.params["status"] == "any"


def test_falls_back_to_rest_route_without_pretty_permalinks(wp: MemoryWordPress) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/wp-json/":
            return html_page(404)
        if request.url.path == "/" and request.url.params.get("rest_route") == "/":
            return reply(200, index())
        return wp(request)

    client = client_for(handler, api_root=None)
    assert client.api_root == ApiRoot(f"{SITE}/", "/wp/v2")
    client.get_post(7)
    url = wp.requests[-1].url
    assert (url.path, url.params["rest_route"], url.params["context"]) == (
        "/",
        "/wp/v2/posts/7",
        "edit",
    )


def test_a_site_without_the_rest_api_is_not_wordpress() -> None:
    client = client_for(lambda request: html_page(404), api_root=None)
    with pytest.raises(ConfigError, match="does not look like a WordPress site") as caught:
        client.me()
    assert caught.value.exit_code == 2  # bad input: asking again would get the same answer
    assert "fix:" in str(caught.value)
    assert "/wp-json/" in str(caught.value)
    assert "rest_route" in str(caught.value)


def test_a_wrong_api_root_is_bad_config_not_a_missing_post() -> None:
    # A configured root that is not WordPress's API: a missing post there would look deleted.
    client = client_for(lambda request: html_page(404), api_root=f"{SITE}/wrong/wp/v2")
    with pytest.raises(ConfigError, match="is not a WordPress REST API root") as caught:
        client.get_post(7)
    assert caught.value.message.startswith("wordpress.api_root: ")
    assert "fix:" in str(caught.value)
    assert client.requests_sent == 1  # not retried


def test_a_missing_post_is_still_a_missing_post(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    assert client.get_post(12345) is None


def test_the_url_builder_merges_params_in_both_forms() -> None:
    pretty = ApiRoot(ROOT).url("/posts", (("slug", "a b"), ("per_page", 10)))
    assert str(pretty) == f"{ROOT}/posts?slug=a+b&per_page=10"
    plain = ApiRoot.from_setting(f"{SITE}/?rest_route=/wp/v2").url("/posts", (("slug", "a"),))
    assert plain.params["rest_route"] == "/wp/v2/posts"
    assert plain.params["slug"] == "a"


# -- plain http ------------------------------------------------------------------------------


def test_plain_http_to_another_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="allow_insecure_http"):
        make_http_client(settings("http://blog.example.com"), creds())
    make_http_client(settings("http://127.0.0.1:8089"), creds()).close()
    make_http_client(settings("http://blog.example.com", allow_insecure_http=True), creds()).close()


def test_an_advertised_http_root_is_refused_at_request_time() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        link = '<http://blog.example.com/wp-json/>; rel="https://api.w.org/"'
        return html_page(404, headers={"Link": link})

    client = client_for(handler, api_root=None)
    with pytest.raises(ConfigError, match="refusing plain http://"):
        client.me()


# -- posts -----------------------------------------------------------------------------------


def test_find_post_by_slug(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    created = client.create_post(fields())
    found = client.find_post("fond-memories-part-2")
    assert found == created
    assert found.date_gmt == NOW
    assert found.title_raw == "Fond Memories, Part 2"
    params = wp.requests[-1].url.params
    assert (params["status"], params["context"]) == ("any", "edit")
    assert client.find_post("no-such-post") is None


def test_create_always_sends_the_slug_and_a_wordpress_date(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    client.create_post(fields(date_gmt=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    body = json.loads(wp.sent("POST", "/posts")[0].content)
    assert body["slug"] == "fond-memories-part-2"
    assert body["date_gmt"] == "2026-01-02T03:04:05"
    assert (body["categories"], body["tags"]) == ([3], [4, 5])
    assert "featured_media" not in body


def test_publish_creates_once_then_updates(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    post, action = client.publish(fields())
    assert (action, post.status) == ("created", "publish")
    again, action = client.publish(fields(content="<p>New.</p>"), known_id=post.id)
    assert (action, again.id, again.content_raw) == ("updated", post.id, "<p>New.</p>")
    assert len(wp.sent("POST", "/posts")) == 1


def test_publish_adopts_an_existing_post_instead_of_creating(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    existing = client.create_post(fields(status="draft"))
    post, action = client.publish(fields())
    assert (action, post.id, post.status) == ("adopted", existing.id, "publish")
    assert len(wp.sent("POST", "/posts")) == 1


def test_publish_with_a_vanished_known_id_looks_up_the_slug(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    _, action = client.publish(fields(), known_id=999)
    assert action == "created"
    assert len(wp.sent("GET", "/posts")) == 1


def test_publish_refuses_to_resurrect_a_trashed_post(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    post = client.create_post(fields())
    wp.trash(post.id)
    with pytest.raises(WordPressError, match="trash") as caught:
        client.publish(fields(), known_id=post.id)
    assert caught.value.code == "trashed"
    assert len(wp.sent("POST", f"/posts/{post.id}")) == 0


def test_a_timed_out_create_is_adopted_by_slug_not_resent(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("POST", "/posts", error=httpx.ReadTimeout("timed out"), after=True))
    client = client_for(wp)
    post, action = client.publish(fields())
    assert action == "adopted"
    assert len(wp.sent("POST", "/posts")) == 1
    assert [row.id for row in wp.posts()] == [post.id]


def test_a_timed_out_create_that_did_not_happen_stays_ambiguous(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("POST", "/posts", error=httpx.ReadTimeout("timed out")))
    client = client_for(wp)
    with pytest.raises(AmbiguousOutcome, match="may or may not"):
        client.publish(fields())
    assert len(wp.sent("POST", "/posts")) == 1
    assert wp.posts() == []


def test_a_gateway_error_on_create_is_ambiguous_not_retried(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("POST", "/posts", response=html_page(502, "Bad gateway")))
    client = client_for(wp)
    with pytest.raises(AmbiguousOutcome) as caught:
        client.create_post(fields())
    assert caught.value.status == 502
    assert len(wp.sent("POST", "/posts")) == 1


@pytest.mark.usefixtures("no_sleep")
def test_a_create_that_could_not_connect_is_sent_again(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("POST", "/posts", error=httpx.ConnectError("refused")))
    post, action = client_for(wp).publish(fields())
    assert action == "created"
    assert len(wp.sent("POST", "/posts")) == 2
    assert [row.id for row in wp.posts()] == [post.id]


def test_publish_never_sends_a_future_date_with_publish(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    post, _ = client.publish(fields(date_gmt=NOW + timedelta(days=1)))
    body = json.loads(wp.sent("POST", "/posts")[0].content)
    assert "date_gmt" not in body
    assert post.status == "publish"


def test_publish_makes_a_post_wordpress_scheduled_live(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    scheduled, _ = client.publish(fields(status="future", date_gmt=NOW + timedelta(days=1)))
    assert scheduled.status == "future"
    # WordPress keeps a scheduled post's date when it is updated without one, and so keeps it
    # scheduled: simulate that by asking for publish with no date at all.
    post, action = client.publish(fields(date_gmt=None), known_id=scheduled.id)
    assert (action, post.status, post.date_gmt) == ("updated", "publish", NOW)


def test_publish_repairs_an_unexpected_future_status(wp: MemoryWordPress) -> None:
    # WordPress's clock runs behind ours: what we call now is the future for it.
    behind = NOW - timedelta(minutes=5)
    wp.clock = lambda: behind
    post, action = client_for(wp).publish(fields())
    assert (action, post.status) == ("created", "publish")
    repair = json.loads(wp.sent("POST", f"/posts/{post.id}")[0].content)
    assert (repair["status"], repair["date_gmt"]) == ("publish", wp_date(behind))


def test_live_fields_keeps_past_dates_and_drops_future_ones() -> None:
    past = fields(date_gmt=NOW - timedelta(days=3))
    assert live_fields(past, None, NOW) == past
    assert live_fields(fields(date_gmt=NOW + timedelta(hours=1)), None, NOW).date_gmt is None
    draft = fields(status="draft", date_gmt=NOW + timedelta(hours=1))
    assert live_fields(draft, None, NOW) == draft


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_sleep")
def test_429_is_retried_after_the_wait_retry_after_asks_for(
    wp: MemoryWordPress, caplog: pytest.LogCaptureFixture
) -> None:
    slow_down = reply(429, error("too_many", "Slow down.", 429), {"Retry-After": "7"})
    wp.faults.append(Fault("GET", "/posts", response=slow_down))
    client = client_for(wp)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pipeline.wordpress"):
        assert client.find_post("x") is None
    assert time.monotonic() - started < 1
    assert len(wp.sent("GET", "/posts")) == 2
    assert "retrying in 7.0s (Retry-After)" in caplog.text


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("120", NOW) == 120
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, NOW) == 90
    assert retry_after_seconds("garbage", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_a_retry_after_beyond_the_limit_fails_at_once(wp: MemoryWordPress) -> None:
    busy = reply(503, error("maintenance", "Briefly unavailable.", 503), {"Retry-After": "600"})
    wp.faults.append(Fault("GET", "/posts", response=busy, times=5))
    client = client_for(wp, retry=RetryPolicy(max_retry_after=60))
    with pytest.raises(WordPressError, match="wait 600s") as caught:
        client.find_post("x")
    assert caught.value.status == 503
    assert len(wp.sent("GET", "/posts")) == 1


@pytest.mark.usefixtures("no_sleep")
def test_503_is_retried_on_reads_and_updates(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    post = client.create_post(fields())
    unavailable = html_page(503, "Service Unavailable")
    wp.faults.append(Fault("GET", f"/posts/{post.id}", response=unavailable, times=2))
    wp.faults.append(Fault("POST", f"/posts/{post.id}", response=unavailable))
    assert client.get_post(post.id) == post
    assert client.update_post(post.id, fields(title="New")).title_raw == "New"
    assert len(wp.sent("GET", f"/posts/{post.id}")) == 3
    assert len(wp.sent("POST", f"/posts/{post.id}")) == 2


@pytest.mark.usefixtures("no_sleep")
def test_a_single_500_on_a_read_is_retried_once_and_a_create_is_not(
    wp: MemoryWordPress, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 10.6: one database hiccup on a slug lookup must not cost a 30 s backoff; a PHP
    fatal error that stays is reported after the second try; a create is never resent."""
    client = client_for(wp)
    hiccup = reply(500, error("db_error", "Error establishing a database connection", 500))
    wp.faults.append(Fault("GET", "/posts", response=hiccup))
    assert client.find_post("x") is None
    assert len(wp.sent("GET", "/posts")) == 2
    retried = [r for r in caplog.records if getattr(r, "retry", False)]
    assert [r.getMessage() for r in retried] == [
        "GET /wp-json/wp/v2/posts: WordPress answered HTTP 500; retrying once"
    ]
    wp.faults.append(Fault("GET", "/posts", response=hiccup, times=2))
    with pytest.raises(WordPressError, match="database connection"):
        client.find_post("x")
    assert len(wp.sent("GET", "/posts")) == 4
    wp.faults.append(Fault("POST", "/posts", response=hiccup))
    with pytest.raises(AmbiguousOutcome):
        client.create_post(fields())
    assert len(wp.sent("POST", "/posts")) == 1


@pytest.mark.usefixtures("no_sleep")
def test_retries_end_with_a_clear_error(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("GET", "/posts", error=httpx.ConnectTimeout("timed out"), times=9))
    client = client_for(wp, retry=RetryPolicy(attempts=3))
    with pytest.raises(WordPressError, match="could not reach WordPress"):
        client.find_post("x")
    assert len(wp.sent("GET", "/posts")) == 3
    assert client.requests_by_method["GET"] == 3


# -- errors ----------------------------------------------------------------------------------


def test_401_names_site_and_user_and_hides_the_password(wp: MemoryWordPress) -> None:
    wp.report_auth_errors = True  # 401 incorrect_password, as sites answer that check early
    wrong = "wrong pass word 1234 5678"
    client = client_for(wp, password=wrong)
    with pytest.raises(AuthError) as caught:
        client.find_post("x")
    message = str(caught.value)
    assert SITE in message
    assert repr(USER) in message
    assert "incorrect_password" in message
    assert "Users → Profile → Application Passwords" in message
    assert wrong not in message
    assert base64.b64encode(f"{USER}:{wrong}".encode()).decode() not in message
    assert wrong not in repr(client._t.http.auth) + repr(client._t.http)


def test_a_silently_ignored_login_is_an_auth_error(wp: MemoryWordPress) -> None:
    # Some sites serve a wrong application password as an anonymous visitor.
    forbidden = error("rest_invalid_param", "Invalid parameter(s): status", 400)
    forbidden["data"]["params"] = {"status": "Status is forbidden."}
    forbidden["data"]["details"] = {"status": error("rest_forbidden_status", "Forbidden.", 401)}
    wp.faults.append(Fault("GET", "/posts", response=reply(400, forbidden)))
    with pytest.raises(AuthError, match="did not accept the login of user 'editor'") as caught:
        client_for(wp).find_post("x")
    assert "Authorization header" in str(caught.value)


def test_403_says_the_user_lacks_permission(wp: MemoryWordPress) -> None:
    cannot = error("rest_cannot_create", "Sorry, you are not allowed to create terms.", 403)
    wp.faults.append(Fault("POST", "/categories", response=reply(403, cannot)))
    wp.faults.append(Fault("GET", "/categories", response=reply(200, [])))
    with pytest.raises(AuthError, match=r"does not let user 'editor'.*Editor to create"):
        client_for(wp).term_ids("categories", ["New"])


def test_wordpress_error_json_is_shown(wp: MemoryWordPress) -> None:
    invalid = error("rest_invalid_param", "Invalid parameter(s): status", 400)
    invalid["data"]["params"] = {"status": "status is not one of publish, future, draft."}
    wp.faults.append(Fault("POST", "/posts", response=reply(400, invalid)))
    with pytest.raises(WordPressError) as caught:
        client_for(wp).create_post(fields())
    message = str(caught.value)
    assert "Invalid parameter(s): status" in message
    assert "status is not one of publish" in message
    assert (caught.value.status, caught.value.code) == (400, "rest_invalid_param")


def test_a_non_json_answer_is_quoted(wp: MemoryWordPress) -> None:
    page = "<br />\n<b>Warning</b>: Undefined variable $x in functions.php on line 12" + "!" * 300
    wp.faults.append(Fault("GET", "/posts", response=html_page(200, page)))
    with pytest.raises(WordPressError, match="Warning</b>: Undefined variable") as caught:
        client_for(wp).find_post("x")
    assert caught.value.code == "not_json"
    assert "!" * 200 not in str(caught.value)


@pytest.mark.usefixtures("no_sleep")
def test_a_non_json_error_page_is_quoted(wp: MemoryWordPress) -> None:
    fatal = html_page(500, "<h1>Fatal error</h1>")
    wp.faults.append(Fault("GET", "/posts", response=fatal, times=2))
    with pytest.raises(WordPressError, match="HTTP 500 and no JSON error: '<h1>Fatal error"):
        client_for(wp).find_post("x")


# -- terms -----------------------------------------------------------------------------------


def test_term_exists_gives_the_existing_id(wp: MemoryWordPress) -> None:
    python = wp.rest("POST", "/tags", json={"name": "Python", "slug": "not-the-default"}).json()
    wp.faults.append(Fault("GET", "/tags", response=reply(200, [])))
    client = client_for(wp)
    found, new = client.term_ids("tags", ["python", "New one"])
    assert found == python["id"]
    assert wp.terms[new].name == "New one"
    assert [json.loads(r.content)["name"] for r in wp.sent("POST", "/tags")] == [
        "python",
        "New one",
    ]


def test_terms_match_unescaped_and_case_insensitively_and_are_cached(wp: MemoryWordPress) -> None:
    tips = wp.rest("POST", "/tags", json={"name": "Tips & Tricks"}).json()
    assert tips["name"] == "Tips &amp; Tricks"  # as WordPress stores it
    client = client_for(wp)
    assert client.term_ids("tags", ["tips & tricks", "TIPS & TRICKS"]) == (tips["id"],)
    assert client.requests_sent == 1
    assert client.term_ids("tags", ["Tips & Tricks"]) == (tips["id"],)
    assert client.requests_sent == 1
    (stories,) = client.term_ids("categories", ["Stories"])
    assert client.term_ids("categories", ["stories"]) == (stories,)
    assert client.requests_sent == 3


# -- media -----------------------------------------------------------------------------------


def test_media_upload_sends_the_raw_file_with_its_headers(wp: MemoryWordPress) -> None:
    client = client_for(wp)
    media = client.upload_media("diagram.png", png(), "image/png", "A map", "Where")
    request = wp.sent("POST", "/media")[0]
    assert request.headers["Content-Type"] == "image/png"
    assert request.headers["Content-Disposition"] == 'attachment; filename="diagram.png"'
    assert request.content == png()
    assert (request.url.params["alt_text"], request.url.params["caption"]) == ("A map", "Where")
    assert (media.alt_text, media.caption_raw) == ("A map", "Where")
    assert media.source_url.endswith("/diagram.png")
    assert client.requests_sent == 1


def test_media_alt_and_caption_are_set_afterwards_if_not_kept(wp: MemoryWordPress) -> None:
    kept_nothing = reply(201, {"id": 9, "source_url": "u", "alt_text": "", "caption": {"raw": ""}})
    wp.faults.append(Fault("POST", "/media", response=kept_nothing))
    wp.faults.append(
        Fault(
            "POST",
            "/media/9",
            response=reply(
                200, {"id": 9, "source_url": "u", "alt_text": "A map", "caption": {"raw": "Where"}}
            ),
        )
    )
    media = client_for(wp).upload_media("d.png", b"x", "image/png", "A map", "Where")
    assert (media.alt_text, media.caption_raw) == ("A map", "Where")
    assert json.loads(wp.sent("POST", "/media/9")[0].content) == {
        "alt_text": "A map",
        "caption": "Where",
    }


def test_content_disposition_is_safe_for_any_filename() -> None:
    assert content_disposition("dir/a.png") == 'attachment; filename="a.png"'
    assert content_disposition("C:\\photos\\a.png") == 'attachment; filename="a.png"'
    assert content_disposition('café; "x",y.png') == (
        "attachment; filename=\"cafe_ _x_y.png\"; filename*=UTF-8''caf%C3%A9%3B%20%22x%22%2Cy.png"
    )
    assert content_disposition("日本.png") == (
        "attachment; filename=\"upload.png\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png"
    )


def test_media_upload_timeout_is_ambiguous(wp: MemoryWordPress) -> None:
    wp.faults.append(Fault("POST", "/media", error=httpx.WriteTimeout("timed out")))
    with pytest.raises(AmbiguousOutcome, match=r"uploading 'd\.png'"):
        client_for(wp).upload_media("d.png", b"x", "image/png", "", "")
    assert len(wp.sent("POST", "/media")) == 1


# -- authentication --------------------------------------------------------------------------


def test_wordpress_com_uses_its_api_root_and_a_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(200, {"id": 1})

    api_root = "https://public-api.wordpress.com/wp/v2/sites/blog.example.com"
    wp_settings = settings(api_root=api_root)
    token = WordPressCredentials(token=Secret("s3cret-token"))
    http = make_http_client(wp_settings, token, transport=httpx.MockTransport(handler))
    client = WordPressClient.connect(http, wp_settings, token)
    client.me()
    assert str(seen[0].url) == f"{api_root}/users/me?context=edit"
    assert seen[0].headers["Authorization"] == "Bearer s3cret-token"
    assert seen[0].headers["User-Agent"].startswith("pipeline/")
    assert "s3cret-token" not in repr(http.auth)


def test_missing_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no WordPress credentials"):
        make_http_client(settings(), WordPressCredentials(user=USER))
