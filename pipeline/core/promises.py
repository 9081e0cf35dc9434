"""Promises of a later link ("I'll link them here when I finish writing them"), found in a body.

Pure. Two kinds of warning, each with its line and the ``post:`` link that keeps the promise:

- a sentence that promises a link to come ("in an upcoming article", "Part 2 coming soon",
  "stay tuned for part 3", "next time", ...) and holds no ``post:`` link;
- the title of another part of the same series ("Stink Bomb", from "Fond Memories Part 2: Stink
  Bomb") written out without a ``post:`` link.

These are warnings with a fix, never errors: the writer may mean them as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from msgspec import Struct

from pipeline.core.memo import MEMO, digest, plain
from pipeline.core.posts import Post, SeriesPart, series_index

# Phrases that promise something later, English; matched case-insensitively on text whose curly
# apostrophes are straight. Each names what kind of promise it is, for the message.
_PROMISES = [
    r"\b(?:I'll|I will|I'm going to|I am going to|we'll|we will)\s+(?:\w+\s+){0,3}?"
    r"(?:link|add (?:a |the )?links?|update (?:this|the) (?:post|article|page)|post (?:a |the )?"
    r"links?)\b",
    r"\blinks?\s+(?:\w+\s+){0,2}?(?:to follow|coming|will be (?:added|posted|up)|to come)\b",
    r"\bwill be linked\b",
    r"\b(?:upcoming|future|later|next|follow-up|subsequent|forthcoming)\s+(?:article|post|part|"
    r"entry|entries|installment|instalment|piece|episode|review|write-up)s?\b",
    r"\bpart\s+(?:\d+|two|three|four|five|six|ii|iii|iv|v)\b[^.!?\n]{0,40}?\b(?:coming soon|"
    r"soon|to come|next week|next time|is on its way)\b",
    r"\bcoming soon\b",
    r"\bstay tuned\b",
    r"\bnext (?:time|week|month|part|post|article|installment|instalment|episode)\b",
    r"\bto be continued\b",
    r"\bwhen I (?:finish|get around to|have finished|publish|post)\b",
    r"\bonce (?:it's|it is|they're|they are|those are|that's|that is)\s+"
    r"(?:up|out|live|published|written|done|finished)\b",
]
_PROMISE = re.compile("|".join(f"(?:{p})" for p in _PROMISES), re.IGNORECASE)
_LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<href>[^)\s]*)[^)]*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]”’]*\s+")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_PART_PREFIX = re.compile(r"^(?P<series>.*?)[\s:,–—-]*\bpart\s+\w+\s*[:.–—-]\s*(?P<rest>.+)$", re.I)


class Promise(Struct, frozen=True):
    line: int
    message: str
    fix: str

    def render(self, path: Path | str) -> str:
        return f"{path}:{self.line}: {self.message} (fix: {self.fix})"


class _Sentence(Struct, frozen=True):
    text: str
    line: int


def find_promises(
    body: str, body_line: int, slug: str, parts: Sequence[SeriesPart] = ()
) -> list[Promise]:
    """Warnings for ``body`` (its first line is ``body_line`` of the file), a post whose slug is
    ``slug``; ``parts`` are all parts of its series, in order (this post among them)."""
    linked_slugs = {
        m["href"][5:].strip("/") for m in _LINK.finditer(body) if m["href"][:5] == "post:"
    }
    # A part linked anywhere in the post is not reported again for each mention of it.
    unlinked = [part for part in parts if part.slug != slug and part.slug not in linked_slugs]
    later = _later(parts, slug) or [part for part in parts if part.slug != slug]
    names = {part.slug: _names(part) for part in unlinked}  # once per post, not per sentence
    plain_body = body.replace("’", "'").replace("‘", "'")
    folded = plain_body.casefold()
    named = any(name in folded for found in names.values() for name, _ in found)
    if not named and _PROMISE.search(plain_body) is None:
        return []  # most posts promise nothing: one search instead of one per sentence
    found: list[Promise] = []
    for sentence in _sentences(body, body_line):
        plain = sentence.text.replace("’", "'").replace("‘", "'")
        linked = any(m["href"].startswith("post:") for m in _LINK.finditer(plain))
        mentions = list(_mentions(plain, unlinked, names))
        unlinked = [part for part in unlinked if part not in {p for p, _ in mentions}]
        for part, name in mentions:
            found.append(
                Promise(
                    sentence.line,
                    f"{name!r} is the title of another part of the series, without a link",
                    f"write [{name}](post:{part.slug})",
                )
            )
        promise = _PROMISE.search(_without_links(plain))
        if promise is not None and not linked and not mentions:
            found.append(
                Promise(
                    sentence.line,
                    f"{_quote(sentence.text)} promises a link to come",
                    _link_fix(later),
                )
            )
    return found


def promise_warnings(posts: Sequence[Post]) -> list[str]:
    """``FILE:LINE: ... (fix: ...)`` for every promise in these posts (for ``pipeline check``)."""
    series = series_index(posts)
    # A series's parts are part of each of its posts' key: made into text once per series.
    keys = {name: json.dumps(plain(parts)) for name, parts in series.items()}
    return [
        promise.render(post.path)
        for post in posts
        for promise in _remembered(
            post, series.get(post.series or "", ()), keys.get(post.series or "", "[]")
        )
    ]


PROMISES = "promises"  # the memo's namespace: a post's promises, by what they were found from


def _remembered(post: Post, parts: Sequence[SeriesPart], parts_key: str) -> list[Promise]:
    """:func:`find_promises`, remembered (:mod:`pipeline.core.memo`) by its arguments
    (``parts_key``: ``parts`` as JSON)."""
    key = digest(post.body, str(post.body_line), post.slug, parts_key)
    found = MEMO.remembered(
        PROMISES,
        key,
        lambda: [
            [p.line, p.message, p.fix]
            for p in find_promises(post.body, post.body_line, post.slug, parts)
        ],
    )
    return [Promise(line, message, fix) for line, message, fix in found]


def _later(parts: Sequence[SeriesPart], slug: str) -> list[SeriesPart]:
    slugs = [part.slug for part in parts]
    return list(parts[slugs.index(slug) + 1 :]) if slug in slugs else []


def _link_fix(parts: Sequence[SeriesPart]) -> str:
    if not parts:
        return "link the post once it exists: [its title](post:its-slug)"
    links = ", ".join(f"[{_short_title(part.title)}](post:{part.slug})" for part in parts)
    return f"link {'it' if len(parts) == 1 else 'them'} here: {links}"


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _short_title(title: str) -> str:
    """ "Fond Memories Part 2: Stink Bomb" -> "Stink Bomb"; other titles as they are."""
    match = _PART_PREFIX.match(title)
    return match["rest"].strip() if match else title


def _names(part: SeriesPart) -> list[tuple[str, re.Pattern[str]]]:
    """How a sentence may name a part: its full title, its own title after "Part N:"."""
    names = [part.title, _short_title(part.title)]
    chosen = sorted({name for name in names if len(name) >= 4}, key=len, reverse=True)
    return [
        (name.casefold(), re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE))
        for name in chosen
    ]


def _mentions(
    text: str,
    parts: Iterable[SeriesPart],
    names: Mapping[str, list[tuple[str, re.Pattern[str]]]],
) -> Iterator[tuple[SeriesPart, str]]:
    free = _without_links(text)
    folded = free.casefold()
    for part in parts:
        for name, pattern in names[part.slug]:
            # The plain search first: most sentences name no part at all.
            match = pattern.search(free) if name in folded else None
            if match is not None:
                yield part, match.group(0)
                break


def _without_links(text: str) -> str:
    """The text with every link blanked out, so that what is linked is not reported."""
    return _LINK.sub(lambda m: " " * len(m.group(0)), text)


def _sentences(body: str, body_line: int) -> Iterator[_Sentence]:
    """The sentences of the body's prose (not its code), each with the line it starts on."""
    for start, paragraph in _paragraphs(body.split("\n")):
        offsets = [0]
        for line_text in paragraph[:-1]:
            offsets.append(offsets[-1] + len(line_text) + 1)
        text = "\n".join(paragraph)
        position = 0
        for end in [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
            sentence = text[position:end]
            if sentence.strip():
                line = sum(1 for offset in offsets if offset <= position) - 1
                yield _Sentence(sentence.strip(), body_line + start + line)
            position = end


def _paragraphs(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    in_fence = False
    current: list[str] = []
    start = 0
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            line = ""
        if in_fence or not line.strip() or line.startswith(("    ", "\t", "<!--")):
            if current:
                yield start, current
            current = []
            continue
        if not current:
            start = index
        current.append(line)
    if current:
        yield start, current
