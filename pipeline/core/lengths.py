"""How long a post is, as each network counts it when the post is created.

Pure: no network, no state. ``length_function(counting, url_length)`` gives the measure for a
channel's ``Limits``, so composing can take a measure and a limit instead of X's alone:

* ``"x-weighted"``: X's weighted length (twitter-text: URLs 23, CJK and emoji 2).
* ``"graphemes"``: Bluesky's ``maxGraphemes`` (300) on ``app.bsky.feed.post`` text. Bluesky also
  caps the text at 3000 UTF-8 bytes (``maxLength``); ``utf8_length`` measures that.
* ``"mastodon"``: Mastodon's StatusLengthValidator: extended grapheme clusters, each URL (with a
  scheme) counted as ``characters_reserved_per_url``, and ``@user@domain`` counted as ``@user``.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

LengthFunction = Callable[[str], int]

BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_BYTES = 3000
MASTODON_URL_LENGTH = 23  # Mastodon's default characters_reserved_per_url

_GRAPHEME = regex.compile(r"\X")
# Mastodon's mention: a username, and optionally the domain, which does not count.
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", regex.IGNORECASE
)


def graphemes(text: str) -> int:
    """The number of extended grapheme clusters: what a reader sees as characters."""
    return len(_GRAPHEME.findall(text))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def x_weighted_length(text: str) -> int:
    from twitter_text import parse_tweet  # 0.27 s to import: only where X or Mastodon count

    return int(parse_tweet(text).weightedLength)


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """The length Mastodon checks against the instance's ``max_characters``."""
    return graphemes(_mastodon_countable(text, url_length))


def length_function(counting: str, url_length: int | None = None) -> LengthFunction:
    """The measure for ``Limits.counting``; ``url_length`` is Mastodon's per-URL charge."""
    if counting == "x-weighted":
        return x_weighted_length
    if counting == "graphemes":
        return graphemes
    if counting == "mastodon":
        per_url = MASTODON_URL_LENGTH if url_length is None else url_length
        return lambda text: mastodon_length(text, per_url)
    raise ValueError(f"unknown way of counting: {counting!r}")


def _mastodon_countable(text: str, url_length: int) -> str:
    """The text with each URL replaced by ``url_length`` characters and mentions shortened."""
    from twitter_text import extract_urls_with_indices  # Mastodon's Extractor is twitter-text

    entities = [
        (url["indices"][0], url["indices"][1], "x" * url_length)
        for url in extract_urls_with_indices(text, extract_urls_without_protocol=False)
    ]
    entities += [(m.start(), m.end(), "@" + m.group(1)) for m in _MENTION.finditer(text)]
    result: list[str] = []
    position = 0
    for start, end, replacement in sorted(entities):
        if start < position:  # overlaps an earlier entity (a mention inside a URL): keep the first
            continue
        result += [text[position:start], replacement]
        position = end
    result.append(text[position:])
    return "".join(result)
