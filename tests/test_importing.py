"""A WordPress post as a post file (pure), and reading export files (WXR)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.core.importing import SourcePost, infer_series, post_file, series_parts
from pipeline.errors import InputError
from pipeline.importer import build_plan, read_wxr, write_plan
from pipeline.loading import load_posts
from tests.images import jpeg

SITE = "https://blog.example.com"
UPLOADS = f"{SITE}/wp-content/uploads/2026/01"
PART_1 = SourcePost(
    id=7,
    title="Fond Memories Part 1: Magnetic Rose",
    slug="fond-memories-part-1",
    status="publish",
    date_gmt=datetime(2026, 1, 5, 14, 0, tzinfo=UTC),
    content=(
        "Memories is a three episode anthology.\n\n"
        f'[caption id="attachment_41" align="alignnone" width="840"]<img class="wp-image-41" '
        f'src="{UPLOADS}/rose-1024x576.jpg" alt="Miguel" /> Miguel (left) Heintz (right)'
        "[/caption]\n\n"
        "I’ll be covering Stink Bomb and Cannon Fodder in upcoming articles soon so stay tuned "
        "for those! I’ll link them here when I finish writing them."
    ),
    excerpt="<p>Otomo&#8217;s anthology.</p>",
    categories=("Anime",),
    tags=("Memories", "Satoshi Kon"),
    featured_image_url=f"{UPLOADS}/cover.jpg",
    featured_media_id=43,
)
PART_2 = SourcePost(
    id=9,
    title="Fond Memories Part 2: Stink Bomb",
    slug="fond-memories-part-2",
    status="future",
    date_gmt=datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
    content="<!-- wp:paragraph -->\n<p>Part two.</p>\n<!-- /wp:paragraph -->",
)


@pytest.mark.parametrize(
    ("title", "inferred"),
    [
        ("Fond Memories Part 2: Stink Bomb", ("Fond Memories", 2)),
        ("Fond Memories, part two - Stink Bomb", ("Fond Memories", 2)),
        ("A Road Trip (Part 3)", ("A Road Trip", 3)),
        ("Rust in Production, Part III", ("Rust in Production", 3)),
        ("The part of the story I forgot", None),
        ("Part 1: No series before it", None),
    ],
)
def test_series_and_part_from_the_title(title: str, inferred: tuple[str, int] | None) -> None:
    assert infer_series(title) == inferred


def test_the_seed_post_becomes_a_file_our_loader_reads_back(tmp_path: Path) -> None:
    series = series_parts([PART_1, PART_2])
    item = post_file(PART_1, SITE, series)

    assert item.path == "fond-memories-part-1.md"
    assert item.text.startswith(
        "---\ntitle: 'Fond Memories Part 1: Magnetic Rose'\nslug: fond-memories-part-1\n"
        "series: Fond Memories\npart: 1\nstatus: ready\ncategories:\n- Anime\n"
    )
    assert "excerpt: Otomo&#8217;s anthology." in item.text  # as WordPress stores it
    assert '![Miguel](images/rose-1024x576.jpg "Miguel (left) Heintz (right)")' in item.text
    assert [(d.url, d.path, d.media_id) for d in item.downloads] == [
        (f"{UPLOADS}/rose-1024x576.jpg", "images/rose-1024x576.jpg", 41),
        (f"{UPLOADS}/cover.jpg", "images/cover.jpg", 43),
    ]
    assert item.inferred == ("series 'Fond Memories', part 1 (from the title)",)
    fixes = [w.fix for w in item.warnings]
    assert "write [Stink Bomb](post:fond-memories-part-2)" in fixes

    (tmp_path / "images").mkdir()
    for download in item.downloads:
        (tmp_path / download.path).write_bytes(jpeg())
    (tmp_path / item.path).write_text(item.text, encoding="utf-8")
    result = load_posts(tmp_path, ZoneInfo("America/New_York"))
    assert result.errors == ()
    (post,) = result.posts
    assert (post.slug, post.series, post.part, post.status) == (
        PART_1.slug,
        "Fond Memories",
        1,
        "ready",
    )
    assert post.tags == ("Memories", "Satoshi Kon")
    assert post.featured_image is not None
    assert [i.caption for i in post.images] == ["Miguel (left) Heintz (right)"]
    assert post.line_of("title") == 2
    assert item.warnings[0].line == post.body_line + 4  # the promise's line in the file


def test_a_scheduled_post_keeps_its_time_and_a_draft_stays_a_draft() -> None:
    scheduled = post_file(PART_2, SITE)
    assert "status: ready\npublish_at: '2026-12-01T14:00:00Z'\n" in scheduled.text
    draft = post_file(SourcePost(3, "Notes", "notes", "pending", None, "x"), SITE)
    assert "status: draft\n" in draft.text
    assert draft.inferred == ("status draft (it is 'pending' in WordPress)",)


def test_images_elsewhere_stay_remote_and_names_never_clash() -> None:
    content = (
        f'<p><img src="{UPLOADS}/a.png" alt="one"> <img src="{SITE}/wp-content/uploads/2025/'
        '03/a.png" alt="two"> <img src="https://other.example.org/a.png" alt="three"></p>'
    )
    item = post_file(SourcePost(1, "T", "t", "publish", None, content), SITE, taken={})
    assert [d.path for d in item.downloads] == ["images/a.png", "images/a-2.png"]
    assert "(https://other.example.org/a.png)" in item.text


WXR = Path(__file__).parent / "import_corpus" / "export.xml"  # a Tools → Export file, cut down


def test_an_export_file_gives_the_same_posts() -> None:
    posts, site = read_wxr(WXR)
    assert site == SITE
    assert [p.slug for p in posts] == ["fond-memories-part-1", "11"]
    first = posts[0]
    assert (first.id, first.status, first.date_gmt) == (
        7,
        "publish",
        datetime(2026, 1, 5, 14, 0, tzinfo=UTC),
    )
    assert (first.categories, first.tags, first.excerpt) == (
        ("Anime",),
        ("Memories",),
        "Otomo's anthology.",
    )
    assert (first.featured_image_url, first.featured_media_id) == (f"{UPLOADS}/cover.jpg", 42)
    assert posts[1].date_gmt is None


@pytest.mark.parametrize(
    "text",
    [
        "not xml at all",
        "<rss><channel><title>A feed, not an export</title></channel></rss>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss>&b;</rss>',
    ],
)
def test_a_file_that_is_not_an_export_is_one_clear_error(tmp_path: Path, text: str) -> None:
    export = tmp_path / "export.xml"
    export.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="not a WordPress export file") as info:
        read_wxr(export)
    assert info.value.fix is not None
    assert "Tools → Export" in info.value.fix


def test_existing_files_stop_the_import_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "fond-memories-part-1.md").write_text("mine", encoding="utf-8")
    plan = build_plan([PART_1, PART_2], tmp_path, SITE)
    fetched: list[str] = []

    with pytest.raises(InputError, match="already exists") as info:
        write_plan(plan, lambda url: fetched.append(url) or b"")
    assert "--force" in (info.value.fix or "")
    assert fetched == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fond-memories-part-1.md"]
    assert any("needs --force" in line for line in plan.lines())


def test_writing_a_plan_fetches_each_image_once_and_reports_failures(tmp_path: Path) -> None:
    plan = build_plan([PART_1, PART_2], tmp_path, SITE)

    def fetch(url: str) -> bytes:
        if url.endswith("cover.jpg"):
            raise InputError("unreachable")
        return url.encode()

    heard: list[tuple[str, str]] = []
    result = write_plan(plan, fetch, on_item=lambda path, outcome: heard.append((path, outcome)))
    assert [p.name for p in result.written] == [
        "fond-memories-part-1.md",
        "fond-memories-part-2.md",
    ]
    # The progress bar hears of every image and file once, as each is done.
    assert len(heard) == len(plan.images) + len(plan.files)
    assert heard[-2:] == [(str(item.path), "written") for item in plan.files]
    assert ("images/cover.jpg", "failed") in heard
    assert (tmp_path / "images" / "rose-1024x576.jpg").read_bytes().endswith(b"rose-1024x576.jpg")
    (problem,) = result.problems
    assert "cover.jpg" in problem
    assert "unreachable" in problem
