"""How Bluesky and Mastodon count a post's length, pure.

Bluesky's limit is 300 graphemes (and 3,000 UTF-8 bytes). Mastodon counts grapheme clusters too
(``StatusLengthValidator``: ``each_grapheme_cluster``), with every URL counted as the instance's
``characters_reserved_per_url`` (23 by default) and a remote mention ``@user@domain`` as ``@user``.
"""

from __future__ import annotations

import regex

# The same URL shape twitter-text and Mastodon recognise: a scheme, then no white space.
_URL = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
_REMOTE_MENTION = regex.compile(r"(?<![\w@])(@\w+)@[\w.-]+\w", regex.UNICODE)
_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    """User-perceived characters: a flag, a family emoji or e + accent count once."""
    return len(_GRAPHEME.findall(text))


def mastodon_length(text: str, url_length: int = 23) -> int:
    countable = _URL.sub("x" * url_length, text)
    countable = _REMOTE_MENTION.sub(r"\1", countable)
    return graphemes(countable)


def length_for(text: str, counting: str, url_length: int | None) -> int:
    if counting == "graphemes":
        return graphemes(text)
    if counting == "mastodon":
        return mastodon_length(text, url_length or 23)
    raise ValueError(f"unknown way of counting: {counting!r}")
