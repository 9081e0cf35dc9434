"""Promises of a later link, and other parts named without one (issue 11.3)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.core.promises import find_promises, promise_warnings
from pipeline.core.render import SeriesPart
from pipeline.loading import load_posts

SERIES = (
    SeriesPart("fond-memories-part-1", "Fond Memories Part 1: Magnetic Rose", 1),
    SeriesPart("fond-memories-part-2", "Fond Memories Part 2: Stink Bomb", 2),
    SeriesPart("fond-memories-part-3", "Fond Memories Part 3: Cannon Fodder", 3),
)
# The seed post's closing paragraph, as the import writes it (curly apostrophes and all).
SEED = (
    "Memories was released by Columbia/Tristar/Sony on DVD in the U.S. in the early 2000s.\n"
    "\n"
    "Thanks for reading my piece on Magnetic Rose! I’ll be covering Stink Bomb and Cannon Fodder "
    "in upcoming articles soon so stay tuned for those! I’ll link them here when I finish writing "
    "them.\n"
    "\n"
    "If you check out Magnetic Rose or the other Memories shorts, let me know what you think!\n"
)


def test_the_seed_post_gets_a_link_fix_for_each_promise() -> None:
    promises = find_promises(SEED, 10, "fond-memories-part-1", SERIES)

    assert [(p.line, p.fix) for p in promises] == [
        (12, "write [Stink Bomb](post:fond-memories-part-2)"),
        (12, "write [Cannon Fodder](post:fond-memories-part-3)"),
        (
            12,
            "link them here: [Stink Bomb](post:fond-memories-part-2), "
            "[Cannon Fodder](post:fond-memories-part-3)",
        ),
    ]
    assert "'Stink Bomb' is the title of another part" in promises[0].message
    assert "I’ll link them here when I finish" in promises[2].message
    assert promises[2].render("posts/part-1.md").startswith("posts/part-1.md:12: ")


def test_kept_promises_are_quiet() -> None:
    kept = (
        "I’ll be covering [Stink Bomb](post:fond-memories-part-2) and "
        "[Cannon Fodder](post:fond-memories-part-3) in upcoming articles. I’ll link them here "
        "when I finish writing them: [part 2](post:fond-memories-part-2).\n"
        "\n"
        "Stink Bomb, again, is not reported: it is linked above.\n"
    )
    assert find_promises(kept, 1, "fond-memories-part-1", SERIES) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "I'll link them here when I finish writing them.",
        "More on this in an upcoming article.",
        "Part 2 coming soon!",
        "Part two is coming soon.",
        "I will add the links when they are published.",
        "Stay tuned for part 3.",
        "See you next time.",
        "Links to follow.",
        "To be continued...",
        "I'll update this post with a link once it's up.",
        "The rest will be covered in a future post.",
    ],
)
def test_the_kinds_of_promise(sentence: str) -> None:
    body = f"An opening line.\n\n{sentence}\n"
    (promise,) = find_promises(body, 5, "a-post")
    assert promise.line == 7
    assert "promises a link to come" in promise.message
    assert "(post:" in promise.fix


@pytest.mark.parametrize(
    "sentence",
    [
        "I linked it in the sidebar years ago.",
        "The next station was closed.",
        "Soon enough, it was over.",
    ],
)
def test_ordinary_sentences_are_not_promises(sentence: str) -> None:
    assert find_promises(sentence, 1, "a-post") == []


def test_code_is_not_read_for_promises() -> None:
    body = "Prose.\n\n```\n# I'll link them here\n```\n\n    next time, in an indented block\n"
    assert find_promises(body, 1, "a-post") == []


def test_a_later_part_mentions_an_earlier_one() -> None:
    body = "Last time we watched Magnetic Rose.\n"
    (promise,) = find_promises(body, 3, "fond-memories-part-2", SERIES)
    assert promise.fix == "write [Magnetic Rose](post:fond-memories-part-1)"
    assert promise.line == 3


def test_the_line_is_where_the_sentence_starts_in_a_wrapped_paragraph() -> None:
    body = "First sentence here.\nSecond one, wrapped\nover two lines, is promised for next time.\n"
    (promise,) = find_promises(body, 20, "a-post")
    assert promise.line == 21


def test_warnings_for_a_set_of_loaded_posts(tmp_path: Path) -> None:
    for part, title, body in [
        (1, "Fond Memories Part 1: Magnetic Rose", SEED),
        (2, "Fond Memories Part 2: Stink Bomb", "Back to [Magnetic Rose](post:part-1).\n"),
    ]:
        text = (
            f"---\ntitle: '{title}'\nslug: part-{part}\nseries: Fond Memories\npart: {part}\n---\n"
        )
        (tmp_path / f"part-{part}.md").write_text(text + body, encoding="utf-8")
    posts = load_posts(tmp_path, ZoneInfo("UTC")).posts

    warnings = promise_warnings(posts)
    assert warnings[0].startswith(f"{tmp_path / 'part-1.md'}:9: 'Stink Bomb' is the title")
    assert warnings[0].endswith("(fix: write [Stink Bomb](post:part-2))")
    assert len(warnings) == 2  # Part 3 does not exist: Cannon Fodder is no title of the series
