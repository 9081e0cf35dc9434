"""Pure length counting per network, and Bluesky's facets."""

from __future__ import annotations

import pytest

from pipeline.core.announce import Limits, measure
from pipeline.core.lengths import graphemes, length_for, mastodon_length, utf8_length
from pipeline.core.richtext import facets

FAMILY = "👨\u200d👩\u200d👧\u200d👦"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("abc", 3),
        ("e\u0301", 1),  # e and a combining accent: one character on screen
        (FAMILY, 1),
        ("🇯🇵🇫🇷", 2),  # two flags, each a pair of regional indicators
        ("👍🏽", 1),  # a skin tone modifier
        ("日本語", 3),
        ("\r\n", 1),
    ],
)
def test_graphemes_count_what_a_reader_sees(text: str, count: int) -> None:
    assert graphemes(text) == count


def test_utf8_length_is_bytes() -> None:
    assert utf8_length(FAMILY) == 25
    assert utf8_length("日本") == 6


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("https://example.com/" + "a" * 200, 23),
        ("see https://example.com/a and https://example.org/b", 4 + 23 + 5 + 23),
        ("example.com without a scheme", 28),  # Mastodon counts it as it is
        ("hi @alice@mastodon.social", 9),  # the domain of a mention is free
        ("mail me: bob@example.com", 24),  # not a mention
        (FAMILY + " https://example.com/", 1 + 1 + 23),
        ("日本語 https://example.com/path?q=1", 4 + 23),
    ],
)
def test_mastodon_length_counts_urls_and_mentions_as_mastodon_does(text: str, count: int) -> None:
    assert mastodon_length(text) == count


def test_mastodon_length_takes_the_instances_url_length() -> None:
    assert mastodon_length("https://example.com/", url_length=30) == 30


def test_length_for_follows_limits_counting() -> None:
    text = "日本 https://example.com/" + "a" * 50
    assert length_for(text, "graphemes", None) == graphemes(text) == len(text)
    assert length_for(text, "mastodon", 40) == 3 + 40
    assert length_for(text, "mastodon", None) == 3 + 23
    assert measure(text, Limits(300, "graphemes")) == len(text)
    assert measure(text, Limits(280)) == 4 + 1 + 23  # X's weighted length, in announce
    with pytest.raises(ValueError, match="unknown way of counting"):
        length_for(text, "characters", None)


def test_a_full_stop_after_a_url_counts_as_mastodon_counts_it() -> None:
    assert mastodon_length("read https://example.com/a.") == 5 + 23 + 1


def covered(text: str) -> list[tuple[str, str]]:
    data = text.encode()
    result = []
    for facet in facets(text):
        index, [feature] = facet["index"], facet["features"]
        value = feature.get("uri") or feature.get("tag")
        result.append((data[index["byteStart"] : index["byteEnd"]].decode(), value))
    return result


def test_facets_are_byte_ranges_over_links_and_tags() -> None:
    text = f"{FAMILY} 日本 https://blog.example.com/p2/ #思い出 #Part2"
    assert covered(text) == [
        ("https://blog.example.com/p2/", "https://blog.example.com/p2/"),
        ("#思い出", "思い出"),
        ("#Part2", "Part2"),
    ]
    [link, *_] = facets(text)
    assert link["index"]["byteStart"] == len(f"{FAMILY} 日本 ".encode())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Read https://a.example/x.", [("https://a.example/x", "https://a.example/x")]),
        ("(https://a.example/x)", [("https://a.example/x", "https://a.example/x")]),
        (
            "https://en.wikipedia.org/wiki/Bomb_(disambiguation)",
            [("https://en.wikipedia.org/wiki/Bomb_(disambiguation)",) * 2],
        ),
        ("#123 is not a tag, #tag! is", [("#tag", "tag")]),
        ("a#b is not a tag either", []),
        ("https://a.example/#anchor", [("https://a.example/#anchor",) * 2]),
        ("no scheme: blog.example.com", []),
        ("＃全角 tag", [("＃全角", "全角")]),
    ],
)
def test_facets_follow_the_official_clients_detection(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert covered(text) == expected


def test_a_tag_over_64_graphemes_is_not_a_facet() -> None:
    assert facets("#" + "a" * 65) == []
    assert covered("#" + "a" * 64) == [("#" + "a" * 64, "a" * 64)]
