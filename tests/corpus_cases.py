"""What the bad-input corpus under ``tests/corpus/`` must produce: one row per expected error.

Each folder of the corpus is a tiny posts folder holding one kind of bad input next to posts that
are fine (``good.md`` at least): loading the folder must report exactly these errors, at these
lines, and still load every good post. ``test_posts`` checks it through the library, ``test_cli``
through ``pipeline check`` on all folders at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
    Expected("alias_conflict", "bad.md", 3, "both 'excerpt' and 'description'", "keep one of"),
)

# The posts of each folder that must load despite their bad neighbours.
GOOD: dict[str, frozenset[str]] = {
    case: frozenset({"good-neighbour-of-" + case.replace("_", "-")})
    for case in sorted({e.case for e in EXPECTED} | {"unknown_key"})
}
GOOD["duplicate_part"] = GOOD["duplicate_part"] | {"dupes-part-1"}
GOOD["link_to_broken_post"] = GOOD["link_to_broken_post"] | {"broken-neighbour-1"}
GOOD["unknown_key"] = GOOD["unknown_key"] | {"a-post-with-a-colour"}


def cases() -> list[str]:
    """Every folder of the corpus: a new folder must be added to the tables above."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and any(p.glob("*.md")))
