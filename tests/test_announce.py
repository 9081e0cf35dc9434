"""The announcement text: template filling and fitting into X's weighted 280 characters."""

from __future__ import annotations

import time
import unicodedata

import pytest

from pipeline.core.announce import (
    ELLIPSIS,
    MAX_LENGTH,
    Announcement,
    AnnouncementTooLong,
    check_template,
    compose,
    hashtags,
    weighted_length,
)
from pipeline.errors import InputError

URL = "https://blog.example.com/2026/12/01/fond-memories-part-2/"
LONG_URL = "https://blog.example.com/" + "very-long-path-segment/" * 20


def announce(template: str = "New on the blog: {title} {url}", **overrides: object) -> Announcement:
    values: dict[str, object] = {
        "title": "Fond Memories, Part 2",
        "url": URL,
        "excerpt": None,
        "series": None,
        "part": None,
        "tags": (),
    }
    values.update(overrides)
    return compose(template, **values)  # type: ignore[arg-type]


def test_fills_every_placeholder() -> None:
    result = announce(
        "{series} part {part}: {title} {url}\n{excerpt} {hashtags}",
        series="Fond Memories",
        part=2,
        excerpt="The stink bomb.",
        tags=["python", "summer camp"],
    )
    assert result.text == (
        f"Fond Memories part 2: Fond Memories, Part 2 {URL}\nThe stink bomb. #python #SummerCamp"
    )
    assert result.length == weighted_length(result.text)


def test_missing_optional_values_leave_no_placeholder_behind() -> None:
    result = announce("{title}{series}{part}{excerpt}{hashtags} {url}")
    assert result.text == f"Fond Memories, Part 2 {URL}"


def test_values_are_not_parsed_as_templates() -> None:
    assert announce(title="Braces {url} and {{x}}").text == (
        f"New on the blog: Braces {{url}} and {{{{x}}}} {URL}"
    )


def test_literal_braces_are_written_doubled() -> None:
    assert announce("{{new}} {title} {url}").text == f"{{new}} Fond Memories, Part 2 {URL}"


def test_text_is_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Café crème")
    result = announce(title=decomposed)
    assert "Café crème" in result.text
    assert unicodedata.is_normalized("NFC", result.text)


def test_excerpt_folded_over_lines_becomes_one_line() -> None:
    assert announce("{excerpt}", excerpt="one\n  two\tthree").text == "one two three"


def test_hashtags_drop_punctuation_skip_empty_and_repeats() -> None:
    assert hashtags(["C++", "machine learning", "", "!!", "2024", "python", "Python"]) == (
        "#C #MachineLearning #python"
    )


def test_url_counts_23_whatever_its_length() -> None:
    short = announce(url="https://a.example.com/x")
    long = announce(url=LONG_URL)
    assert short.length == long.length
    assert long.length < len(long.text)


@pytest.mark.parametrize(("char", "weight"), [("a", 1), ("界", 2), ("😀", 2), ("👨‍👩‍👧", 2)])
def test_weighted_length_counts_as_x_does(char: str, weight: int) -> None:
    assert weighted_length(char * 10) == 10 * weight


def test_fitting_text_is_left_alone() -> None:
    title = "a" * (MAX_LENGTH - weighted_length(f"New on the blog:  {URL}"))
    result = announce(title=title)
    assert result.length == MAX_LENGTH
    assert ELLIPSIS not in result.text


def test_long_excerpt_is_shortened_first_and_title_kept() -> None:
    result = announce("{title} {url} {excerpt}", title="A Title", excerpt="word " * 200)
    assert result.text.startswith(f"A Title {URL} word")
    assert result.text.endswith(ELLIPSIS)
    assert MAX_LENGTH - 15 <= result.length <= MAX_LENGTH


def test_excerpt_is_cut_at_a_word_boundary_when_close() -> None:
    result = announce("{url} {excerpt}", excerpt="abcdefgh " * 60)
    assert result.text.endswith("abcdefgh" + ELLIPSIS)


def test_long_ascii_title_is_shortened_with_ellipsis_and_url_intact() -> None:
    result = announce(title="x" * 400)
    room = MAX_LENGTH - weighted_length(f"New on the blog: {ELLIPSIS} {URL}")
    assert result.text == f"New on the blog: {'x' * room}{ELLIPSIS} {URL}"
    assert result.length == MAX_LENGTH


def test_the_ellipsis_weighs_two_as_x_counts_it() -> None:
    assert weighted_length(ELLIPSIS) == 2


def test_long_cjk_title_counts_two_per_character() -> None:
    result = announce(title="思い出" * 100)
    assert result.length <= MAX_LENGTH
    assert result.length >= MAX_LENGTH - 1  # a CJK character weighs 2, so one may be left over
    assert result.text.endswith(f"{ELLIPSIS} {URL}")


def test_emoji_sequences_are_never_split() -> None:
    family, flag, thumbs = "👨‍👩‍👧", "🇫🇷", "👍🏽"
    result = announce("{title} {url}", title=(family + flag + thumbs + "é") * 60)
    kept = result.text.removesuffix(f"{ELLIPSIS} {URL}")
    assert result.length <= MAX_LENGTH
    assert kept.replace(family, "").replace(flag, "").replace(thumbs, "").replace("é", "") == ""


def test_combining_marks_stay_with_their_letter() -> None:
    # "q̃" has no precomposed form, so NFC keeps the mark as a separate code point.
    result = announce("{title} {url}", title="q\u0303" * 400)
    kept = result.text.removesuffix(f"{ELLIPSIS} {URL}")
    assert kept == "q\u0303" * (len(kept) // 2)


def test_long_url_counts_23_so_the_title_gets_the_room() -> None:
    result = announce(title="t" * 400, url=LONG_URL)
    assert LONG_URL in result.text
    assert result.length == MAX_LENGTH


def test_hashtags_go_before_the_title_is_cut() -> None:
    tags = [f"tag{n}" for n in range(60)]
    result = announce("{title} {url} {hashtags}", title="A title that matters", tags=tags)
    assert "A title that matters" in result.text
    assert "#tag0" in result.text
    assert "#tag59" not in result.text
    assert result.length <= MAX_LENGTH


def test_title_shortened_only_after_excerpt_is_gone() -> None:
    result = announce("{title} {url} {excerpt}", title="T" * 300, excerpt="an excerpt")
    assert "an excerpt" not in result.text
    assert result.text.endswith(f"{ELLIPSIS} {URL}")
    assert result.length <= MAX_LENGTH


def test_template_too_long_even_without_title_and_excerpt() -> None:
    template = "x" * 270 + " {title} {url} {excerpt}"
    with pytest.raises(AnnouncementTooLong) as caught:
        announce(template, excerpt="some excerpt")
    assert caught.value.length == 270 + 2 + 23  # two spaces where the title and excerpt were
    assert isinstance(caught.value, InputError)
    assert "shorten the template" in str(caught.value)


@pytest.mark.parametrize(
    "template", ["{title} {link}", "{title!r} {url}", "{title:>9} {url}", "{} {url}", "{0} {url}"]
)
def test_unknown_placeholder_names_it_and_the_fix(template: str) -> None:
    with pytest.raises(InputError) as caught:
        check_template(template)
    placeholder = "{" + template.split("{", 1)[1].split("}", 1)[0] + "}"
    assert placeholder in str(caught.value)
    assert "{title}, {url}" in str(caught.value)


def test_stray_brace_is_an_input_error() -> None:
    with pytest.raises(InputError, match="stray brace"):
        check_template("New } {title")


def test_compose_rejects_unknown_placeholder_too() -> None:
    with pytest.raises(InputError, match="unknown placeholder"):
        announce("{title} {permalink}")


def test_shortening_is_fast() -> None:
    started = time.perf_counter()
    result = announce("{excerpt} {title} {url}", title="word " * 500, excerpt="文字" * 5000)
    assert result.length <= MAX_LENGTH
    assert "文字" not in result.text  # the excerpt gave way first, then the title
    assert result.text.startswith("word word")
    assert result.text.endswith(f"{ELLIPSIS} {URL}")
    assert time.perf_counter() - started < 1.0


def test_check_template_refuses_a_template_with_no_room_left() -> None:
    check_template("x" * 255 + " {title} {url}")  # 255 + 2 spaces + 23 = 280: just fits
    with pytest.raises(AnnouncementTooLong) as caught:
        check_template("x" * 256 + " {title} {url}")
    assert caught.value.length == 281
