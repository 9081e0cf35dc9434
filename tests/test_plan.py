"""Planning on pure data: the dependency graph, what needs a backfill, and the readable diff."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from pipeline.core.plan import (
    AnnounceItem,
    Plan,
    describe,
    desired,
    fingerprint,
    make_plan,
    predicted_url,
    text_diff,
)
from pipeline.core.posts import Post
from pipeline.core.records import PostRecord
from pipeline.core.render import Site, series_index
from pipeline.loading import load_posts

SITE = "https://blog.example.com"


def write(folder: Path, name: str, front: str, body: str) -> None:
    (folder / name).write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")


@pytest.fixture
def posts(tmp_path: Path) -> dict[str, Post]:
    write(tmp_path, "a.md", "title: A\nseries: S\npart: 1", "<!-- series -->\n\nSee [B](post:b).")
    write(
        tmp_path, "b.md", "title: B\nseries: S\npart: 2", "<!-- series -->\n\nBack to [A](post:a)."
    )
    write(tmp_path, "c.md", "title: C\nseries: S\npart: 3", "<!-- series -->")
    write(tmp_path, "d.md", "title: D", "Standalone, links to [C](post:c).")
    write(tmp_path, "e.md", "title: E", "Depends on nothing.")
    loaded = load_posts(tmp_path, ZoneInfo("UTC"))
    assert not loaded.errors
    return loaded.by_slug()


def live(posts: dict[str, Post], *slugs: str) -> dict[str, PostRecord]:
    """Records as the store has them once ``slugs`` are live and up to date."""
    urls = {slug: predicted_url(SITE, slug) for slug in slugs}
    site = Site(live=urls, series=series_index(posts.values()))
    return {
        slug: PostRecord(
            slug=slug,
            wp_id=index + 1,
            permalink=urls[slug],
            wp_status="publish",
            sent_hash=desired(posts[slug], site, None).fingerprint,
            source_hash=posts[slug].source_hash,
        )
        for index, slug in enumerate(slugs)
    }


def plan_for(
    posts: dict[str, Post],
    records: dict[str, PostRecord],
    *targets: str,
    announcements: dict[str, AnnounceItem] | None = None,
) -> Plan:
    return make_plan(
        list(posts.values()),
        records,
        [posts[t] for t in targets],
        site_url=SITE,
        media={},
        image_hashes={},
        announcements=announcements or {},
    )


def test_dependencies_are_links_and_series_parts(posts: dict[str, Post]) -> None:
    site = Site(series=series_index(posts.values()))
    assert desired(posts["a"], site, None).rendered.depends_on == {"b", "c"}
    assert desired(posts["d"], site, None).rendered.depends_on == {"c"}
    assert desired(posts["e"], site, None).rendered.depends_on == frozenset()


def test_backfills_only_live_posts_that_depend_on_the_new_one(posts: dict[str, Post]) -> None:
    records = live(posts, "a", "d", "e")
    plan = plan_for(posts, records, "c")
    assert [item.slug for item in plan.backfills] == ["a", "d"]
    assert plan.backfills[0].because == ("c",)
    assert [(p.slug, p.action) for p in plan.publishes] == [("c", "create")]


def test_nothing_to_do_when_everything_is_live_and_current(posts: dict[str, Post]) -> None:
    records = live(posts, *posts)
    plan = plan_for(posts, records, "a")
    assert plan.backfills == ()
    assert [p.action for p in plan.publishes] == ["unchanged"]
    assert plan.empty


def test_source_change_of_a_live_post_is_an_update(posts: dict[str, Post]) -> None:
    records = live(posts, "e")
    changed = replace(records["e"], sent_hash="old")
    plan = plan_for(posts, {"e": changed})
    assert [b.slug for b in plan.backfills] == ["e"]
    assert plan.backfills[0].because == ()


def test_diff_shows_where_the_link_appears(posts: dict[str, Post]) -> None:
    records = live(posts, "a")
    plan = plan_for(posts, records, "b")
    diff = plan.backfills[0].diff
    assert "-See B." in diff
    assert f"+See [B]({SITE}/b/)." in diff
    assert f"+[B]({SITE}/b/)" in diff  # the series list


def test_text_diff_of_identical_html_is_empty() -> None:
    assert text_diff("<p>same</p>", "<p>same</p>") == ""


def test_fingerprint_covers_every_field(posts: dict[str, Post]) -> None:
    post = posts["e"]
    base = fingerprint(post, "<p>x</p>", None)
    assert fingerprint(post, "<p>y</p>", None) != base
    assert fingerprint(post, "<p>x</p>", "image-hash") != base
    retitled = replace(post, title="Other")
    assert fingerprint(retitled, "<p>x</p>", None) != base


def test_describe_lists_every_kind_of_work(posts: dict[str, Post], tmp_path: Path) -> None:
    records = live(posts, "a")
    note = AnnounceItem("b", "New: B https://x.test/b/", 30, "a")
    plan = plan_for(posts, records, "b", announcements={"b": note})
    text = describe(plan, tmp_path)
    assert "create    b  'B'  (new post)" in text
    assert "backfill  a  (links b)" in text
    assert "announce  b  30/280, in reply to a's announcement" in text
    assert (
        describe(
            plan_for({}, {}),
            tmp_path,
        )
        == "nothing to do"
    )
