"""What the bad-input corpus under ``tests/corpus/`` must produce: one row per expected error.

Each folder of the corpus is a tiny posts folder holding one kind of bad input next to posts that
are fine (``good.md`` at least): loading the folder must report exactly these errors, at these
lines, and still load every good post. ``test_posts`` checks it through the library, ``test_cli``
through ``pipeline check`` on all folders at once, and the bad-input drill
(``tests/test_corpus_drill.py``) through ``pipeline publish`` and ``pipeline run --once`` against a
real WordPress, with the config and credentials cases of ``SETTINGS_CASES`` as well.

(Loading here means what a publish loads: the announcement template is checked against each post,
see ``pipeline.workspace.announceable``.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.config import Settings, WordPressSettings, XSettings
from pipeline.core.posts import LoadResult
from pipeline.loading import load_posts
from pipeline.workspace import announceable

CORPUS = Path(__file__).parent / "corpus"
TIMEZONE = "America/New_York"


@dataclass(frozen=True)
class Expected:
    case: str  # the folder under tests/corpus
    file: str  # the post inside it
    line: int
    what: str  # a piece of the message naming what is wrong
    fix: str  # a piece of the fix


EXPECTED: tuple[Expected, ...] = (
    Expected("invalid_yaml", "bad.md", 3, "invalid YAML", "correct the YAML syntax"),
    Expected("invalid_yaml", "unclosed.md", 3, "invalid YAML", "correct the YAML syntax"),
    Expected("no_front_matter", "bad.md", 1, "no front matter", "start the file with ---"),
    Expected("no_front_matter", "unclosed.md", 1, "front matter is not closed", "line ---"),
    Expected("front_matter_not_mapping", "bad.md", 2, "not a mapping", "key: value"),
    Expected("no_title", "bad.md", 1, "no title", "add title:"),
    Expected("bad_date", "bad.md", 3, "'2026-02-30 09:00' is not a valid date", "2026-12-01 09:00"),
    Expected(
        "dst_gap", "bad.md", 4, "2026-03-08 02:30 does not exist in America/New_York", "09:00"
    ),
    Expected("duplicate_slug", "first.md", 2, "slug 'same-title' is also used by", "another slug"),
    Expected("duplicate_slug", "second.md", 3, "slug 'same-title' is also used by", "another slug"),
    Expected("duplicate_part", "part-2a.md", 4, "part 2 of series 'Dupes'", "once each"),
    Expected("duplicate_part", "part-2b.md", 4, "part 2 of series 'Dupes'", "once each"),
    Expected("part_without_series", "bad.md", 4, "'part' without 'series'", "add series:"),
    Expected("link_to_nowhere", "bad.md", 7, "post:no-such-post-anywhere", "slug of a post"),
    Expected("link_to_broken_post", "part-2.md", 4, "is not a valid date", "2026-12-01 09:00"),
    Expected("image_missing", "bad.md", 6, "'images/missing.png' does not exist", "check the path"),
    Expected(
        "image_missing", "featured.md", 3, "'images/nope.png' does not exist", "check the path"
    ),
    Expected("image_outside", "bad.md", 4, "'../../etc/passwd' points outside", "put the image"),
    Expected("image_outside", "featured.md", 3, "points outside the posts folder", "put the image"),
    Expected("not_utf8", "bad.md", 4, "not UTF-8", "save the file as UTF-8"),
    Expected("empty_file", "empty.md", 1, "empty", "add front matter"),
    Expected("empty_file", "blank.md", 1, "empty", "add front matter"),
    # Bad input that crashed, blocked the batch, or was taken silently (issue 10, item 1).
    Expected("year_9999", "bad.md", 3, "9999-12-31 23:00 is out of range", "2026-12-01 09:00"),
    Expected("year_0001", "bad.md", 3, "0001-01-01 09:00 is out of range", "2026-12-01 09:00"),
    Expected(
        "offset_overflow", "bad.md", 3, "9999-12-31 23:00 is out of range", "2026-12-01 09:00"
    ),
    Expected("bad_date_word", "bad.md", 3, "'soon' is not a valid date", "2026-12-01 09:00"),
    Expected(
        "publish_at_list", "bad.md", 3, "expected a date and time, got list", "2026-12-01 09:00"
    ),
    Expected(
        "duplicate_key", "bad.md", 3, "key 'title' is written twice (first on line 2)", "keep one"
    ),
    Expected("duplicate_nested_key", "bad.md", 3, "key 'a' is written twice", "keep one"),
    Expected("alias_bomb", "bad.md", 7, "expands to more than 10000 values", "aliases"),
    Expected("recursive_alias", "bad.md", 3, "a YAML alias refers to itself", "remove the alias"),
    Expected("deep_nesting", "bad.md", 3, "nested deeper than 20 levels", "flatten"),
    Expected("python_tag", "bad.md", 3, "could not determine a constructor", "correct the YAML"),
    Expected("empty_front_matter", "bad.md", 2, "not a mapping", "key: value"),
    Expected(
        "invalid_status", "bad.md", 3, "status: 'published' is not a status", "draft or ready"
    ),
    Expected("status_bool", "bad.md", 3, "status: True is not a status", "draft or ready"),
    Expected("bad_slug", "bad.md", 3, "'Not A Slug!' is not a valid slug", "lower-case"),
    Expected("part_zero", "bad.md", 4, "part: 0 is not a part number", "part: 1, 2, 3"),
    Expected("part_text", "bad.md", 4, "part: 'two' is not a part number", "part: 1, 2, 3"),
    Expected("title_list", "bad.md", 2, "title: must be text", "title: Your title"),
    Expected("series_list", "bad.md", 3, "series: must be text", "series: some text"),
    Expected(
        "categories_mapping", "bad.md", 3, "categories: must be a list of names", "[one, two]"
    ),
    Expected("excerpt_list", "bad.md", 3, "excerpt: must be text", "excerpt: some text"),
    Expected(
        "featured_not_path", "bad.md", 3, "featured_image: must be a path", "images/picture.jpg"
    ),
    Expected(
        "image_text_as_png",
        "bad.md",
        6,
        "'images/note.png' is not an image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "featured_text_as_png",
        "bad.md",
        3,
        "'images/cover.png' is not an image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "image_truncated", "bad.md", 4, "'images/cut.png' is not an image", "PNG, JPEG, GIF or WebP"
    ),
    Expected(
        "image_empty", "bad.md", 4, "'images/empty.png' is an empty file", "PNG, JPEG, GIF or WebP"
    ),
    Expected(
        "image_unsupported",
        "bad.md",
        4,
        "'images/old.ppm' is a PPM image",
        "PNG, JPEG, GIF or WebP",
    ),
    Expected(
        "image_is_folder", "bad.md", 4, "'images/folder.png' is a folder", "image file inside it"
    ),
    Expected(
        "image_encoded_outside", "bad.md", 4, "points outside the posts folder", "put the image"
    ),
    Expected(
        "announce_placeholder", "bad.md", 3, "unknown placeholder {titel}", "use only {title}"
    ),
    Expected("announce_brace", "bad.md", 3, "stray brace", "{{ and }}"),
    Expected("announce_too_long", "bad.md", 3, "323 weighted characters", "shorten the template"),
    Expected(
        "announce_not_text", "bad.md", 3, "announce: must be a template or false", "announce: false"
    ),
    Expected(
        "announce_series_too_long", "bad.md", 5, "332 weighted characters", "shorten the template"
    ),
)

# The posts of each folder that must load despite their bad neighbours.
GOOD: dict[str, frozenset[str]] = {
    case: frozenset({"good-neighbour-of-" + case.replace("_", "-")})
    for case in sorted({e.case for e in EXPECTED} | {"unknown_key"})
}
GOOD["duplicate_part"] = GOOD["duplicate_part"] | {"dupes-part-1"}
GOOD["link_to_broken_post"] = GOOD["link_to_broken_post"] | {"broken-neighbour-1"}
GOOD["unknown_key"] = GOOD["unknown_key"] | {"a-post-with-a-colour"}


def load_case(folder: Path) -> LoadResult:
    """A corpus folder loaded as a publish loads it: the posts, then their announcements."""
    settings = Settings(
        path=folder / "pipeline.toml",
        timezone=ZoneInfo(TIMEZONE),
        posts_dir=folder,
        state_dir=folder / ".pipeline",
        credentials_path=folder / "credentials.toml",
        wordpress=WordPressSettings(url="https://blog.example.com"),
        x=XSettings(),
    )
    return announceable(load_posts(folder, settings.timezone), settings)


def cases() -> list[str]:
    """Every folder of the corpus: a new folder must be added to the tables above."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.md")))
