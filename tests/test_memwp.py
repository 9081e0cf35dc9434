"""What only the in-memory WordPress offers: its fixtures, faults, clock and auth modes.

How it answers is checked against the real WordPress in tests/test_wordpress_contract.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import stamina

from pipeline.errors import AmbiguousOutcome, AuthError
from pipeline.wordpress import PostFields, WordPressClient
from tests.memwp import MemoryWordPress

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def fields(**changes: object) -> PostFields:
    base = {"title": "Hello", "slug": "hello", "content": "<p>Hi.</p>", "status": "publish"}
    return PostFields(**{**base, **changes})  # type: ignore[arg-type]


def test_the_memwp_fixture_is_a_client_of_memwp_site(
    memwp: WordPressClient, memwp_site: MemoryWordPress
) -> None:
    post, action = memwp.publish(fields())
    assert action == "created"
    assert [row.id for row in memwp_site.posts()] == [post.id]
    assert len(memwp_site.sent("POST", "/posts")) == 1


def test_a_lost_answer_after_the_create_is_adopted(
    memwp: WordPressClient, memwp_site: MemoryWordPress
) -> None:
    memwp_site.fail_next("POST", "/posts", error=httpx.ReadTimeout("lost"), after=True)
    post, action = memwp.publish(fields())
    assert action == "adopted"
    assert [row.id for row in memwp_site.posts()] == [post.id]


def test_a_create_that_never_arrived_stays_ambiguous(
    memwp: WordPressClient, memwp_site: MemoryWordPress
) -> None:
    memwp_site.fail_next("POST", "/posts", error=httpx.ReadTimeout("lost"))
    with pytest.raises(AmbiguousOutcome):
        memwp.publish(fields())
    assert memwp_site.posts() == []


def test_a_fault_answer_is_used_once(memwp: WordPressClient, memwp_site: MemoryWordPress) -> None:
    memwp_site.fail_next("GET", "/posts", response=httpx.Response(503, text="busy"))
    with stamina.set_testing(True, attempts=3):  # the retries, without their waits
        assert memwp.find_post("hello") is None
    assert len(memwp_site.sent("GET", "/posts")) == 2


def test_the_site_clock_decides_what_is_future() -> None:
    site = MemoryWordPress(clock=lambda: NOW)
    client = site.client()
    post = client.create_post(fields(date_gmt=NOW + timedelta(hours=1)))
    assert (post.status, post.date_gmt) == ("future", NOW + timedelta(hours=1))
    answer = httpx.Client(transport=site.transport()).get(f"{site.url}/wp-json/")
    assert answer.headers["Date"] == "Sun, 22 Nov 2026 12:00:00 GMT"


def test_wordpress_running_behind_our_clock_is_repaired() -> None:
    site = MemoryWordPress(clock=lambda: NOW - timedelta(minutes=5))
    post, _ = site.client(clock=lambda: NOW).publish(fields(date_gmt=NOW))
    assert (post.status, post.date_gmt) == ("publish", NOW - timedelta(minutes=5))


def test_auth_errors_can_be_reported_as_some_sites_do() -> None:
    site = MemoryWordPress(report_auth_errors=True)
    site.app_password = "aaaa bbbb cccc dddd eeee ffff"
    with pytest.raises(AuthError, match="incorrect_password"):
        site.client().find_post("hello")


def test_an_author_may_not_create_categories() -> None:
    site = MemoryWordPress()
    site.app_password = site.add_user("writer", "author")
    site.user = "writer"
    client = site.client()
    assert client.term_ids("tags", ["Allowed"]) == (2,)
    with pytest.raises(AuthError, match="Editor to create categories"):
        client.term_ids("categories", ["Refused"])


def test_plain_permalinks_are_found_through_the_rest_route() -> None:
    site = MemoryWordPress(pretty_permalinks=False)
    client = site.client()
    post, _ = client.publish(fields())
    assert client.api_root.route_prefix == "/wp/v2"
    assert post.link == f"{site.url}/?p={post.id}"
