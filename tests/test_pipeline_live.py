"""End to end against the real local WordPress (and the fake X API): publish, backfill,
conflicts, renames and announcements, reading every result back from the REST API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.channels.x import XChannel
from pipeline.publisher import Result
from tests.fakex import FakeX
from tests.sites import (
    SERIES,
    count_posts,
    delete_remote,
    make_site,
    open_site,
    remote,
    update_remote,
)
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress

P1, P2, P3 = SERIES


def publish(config: Path, *slugs: str, announce: bool = True, force: bool = False) -> Result:
    with open_site(config) as site:
        publisher = site.publisher()
        return publisher.publish(site.targets(slugs), announce=announce, force=force)


def links(html: str) -> dict[str, str]:
    """Link text -> href of every <a> in the HTML."""
    return {text: href for href, text in re.findall(r'<a href="([^"]*)">(.*?)</a>', html)}


def content(post: dict[str, Any] | None) -> str:
    assert post is not None
    return str(post["content"]["raw"])


def test_series_out_of_order_links_promised_parts(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)

    publish(config, P3)
    part3 = remote(wordpress, P3)
    assert part3 is not None
    assert part3["status"] == "publish"
    assert links(content(part3)) == {}, "parts 1 and 2 are not live: plain text"
    assert "The Lighthouse Keeper" in content(part3)

    publish(config, P1)
    part1, part3 = remote(wordpress, P1), remote(wordpress, P3)
    assert part1 is not None
    assert part3 is not None
    assert links(content(part3))["The Lighthouse Keeper"] == part1["link"]
    assert links(content(part1))["Paper Lanterns Part 3: Last Letters"] == part3["link"]
    assert "Last Letters" in links(content(part1)), "the promised link to part 3 was added"
    assert "The Night Train" not in links(content(part1)), "part 2 is not live yet"
    assert re.search(
        r"<figure[^>]*><img src=\"http://127\.0\.0\.1:\d+/wp-content/uploads/", content(part1)
    ), "the image was uploaded and the figure points at it"
    assert part1["featured_media"] > 0

    publish(config, P2)
    live = {slug: remote(wordpress, slug) for slug in SERIES}
    for slug, post in live.items():
        html = content(post)
        others = {s: p for s, p in live.items() if s != slug}
        series_links = re.search(r'<nav class="series-list">.*?</nav>', html, re.S)
        assert series_links is not None
        for other in others.values():
            assert other is not None
            assert other["link"] in series_links.group(0), f"{slug}: series list is complete"
    part1_links = links(content(live[P1]))
    assert part1_links["The Night Train"] == live[P2]["link"]  # type: ignore[index]
    assert count_posts(wordpress) == 3


def test_rerun_writes_nothing(wordpress: LocalWordPress, tmp_path: Path) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, *SERIES)
    with open_site(config) as site:
        assert site.wordpress is not None
        before = dict(site.wordpress.requests_by_method)
        result = site.publisher().publish(site.targets(SERIES))
        writes = site.wordpress.requests_by_method["POST"] - before.get("POST", 0)
    assert writes == 0
    assert result.ok
    assert not result.conflicts
    assert count_posts(wordpress) == 3


def test_edit_in_wordpress_is_a_conflict_left_alone(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1)
    part1 = remote(wordpress, P1)
    assert part1 is not None
    edited = content(part1) + "\n<p>A note I added in wp-admin.</p>"
    update_remote(wordpress, part1["id"], content=edited)

    result = publish(config, P2)

    assert result.conflicts == [P1]
    assert content(remote(wordpress, P1)) == edited, "the writer's edit is kept"
    with open_site(config) as site:
        record = site.store.post(P1)
        assert record is not None
        assert record.conflict is not None
        assert "--force" in record.conflict
        assert next(e.outcome for e in site.store.entries(post=P1)) == "conflict"

    publish(config, P1, force=True)
    forced = content(remote(wordpress, P1))
    assert "A note I added" not in forced
    assert "The Night Train" in links(forced)


def test_source_edit_updates_the_same_post(wordpress: LocalWordPress, tmp_path: Path) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1)
    first = remote(wordpress, P1)
    assert first is not None
    source = tmp_path / "posts" / "paper-lanterns-part-1.md"
    source.write_text(source.read_text().replace("scratched copy", "battered copy"))

    publish(config, P1)

    second = remote(wordpress, P1)
    assert second is not None
    assert second["id"] == first["id"]
    assert "battered copy" in content(second)
    assert count_posts(wordpress) == 1


def test_title_change_of_a_live_part_updates_the_others(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1, P2)
    source = tmp_path / "posts" / "paper-lanterns-part-2.md"
    source.write_text(source.read_text().replace("Part 2: The Night Train", "Part 2: Night Train"))

    with open_site(config) as site:
        plan = site.publisher().plan([])
        result = site.publisher().publish([])

    assert [b.slug for b in plan.backfills] == [P1, P2]
    assert "Paper Lanterns Part 2: Night Train" in content(remote(wordpress, P1))
    assert result.ok


def test_slug_change_keeps_the_post_and_updates_links(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1, P3)
    old = remote(wordpress, P3)
    assert old is not None
    posts = tmp_path / "posts"
    for path in posts.glob("*.md"):
        path.write_text(path.read_text().replace(P3, "last-letters"))

    publish(config, "last-letters")

    renamed = remote(wordpress, "last-letters")
    assert renamed is not None
    assert renamed["id"] == old["id"]
    assert remote(wordpress, P3) is None
    assert links(content(remote(wordpress, P1)))["Last Letters"] == renamed["link"]
    assert count_posts(wordpress) == 2


def test_crash_between_create_and_record_adopts(wordpress: LocalWordPress, tmp_path: Path) -> None:
    config = make_site(tmp_path, wordpress)
    with open_site(config) as site:
        assert site.wordpress is not None
        real_publish = site.wordpress.publish

        def create_then_die(*args: Any, **kwargs: Any) -> Any:
            real_publish(*args, **kwargs)
            raise SystemExit("killed after the create, before the id was recorded")

        site.wordpress.publish = create_then_die  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            site.publisher().publish(site.targets([P1]))
        step = site.store.step(P1, "publish")
        assert step is not None
        assert step.status == "running"

    result = publish(config, P1)

    assert count_posts(wordpress) == 1
    assert any("adopted" in line for line in result.done)


def test_announcements_thread_and_never_twice(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())

    publish(config, P1)
    publish(config, P2, P3)
    publish(config, *SERIES)

    tweets = [t for t in fake_x.tweets if not t["deleted"]]
    assert len(tweets) == 3
    by_text = {t["text"].split(" http")[0]: t for t in tweets}
    first = by_text["New on the blog: Paper Lanterns Part 1: The Lighthouse Keeper"]
    second = by_text["New on the blog: Paper Lanterns Part 2: The Night Train"]
    third = by_text["New on the blog: Paper Lanterns Part 3: Last Letters"]
    assert first["reply_to"] is None
    assert second["reply_to"] == first["id"]
    assert third["reply_to"] == second["id"]
    part2 = remote(wordpress, P2)
    assert part2 is not None
    assert part2["link"] in second["text"]
    with open_site(config) as site:
        record = site.store.post(P2)
        assert record is not None
        assert record.tweet_id == second["id"]


def test_dropped_answer_then_rerun_posts_once(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())
    fake_x.drop_next(executed=True)

    first = publish(config, P1)
    assert first.ok, "the lost answer is settled at once: the timeline shows the post"
    assert len(fake_x.tweets) == 1

    second = publish(config, P1)

    assert second.ok
    assert len([t for t in fake_x.tweets if not t["deleted"]]) == 1
    with open_site(config) as site:
        step = site.store.step(P1, "announce", "x")
        assert step is not None
        assert step.status == "done"
        assert step.detail["id"] == fake_x.tweets[0]["id"]


def test_without_x_credentials_the_text_is_recorded(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1)
    with open_site(config) as site:
        step = site.store.step(P1, "announce", "x")
        assert step is not None
        assert step.status == "skipped"
        assert step.detail["text"].startswith("New on the blog: Paper Lanterns Part 1")
        entry = site.store.entries(post=P1, outcome="skipped")[0]
        assert "would have posted" in entry.details


def test_part_unpublished_in_wordpress_goes_back_to_plain_text(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1, P2)
    part2 = remote(wordpress, P2)
    assert part2 is not None
    assert "The Night Train" in links(content(remote(wordpress, P1)))
    update_remote(wordpress, part2["id"], status="draft")

    publish(config)

    assert "The Night Train" not in links(content(remote(wordpress, P1)))
    assert "The Night Train" in content(remote(wordpress, P1))

    update_remote(wordpress, part2["id"], status="publish")
    publish(config)
    assert "The Night Train" in links(content(remote(wordpress, P1)))


def test_part_deleted_in_wordpress_goes_back_to_plain_text(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1, P3)
    part3 = remote(wordpress, P3)
    assert part3 is not None
    delete_remote(wordpress, part3["id"])

    publish(config)

    assert "Last Letters" not in links(content(remote(wordpress, P1)))
    with open_site(config) as site:
        record = site.store.post(P3)
        assert record is not None
        assert record.wp_status == "deleted"


def test_two_publishes_of_one_post_at_once_make_one_post(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())
    env = {**os.environ, "PIPELINE_CONFIG": str(config)}
    command = [sys.executable, "-m", "pipeline", "publish", P1]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert remote(wordpress, P1) is not None  # remote() asserts at most one post has the slug
    assert count_posts(wordpress) == 1
    assert len(fake_x.live_texts()) == 1, "announced once"


def test_kill_after_a_backfill_write_is_not_a_conflict_later(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    publish(config, P1)
    with open_site(config) as site:
        assert site.wordpress is not None
        real_publish = site.wordpress.publish

        def die_after_backfilling_part1(fields: Any, **kwargs: Any) -> Any:
            answer = real_publish(fields, **kwargs)
            if fields.slug == P1:
                raise SystemExit("killed after WordPress saved the backfill, before the record")
            return answer

        site.wordpress.publish = die_after_backfilling_part1  # type: ignore[method-assign]
        with pytest.raises(SystemExit):
            site.publisher().publish(site.targets([P2]))

    result = publish(config, P3)  # the world moved on: Part 1 now needs another link too

    assert result.conflicts == []
    part1 = links(content(remote(wordpress, P1)))
    assert {"The Night Train", "Last Letters"} <= set(part1)
    with open_site(config) as site:
        left = [s.name for s in site.store.steps(post=P1) if s.status not in ("done", "skipped")]
        assert left == []


@pytest.mark.parametrize("markup", ["blocks", "classic"])
def test_the_public_page_reads_right(
    wordpress: LocalWordPress, tmp_path: Path, markup: str
) -> None:
    """What a visitor gets through the theme: links in place, no stray line breaks — in both
    formats a post can be written in."""
    config = make_site(tmp_path, wordpress)
    text = config.read_text().replace("[wordpress]\n", f'[wordpress]\nformat = "{markup}"\n')
    config.write_text(text)
    publish(config, *SERIES)
    part1 = remote(wordpress, P1)
    assert part1 is not None
    page = httpx.get(part1["link"], timeout=10).text
    closing = re.search(r"<p>Thanks for reading!.*?</p>", page, re.S)
    assert closing is not None
    assert "<br" not in closing.group(0), "soft line breaks must not become <br />"
    assert set(links(closing.group(0))) == {"The Night Train", "Last Letters"}
    assert '<nav class="series-list">' in page
    assert re.search(r"<figcaption[^>]*>The keeper&#(?:x27|039|8217);s tower", page)


def test_an_unknown_announcement_is_settled_by_the_writer(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    """X calls the text a duplicate on a first attempt: nobody can tell whether it was ours,
    so the step is `unknown` until the writer says; nothing is ever sent twice."""
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())
    with open_site(config) as site:
        plan = site.publisher().plan(site.targets([P1]))
    env = {**os.environ, "PIPELINE_CONFIG": str(config)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # Someone posted the same text by hand first (the predicted permalink is the real one here).
    with open_site(config) as site:
        x = site.channel("x")
        assert isinstance(x, XChannel)
        x.client.post(plan.announcements[0].text)
    published = cli("publish", P1)
    assert published.returncode == 1, published.stdout + published.stderr
    assert f"pipeline retry {P1} --mark-sent" in published.stderr
    status = json.loads(cli("status", "--json").stdout)
    part1 = next(row for row in status if row["slug"] == P1)
    assert part1["state"] == "unknown"
    assert "--mark-sent" in cli("log", "--post", P1, "--status", "unknown").stdout

    settled = cli("retry", P1, "--mark-sent")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert cli("run", "--once").returncode == 0
    assert len(fake_x.live_texts()) == 1, "the announcement went out once, by hand"
    with open_site(config) as site:
        step = site.store.step(P1, "announce", "x")
        assert step is not None
        assert step.status == "done"
