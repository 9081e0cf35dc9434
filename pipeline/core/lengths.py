"""How Bluesky and Mastodon count a post's length, pure (X's weighted length is in announce).

Bluesky's limit is 300 graphemes (``maxGraphemes`` on ``app.bsky.feed.post`` text) and 3,000
UTF-8 bytes (``maxLength``). Mastodon counts grapheme clusters too (``StatusLengthValidator``:
``each_grapheme_cluster`` of spoiler text and text), with every URL that its extractor finds
(twitter-text's, with a scheme) counted as the instance's ``characters_reserved_per_url`` (23 by
default) and a remote mention ``@user@domain`` as ``@user``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from pipeline.core.twittertext import twitter_text

if TYPE_CHECKING:
    import regex

MASTODON_URL_LENGTH = 23  # Mastodon's default characters_reserved_per_url
BLUESKY_MAX_GRAPHEMES = 300
BLUESKY_MAX_BYTES = 3000


@functools.cache
def _patterns() -> tuple[regex.Pattern[str], regex.Pattern[str]]:
    """Graphemes, and Mastodon's mention: a username, and optionally the domain, which does not
    count. Compiled on first use: the settings need this module's limits, not its patterns."""
    import regex

    mention = r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?"
    return regex.compile(r"\X"), regex.compile(mention, regex.IGNORECASE)


def graphemes(text: str) -> int:
    """User-perceived characters: a flag, a family emoji or e + accent count once."""
    return len(_patterns()[0].findall(text))


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """The length Mastodon checks against the instance's ``max_characters``."""
    return graphemes(_mastodon_countable(text, url_length))


def length_for(text: str, counting: str, url_length: int | None) -> int:
    if counting == "graphemes":
        return graphemes(text)
    if counting == "mastodon":
        return mastodon_length(text, MASTODON_URL_LENGTH if url_length is None else url_length)
    raise ValueError(f"unknown way of counting: {counting!r}")


def _mastodon_countable(text: str, url_length: int) -> str:
    """The text with each URL replaced by ``url_length`` characters and mentions shortened.

    URLs are found as Mastodon finds them (its Extractor is twitter-text's): a URL ends before
    trailing punctuation, so "read https://example.com/." counts the full stop.
    """
    found = twitter_text().extract_urls_with_indices(text, extract_urls_without_protocol=False)
    entities = [(url["indices"][0], url["indices"][1], "x" * url_length) for url in found]
    entities += [(m.start(), m.end(), "@" + m.group(1)) for m in _patterns()[1].finditer(text)]
    result: list[str] = []
    position = 0
    for start, end, replacement in sorted(entities):
        if start < position:  # overlaps an earlier entity (a mention inside a URL): keep the first
            continue
        result += [text[position:start], replacement]
        position = end
    result.append(text[position:])
    return "".join(result)
