"""What a page shows, to compare an original post with its import: its text and its images.

Used by the round-trip tests (pure and against the real WordPress) and the library benchmark.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pipeline.core.posts import Post
from pipeline.core.render import Site, render

CORPUS = Path(__file__).parent / "import_corpus"

# Elements whose edges separate words (so "a</p><p>b" reads "a b", but "a<em>b</em>" reads "ab").
_BLOCK = re.compile(
    r"^(?:address|article|aside|blockquote|br|caption|dd|details|div|dl|dt|figcaption|figure|"
    r"footer|h[1-6]|header|hr|li|nav|ol|p|pre|section|summary|table|tbody|td|tfoot|th|thead|tr|"
    r"ul|video|audio|iframe|img|cite|button)$"
)
# The shortcodes WordPress replaces by what they hold (the caption, the code, the URL).
_WRAPPING_SHORTCODES = re.compile(
    r"\[/?(?:caption|wp_caption|code|sourcecode|embed)(?:\s[^\]]*)?\]", re.IGNORECASE
)


# The elements that carry meaning (paragraphs are left out: classic content has none until
# WordPress adds them), old and new names of the same thing counted as one.
_COUNTED = re.compile(
    r"^(?:strong|em|s|a|li|ul|ol|h[1-6]|blockquote|table|tr|th|td|img|sup|sub|u|mark|kbd|abbr|"
    r"span|cite|iframe|video|audio|details|summary|hr|script)$"
)
_SAME = {"b": "strong", "i": "em", "del": "s", "strike": "s"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.images: list[str] = []
        self.elements: Counter[str] = Counter()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if _BLOCK.match(tag):
            self.text.append(" ")
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        tag = _SAME.get(tag, tag)
        if _COUNTED.match(tag) or (tag == "code" and "pre" not in self.open):
            self.elements[tag] += 1
        if tag not in ("img", "br", "hr"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if _BLOCK.match(tag):
            self.text.append(" ")
        if _SAME.get(tag, tag) in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(_SAME.get(tag, tag)) :]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@dataclass(frozen=True)
class Seen:
    text: str  # the words, ASCII whitespace collapsed
    images: list[str]  # the sources of its images, in order
    elements: dict[str, int]  # how many of each element that means something


def seen(html: str) -> Seen:
    """What a page shows a reader."""
    page = _Page()
    page.feed(_WRAPPING_SHORTCODES.sub(" ", html))
    page.close()
    # Typographic spaces (no-break, thin) are kept: only ASCII whitespace is collapsed.
    text = " ".join(re.split(r"[ \t\n\r\f]+", "".join(page.text))).strip()
    return Seen(text, page.images, dict(page.elements))


def rendered(markdown: str) -> str:
    post = Post(
        path=Path("posts/imported.md"),
        title="Imported",
        slug="imported",
        body=markdown,
        body_line=1,
        source_hash="",
    )
    return render(post, Site()).html


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.html"))
