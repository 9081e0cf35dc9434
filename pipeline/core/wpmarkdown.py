"""WordPress post content (as stored: classic HTML or block-editor markup) to our Markdown.

Pure: text in, text out. The result, rendered by :func:`pipeline.render.render`, shows the same
text and the same images as WordPress showed for the original. What Markdown cannot say (an
aligned image, a gallery, a table with merged cells, a link that opens a new tab, a layout block)
is kept as raw HTML, block comments and all, so nothing is ever dropped.

How: the content is split into its top-level blocks (classic content is one freeform block, made
into paragraphs as WordPress's ``wpautop`` would). Blocks whose HTML Markdown can say are parsed
(BeautifulSoup); the elements only we know how to write (figures, images, code with its language)
and the ones to keep verbatim are swapped for placeholder words; ``markdownify`` converts the rest
of the same parsed tree; then the placeholders are put back, indented to sit inside lists and
quotes. Why markdownify rather than html-to-markdown: docs/import.md.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bs4 import BeautifulSoup, Comment, Tag
from bs4.element import AttributeValueList, NavigableString
from bs4.formatter import HTMLFormatter
from markdownify import MarkdownConverter
from msgspec import Struct, field

# --- top-level blocks -----------------------------------------------------------------------

# The block delimiter grammar of WordPress's block parser (wp-includes/class-wp-block-parser.php).
_DELIMITER = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<namespace>[a-z][a-z0-9_-]*/)?(?P<name>[a-z][a-z0-9_-]*)"
    r"\s+(?P<attrs>\{(?:(?!\}\s+/?-->).)*?\}\s+)?(?P<void>/)?-->",
    re.DOTALL,
)


class Block(Struct, frozen=True):
    """One top-level block: its name (``None`` for classic content), attributes and source."""

    name: str | None
    attrs: dict[str, Any]
    source: str  # the whole block, delimiters included
    inner: str  # between the delimiters (inner blocks' delimiters included)
    inner_names: frozenset[str] = field(default_factory=frozenset)


def split_blocks(content: str) -> list[Block]:
    """The top-level blocks of ``content``; text between blocks is a classic (freeform) block."""
    blocks: list[Block] = []
    stack: list[tuple[re.Match[str], set[str]]] = []
    position = 0
    for match in _DELIMITER.finditer(content):
        name = (match["namespace"] or "core/") + match["name"]
        if not stack and match.start() > position:
            _freeform(blocks, content[position : match.start()])
        if match["closer"]:
            if not stack:  # a closer without an opener: WordPress treats it as text too
                continue
            opener, names = stack.pop()
            if stack:
                stack[-1][1].update(names | {name})
            else:
                blocks.append(_block(content, opener, match, names))
                position = match.end()
        elif match["void"]:
            if stack:
                stack[-1][1].add(name)
            else:
                blocks.append(_block(content, match, match, set()))
                position = match.end()
        else:
            stack.append((match, set()))
    if stack:  # unclosed: WordPress would close it at the end; keep everything from there raw
        opener, names = stack[0]
        blocks.append(Block(None, {}, content[opener.start() :], "", frozenset({"unclosed"})))
    elif position < len(content):
        _freeform(blocks, content[position:])
    return blocks


def _block(content: str, opener: re.Match[str], closer: re.Match[str], names: set[str]) -> Block:
    name = (opener["namespace"] or "core/") + opener["name"]
    try:
        attrs = json.loads(opener["attrs"]) if opener["attrs"] else {}
    except ValueError:
        attrs = {"": "unreadable attributes"}  # never convertible: kept raw
    inner = content[opener.end() : closer.start()] if closer is not opener else ""
    source = content[opener.start() : closer.end()]
    return Block(name, attrs if isinstance(attrs, dict) else {}, source, inner, frozenset(names))


def _freeform(blocks: list[Block], text: str) -> None:
    if text.strip():
        blocks.append(Block(None, {}, text, text))


# --- classic content: shortcodes and paragraphs --------------------------------------------------

_ALL_BLOCKS = (
    r"(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre|form|map"
    r"|area|blockquote|address|math|style|p|h[1-6]|hr|fieldset|legend|section|article|aside"
    r"|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)


def autop(text: str) -> str:
    """Paragraphs as WordPress's ``wpautop`` makes them (a port of its main steps): blank lines
    part them, a newline inside one is a ``<br />``, block-level tags stand alone, ``<pre>`` and
    comments are left as they are."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"<pre wp-pre-tag-{len(kept) - 1}></pre>"

    text = text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    text = re.sub(r"<pre[\s>].*?</pre>|<!--.*?-->", keep, text, flags=re.S | re.I)
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text, flags=re.I)
    text = re.sub(rf"(<{_ALL_BLOCKS}[\s/>])", r"\n\n\1", text, flags=re.I)
    text = re.sub(rf"(</{_ALL_BLOCKS}>)", r"\1\n\n", text, flags=re.I)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text, flags=re.I)
    # A newline inside a tag (between attributes) is no line break.
    text = re.sub(r"<[^>]*>", lambda m: m.group(0).replace("\n", " "), text)
    text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text, flags=re.I)
    text = re.sub(r"</figcaption>\s*", "</figcaption>", text, flags=re.I)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    text = "".join(f"<p>{p.strip(chr(10))}</p>\n" for p in paragraphs)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(rf"<p>\s*(</?{_ALL_BLOCKS}[^>]*>)\s*</p>", r"\1", text, flags=re.I)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.I)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(rf"<p>\s*(</?{_ALL_BLOCKS}[^>]*>)", r"\1", text, flags=re.I)
    text = re.sub(rf"(</?{_ALL_BLOCKS}[^>]*>)\s*</p>", r"\1", text, flags=re.I)
    text = re.sub(r"<br\s*/?>", "<br />", text, flags=re.I)
    text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
    text = re.sub(rf"(</?{_ALL_BLOCKS}[^>]*>)\s*<br />", r"\1", text, flags=re.I)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = re.sub(r"<p>(<pre wp-pre-tag-\d+></pre>)</p>", r"\1", text)
    text = re.sub(r"(<pre wp-pre-tag-\d+></pre>)<br />", r"\1", text)
    return re.sub(r"<pre wp-pre-tag-(\d+)></pre>", lambda m: kept[int(m.group(1))], text)


_SHORTCODE_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")


def _shortcode_attrs(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _SHORTCODE_ATTR.finditer(text)}


def _caption(match: re.Match[str]) -> str:
    """``[caption]<img/> text[/caption]`` as the figure WordPress shows for it."""
    attrs = _shortcode_attrs(match["attrs"])
    body = match["body"]
    media = re.match(r"\s*((?:<a [^>]*>\s*)?<img [^>]*>(?:\s*</a>)?)(.*)", body, re.S | re.I)
    if media is None:
        return match.group(0)
    caption = attrs.get("caption") or media.group(2).strip()
    align = attrs.get("align", "alignnone")
    figure_class = f"wp-caption {align}".strip()
    return (
        f'<figure class="{html.escape(figure_class)}">{media.group(1)}'
        f'<figcaption class="wp-caption-text">{caption}</figcaption></figure>'
    )


def _code(match: re.Match[str]) -> str:
    attrs = _shortcode_attrs(match["attrs"])
    language = attrs.get("language") or attrs.get("lang") or ""
    body = match["body"].strip("\n")
    cls = f' class="language-{html.escape(language)}"' if language else ""
    # The shortcode's body is the code as written: escape it, as a <pre> would hold it.
    return f"<pre><code{cls}>{html.escape(html.unescape(body), quote=False)}</code></pre>"


_SHORTCODES: dict[str, Callable[[re.Match[str]], str]] = {
    "caption": _caption,
    "wp_caption": _caption,
    "code": _code,
    "sourcecode": _code,
}


def expand_shortcodes(text: str) -> str:
    """The shortcodes whose meaning Markdown can carry, as HTML; the others are left as text."""
    for name, expand in _SHORTCODES.items():
        pattern = rf"\[{name}(?P<attrs>(?:\s[^\]]*)?)\](?P<body>.*?)\[/{name}\]"
        text = re.sub(pattern, expand, text, flags=re.S | re.I)
    return text


# A shortcode alone on its line (a gallery, a playlist): WordPress expands it where it stands.
_LONE_SHORTCODE = re.compile(
    r"^[ \t]*(\[(?P<name>[a-z_][\w-]*)(?:\s[^\]\n]*)?\](?:[^\n]*?\[/(?P=name)\])?)[ \t]*$",
    re.M | re.I,
)


def _lone_shortcodes(text: str, pieces: _Pieces) -> str:
    """Shortcodes alone on a line, verbatim: as text, Markdown would write their quotes as
    ``&quot;``, which WordPress's shortcode parser does not read."""

    def keep(match: re.Match[str]) -> str:
        return "\n\n" + pieces.word(f"<!-- wp:shortcode -->{match.group(1)}<!-- /wp:shortcode -->")

    return _LONE_SHORTCODE.sub(keep, text)


# --- raw HTML and our own Markdown, through placeholders -----------------------------------------


class _Pieces:
    """Text the converter must not touch, each behind a placeholder word of letters and digits."""

    def __init__(self, content: str) -> None:
        self.nonce = "".join(c for c in str(abs(hash(content)) % 10**8) if c.isdigit())
        self.pieces: dict[str, str] = {}
        self.counter = itertools.count(1)

    def word(self, text: str) -> str:
        word = f"ZQPIECE{self.nonce}N{next(self.counter)}QZ"
        self.pieces[word] = text
        return word

    def restore(self, markdown: str) -> str:
        for _ in range(8):  # pieces hold pieces (a raw link around a picture): a few rounds
            if not any(word in markdown for word in self.pieces):
                return markdown
            markdown = "\n".join(self._restore_line(line) for line in markdown.split("\n"))
        return markdown

    def _restore_line(self, line: str) -> str:
        for word in re.findall(r"ZQPIECE\d*N\d+QZ", line):
            text = self.pieces.get(word)
            if text is None:
                continue
            prefix = line[: line.index(word)]
            # Later lines of a multi-line piece sit at the same depth inside lists and quotes.
            indent = re.sub(r"(?:[-*+]|\d+[.)])(?=\s)", lambda m: " " * len(m.group(0)), prefix)
            indent = indent if not indent.strip(" >") else ""
            text = text.replace("\n", "\n" + indent) if "\n" in text else text
            line = line.replace(word, text.replace("\n" + indent + "\n", "\n\n"), 1)
        return line


def _raw_html(text: str) -> str:
    """Raw HTML as a Markdown HTML block: it must not hold a blank line, which would end it."""
    if re.match(r"\s*<(?:pre|script|style|textarea)[\s>]", text, re.I):
        return text.strip()
    return re.sub(r"\n\s*\n", "\n", text.strip())


# Attributes Markdown cannot carry but WordPress adds again or that only style the editor.
_NOISE_CLASSES = re.compile(
    r"wp-block-[\w-]+|wp-element-[\w-]+|wp-image-\d+|size-[\w-]+|alignnone|wp-caption|"
    r"wp-caption-text|has-alpha-channel-opacity|blocks-gallery-caption|language-[\w+#-]+|"
    r"lang-[\w+#-]+"
)
_NOISE_ATTRS = {
    "img": {"src", "alt", "class", "width", "height", "srcset", "sizes", "loading", "decoding"},
    "a": {"href", "title"},
    "code": {"class", "lang", "data-lang"},
    "pre": {"class", "lang", "data-lang"},
    "ol": {"start", "class"},
    "td": {"class"},
    "th": {"class", "scope"},
}
_MARKDOWN_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "i", "strong", "b", "a", "ul", "ol", "li",
    "blockquote", "code", "pre", "br", "hr", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "img", "figure", "figcaption", "del", "s", "strike",
}  # fmt: skip
_BLOCK_TAGS = re.compile(rf"^{_ALL_BLOCKS}$|^(?:iframe|video|audio|object|embed|script|style)$")


def _plain(tag: Tag) -> bool:
    """Markdown can say this element: a tag it knows, with no attribute that means something."""
    if tag.name not in _MARKDOWN_TAGS:
        return False
    allowed = _NOISE_ATTRS.get(tag.name, {"class"})
    for name, value in tag.attrs.items():
        if name.startswith("data-") and tag.name == "img":
            continue
        if name not in allowed:
            return False
        if name == "class":
            classes = value if isinstance(value, list) else str(value).split()
            if any(not _NOISE_CLASSES.fullmatch(c) for c in classes):
                return False
    return True


def _escape_title(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _escape_alt(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _destination(url: str) -> str:
    if re.search(r"[\s<>()]", url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def _image_markdown(img: Tag, caption: str = "") -> str:
    alt = _escape_alt(" ".join(str(img.get("alt") or "").split()))
    src = _destination(str(img.get("src") or ""))
    title = f' "{_escape_title(caption)}"' if caption else ""
    return f"![{alt}]({src}{title})"


def _language(pre: Tag, code: Tag | None) -> str:
    for tag in (code, pre):
        if tag is None:
            continue
        for attr in ("lang", "data-lang"):
            if tag.get(attr):
                return str(tag.get(attr))
        for cls in tag.get_attribute_list("class"):
            match = re.fullmatch(r"(?:language|lang)-([\w+#-]+)", str(cls or ""))
            if match:
                return match.group(1)
    return ""


def _fenced(text: str, language: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


class _AsWritten(HTMLFormatter):
    """Attributes in the order they were written (BeautifulSoup sorts them by default)."""

    def attributes(self, tag: Tag) -> Iterable[tuple[str, str | AttributeValueList | None]]:
        return list(tag.attrs.items())


_AS_WRITTEN = _AsWritten(entity_substitution=HTMLFormatter.REGISTRY["minimal"].entity_substitution)


def _html(tag: Tag) -> str:
    return tag.decode(formatter=_AS_WRITTEN)


class _Preparer:
    """Swaps what only we can write, and what must stay raw, for placeholder words."""

    def __init__(self, pieces: _Pieces) -> None:
        self.pieces = pieces

    def block(self, tag: Tag, text: str) -> None:
        """Replace ``tag`` with a paragraph of its own holding ``text``."""
        holder = Tag(name="p")
        holder.string = self.pieces.word(text)
        tag.replace_with(holder)

    def inline(self, tag: Tag, text: str) -> None:
        tag.replace_with(NavigableString(self.pieces.word(text)))

    def raw(self, tag: Tag) -> None:
        if _BLOCK_TAGS.match(tag.name) and not self._inline_context(tag):
            self.block(tag, _raw_html(_html(tag)))
        else:
            self.inline(tag, _html(tag).replace("\n", " ") if tag.name != "pre" else _html(tag))

    @staticmethod
    def _inline_context(tag: Tag) -> bool:
        parent = tag.parent
        return parent is not None and parent.name in {"p", "a", "em", "strong", "span", "td", "th"}

    def walk(self, tag: Tag) -> None:
        for child in list(tag.children):
            if isinstance(child, Comment):
                child.replace_with(NavigableString(self.pieces.word(f"<!--{child}-->")))
            elif isinstance(child, Tag):
                self.element(child)

    def element(self, tag: Tag) -> None:
        handler = getattr(self, f"_{tag.name}", None)
        if handler is not None:
            handler(tag)
        elif _plain(tag):
            self.walk(tag)
        else:
            self.raw(tag)

    def _p(self, tag: Tag) -> None:
        text = tag.get_text().strip()
        if _plain(tag) and tag.find(True) is None and re.fullmatch(r"https?://\S+", text):
            return self.block(tag, text)  # alone in its paragraph, WordPress embeds it (oEmbed)
        self.walk(tag)

    def _img(self, tag: Tag) -> None:
        if _plain(tag):
            self.inline(tag, _image_markdown(tag))
        else:
            self.raw(tag)

    def _figure(self, tag: Tag) -> None:
        children = [c for c in tag.children if not (isinstance(c, str) and not c.strip())]
        captions = [c for c in children if isinstance(c, Tag) and c.name == "figcaption"]
        rest = [c for c in children if c not in captions]
        if not _plain(tag) or len(captions) > 1 or len(rest) != 1 or not isinstance(rest[0], Tag):
            return self.raw(tag)
        inner, caption = rest[0], captions[0] if captions else None
        if caption is not None and (any(isinstance(c, Tag) for c in caption.children)):
            return self.raw(tag)  # a caption with links or emphasis: only HTML can say it
        caption_text = " ".join(caption.get_text().split()) if caption is not None else ""
        if inner.name == "img" and _plain(inner) and (caption is None or caption_text):
            return self.block(tag, _image_markdown(inner, caption_text))
        if inner.name == "table" and caption is None:
            tag.unwrap()
            return self._table(inner)
        return self.raw(tag)

    def _pre(self, tag: Tag) -> None:
        children = [c for c in tag.children if not (isinstance(c, str) and not c)]
        code = children[0] if len(children) == 1 and isinstance(children[0], Tag) else None
        holder = code if code is not None and code.name == "code" else tag
        classes = set(tag.get_attribute_list("class"))
        styled = classes & {"wp-block-preformatted", "wp-block-verse"}
        if styled or not _plain(tag) or not _plain(holder) or holder.find(True) is not None:
            return self.raw(tag)
        text = holder.get_text()
        self.block(tag, _fenced(text, _language(tag, code if holder is code else None)))

    def _table(self, tag: Tag) -> None:
        rows = tag.find_all("tr")
        head_rows = [r for r in rows if r.find_parent("thead") is not None]
        cells = tag.find_all(["td", "th"])
        simple = (
            _plain(tag)
            and rows
            and len(head_rows) <= 1
            and all(_plain(cell) for cell in cells)
            and all(cell.find(_BLOCK_TAGS) is None for cell in cells)
            and all(cell.find("br") is None for cell in cells)
            and len({len(row.find_all(["td", "th"])) for row in rows}) == 1
            and tag.find("caption") is None
        )
        if not simple:
            return self.raw(tag)
        for cell in cells:
            self.walk(cell)


# --- blocks to Markdown ------------------------------------------------------------------------

# Blocks whose HTML is plain HTML Markdown may say (decided element by element), and the block
# attributes that only the editor uses: any other attribute means something Markdown cannot carry.
_CONVERTIBLE = {
    "core/paragraph": set(),
    "core/heading": {"level"},
    "core/list": {"ordered", "start"},
    "core/list-item": set(),
    "core/quote": set(),
    "core/code": {"language"},
    "core/table": {"hasFixedLayout"},
    "core/image": {"id", "sizeSlug", "linkDestination"},
    "core/separator": set(),
}


def _convertible(block: Block) -> bool:
    if block.name not in _CONVERTIBLE:
        return False
    if set(block.attrs) - _CONVERTIBLE[block.name]:
        return False
    return all(
        name in _CONVERTIBLE and set(_attrs_of(block, name)) <= _CONVERTIBLE[name]
        for name in block.inner_names
    )


def _attrs_of(block: Block, name: str) -> Iterator[str]:
    short = name.removeprefix("core/")
    for match in _DELIMITER.finditer(block.inner):
        if not match["closer"] and match["name"] == short.split("/")[-1] and match["attrs"]:
            try:
                yield from json.loads(match["attrs"])
            except ValueError:
                yield ""


_CONVERTER = MarkdownConverter(
    heading_style="ATX",
    bullets="-",
    escape_asterisks=True,
    escape_underscores=True,
    escape_misc=True,
    newline_style="BACKSLASH",
)


def _convert(fragment: str, pieces: _Pieces) -> str:
    soup = BeautifulSoup(fragment, "html.parser")
    _Preparer(pieces).walk(soup)
    markdown = str(_CONVERTER.convert_soup(soup)).strip("\n")
    return "\n".join(_tidy_escapes(line) for line in markdown.split("\n"))


# The library escapes every character Markdown ever gives a meaning (escape_misc); most of them
# only mean something at the start of a line ("- ", "1. ", "+ ") or before another one ("![",
# "&amp;", "<b"). Elsewhere the backslash is noise to the writer: it is taken out.
_LINE_START = re.compile(r"[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*")
_NOISY_ESCAPE = re.compile(r"\\([-+=.!&<>)])")


def _tidy_escapes(line: str) -> str:
    def tidy(match: re.Match[str]) -> str:
        before, after, char = line[: match.start()], line[match.end() :], match.group(1)
        start = _LINE_START.fullmatch(before) is not None
        ordinal = char in ".)" and re.fullmatch(r"[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*\d+", before)
        if start or ordinal or before.endswith("\\"):
            return match.group(0)
        if (
            (char == "!" and after.startswith("["))
            or (char == "&" and re.match(r"#?\w+;", after))
            or (char == "<" and re.match(r"[A-Za-z/!?]", after))
        ):
            return match.group(0)
        return char

    return _NOISY_ESCAPE.sub(tidy, line)


def _embed_block(block: Block) -> str | None:
    url = str(block.attrs.get("url") or "")
    extra = set(block.attrs) - {"url", "type", "providerNameSlug", "responsive", "className"}
    if not url or extra or "<figcaption" in block.inner or re.search(r"\s", url):
        return None
    return url  # alone in its paragraph, WordPress embeds it again (oEmbed)


def block_to_markdown(block: Block, pieces: _Pieces) -> str:
    if block.name is None and "unclosed" in block.inner_names:
        return pieces.word(_raw_html(block.source))
    if block.name is None:
        classic = _lone_shortcodes(expand_shortcodes(block.inner), pieces)
        return _convert(autop(classic), pieces)
    if block.name == "core/embed":
        url = _embed_block(block)
        return url if url is not None else pieces.word(_raw_html(block.source))
    if block.name == "core/html":
        return pieces.word(_raw_html(block.inner))
    if block.name == "core/more":
        return pieces.word(_raw_html(block.inner) or "<!--more-->")
    if block.name == "core/shortcode":
        # On one line inside its delimiters, an HTML block: the shortcode goes out verbatim.
        body = " ".join(block.inner.split())
        return pieces.word(f"<!-- wp:shortcode -->{body}<!-- /wp:shortcode -->")
    if _convertible(block):
        return _convert(_DELIMITER.sub("", block.inner), pieces)
    return pieces.word(_raw_html(block.source))


def to_markdown(content: str) -> str:
    """The Markdown body for a post's stored content (``content.raw`` of the REST API, or
    ``content:encoded`` of an export file)."""
    pieces = _Pieces(content)
    parts = [block_to_markdown(block, pieces) for block in split_blocks(content)]
    markdown = "\n\n".join(part for part in parts if part.strip())
    markdown = pieces.restore(markdown)
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"
