"""An announcement: a template filled in and fitted to one network's limits.

Pure: no network, no state. Length is counted the way the network counts it — X's weighted
length (URLs count 23, CJK and emoji 2), Bluesky's graphemes, Mastodon's characters with each
URL as the instance's reserved length — never ``len()``, so what fits here is what it accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from string import Formatter

from msgspec import Struct

from pipeline.core.twittertext import twitter_text
from pipeline.errors import InputError

MAX_LENGTH = 280
ELLIPSIS = "…"
PLACEHOLDERS = ("title", "url", "excerpt", "series", "part", "hashtags")
# What gives way when the text is too long, in this order. The URL and the template's own
# words never do: they are what the writer chose to say.
SHORTEN_ORDER = ("excerpt", "hashtags", "title")
# A cut this close to a word boundary moves back to it, so words are not chopped.
WORD_SLACK = 15
# Longer titles and excerpts are clipped before measuring: they could only fit if made mostly of
# URLs, and twitter-text's URL scan grows quadratically with text length (badly so for CJK).
CLIP = 600

_FIX_PLACEHOLDER = (
    "use only "
    + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    + "; write {{ and }} for a literal brace"
)

# (literal text, placeholder name or None) pairs, in template order.
Parts = list[tuple[str, str | None]]


class Limits(Struct, frozen=True):
    """How long a post on a network may be, and how that network counts."""

    max_length: int
    counting: str = "x-weighted"  # "x-weighted" | "graphemes" | "mastodon"
    url_length: int | None = None  # Mastodon: characters_reserved_per_url
    network: str = "X"  # for messages


X_LIMITS = Limits(MAX_LENGTH)


class Announcement(Struct, frozen=True):
    """A composed announcement: its text and its length as the network counts it."""

    text: str
    length: int  # as the network counts it
    limit: int = MAX_LENGTH

    @property
    def fits(self) -> bool:
        return self.length <= self.limit


class AnnouncementTooLong(InputError):
    """Even with the title and excerpt left out, the template does not fit in a post."""

    def __init__(self, length: int, limits: Limits = X_LIMITS) -> None:
        self.length = length
        self.limits = limits
        super().__init__(
            f"the announcement is {length} characters (as {limits.network} counts them) even "
            f"with the title and excerpt left out; {limits.network} allows {limits.max_length}",
            fix="shorten the template (the channel's template in pipeline.toml, or the post's "
            "announce)",
        )


def measure(text: str, limits: Limits) -> int:
    """``text``'s length as the network of ``limits`` counts it."""
    if limits.counting == "x-weighted":
        return weighted_length(text)
    from pipeline.core.lengths import length_for  # graphemes, Mastodon's URL rule

    return length_for(text, limits.counting, limits.url_length)


def weighted_length(text: str) -> int:
    """X's weighted length of ``text``, as X counts it when the post is created."""
    # Loaded here: twitter_text takes 0.3 s to import, and reading a config checks a
    # template's placeholders (check_placeholders) without measuring anything.
    return int(twitter_text().parse_tweet(text).weightedLength)


def check_placeholders(template: str) -> None:
    """Raise InputError if the template has an unknown placeholder or a stray brace."""
    _parse(template)


def check_template(
    template: str,
    limits: Limits = X_LIMITS,
    url: str = "https://example.com/",
    *,
    series: str | None = None,
    part: int | None = None,
) -> None:
    """Raise InputError if the template has an unknown placeholder or a stray brace, or
    AnnouncementTooLong if its own text and a link leave no room (titles can be cut, it cannot).

    On X and Mastodon any link counts the same (23); Bluesky counts it whole, so give ``url``,
    the permalink the post will have. With ``series`` and ``part``, for one post: they are never
    cut either, so what passes then always composes, whatever the title, excerpt and tags.
    """
    parts = _parse(template)
    values = dict.fromkeys(PLACEHOLDERS, "")
    values["url"] = url
    values["series"] = _clean(series or "")
    values["part"] = "" if part is None else str(part)
    text = _render(parts, values)
    if _surely_fits(text, limits):
        return
    if measure(text, limits) > limits.max_length:
        raise AnnouncementTooLong(measure(text, limits), limits)


def _surely_fits(text: str, limits: Limits) -> bool:
    """True when ``text`` fits without measuring it: no character counts more than 2 on any
    network, and a URL (each has a dot) at most 23 whatever its length."""
    url = max(23, limits.url_length or 0)
    return 2 * len(text) + url * text.count(".") <= limits.max_length


def compose(
    template: str,
    *,
    title: str,
    url: str,
    excerpt: str | None,
    series: str | None,
    part: int | None,
    tags: Sequence[str],
    limits: Limits = X_LIMITS,
) -> Announcement:
    """The announcement text, shortened (excerpt, then hashtags, then title) to fit."""
    parts = _parse(template)
    values = {
        "title": _clip(_clean(title)),
        "url": url.strip(),
        "excerpt": _clip(_clean(excerpt or "")),
        "series": _clean(series or ""),
        "part": "" if part is None else str(part),
        "hashtags": hashtags(tags),
    }
    return _fit(parts, values, limits)


def hashtags(tags: Sequence[str]) -> str:
    """``#Tag`` for each tag: non-word characters dropped, multi-word tags in CamelCase."""
    seen: set[str] = set()
    result = []
    for tag in tags:
        tag_text = _hashtag(tag)
        if tag_text and tag_text.casefold() not in seen:
            seen.add(tag_text.casefold())
            result.append(tag_text)
    return " ".join(result)


def _hashtag(tag: str) -> str:
    words = [w for w in re.split(r"\W+", unicodedata.normalize("NFC", tag)) if w]
    if len(words) > 1:
        words = [w[0].upper() + w[1:] for w in words]
    body = "".join(words)
    # X does not link a hashtag made only of digits or underscores.
    if not any(ch.isalpha() for ch in body):
        return ""
    return "#" + body


def _clean(text: str) -> str:
    # Front matter excerpts are often folded over lines; a post reads better on one line.
    return " ".join(unicodedata.normalize("NFC", text).split())


def _clip(text: str) -> str:
    if len(text) <= CLIP:
        return text
    cut = max(i for i in _cut_points(text[: CLIP + 1]) if i <= CLIP)
    return _ellipsize(text, cut)


def _parse(template: str) -> Parts:
    try:
        pieces = list(Formatter().parse(template))
    except ValueError as exc:
        raise InputError(
            f"the announcement template has a stray brace ({exc})", fix=_FIX_PLACEHOLDER
        ) from exc
    parts: Parts = []
    for literal, name, spec, conversion in pieces:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            written = "{" + name + (f"!{conversion}" if conversion else "")
            written += (f":{spec}" if spec else "") + "}"
            raise InputError(
                f"unknown placeholder {written} in the announcement template", fix=_FIX_PLACEHOLDER
            )
        parts.append((literal, name))
    return parts


def _render(parts: Parts, values: Mapping[str, str]) -> str:
    # Values are inserted as they are, never parsed again: a "{url}" in a title stays text.
    text = "".join(literal + (values[name] if name else "") for literal, name in parts)
    return unicodedata.normalize("NFC", text).strip()


def _fit(parts: Parts, values: dict[str, str], limits: Limits) -> Announcement:
    whole = _measured(_render(parts, values), limits)
    if whole.fits:
        return whole
    used = {name for _, name in parts if name}
    for key in SHORTEN_ORDER:
        if key in used and values[key]:
            fitted = _shorten(parts, values, key, limits)
            if fitted is not None:
                return fitted
            values = {**values, key: ""}
    raise AnnouncementTooLong(measure(_render(parts, values), limits), limits)


def _measured(text: str, limits: Limits) -> Announcement:
    return Announcement(text, measure(text, limits), limits.max_length)


def _shorten(parts: Parts, values: dict[str, str], key: str, limits: Limits) -> Announcement | None:
    """The announcement with ``values[key]`` cut to the longest prefix that fits, if any."""
    value = values[key]

    def render(candidate: str) -> Announcement:
        return _measured(_render(parts, {**values, key: candidate}), limits)

    if key == "hashtags":
        # Whole tags are dropped from the end; half a hashtag is a different hashtag.
        tags = value.split(" ")
        found = _longest_fitting(len(tags), lambda n: render(" ".join(tags[:n])))
        return found[1] if found else None
    cuts = _cut_points(value)[:-1]  # the whole value is known not to fit
    found = _longest_fitting(len(cuts), lambda n: render(_ellipsize(value, cuts[n])))
    if found is None:
        return None
    return _at_word_boundary(value, cuts[found[0]], found[1], render)


def _longest_fitting(
    count: int, attempt: Callable[[int], Announcement]
) -> tuple[int, Announcement] | None:
    """The longest of options 0..count-1 (each longer than the last) that fits, if any.

    Gallops up from the shortest, then bisects: the texts measured stay near the answer's size,
    which keeps twitter-text fast.
    """
    if count == 0:
        return None
    best = (0, attempt(0))
    if not best[1].fits:
        return None
    low, high, step = 0, count - 1, 1  # invariant: option ``low`` fits, and ``best`` is it
    while low + step <= high:
        candidate = attempt(low + step)
        if not candidate.fits:
            high = low + step - 1
            break
        low, best, step = low + step, (low + step, candidate), step * 2
    while low < high:
        middle = (low + high + 1) // 2
        candidate = attempt(middle)
        if candidate.fits:
            low, best = middle, (middle, candidate)
        else:
            high = middle - 1
    return best


def _at_word_boundary(
    value: str, cut: int, best: Announcement, render: Callable[[str], Announcement]
) -> Announcement:
    """Move a cut that fell inside a word back to the word's start, when that is close."""
    if cut == 0 or value[cut - 1].isspace() or value[cut].isspace():
        return best
    space = max(value.rfind(" ", 0, cut), value.rfind("\u3000", 0, cut))
    if space <= 0 or cut - space > WORD_SLACK:
        return best
    candidate = render(_ellipsize(value, space))
    return candidate if candidate.fits else best


def _ellipsize(value: str, cut: int) -> str:
    kept = value[:cut].rstrip()
    return kept + ELLIPSIS if kept else ""


def _cut_points(text: str) -> list[int]:
    """Indexes where ``text`` can be cut without splitting a character from its marks."""
    return [i for i in range(len(text) + 1) if i in (0, len(text)) or _starts_cluster(text, i)]


_JOINERS = {"\u200d", "\ufe0e", "\ufe0f", "\u20e3"}  # ZWJ, variation selectors, keycap


def _starts_cluster(text: str, index: int) -> bool:
    char, previous = text[index], text[index - 1]
    code = ord(char)
    if char in _JOINERS or previous == "\u200d" or unicodedata.combining(char):
        return False
    if unicodedata.category(char) in ("Mc", "Me", "Cs"):
        return False
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:  # skin tones, flag tags
        return False
    return not (_is_regional(char) and _regional_run(text, index) % 2 == 1)


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _regional_run(text: str, index: int) -> int:
    """How many regional indicators come right before ``index`` (flags are pairs of them)."""
    run = 0
    while index - run - 1 >= 0 and _is_regional(text[index - run - 1]):
        run += 1
    return run
