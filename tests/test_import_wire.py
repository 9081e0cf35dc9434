"""Imported posts adopted by the state, media never uploaded twice, old posts backdated — on the
in-memory WordPress (tests/memwp.py), through the same code the commands run.

The same scenarios against the real WordPress, through the command line: test_import_cli_live.py.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline import status as state
from pipeline.adopting import SETTLED, Adopted, adopt
from pipeline.config import load_settings
from pipeline.core.plan import describe, old_post_date
from pipeline.core.posts import CHANNELS, Post
from pipeline.core.records import PostRecord
from pipeline.importer import plan_from_wordpress, plan_from_wxr, write_plan
from pipeline.media import media_key, recover
from pipeline.timeutil import utc_iso
from pipeline.wiring import Services, services
from tests.fakex import FakeX
from tests.memwp import MemoryWordPress, png
from tests.sites import make_site

PART_1 = "fond-memories-part-1"
PART_2 = "fond-memories-part-2"
# The in-memory WordPress keeps real time: so does the pipeline here.
NOW = datetime.now(UTC).replace(microsecond=0)
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class Blog:
    """One site folder (pipeline.toml, credentials, posts) on the in-memory WordPress."""

    def __init__(self, root: Path, site: MemoryWordPress, **options: Any) -> None:
        self.site = site
        self.config = make_site(root, site, **options)  # type: ignore[arg-type]
        self.posts = root / "posts"
        shutil.rmtree(self.posts)
        self.posts.mkdir()
        self.settings = load_settings(self.config)

    @property
    def state_file(self) -> Path:
        return self.settings.db_path

    def opened(self) -> Any:
        return services(str(self.config), transport=self.site.transport(), clock=lambda: NOW)

    def import_posts(self, **choice: Any) -> list[Adopted]:
        """What `pipeline import` does: plan, write the files, adopt them."""
        with self.site.client() as client, self.opened() as found:
            plan = plan_from_wordpress(client, self.posts, self.site.url, **choice)
            result = write_plan(plan, client.download)
            assert result.problems == ()
            return adopt(self.settings, found.store, plan, result, clock=lambda: NOW)

    def publish(self, *slugs: str, owed: bool = False) -> Any:
        with self.opened() as found:
            publisher = found.publisher()
            plan = publisher.plan(found.targets(slugs), owed=owed, refresh=True)
            result = publisher.execute(plan)
        return plan, result

    def writes(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.site.requests if r.method in WRITES]


@pytest.fixture
def blog(tmp_path: Path, memwp_site: MemoryWordPress) -> Blog:
    return Blog(tmp_path / "site", memwp_site)


def upload(site: MemoryWordPress, name: str, data: bytes, caption: str = "") -> dict[str, Any]:
    headers = {"Content-Type": "image/png", "Content-Disposition": f'attachment; filename="{name}"'}
    answer = site.rest("POST", "/media", content=data, headers=headers)
    assert answer.is_success, answer.text
    media = answer.json()
    if caption:
        media = site.rest("POST", f"/media/{media['id']}", json={"caption": caption}).json()
    return dict(media)


def seed_part_1(site: MemoryWordPress) -> dict[str, Any]:
    """The seed's Part 1 as its writer made it in the classic editor."""
    rose = upload(site, "magnetic-rose-1.png", png(4, 3), "Miguel (left) Heintz (right)")
    eva = upload(site, "magnetic-rose-2.png", png(5, 3), "Heintz views a hologram of Eva.")
    cover = upload(site, "cover.png", png(6, 3))
    anime = site.rest("POST", "/categories", json={"name": "Anime"}).json()
    kon = site.rest("POST", "/tags", json={"name": "Satoshi Kon"}).json()
    content = (
        "Memories is a three episode anthology.\n\n"
        f'[caption id="attachment_{rose["id"]}" align="alignnone" width="4"]<img class="size-full '
        f'wp-image-{rose["id"]}" src="{rose["source_url"]}" alt="Miguel" width="4" height="3" />'
        " Miguel (left) Heintz (right)[/caption]\n\n"
        "<ul>\n <li>2001: A Space Odyssey</li>\n <li>The Shining</li>\n</ul>\n"
        f'[caption id="attachment_{eva["id"]}" align="alignnone" width="5"]<img class="wp-image-'
        f'{eva["id"]}" src="{eva["source_url"]}" alt="Eva" /> Heintz views a hologram of Eva.'
        "[/caption]\n\n"
        "Thanks for reading! I’ll be covering Stink Bomb and Cannon Fodder in upcoming articles "
        "soon so stay tuned for those! I’ll link them here when I finish writing them."
    )
    answer = site.rest(
        "POST",
        "/posts",
        json={
            "title": "Fond Memories Part 1: Magnetic Rose",
            "slug": PART_1,
            "status": "publish",
            "date_gmt": "2019-03-01T12:00:00",
            "content": content,
            "categories": [anime["id"]],
            "tags": [kon["id"]],
            "featured_media": cover["id"],
        },
    )
    assert answer.is_success, answer.text
    return dict(answer.json()) | {"images": [rose, eva], "cover": cover}


def raw(site: MemoryWordPress, post_id: int) -> dict[str, Any]:
    return dict(site.rest("GET", f"/posts/{post_id}", params={"context": "edit"}).json())


def test_publishing_an_imported_post_unchanged_writes_nothing(blog: Blog) -> None:
    original = seed_part_1(blog.site)
    (adopted,) = blog.import_posts(slugs=[PART_1])
    assert (adopted.wp_id, adopted.wp_status, adopted.problem) == (original["id"], "publish", None)
    blog.site.requests.clear()

    plan, _ = blog.publish(PART_1)

    assert [p.action for p in plan.publishes] == ["unchanged"]
    assert plan.backfills == ()
    assert blog.writes() == []
    assert raw(blog.site, original["id"])["content"]["raw"] == original["content"]["raw"]
    with blog.opened() as found:
        record = found.store.post(PART_1)
        steps = {s.target: s for s in found.store.steps(post=PART_1) if s.kind == "announce"}
    assert record is not None
    assert record.wp_id == original["id"]
    assert record.live_at == "2019-03-01T12:00:00Z"  # the post's own date
    assert {c: s.status for c, s in steps.items()} == dict.fromkeys(CHANNELS, "skipped")
    assert all(s.detail["why"] == SETTLED for s in steps.values())
    assert plan.announcements  # one per channel the site has, each settled already
    assert {a.wait for a in plan.announcements} == {"already skipped"}


def test_an_edit_updates_the_same_post_with_our_rendering_keeping_images_and_captions(
    blog: Blog,
) -> None:
    original = seed_part_1(blog.site)
    blog.import_posts(slugs=[PART_1])
    media_before = [r.id for r in blog.site.rows.values() if r.type == "attachment"]
    part_1 = blog.posts / f"{PART_1}.md"
    text = part_1.read_text(encoding="utf-8")
    # The writer keeps the promise, in Markdown.
    part_1.write_text(
        text.replace(
            "I’ll be covering Stink Bomb", f"I’ll be covering [Stink Bomb](post:{PART_2})"
        ),
        encoding="utf-8",
    )
    (blog.posts / f"{PART_2}.md").write_text(
        f"---\ntitle: 'Fond Memories Part 2: Stink Bomb'\nslug: {PART_2}\nseries: Fond Memories\n"
        "part: 2\n---\n"
        f"Back to [Magnetic Rose](post:{PART_1}).\n",
        encoding="utf-8",
    )
    blog.site.requests.clear()

    plan, result = blog.publish(PART_2)

    assert result.ok, result.failed
    assert [(b.slug, b.source_changed) for b in plan.backfills] == [(PART_1, True)]
    now = raw(blog.site, original["id"])
    part_2 = next(r for r in blog.site.posts() if r.name == PART_2)
    html = now["content"]["raw"]
    assert f'<a href="{blog.site.url}/{PART_2}/">Stink Bomb</a>' in html
    for image in original["images"]:
        assert f'src="{image["source_url"]}"' in html
    assert "<figcaption>Miguel (left) Heintz (right)</figcaption>" in html
    assert "<figcaption>Heintz views a hologram of Eva.</figcaption>" in html
    assert now["featured_media"] == original["cover"]["id"]
    assert now["date_gmt"] == "2019-03-01T12:00:00"
    assert [r.id for r in blog.site.rows.values() if r.type == "attachment"] == media_before
    assert not [w for w in blog.writes() if "/media" in w]
    assert part_2.id != original["id"]


def test_an_edit_in_wordpress_after_the_import_is_a_conflict_not_overwritten(blog: Blog) -> None:
    original = seed_part_1(blog.site)
    blog.import_posts(slugs=[PART_1])
    blog.site.edit(original["id"], content=original["content"]["raw"] + "\n\nA late edit.")
    part_1 = blog.posts / f"{PART_1}.md"
    part_1.write_text(part_1.read_text(encoding="utf-8") + "\nMore.\n", encoding="utf-8")

    plan, result = blog.publish(PART_1)

    assert [p.action for p in plan.publishes] == ["update"]
    assert result.conflicts == [PART_1]
    assert raw(blog.site, original["id"])["content"]["raw"].endswith("A late edit.")


def test_an_imported_draft_is_adopted_and_announced_when_it_goes_live(
    tmp_path: Path, memwp_site: MemoryWordPress, fake_x: FakeX
) -> None:
    blog = Blog(tmp_path, memwp_site, x_url=fake_x.url, x_credentials=fake_x.credentials())
    answer = memwp_site.rest(
        "POST", "/posts", json={"title": "Notes", "slug": "notes", "content": "Soon."}
    )
    draft = answer.json()
    (adopted,) = blog.import_posts(slugs=["notes"])
    assert adopted.wp_status == "draft"
    path = blog.posts / "notes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: draft", "status: ready"))

    plan, result = blog.publish("notes")

    assert [p.action for p in plan.publishes] == ["update"]  # the same post, made live
    assert raw(memwp_site, draft["id"])["status"] == "publish"
    assert len(memwp_site.posts()) == 1
    assert result.ok
    assert len(fake_x.live_texts()) == 1


def test_an_imported_scheduled_post_that_wordpress_publishes_itself_is_announced(
    blog_x: Blog, fake_x: FakeX
) -> None:
    later = (NOW + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    answer = blog_x.site.rest(
        "POST",
        "/posts",
        json={"title": "Soon", "slug": "soon", "content": "Soon.", "status": "future",
              "date_gmt": later},
    )  # fmt: skip
    scheduled = answer.json()
    assert scheduled["status"] == "future"
    blog_x.import_posts(slugs=["soon"])
    # WordPress's own cron publishes it (the pipeline does not rely on it, but it may run).
    blog_x.site.edit(scheduled["id"], status="publish", date_gmt=utc_iso(NOW)[:-1])

    plan, result = blog_x.publish(owed=True)

    assert [a.slug for a in plan.announcements if a.sends] == ["soon"]
    assert result.ok
    assert fake_x.live_texts() == [f"New on the blog: Soon {blog_x.site.url}/soon/"]


# --- media never twice -----------------------------------------------------------------------


def write_post(
    posts: Path, slug: str, images: dict[str, bytes], featured: str | None = None
) -> None:
    (posts / "images").mkdir(parents=True, exist_ok=True)
    for name, data in images.items():
        (posts / "images" / name).write_bytes(data)
    body = "\n\n".join(f'![{name}](images/{name} "{name} caption")' for name in images)
    front = f"---\ntitle: {slug}\nslug: {slug}\n" + (
        f"featured_image: images/{featured}\n" if featured else ""
    )
    (posts / f"{slug}.md").write_text(f"{front}---\n{body}\n", encoding="utf-8")


def attachments(site: MemoryWordPress) -> list[str]:
    return sorted(r.name for r in site.rows.values() if r.type == "attachment")


def test_an_upload_carries_its_key_and_a_lost_state_finds_it_again(blog: Blog) -> None:
    write_post(blog.posts, "one", {"a.png": png(3, 3), "b.png": png(4, 4)}, featured="b.png")
    blog.publish("one")
    keys = attachments(blog.site)
    assert len(keys) == 2
    assert all(key.startswith("pipeline-sha256-") for key in keys)

    blog.state_file.unlink()  # the state is lost (or this is a second site folder)
    write_post(blog.posts, "two", {"a.png": png(3, 3)}, featured="a.png")
    blog.site.requests.clear()
    _, result = blog.publish("two")
    _, again = blog.publish("one")

    assert result.ok, result.failed
    assert again.ok, again.failed
    assert attachments(blog.site) == keys  # no second copy
    assert not [w for w in blog.writes() if "/media" in w]
    with blog.opened() as found:
        log = [e.details for e in found.store.entries(post="two") if e.step == "upload"]
    assert log
    assert "already in the media library" in log[0]


def test_an_upload_whose_answer_was_lost_is_found_not_sent_again(blog: Blog) -> None:
    write_post(blog.posts, "one", {"a.png": png(3, 3)})
    blog.site.fail_next("POST", "/media", error=httpx.ReadError("connection reset"), after=True)

    _, result = blog.publish("one")

    assert result.ok, result.failed
    assert len(attachments(blog.site)) == 1
    assert len(blog.site.sent("POST", "/media")) == 1
    row = next(r for r in blog.site.rows.values() if r.type == "attachment")
    html = next(r for r in blog.site.posts() if r.name == "one").content
    assert row.guid in html


def test_a_second_site_folder_uploads_nothing_the_first_uploaded(
    tmp_path: Path, memwp_site: MemoryWordPress
) -> None:
    first = Blog(tmp_path / "first", memwp_site)
    second = Blog(tmp_path / "second", memwp_site)
    for blog in (first, second):
        write_post(blog.posts, f"post-{blog.posts.parent.name}", {"same.png": png(7, 2)})
    first.publish("post-first")
    second.publish("post-second")
    assert len(attachments(memwp_site)) == 1
    assert len(memwp_site.sent("POST", "/media")) == 1


def test_rebuild_recovers_the_media_table_by_key_and_imported_images_by_content(
    blog: Blog,
) -> None:
    original = seed_part_1(blog.site)
    blog.import_posts(slugs=[PART_1])
    write_post(blog.posts, "mine", {"mine.png": png(9, 2)})
    blog.publish("mine")
    with blog.opened() as found:
        before = {d: found.store.media(d) for d in _hashes(found)}
    assert all(before.values())
    blog.state_file.unlink()

    with blog.opened() as found, blog.site.client() as client:
        journal = found.journal()
        posts = found.workspace.posts
        rebuilt = state.rebuild(journal, posts, client, posts_dir=blog.posts)
        ids = {r.wp_id: r.slug for r in rebuilt if r.wp_id}
        remote = {ids[i]: p for i, p in client.posts_by_ids(sorted(ids)).items()}
        recovered = recover(found.store, client, posts, remote, blog.site.url)
        after = {d: found.store.media(d) for d in _hashes(found)}

    assert sorted(r.how for r in recovered) == ["by its content"] * 3 + ["by its key"]
    assert after == before
    featured = original["cover"]
    assert (featured["id"], featured["source_url"]) in after.values()
    blog.site.requests.clear()
    blog.publish(PART_1, "mine")  # a rebuilt record is compared again: never uploaded again
    assert not [w for w in blog.writes() if "/media" in w]


def _hashes(found: Services) -> list[str]:
    from pipeline.media import file_hash

    return sorted(
        {
            file_hash(image.path)
            for post in found.workspace.posts
            for image in (*post.images, *([post.featured_image] if post.featured_image else []))
        }
    )


def test_the_media_key_is_the_content_hash() -> None:
    assert media_key("ab" * 32) == "pipeline-sha256-" + "ab" * 32


# --- export files -------------------------------------------------------------------------------

WXR = Path(__file__).parent / "import_corpus" / "export.xml"


def test_an_export_of_this_site_is_adopted_and_unreachable_images_are_reported(
    blog: Blog,
) -> None:
    plan = plan_from_wxr(WXR, blog.posts, slugs=[PART_1])
    with blog.site.client() as client:
        result = write_plan(plan, client.download)
    assert [p.name for p in result.written] == [f"{PART_1}.md"]
    assert len(result.problems) == 2
    assert all("not fetched" in p for p in result.problems)
    with blog.opened() as found:
        (adopted,) = adopt(blog.settings, found.store, plan, result, clock=lambda: NOW)
        record = found.store.post(PART_1)
    assert record is not None
    assert record.wp_id == 7
    assert adopted.problem is not None
    assert "does not load" in adopted.problem


# --- dates: old posts --------------------------------------------------------------------------


def post_at(when: datetime | None) -> Post:
    return Post(Path("p.md"), "P", "p", "", 1, "h", publish_at=when)


DAYS_AGO = NOW - timedelta(days=3)


@pytest.mark.parametrize(
    ("when", "record", "released", "tried_at", "old"),
    [
        (None, None, False, None, False),
        (NOW - timedelta(days=3000), None, False, None, True),  # brought over from another blog
        (NOW - timedelta(hours=2), None, False, None, False),  # late, within the window
        (NOW + timedelta(days=1), None, False, None, False),  # scheduled
        (DAYS_AGO, None, True, None, False),  # held, then `pipeline retry`: now
        (DAYS_AGO, None, False, DAYS_AGO + timedelta(hours=1), False),  # a retry of a late one
        (DAYS_AGO, None, False, NOW - timedelta(hours=1), True),  # a retry of an old one
        (DAYS_AGO, PostRecord("p", wp_id=1, wp_status="draft"), False, None, True),
        (DAYS_AGO, PostRecord("p", live_at="2020-01-01T00:00:00Z"), False, None, False),
    ],
)
def test_which_posts_are_old(
    when: datetime | None,
    record: PostRecord | None,
    released: bool,
    tried_at: datetime | None,
    old: bool,
) -> None:
    date = old_post_date(
        post_at(when),
        record,
        now=NOW,
        catch_up=timedelta(hours=24),
        released=released,
        tried_at=tried_at,
    )
    assert date == (when if old else None)


@pytest.fixture
def blog_x(tmp_path: Path, memwp_site: MemoryWordPress, fake_x: FakeX) -> Blog:
    return Blog(tmp_path, memwp_site, x_url=fake_x.url, x_credentials=fake_x.credentials())


def old_post(posts: Path, slug: str, date: str) -> None:
    (posts / f"{slug}.md").write_text(
        f"---\ntitle: {slug.title()}\ndate: {date}\n---\nWords.\n", encoding="utf-8"
    )


def test_an_old_post_is_backdated_and_announced_only_when_asked(
    blog_x: Blog, fake_x: FakeX
) -> None:
    old_post(blog_x.posts, "old", "2016-05-10 14:30")

    plan, result = blog_x.publish("old")

    shown = describe(plan, blog_x.posts)
    assert "backdated to 2016-05-10T18:30:00Z" in shown
    assert "skipped: an old post (dated 2016-05-10T18:30:00Z)" in shown
    assert result.ok
    row = next(r for r in blog_x.site.posts() if r.name == "old")
    assert raw(blog_x.site, row.id)["date_gmt"] == "2016-05-10T18:30:00"
    assert fake_x.live_texts() == []
    with blog_x.opened() as found:
        record = found.store.post("old")
        assert record is not None
        assert record.live_at == "2016-05-10T18:30:00Z"
        retry = state.plan_retry("old", found.store.steps(post="old"), mode="resend")
        state.apply_retry(found.journal(), retry, now=NOW)

    _, result = blog_x.publish(owed=True)

    assert result.ok
    assert len(fake_x.live_texts()) == 1


def test_a_post_late_within_the_catch_up_window_goes_out_now_and_is_announced(
    blog_x: Blog, fake_x: FakeX
) -> None:
    old_post(blog_x.posts, "late", (NOW - timedelta(hours=2)).isoformat())

    plan, result = blog_x.publish("late")

    assert plan.publishes[0].backdate is None
    assert result.ok
    assert len(fake_x.live_texts()) == 1
    row = next(r for r in blog_x.site.posts() if r.name == "late")
    dated = datetime.fromisoformat(raw(blog_x.site, row.id)["date_gmt"]).replace(tzinfo=UTC)
    assert abs(dated - datetime.now(UTC)) < timedelta(hours=1)  # now, not its publish_at


def test_a_held_post_retried_goes_out_now_not_backdated(blog_x: Blog, fake_x: FakeX) -> None:
    old_post(blog_x.posts, "held", (NOW - timedelta(days=3)).isoformat())
    with blog_x.opened() as found:
        found.journal().held("held", "publish", "", "missed its time")
        retry = state.plan_retry("held", found.store.steps(post="held"))
        state.apply_retry(found.journal(), retry, now=NOW)

    plan, result = blog_x.publish("held")

    assert plan.publishes[0].backdate is None
    assert result.ok
    assert len(fake_x.live_texts()) == 1


def test_a_retry_decides_as_the_first_try_did(blog_x: Blog, fake_x: FakeX) -> None:
    old_post(blog_x.posts, "late", DAYS_AGO.isoformat())
    with blog_x.opened() as found:  # the scheduler tried it in time, and WordPress failed
        tried = {"first_tried": utc_iso(DAYS_AGO + timedelta(hours=1))}
        found.journal().begin("late", "publish", detail=tried)
        found.journal().failed("late", "publish", "", "WordPress was down")

    plan, result = blog_x.publish("late")

    assert plan.publishes[0].backdate is None
    assert result.ok
    assert len(fake_x.live_texts()) == 1


def test_retry_resend_takes_a_skipped_announcement() -> None:
    from pipeline.core.records import Step

    skipped = Step(1, "p", "announce", "x", "skipped", None, 0, None, None, {"why": SETTLED})
    retry = state.plan_retry("p", [skipped], mode="resend")
    assert [(c.old, c.new) for c in retry.changes] == [("skipped", "pending")]


def test_an_export_of_another_site_moves_as_old_posts_keeping_their_dates(
    tmp_path: Path, fake_x: FakeX
) -> None:
    new_site = MemoryWordPress("https://new.example.org")
    blog = Blog(tmp_path, new_site, x_url=fake_x.url, x_credentials=fake_x.credentials())
    plan = plan_from_wxr(WXR, blog.posts, slugs=[PART_1], site=new_site.url)
    (item,) = plan.files
    assert "publish_at: '2026-01-05T14:00:00Z'" in item.text
    result = write_plan(plan, lambda url: png(3, 2) if "rose" in url else png(2, 3))
    assert result.problems == ()

    moved, published = blog.publish(PART_1)

    assert moved.publishes[0].backdate == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    assert published.ok
    (row,) = new_site.posts()
    assert raw(new_site, row.id)["date_gmt"] == "2026-01-05T14:00:00"
    assert fake_x.live_texts() == []


def test_help_stays_fast_without_the_converter() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pipeline.cli, pipeline.publisher\n"
        "heavy = [m for m in ('bs4', 'markdownify', 'defusedxml') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
