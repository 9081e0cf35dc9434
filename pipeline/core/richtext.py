"""Bluesky rich text: the links and hashtags in a post's text, as ``app.bsky.richtext.facet``s.

Pure. Bluesky shows only what the facets say: a URL in the text without a link facet is plain
text. Facet ranges are UTF-8 byte offsets into the text (the lexicon's ``byteSlice``), not Python
string indexes. Detection follows the official client's ``detectFacets`` (links with a scheme,
trailing punctuation left out; hashtags up to 64 graphemes). Bare domains and mentions are not
linked: the announcement's link always has a scheme, and a mention needs its DID resolved.
"""

from __future__ import annotations

from typing import Any

import regex

from pipeline.core.lengths import graphemes

Facet = dict[str, Any]

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"
MAX_TAG_GRAPHEMES = 64

_URL = regex.compile(r"(?:^|(?<=[\s(]))(https?://\S+)", regex.IGNORECASE)
_INVISIBLE = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(
    rf"(?:^|(?<=\s))[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)"
)
_TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")


def facets(text: str) -> list[Facet]:
    """The link and hashtag facets of ``text``, in text order."""
    found = [*_links(text), *_tags(text)]
    return [facet for _, facet in sorted(found, key=lambda pair: pair[0])]


def byte_slice(text: str, start: int, end: int) -> dict[str, int]:
    """The lexicon's byteSlice for the characters ``text[start:end]``."""
    byte_start = len(text[:start].encode("utf-8"))
    return {"byteStart": byte_start, "byteEnd": byte_start + len(text[start:end].encode("utf-8"))}


def _links(text: str) -> list[tuple[int, Facet]]:
    result = []
    for match in _URL.finditer(text):
        uri, start = match.group(1), match.start(1)
        if uri[-1] in ".,;:!?":
            uri = uri[:-1]
        if uri.endswith(")") and "(" not in uri:
            uri = uri[:-1]
        index = byte_slice(text, start, start + len(uri))
        result.append((start, {"index": index, "features": [{"$type": LINK, "uri": uri}]}))
    return result


def _tags(text: str) -> list[tuple[int, Facet]]:
    result = []
    for match in _TAG.finditer(text):
        tag = _TRAILING_PUNCTUATION.sub("", match.group(1).strip())
        if not tag or graphemes(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = match.start()
        index = byte_slice(text, start, start + 1 + len(tag))
        result.append((start, {"index": index, "features": [{"$type": TAG, "tag": tag}]}))
    return result
