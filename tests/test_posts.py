"""Loading and checking posts: the bad-input corpus, dates, slugs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.core.posts import MAX_POST_BYTES, LoadResult, slugify
from pipeline.errors import PostError
from pipeline.loading import load_post, load_posts
from pipeline.timeutil import BadTime, to_utc
from tests.corpus_cases import CORPUS, EXPECTED, GOOD, TIMEZONE, Expected, cases, load_case
from tests.images import png

NEW_YORK = ZoneInfo(TIMEZONE)


def write(folder: Path, name: str, front: str, body: str = "Body.\n") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


def load(folder: Path, **pinned: str) -> LoadResult:
    return load_posts(folder, NEW_YORK, pinned_slugs=pinned or None)


# --- the bad-input corpus -------------------------------------------------------------------


def test_every_corpus_folder_is_described() -> None:
    assert set(cases()) == set(GOOD)
    assert {e.case for e in EXPECTED} <= set(cases())


@pytest.mark.parametrize("case", cases())
def test_corpus_folder_reports_exactly_its_errors_and_keeps_the_rest(case: str) -> None:
    folder = CORPUS / case
    result = load_case(folder)

    expected = {(folder / e.file, e.line) for e in EXPECTED if e.case == case}
    assert {(e.path, e.line) for e in result.errors} == expected
    # Nothing else in the batch is lost: every good post of the folder loads.
    assert {p.slug for p in result.posts} == GOOD[case]
    # Every post that failed is held back, and every held-back post is reported.
    failed = {e.path for e in result.errors}
    assert not failed & {p.path for p in result.posts}
    assert len(result.posts) + len(failed) == len(list(folder.glob("*.md")))


@pytest.mark.parametrize("expected", EXPECTED, ids=[f"{e.case}/{e.file}" for e in EXPECTED])
def test_corpus_error_names_file_line_what_and_fix(expected: Expected) -> None:
    folder = CORPUS / expected.case
    path = folder / expected.file
    (error,) = [e for e in load_case(folder).errors if e.path == path]

    assert error.line == expected.line
    assert expected.what in error.message
    assert error.fix is not None
    assert expected.fix in error.fix
    line = error.render()
    assert line.startswith(f"{path}:{expected.line}: ")
    assert line.endswith(f"(fix: {error.fix})")
    assert "\n" not in line


def test_unknown_key_is_a_warning_with_its_line_not_an_error() -> None:
    folder = CORPUS / "unknown_key"
    result = load(folder)

    assert result.errors == ()
    assert "a-post-with-a-colour" in {p.slug for p in result.posts}
    (warning,) = result.warnings
    assert warning.startswith(f"{folder / 'colour.md'}:3: ")
    assert "'colour'" in warning
    assert "fix: remove it" in warning


def test_duplicate_slug_holds_back_both_and_names_the_other() -> None:
    folder = CORPUS / "duplicate_slug"
    errors = {e.path.name: e.message for e in load(folder).errors if e.path is not None}

    assert str(folder / "second.md") in errors["first.md"]
    assert str(folder / "first.md") in errors["second.md"]


def test_link_to_a_post_that_exists_but_is_broken_does_not_hold_back_the_linking_post() -> None:
    result = load(CORPUS / "link_to_broken_post")

    assert [e.path.name for e in result.errors if e.path] == ["part-2.md"]
    part_1 = result.by_slug()["broken-neighbour-1"]
    assert [link.slug for link in part_1.links] == ["broken-neighbour-2"]


def test_a_50_mb_file_is_refused_by_size_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.md"
    with huge.open("wb") as handle:  # sparse: 50 MB on paper, a few bytes on disk
        handle.write(b"---\ntitle: Huge\n---\n")
        handle.seek(50 * 1024 * 1024 - 1)
        handle.write(b"\n")
    write(tmp_path, "fine.md", "title: Fine")
    read: list[Path] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        read.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    started = time.perf_counter()
    result = load(tmp_path)
    elapsed = time.perf_counter() - started

    (error,) = result.errors
    assert (error.path, error.line) == (huge, 1)
    assert "51200 KiB" in error.message
    assert f"over the {MAX_POST_BYTES // 1024} KiB limit" in error.message
    assert error.fix
    assert huge not in read
    assert elapsed < 5  # generous: the file is never read, so this is instant
    assert [p.slug for p in result.posts] == ["fine"]


def test_a_post_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    text = "---\ntitle: Just fits\n---\n"
    path = tmp_path / "fits.md"
    path.write_text(text + "x" * (MAX_POST_BYTES - len(text)), encoding="utf-8")

    post, _ = load_post(path, tmp_path, NEW_YORK)
    assert post.slug == "just-fits"


def test_lines_count_blank_lines_after_the_opening_dashes(tmp_path: Path) -> None:
    path = tmp_path / "spaced.md"
    path.write_text("---\n\n\ntitle: Spaced\npart: 2\n---\nBody.\n", encoding="utf-8")

    (error,) = load(tmp_path).errors
    assert (error.path, error.line) == (path, 5)


def test_invalid_yaml_on_a_later_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", "title: Fine\nstatus: ready\ntags: [a, b]]\n")

    (error,) = load(tmp_path).errors
    assert (error.path, error.line) == (path, 4)


def test_body_lines_of_images_and_links(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png())
    write(tmp_path, "target.md", "title: Target")
    body = "One.\n\nTwo\n![pic](a.png) and\n[target](post:target)\n"
    write(tmp_path, "source.md", "title: Source\nseries: S", body)

    source = load(tmp_path).by_slug()["source"]
    assert [(i.src, i.line) for i in source.images] == [("a.png", 8)]
    assert [(link.slug, link.line) for link in source.links] == [("target", 9)]


# --- front matter values --------------------------------------------------------------------


def test_front_matter_is_read_into_the_post(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "cover.png").write_bytes(png())
    write(
        tmp_path,
        "full.md",
        """
title: "A Full Post: Everything"
slug: full-post
series: Things
part: 2
status: draft
publish_at: 2026-12-01 09:00
categories: [Film, Film, Essays]
tags: one tag
excerpt: Short.
featured_image: images/cover.png
announce: "Read {title} at {url}"
""",
    )

    post = load(tmp_path).by_slug()["full-post"]
    assert post.title == "A Full Post: Everything"
    assert (post.series, post.part, post.status) == ("Things", 2, "draft")
    assert post.publish_at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert post.categories == ("Film", "Essays")
    assert post.tags == ("one tag",)
    assert post.excerpt == "Short."
    assert post.featured_image is not None
    assert post.featured_image.path == (tmp_path / "images" / "cover.png").resolve()
    assert post.announce == "Read {title} at {url}"
    assert post.line_of("publish_at") == 7


@pytest.mark.parametrize(
    ("front", "line", "what"),
    [
        ("title: T\nstatus: published", 3, "'published' is not a status"),
        ("title: T\npart: 0\nseries: S", 3, "0 is not a part number"),
        ("title: T\nannounce: 3", 3, "announce: must be a template or false"),
        ("title: T\ntags: {a: 1}", 3, "tags: must be a list of names"),
        ("title: [a, b]", 2, "title: must be text"),
        ("title: T\npublish_at: next tuesday", 3, "'next tuesday' is not a valid date"),
    ],
)
def test_bad_values_name_the_key_line_and_fix(
    tmp_path: Path, front: str, line: int, what: str
) -> None:
    path = write(tmp_path, "bad.md", front)
    write(tmp_path, "good.md", "title: Good")

    result = load(tmp_path)
    (error,) = result.errors
    assert (error.path, error.line) == (path, line)
    assert what in error.message
    assert error.fix
    assert [p.slug for p in result.posts] == ["good"]


def test_announce_false_and_default(tmp_path: Path) -> None:
    write(tmp_path, "quiet.md", "title: Quiet\nannounce: false")
    write(tmp_path, "loud.md", "title: Loud")

    posts = load(tmp_path).by_slug()
    assert posts["quiet"].announce is False
    assert posts["loud"].announce is True
    assert posts["loud"].status == "ready"


def test_windows_line_endings_and_a_bom_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "dos.md"
    path.write_bytes("\ufeff---\r\ntitle: Dos\r\npart: 1\r\n---\r\nBody.\r\n".encode())

    (error,) = load(tmp_path).errors  # part without series: the line is still right
    assert (error.path, error.line) == (path, 3)


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2026-01-15 09:00", datetime(2026, 1, 15, 14, 0, tzinfo=UTC)),  # EST, UTC-5
        ("2026-07-15 09:00", datetime(2026, 7, 15, 13, 0, tzinfo=UTC)),  # EDT, UTC-4
        ("2026-03-08 01:59", datetime(2026, 3, 8, 6, 59, tzinfo=UTC)),  # just before the jump
        ("2026-03-08 03:00", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),  # just after it
        ("2026-11-01 00:30", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)),  # before the fold
        ("2026-11-01 01:30", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),  # fold: the first 01:30
        ("2026-11-01 02:30", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),  # after it, EST
        ("2026-12-01T09:00:00+01:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00-05:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),  # midnight, local
    ],
)
def test_times_are_read_in_the_timezone_and_stored_in_utc(
    tmp_path: Path, written: str, utc: datetime
) -> None:
    assert to_utc(written, NEW_YORK) == utc
    write(tmp_path, "dated.md", f"title: Dated\npublish_at: {written}")
    (post,) = load(tmp_path).posts
    assert post.publish_at == utc
    assert post.publish_at is not None
    assert post.publish_at.utcoffset() is not None
    assert post.publish_at.tzinfo == UTC


def test_the_two_sides_of_the_fold_are_an_hour_apart() -> None:
    before = to_utc("2026-11-01 00:59", NEW_YORK)
    fold = to_utc("2026-11-01 01:00", NEW_YORK)
    after = to_utc("2026-11-01 02:00", NEW_YORK)
    assert (fold - before).total_seconds() == 60
    assert (after - fold).total_seconds() == 2 * 3600  # 01:00 EDT, 01:00 EST, 02:00 EST


@pytest.mark.parametrize("gap", ["2026-03-08 02:00", "2026-03-08 02:30", "2026-03-08 02:59"])
def test_times_in_the_dst_gap_are_refused(gap: str) -> None:
    with pytest.raises(BadTime, match="does not exist in America/New_York"):
        to_utc(gap, NEW_YORK)


def test_the_same_wall_time_in_another_zone_is_another_instant() -> None:
    paris = to_utc("2026-07-15 09:00", ZoneInfo("Europe/Paris"))
    assert paris == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)


# --- slugs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  Paper Lanterns — Part 2: The Night Train  ", "paper-lanterns-part-2-the-night-train"),
        ("Café Crème à Noël", "cafe-creme-a-noel"),
        ("Ärger über Ölpreise", "arger-uber-olpreise"),
        ("100% C++ & Rust", "100-c-rust"),
    ],
)
def test_slugs_come_from_titles(title: str, slug: str) -> None:
    assert slugify(title) == slug
    assert slugify(title) == slugify(title)


def test_same_title_gives_the_same_slug_across_loads(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "title: Ünïcödé Title, Again")
    first = load(tmp_path).posts[0].slug
    (tmp_path / "a.md").write_text(
        "---\ntitle: Ünïcödé Title, Again\n---\nDifferent body.\n", encoding="utf-8"
    )
    assert load(tmp_path).posts[0].slug == first == "unicode-title-again"


def test_a_title_with_no_latin_letters_falls_back_to_the_file_name(tmp_path: Path) -> None:
    write(tmp_path, "tokyo-diary.md", "title: 東京日記")
    (post,) = load(tmp_path).posts
    assert post.slug == "tokyo-diary"
    assert post.title == "東京日記"


def test_a_long_title_gives_a_valid_slug(tmp_path: Path) -> None:
    title = "word " * 38 + "end"  # the cut at 190 characters lands on a hyphen
    slug = slugify(title)
    assert len(slug) <= 190
    assert not slug.endswith("-")
    write(tmp_path, "long.md", f"title: {title}")
    (post,) = load(tmp_path).posts
    assert post.slug == slug


@pytest.mark.parametrize("bad", ["Capital", "two--hyphens", "-leading", "with space", "ümlaut"])
def test_explicit_slugs_are_validated(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "post.md", f'title: T\nstatus: ready\nslug: "{bad}"')
    (error,) = load(tmp_path).errors
    assert (error.path, error.line) == (path, 4)
    assert "is not a valid slug" in error.message
    assert error.fix is not None
    assert "lower-case" in error.fix


def test_an_explicit_slug_wins_over_the_title(tmp_path: Path) -> None:
    write(tmp_path, "post.md", "title: Some Title\nslug: my-own-slug-2")
    assert [p.slug for p in load(tmp_path).posts] == ["my-own-slug-2"]


def test_a_pinned_slug_survives_a_new_title(tmp_path: Path) -> None:
    write(tmp_path, "post.md", "title: The Old Title")
    assert load(tmp_path).posts[0].slug == "the-old-title"

    write(tmp_path, "post.md", "title: A Brand New Title")
    assert load(tmp_path).posts[0].slug == "a-brand-new-title"
    retitled = load(tmp_path, **{"post.md": "the-old-title"}).posts[0]
    assert retitled.slug == "the-old-title"
    assert retitled.title == "A Brand New Title"


def test_pinned_slugs_of_posts_in_subfolders_use_posix_paths(tmp_path: Path) -> None:
    write(tmp_path / "2026", "post.md", "title: Renamed")
    (post,) = load(tmp_path, **{"2026/post.md": "original"}).posts
    assert post.slug == "original"


def test_source_hash_changes_with_the_file(tmp_path: Path) -> None:
    write(tmp_path, "p.md", "title: P", "One.\n")
    first = load(tmp_path).posts[0].source_hash
    write(tmp_path, "p.md", "title: P", "Two.\n")
    assert load(tmp_path).posts[0].source_hash != first


def test_load_post_raises_the_error_it_would_report(tmp_path: Path) -> None:
    path = write(tmp_path, "p.md", "title: P\npart: 3")
    with pytest.raises(PostError, match="'part' without 'series'") as info:
        load_post(path, tmp_path, NEW_YORK)
    assert info.value.line == 3


def test_links_and_images_are_found_wherever_markdown_puts_them(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png())
    write(tmp_path, "target.md", "title: Target")
    body = (
        "Intro with `[code](post:in-code)` only.\n"  # line 4: code, not a link
        "\n"
        "- a list item with ![pic](a.png)\n"  # line 6
        "\n"
        "| a | b |\n"
        "| - | - |\n"
        "| [cell](post:target) | x |\n"  # line 10
        "\n"
        "By reference: [the target][t] and [escaped](post\\:target).\n"  # line 12
        "\n"
        "    [indented code](post:in-code-block)\n"
        "\n"
        "[t]: post:target\n"
    )
    write(tmp_path, "source.md", "title: Source", body)

    result = load(tmp_path)
    assert result.errors == ()
    source = result.by_slug()["source"]
    assert [(i.src, i.line) for i in source.images] == [("a.png", 6)]
    assert [(link.slug, link.line) for link in source.links] == [
        ("target", 10),
        ("target", 12),
        ("target", 12),
    ]


def test_every_spelling_of_a_post_link_is_found_without_references(tmp_path: Path) -> None:
    # No reference definitions: only the paragraphs that may hold a post: link are parsed
    # inline, so each way of writing one must be seen as such, and "post" alone must not be.
    write(tmp_path, "target.md", "title: Target")
    body = (
        "A post about [links](https://example.com/post) and nothing else.\n"  # line 4: none
        "\n"
        "Plain: [one](post:target).\n"  # line 6
        "\n"
        "Escaped: [two](post\\:target).\n"  # line 8
        "\n"
        "Entity: [three](post&#58;target) and [four](&#112;ost:target).\n"  # line 10
        "\n"
        "Autolink: <post:target>.\n"  # line 12
        "\n"
        "Not ours: [shouting](POST:target).\n"  # line 14: the scheme is matched as written
    )
    write(tmp_path, "source.md", "title: Source", body)

    result = load(tmp_path)
    assert result.errors == ()
    links = [(link.slug, link.line) for link in result.by_slug()["source"].links]
    assert links == [("target", 6), ("target", 8), ("target", 10), ("target", 10), ("target", 12)]


def test_a_dangling_reference_style_link_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "p.md", "title: P", "See [it][ref].\n\n[ref]: post:ghost\n")
    (error,) = load(tmp_path).errors
    assert (error.path, error.line) == (path, 4)
    assert "post:ghost" in error.message


# --- static-site front matter (Jekyll, Hugo, Pelican) ---------------------------------------


def test_static_site_keys_are_read_as_ours(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "cover.png").write_bytes(png())
    write(
        tmp_path,
        "hugo.md",
        """
title: From Hugo
date: 2016-05-10T14:30:00+01:00
draft: true
summary: The summary.
tags: anime, film ,  anime
categories: Reviews
cover: images/cover.png
""",
    )

    post = load(tmp_path).by_slug()["from-hugo"]
    assert post.publish_at == datetime(2016, 5, 10, 13, 30, tzinfo=UTC)
    assert post.status == "draft"
    assert post.excerpt == "The summary."
    assert post.tags == ("anime", "film")
    assert post.categories == ("Reviews",)
    assert post.featured_image is not None
    assert post.featured_image.path == (tmp_path / "images" / "cover.png").resolve()
    assert post.line_of("publish_at") == 3  # errors and plans point at the line of date:
    assert load(tmp_path).warnings == ()


@pytest.mark.parametrize(
    ("front", "status", "excerpt"),
    [
        ("draft: false\ndescription: Described.", "ready", "Described."),
        ("image: images/x.png", "ready", None),
        ("draft: true", "draft", None),
    ],
)
def test_draft_and_description(tmp_path: Path, front: str, status: str, excerpt: str) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "x.png").write_bytes(png())
    write(tmp_path, "p.md", f"title: P\n{front}")
    (post,) = load(tmp_path).posts
    assert (post.status, post.excerpt) == (status, excerpt)


def test_jekyll_dates_with_a_spaced_offset(tmp_path: Path) -> None:
    write(tmp_path, "p.md", 'title: P\ndate: "2016-05-10 14:30:00 +0100"')
    (post,) = load(tmp_path).posts
    assert post.publish_at == datetime(2016, 5, 10, 13, 30, tzinfo=UTC)


def test_a_jekyll_file_name_gives_the_date_and_slug(tmp_path: Path) -> None:
    write(tmp_path, "_posts/2015-03-14-Pi_Day-post.md", "title: Happy Pi Day, Everyone")
    (post,) = load(tmp_path).posts
    assert post.slug == "pi-day-post"  # the URL the Jekyll site published it under
    assert post.publish_at == datetime(2015, 3, 14, 4, 0, tzinfo=UTC)  # midnight, New York


def test_front_matter_wins_over_a_jekyll_file_name(tmp_path: Path) -> None:
    write(tmp_path, "2015-03-14-pi.md", "title: Pi\nslug: tau\ndate: 2015-06-28 09:00")
    (post,) = load(tmp_path).posts
    assert post.slug == "tau"
    assert post.publish_at == datetime(2015, 6, 28, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("front", "line", "what", "fix"),
    [
        ("title: T\npublish_at: 2026-12-01\ndate: 2026-12-02", 4, "both 'publish_at' and 'date'",
         "keep one of publish_at and date"),
        ("title: T\nsummary: a\ndescription: b", 4, "both 'summary' and 'description'",
         "keep one of summary and description"),
        ("title: T\nimage: a.png\nfeatured_image: b.png", 3, "both 'featured_image' and 'image'",
         "keep one of featured_image and image"),
        ("title: T\nstatus: ready\ndraft: true", 4, "both 'status' and 'draft'",
         "keep one of status and draft"),
        ("title: T\ndraft: maybe", 3, "draft: 'maybe' is not true or false", "draft: true"),
        ("title: T\ndate: someday", 3, "date: 'someday' is not a valid date", "2026-12-01"),
    ],
)  # fmt: skip
def test_an_alias_and_its_key_both_set_is_an_error_with_line_and_fix(
    tmp_path: Path, front: str, line: int, what: str, fix: str
) -> None:
    path = write(tmp_path, "bad.md", front)
    write(tmp_path, "good.md", "title: Good")

    result = load(tmp_path)
    (error,) = result.errors
    assert (error.path, error.line) == (path, line)
    assert what in error.message
    assert error.fix is not None
    assert fix in error.fix
    assert [p.slug for p in result.posts] == ["good"]


def test_post_files_are_what_rglob_gives_in_its_order(tmp_path: Path) -> None:
    """The listing is pathlib's ``sorted(rglob("*.md"))``: nested folders, hidden files, a folder
    named like a post, a name that sorts differently as text than as parts, a link to a folder
    (not followed), a name in upper case (not matched)."""
    from pipeline.loading import post_files

    for name in ("a.md", "a-b.md", ".hidden.md", "A.MD", "notes.txt", "a/b.md", "a/c/d.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "folder.md").mkdir()
    (tmp_path / "folder.md" / "inner.md").write_text("x", encoding="utf-8")
    (tmp_path / "linked").symlink_to(tmp_path / "a", target_is_directory=True)
    expected = sorted(tmp_path.rglob("*.md"))
    assert post_files(tmp_path) == expected
    assert tmp_path / "a" / "b.md" in expected
    assert tmp_path / "linked" / "b.md" not in expected
