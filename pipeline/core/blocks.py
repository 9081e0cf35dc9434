"""Block-editor content from the same Markdown tokens as :func:`pipeline.core.render.render`.

Two halves:

- :func:`post_blocks` turns the tokens into :class:`Block` trees, each block with the attributes the
  block editor itself holds for it (what ``wp.blocks.createBlock(name, attributes, inner)`` takes).
- :func:`serialize` writes blocks exactly as the editor saves them: the comment delimiters and the
  HTML of each block's ``save`` function. A few blocks changed their saved markup after WordPress
  6.1 (Debian 12's, the tests' site); a :class:`Dialect` says how the site's editor saves them, and
  :func:`dialect_of` reads it from the site's block registry (REST ``/wp/v2/block-types``).
  ``tests/blocks/fixtures/`` holds what the editor itself produced for every block and attribute
  combination used here, per WordPress version, and the unit tests compare byte for byte.

A block's HTML must also survive the editor's own parsing unchanged, or the editor would show it as
changed (or invalid) the moment the writer opens the post. Rich text (a paragraph's content, a
caption) is parsed by the browser and read back as ``innerHTML``, so it is written here in the
browser's serialisation: ``<br>``, text escaping only ``& < >`` and no-break spaces, attributes
in double quotes. Markdown that the editor's blocks cannot hold (a list item with two paragraphs,
inline HTML that a browser would restructure) becomes an HTML block with the classic HTML, never a
block the editor would call invalid. Raw block markup in the Markdown (``<!-- wp:... -->`` ...,
from an imported post) is kept verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from markdown_it.token import Token
from msgspec import Struct, field

from pipeline.core.dom import (
    escape_attribute,
    escape_text,
    normal_html,
    parse_fragment,
    serialize_nodes,
)
from pipeline.core.posts import Post
from pipeline.core.render import (
    SERIES_MARKER,
    Rendered,
    Site,
    image_alt,
    parse,
    plain_tokens,
    render_tokens,
    resolve,
    series_html,
    tokens_from_plain,
)


class Dialect(Struct, frozen=True):
    """The few blocks whose saved markup changed between WordPress versions, and how this site's
    editor saves them. :func:`dialect_of` reads it from the site's block registry."""

    heading_class: bool = False  # <h2 class="wp-block-heading">: WordPress 6.2 and later
    list_class: bool = False  # <ul class="wp-block-list">: 6.6 and later
    table_fixed_layout: bool = False  # tables class="has-fixed-layout" unless told: 6.6 and later
    preformatted_br: bool = False  # line breaks in preformatted text are <br>: 6.5 and later


WORDPRESS_6_1 = Dialect()  # Debian 12's WordPress: the tests' site, and the fixtures
WORDPRESS_6_9 = Dialect(
    heading_class=True, list_class=True, table_fixed_layout=True, preformatted_br=True
)
LATEST = WORDPRESS_6_9  # also what the blocks after 6.9 (block-library 10 and 11) say


def dialect_of(block_types: Iterable[Mapping[str, Any]]) -> Dialect:
    """The dialect of a site from its block types (REST ``/wp/v2/block-types``, which serves each
    block's ``block.json``): a block whose ``supports`` allow a class name gets its
    ``wp-block-*`` class in the markup; the table's ``hasFixedLayout`` default says its layout;
    a ``rich-text`` content type the preformatted line breaks. A block missing from the list
    (a registry that would not say) is taken as the latest WordPress has it."""
    by_name = {str(entry.get("name")): entry for entry in block_types}

    def class_name(block: str, latest: bool) -> bool:
        if block not in by_name:
            return latest
        return bool((by_name[block].get("supports") or {}).get("className", True))

    def attribute(block: str, name: str, key: str, latest: object) -> object:
        if block not in by_name:
            return latest
        found = (by_name[block].get("attributes") or {}).get(name)
        return found.get(key) if isinstance(found, Mapping) else None

    return Dialect(
        heading_class=class_name("core/heading", LATEST.heading_class),
        list_class=class_name("core/list", LATEST.list_class),
        table_fixed_layout=bool(
            attribute("core/table", "hasFixedLayout", "default", LATEST.table_fixed_layout)
        ),
        preformatted_br=attribute("core/preformatted", "content", "type", "rich-text")
        == "rich-text",
    )


class Block(Struct, frozen=True):
    """One block: its name, its attributes as the editor holds them, its inner blocks."""

    name: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    inner: tuple[Node, ...] = ()


class Verbatim(Struct, frozen=True):
    """Block markup written in the Markdown itself: kept byte for byte."""

    markup: str


Node = Block | Verbatim


def render_blocks(post: Post, site: Site, dialect: Dialect = WORDPRESS_6_1) -> Rendered:
    """Like :func:`~pipeline.core.render.render`, in block-editor markup for ``dialect``."""
    return joined(block_pieces(post, site, dialect), post.slug)


def post_blocks(post: Post, site: Site) -> tuple[list[Node], frozenset[str]]:
    """The blocks of ``post`` and the slugs they depend on (as for ``render``)."""
    builder = _Builder(post, site)
    tokens = parse(post.body, post.slug)
    blocks = [node for start, end, kept in builder.ranges(tokens) for node in
              builder.range_nodes(tokens[start:end], kept)]  # fmt: skip
    return blocks, frozenset(builder.depends - {post.slug})


# ------------------------------------------------------------------------------------ pieces
class Piece(Struct, frozen=True, gc=False):
    """A post's block markup is built piece by piece: each top-level block from its own tokens,
    and each item of a top-level list from its own. A piece keeps the lookups in the site its
    build made (``reads``, as :class:`pipeline.core.memo.Reads` logs them) and, when it made
    any, its tokens: when the site changes (a part of the series goes live), a render builds
    again only the pieces whose lookups give other answers now (:func:`pieces_again`)."""

    markup: str  # its block markup; "" when it makes no block
    depends: frozenset[str] = frozenset()
    reads: tuple[list[Any], ...] = ()
    tokens: list[list[Any]] | None = None  # plain_tokens of its own; None if none are kept
    items: tuple[Piece, ...] = ()  # a list's items (its markup is made of theirs)
    attrs: Mapping[str, Any] = field(default_factory=dict)  # a list's attributes

    def all_reads(self) -> list[list[Any]]:
        return [read for item in self.items for read in item.reads] + list(self.reads)

    def plain(self) -> dict[str, Any]:
        """As JSON data (the memo keeps it)."""
        if self.items:
            return {"markup": self.markup, "attrs": dict(self.attrs),
                    "items": [item.plain() for item in self.items]}  # fmt: skip
        return {"markup": self.markup, "depends": sorted(self.depends),
                "reads": list(self.reads), "tokens": self.tokens}  # fmt: skip

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Piece:
        if "items" in data:
            items = tuple(cls.from_plain(item) for item in data["items"])
            depends = frozenset(slug for item in items for slug in item.depends)
            return cls(data["markup"], depends, items=items, attrs=data["attrs"])
        return cls(data["markup"], frozenset(data["depends"]), tuple(data["reads"]), data["tokens"])


def block_pieces(
    post: Post, site: Site, dialect: Dialect = WORDPRESS_6_1, log: list[list[Any]] | None = None
) -> list[Piece]:
    """``post``'s markup as pieces; ``log`` is where ``site``'s views record their lookups
    (:class:`pipeline.core.memo.Reads`), if they do: each piece keeps those its build made."""
    builder = _Builder(post, site, dialect, log)
    tokens = parse(post.body, post.slug)
    return [builder.piece(tokens[start:end], kept) for start, end, kept in builder.ranges(tokens)]


def pieces_again(
    post: Post,
    site: Site,
    dialect: Dialect,
    log: list[list[Any]],
    pieces: Sequence[Piece],
    unchanged: Callable[[Sequence[list[Any]]], bool],
) -> list[Piece] | None:
    """The ``pieces`` of the same post, text and dialect, each kept while ``unchanged`` says its
    lookups give the same answers in ``site``, the others built again from their own tokens;
    None when one cannot be (no tokens kept, or a list item that is no block any more): then
    the post is built whole (:func:`block_pieces`)."""
    builder = _Builder(post, site, dialect, log)
    again: list[Piece] = []
    for piece in pieces:
        found = builder.again(piece, unchanged)
        if found is None:
            return None
        again.append(found)
    return again


def joined(pieces: Sequence[Piece], slug: str) -> Rendered:
    """The post's markup and what it depends on, from its pieces."""
    depends = frozenset(name for piece in pieces for name in piece.depends)
    html = "\n\n".join(piece.markup for piece in pieces if piece.markup)
    return Rendered(html=html, depends_on=depends - {slug})


# --------------------------------------------------------------------------------- serialising
_NO_DEFAULT = object()


class _Kind(Struct, frozen=True, dict=True):  # dict: room for the cached `known`
    """What the editor knows of a block type: comment attributes (in the order the block type
    declares them, with their defaults), attributes kept in the HTML instead, its save function."""

    comment: tuple[tuple[str, object], ...]
    sourced: frozenset[str]
    save: Callable[[Mapping[str, Any], str, Dialect], str]

    @cached_property
    def known(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.comment) | self.sourced


def serialize(blocks: Sequence[Node], dialect: Dialect = WORDPRESS_6_1) -> str:
    """The editor's ``wp.blocks.serialize(blocks)``."""
    return "\n\n".join(_serialize_node(node, dialect) for node in blocks)


def _serialize_node(node: Node, dialect: Dialect) -> str:
    if isinstance(node, Verbatim):
        return node.markup
    kind = _KINDS[node.name]
    if not kind.known.issuperset(node.attrs):
        raise ValueError(f"{node.name} has no attributes {sorted(set(node.attrs) - kind.known)}")
    html = kind.save(node.attrs, serialize(node.inner, dialect) if node.inner else "", dialect)
    attrs = {
        key: node.attrs[key]
        for key, default in kind.comment
        if key in node.attrs and node.attrs[key] != _default(default, dialect)
    }
    name = node.name.removeprefix("core/")
    opener = f"wp:{name} {serialize_attributes(attrs)} " if attrs else f"wp:{name} "
    if not html:
        return f"<!-- {opener}/-->"
    return f"<!-- {opener}-->\n{html}\n<!-- /wp:{name} -->"


def _default(default: object, dialect: Dialect) -> object:
    return default(dialect) if callable(default) else default


def serialize_attributes(attrs: Mapping[str, Any]) -> str:
    """The editor's ``serializeAttributes``: JSON that cannot end the comment it sits in."""
    text = json.dumps(attrs, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("--", "\\u002d\\u002d"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ('\\"', "\\u0022"),
    ):
        text = text.replace(raw, escaped)
    return text


# The editor's element serialiser (@wordpress/element, @wordpress/escape-html): for the values it
# writes itself, such as an image's src and alt.
_AMBIGUOUS_AMPERSAND = re.compile(r"&(?!([a-z0-9]+|#[0-9]+|#x[a-f0-9]+);)", re.IGNORECASE)


def _element_attr(value: str) -> str:
    value = _AMBIGUOUS_AMPERSAND.sub("&amp;", value)
    return value.replace('"', "&quot;").replace(">", "&gt;")


def _element_text(value: str) -> str:
    return _AMBIGUOUS_AMPERSAND.sub("&amp;", value).replace("<", "&lt;")


def _tag(name: str, attrs: Iterable[tuple[str, str | None]], void: bool = False) -> str:
    written = "".join(
        f' {key}="{_element_attr(value)}"' for key, value in attrs if value is not None
    )
    return f"<{name}{written}{'/' if void else ''}>"


def _classes(*names: str | None) -> str:
    return " ".join(name for name in names if name)


def _save_paragraph(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return f"<p>{attrs['content']}</p>"


def _save_heading(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    level = int(attrs.get("level", 2))
    opening = _tag(f"h{level}", [("class", "wp-block-heading" if dialect.heading_class else None)])
    return f"{opening}{attrs['content']}</h{level}>"


def _save_list(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    name = "ol" if attrs.get("ordered") else "ul"
    start = attrs.get("start")
    opening = _tag(
        name,
        [
            ("start", None if start is None else str(start)),
            ("class", "wp-block-list" if dialect.list_class else None),
        ],
    )
    return f"{opening}{inner}</{name}>"


def _save_list_item(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return f"<li>{attrs.get('content', '')}{inner}</li>"


def _save_quote(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return f'<blockquote class="wp-block-quote">{inner}</blockquote>'


def _save_code(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    # The code block's own escaping: no shortcodes ([), no URL alone on a line (oEmbed).
    content = str(attrs.get("content", "")).replace("[", "&#91;")
    content = re.sub(
        r"^(\s*https?:)//([^\s<>\"]+\s*)$", r"\1&#47;&#47;\2", content, count=1, flags=re.M
    )
    return _tag("pre", [("class", _classes("wp-block-code", attrs.get("className")))]) + (
        f"<code>{content}</code></pre>"
    )


def _save_preformatted(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    content = str(attrs.get("content", ""))
    if dialect.preformatted_br:
        content = content.replace("\n", "<br>")
    return f'<pre class="wp-block-preformatted">{content}</pre>'


def _save_table(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    sections = []
    for section in ("head", "body"):
        rows = attrs.get(section) or []
        if rows:
            sections.append(f"<t{section}>" + "".join(_table_row(row) for row in rows))
            sections[-1] += f"</t{section}>"
    fixed = attrs.get("hasFixedLayout", dialect.table_fixed_layout)
    table = _tag("table", [("class", "has-fixed-layout" if fixed else None)])
    return f'<figure class="wp-block-table">{table}{"".join(sections)}</table></figure>'


def _table_row(row: Mapping[str, Any]) -> str:
    cells = []
    for cell in row["cells"]:
        tag, align = cell["tag"], cell.get("align")
        opening = _tag(
            tag, [("class", f"has-text-align-{align}" if align else None), ("data-align", align)]
        )
        cells.append(f"{opening}{cell['content']}</{tag}>")
    return "<tr>" + "".join(cells) + "</tr>"


def _save_separator(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return '<hr class="wp-block-separator has-alpha-channel-opacity"/>'


def _save_image(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    image_id, size = attrs.get("id"), attrs.get("sizeSlug")
    img = _tag(
        "img",
        [
            ("src", attrs.get("url")),
            ("alt", str(attrs.get("alt", ""))),
            ("class", f"wp-image-{image_id}" if image_id else None),
            ("title", attrs.get("title")),
        ],
        void=True,
    )
    href = attrs.get("href")
    if href:
        img = _tag("a", [("href", href)]) + img + "</a>"
    caption = attrs.get("caption")
    if caption:
        img += f'<figcaption class="wp-element-caption">{caption}</figcaption>'
    figure = _classes("wp-block-image", f"size-{size}" if size else None)
    return f'<figure class="{figure}">{img}</figure>'


def _save_gallery(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return (
        '<figure class="wp-block-gallery has-nested-images columns-default is-cropped">'
        f"{inner}</figure>"
    )


def _save_embed(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    provider, kind = attrs.get("providerNameSlug"), attrs.get("type")
    classes = _classes(
        "wp-block-embed",
        f"is-type-{kind}" if kind else None,
        f"is-provider-{provider}" if provider else None,
        f"wp-block-embed-{provider}" if provider else None,
        attrs.get("className"),
    )
    url = _element_text(str(attrs["url"]))
    return (
        f'<figure class="{classes}"><div class="wp-block-embed__wrapper">\n{url}\n</div></figure>'
    )


def _save_html(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return str(attrs.get("content", ""))


def _save_more(attrs: Mapping[str, Any], inner: str, dialect: Dialect) -> str:
    return "<!--more-->"


def _fixed_layout(dialect: Dialect) -> bool:
    return dialect.table_fixed_layout


_KINDS: dict[str, _Kind] = {
    "core/paragraph": _Kind(
        (("align", _NO_DEFAULT), ("dropCap", False), ("direction", _NO_DEFAULT)),
        frozenset({"content"}),
        _save_paragraph,
    ),
    "core/heading": _Kind(
        (("textAlign", _NO_DEFAULT), ("level", 2)), frozenset({"content"}), _save_heading
    ),
    "core/list": _Kind(
        (("ordered", False), ("type", _NO_DEFAULT), ("start", _NO_DEFAULT)),
        frozenset(),
        _save_list,
    ),
    "core/list-item": _Kind((), frozenset({"content"}), _save_list_item),
    "core/quote": _Kind((), frozenset(), _save_quote),
    "core/code": _Kind((("className", _NO_DEFAULT),), frozenset({"content"}), _save_code),
    "core/preformatted": _Kind((), frozenset({"content"}), _save_preformatted),
    "core/table": _Kind(
        (("hasFixedLayout", _fixed_layout),), frozenset({"head", "body"}), _save_table
    ),
    "core/separator": _Kind((("opacity", "alpha-channel"),), frozenset(), _save_separator),
    "core/image": _Kind(
        (("id", _NO_DEFAULT), ("sizeSlug", _NO_DEFAULT), ("linkDestination", _NO_DEFAULT)),
        frozenset({"url", "alt", "caption", "title", "href"}),
        _save_image,
    ),
    "core/gallery": _Kind((("linkTo", _NO_DEFAULT),), frozenset(), _save_gallery),
    "core/embed": _Kind(
        (
            ("url", _NO_DEFAULT),
            ("type", _NO_DEFAULT),
            ("providerNameSlug", _NO_DEFAULT),
            ("allowResponsive", True),
            ("responsive", False),
            ("previewable", True),
            ("className", _NO_DEFAULT),
        ),
        frozenset(),
        _save_embed,
    ),
    "core/html": _Kind((), frozenset({"content"}), _save_html),
    "core/more": _Kind((("customText", _NO_DEFAULT), ("noTeaser", False)), frozenset(), _save_more),
}


# ---------------------------------------------------------------------------------- rich text
_MARKS = {"em": "em", "strong": "strong", "s": "s"}


class _Unsuitable(Exception):
    """This Markdown has no exact block form: write it as an HTML block instead."""


def rich_text(children: Sequence[Token], tag: str) -> str:
    """Inline tokens as the editor's rich text in a ``tag`` element holds them.

    Raises _Unsuitable when inline HTML would not stay inside that element in a browser."""
    out: list[str] = []
    raw_html = False
    for child in children:
        kind = child.type
        if kind == "text":
            out.append(escape_text(child.content))
        elif kind == "softbreak":
            out.append(" ")  # as in classic HTML: a newline would not survive the editor either
        elif kind == "hardbreak":
            out.append("<br>")
        elif kind == "code_inline":
            out.append(f"<code>{escape_text(child.content)}</code>")
        elif kind.endswith("_open") and kind[:-5] in _MARKS:
            out.append(f"<{_MARKS[kind[:-5]]}>")
        elif kind.endswith("_close") and kind[:-6] in _MARKS:
            out.append(f"</{_MARKS[kind[:-6]]}>")
        elif kind == "link_open":
            out.append(_rich_tag("a", child.attrs.items()))
        elif kind == "link_close":
            out.append("</a>")
        elif kind == "image":
            out.append(_rich_tag("img", {**child.attrs, "alt": image_alt(child)}.items()))
        elif kind == "html_inline":
            raw_html = True
            out.append(child.content)
        else:
            raise _Unsuitable(kind)
    content = "".join(out)
    return _as_browser_reads(content, tag) if raw_html else content


def _rich_tag(name: str, attrs: Iterable[tuple[str, str | int | float]]) -> str:
    written = "".join(f' {key}="{escape_attribute(str(value))}"' for key, value in attrs)
    return f"<{name}{written}>"


def _as_browser_reads(content: str, tag: str) -> str:
    """``content`` as a browser reads it inside ``tag``: respelt, elements closed; raises
    _Unsuitable if the browser would move some of it out (a ``<div>`` ends a ``<p>``)."""
    path = ["table", "tbody", "tr", tag] if tag in ("td", "th") else [tag]
    html = "".join(f"<{name}>" for name in path) + content + f"</{tag}>"
    from justhtml.dom import Element

    nodes = parse_fragment(html)
    for name in path:
        if len(nodes) != 1 or not isinstance(nodes[0], Element) or nodes[0].name != name:
            raise _Unsuitable(content)
        nodes = list(nodes[0].children or [])
    return serialize_nodes(nodes, tag)


class _OpenElements(HTMLParser):
    """Counts the elements an HTML block opens and leaves open (``<details>`` ... Markdown ...)."""

    # End tags HTML lets one leave out: such an element is closed by what follows anyway.
    OPTIONAL_END = frozenset(
        {"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
         "colgroup", "caption", "rb", "rt", "rtc", "rp", "html", "head", "body"}
    )  # fmt: skip
    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.OPTIONAL_END and tag not in self.VOID:
            self.open += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.OPTIONAL_END and tag not in self.VOID:
            self.open -= 1


def _left_open(html: str) -> int:
    """How many elements ``html`` opens without closing them (negative: closes earlier ones)."""
    counter = _OpenElements()
    counter.feed(html)
    counter.close()
    return counter.open


# ------------------------------------------------------------------------------ from tokens
_EMBEDS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^https?://((m|www)\.)?youtube\.com/\S+$|^https?://youtu\.be/\S+$", re.I),
     "youtube", "video"),
    (re.compile(r"^https?://(www\.)?vimeo\.com/\S+$", re.I), "vimeo", "video"),
    (re.compile(r"^https?://(www\.)?(twitter|x)\.com/\w{1,15}/status(es)?/\d+\S*$", re.I),
     "twitter", "rich"),
)  # fmt: skip
_ASPECT_16_9 = "wp-embed-aspect-16-9 wp-has-aspect-ratio"  # the editor's class for 16:9 videos
_MORE = re.compile(r"^<!--\s*more\s*-->$")
_DELIMITER = re.compile(  # WordPress's block delimiter grammar (class-wp-block-parser.php)
    r"<!--\s+(?P<closer>/)?wp:(?:[a-z][a-z0-9_-]*/)?[a-z][a-z0-9_-]*"
    r"\s+(?:\{(?:(?!\}\s+/?-->).)*?\}\s+)?(?P<void>/)?-->",
    re.DOTALL,
)
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]+$")
_PREFORMATTED = frozenset({"pre", "preformatted"})
_LISTS = frozenset({"bullet_list_open", "ordered_list_open"})


class _Builder:
    def __init__(
        self,
        post: Post,
        site: Site,
        dialect: Dialect = WORDPRESS_6_1,
        log: list[list[Any]] | None = None,
    ) -> None:
        self.post, self.site, self.dialect, self.log = post, site, dialect, log
        self.depends: set[str] = set()
        self._ids_by_url: dict[str, int] | None = None

    @cached_property
    def lines(self) -> list[str]:
        return self.post.body.splitlines(keepends=True)

    @property
    def ids_by_url(self) -> dict[str, int]:
        """Images are already resolved to their WordPress URL: their attachment ids by that
        URL. Made once per piece, so that each piece that asks records the lookup."""
        if self._ids_by_url is None:
            media, ids = self.site.media, self.site.media_ids
            self._ids_by_url = {url: ids[path] for path, url in media.items() if path in ids}
        return self._ids_by_url

    def ranges(
        self, tokens: list[Token], top: bool = True
    ) -> Iterator[tuple[int, int, str | None]]:
        """Where each block of the body's tokens (``top``) or a quote's starts and ends, and
        the block markup written in the Markdown that it is, if it is such (top level only)."""
        index = 0
        while index < len(tokens):
            end = _end_of(tokens, index)
            markup = self.block_markup(tokens[index]) if top else None
            if markup is not None:
                last_line = markup[1]
                while end < len(tokens) and (tokens[end].map or [last_line])[0] < last_line:
                    end += 1
            elif tokens[index].type == "html_block" and _left_open(tokens[index].content) > 0:
                end = _closing_html(tokens, index)
            yield index, end, markup[0] if markup else None
            index = end

    def range_nodes(self, tokens: list[Token], kept: str | None) -> list[Node]:
        """The blocks of one top-level range of tokens (``kept``: its block markup as written)."""
        if kept is not None:
            return [Verbatim(kept)]
        return self._resolved_range(resolve(tokens, self.post, self.site, self.depends))

    def _resolved_range(self, tokens: list[Token]) -> list[Node]:
        if tokens[0].type == "html_block" and _left_open(tokens[0].content) > 0:
            return _html(render_tokens(tokens))  # HTML around Markdown, to where it closes
        return self.block(tokens, 0, len(tokens))

    def blocks(self, tokens: list[Token]) -> list[Node]:
        """Blocks of a quote's (resolved) tokens."""
        ranges = self.ranges(tokens, top=False)
        return [
            node for start, end, _ in ranges for node in self._resolved_range(tokens[start:end])
        ]

    # --- pieces
    def piece(self, tokens: list[Token], kept: str | None) -> Piece:
        """One top-level range as a piece: a list item by item, where the list is a block."""
        if kept is None and tokens[0].type in _LISTS:
            listed = self.list_piece(tokens)
            if listed is not None:
                return listed
        mark = self._begin()
        nodes = self.range_nodes(tokens, kept)
        return self._made(mark, tokens, serialize(nodes, self.dialect))

    def list_piece(self, tokens: list[Token]) -> Piece | None:
        """A top-level list, each item its own piece; None if an item is no list item block."""
        items = []
        for first, last in _list_items(tokens, 0, len(tokens)):
            item = self.item_piece(tokens[first:last])
            if item is None:
                return None
            items.append(item)
        return self._list_of(self._list_attrs(tokens[0]), tuple(items))

    def item_piece(self, tokens: list[Token]) -> Piece | None:
        mark = self._begin()
        resolved = resolve(tokens, self.post, self.site, self.depends)
        try:
            item = self.list_item(resolved, 1, len(resolved) - 1)
        except _Unsuitable:
            return None
        return self._made(mark, tokens, _serialize_node(item, self.dialect))

    def again(self, piece: Piece, unchanged: Callable[[Sequence[list[Any]]], bool]) -> Piece | None:
        """``piece`` if its lookups give the same answers, else built again (see
        :func:`pieces_again`)."""
        if piece.items:
            items = []
            for item in piece.items:
                found = item if unchanged(item.reads) else self._rebuilt(item, self.item_piece)
                if found is None:
                    return None
                items.append(found)
            if all(new is old for new, old in zip(items, piece.items, strict=True)):
                return piece
            return self._list_of(piece.attrs, tuple(items))
        if unchanged(piece.reads):
            return piece
        return self._rebuilt(piece, lambda tokens: self.piece(tokens, None))

    def _rebuilt(self, piece: Piece, build: Callable[[list[Token]], Piece | None]) -> Piece | None:
        if piece.tokens is None:
            return None
        try:
            tokens = tokens_from_plain(piece.tokens)
        except (KeyError, TypeError, ValueError):  # a damaged memo: build the post whole
            return None
        return build(tokens)

    def _list_of(self, attrs: Mapping[str, Any], items: tuple[Piece, ...]) -> Piece:
        inner = tuple(Verbatim(item.markup) for item in items)
        markup = _serialize_node(Block("core/list", attrs, inner), self.dialect)
        depends = frozenset(slug for item in items for slug in item.depends)
        return Piece(markup, depends, items=items, attrs=attrs)

    def _begin(self) -> int:
        """Start a piece: its own dependencies, lookups and attachment ids."""
        self.depends = set()
        self._ids_by_url = None
        return len(self.log) if self.log is not None else 0

    def _made(self, mark: int, tokens: list[Token], markup: str) -> Piece:
        reads = tuple(self.log[mark:]) if self.log is not None else ()
        # Its tokens are kept only if it will be built again: if it looked anything up.
        saved = plain_tokens(tokens) if reads else None
        return Piece(markup, frozenset(self.depends), reads, saved)

    def block(self, tokens: list[Token], start: int, end: int) -> list[Node]:
        token = tokens[start]
        kind = token.type
        if kind == "html_block":
            return self.html_block(tokens, start)
        if kind == "hr":
            return [Block("core/separator")]
        if kind in ("fence", "code_block"):
            return [self.code(token)]
        try:
            if kind == "paragraph_open":
                return [self.paragraph(tokens[start + 1])]
            if kind == "heading_open":
                level = int(token.tag[1:])
                content = rich_text(tokens[start + 1].children or [], token.tag)
                attrs = {"content": content, "level": level}
                return [Block("core/heading", attrs)]
            if kind in _LISTS:
                return [self.list_block(tokens, start, end)]
            if kind == "blockquote_open":
                return [Block("core/quote", inner=tuple(self.blocks(tokens[start + 1 : end - 1])))]
            if kind == "table_open":
                return [self.table(tokens[start:end])]
        except _Unsuitable:
            pass
        return _html(render_tokens(tokens[start:end]))

    # --- paragraphs, images, embeds
    def paragraph(self, inline: Token) -> Block:
        children = inline.children or []
        embed = _embed(children)
        if embed is not None:
            return embed
        images = _images_only(children)
        if len(images) == 1:
            return self.image(*images[0])
        if len(images) > 1:
            inner = tuple(self.image(image, href) for image, href in images)
            return Block("core/gallery", {"linkTo": "none"}, inner)
        return Block("core/paragraph", {"content": rich_text(children, "p")})

    def image(self, image: Token, href: str | None) -> Block:
        src = str(image.attrGet("src") or "")
        attrs: dict[str, Any] = {}
        image_id = self.ids_by_url.get(src)
        if image_id is not None:
            attrs["id"] = image_id
        attrs["url"] = src
        attrs["alt"] = image_alt(image)
        title = image.attrGet("title")
        if title:
            attrs["caption"] = escape_text(str(title))
        if href:
            attrs["href"] = href
        if image_id is not None:
            attrs["sizeSlug"] = "full"  # the URL is the uploaded original's
        attrs["linkDestination"] = "custom" if href else "none"
        return Block("core/image", attrs)

    # --- lists, tables, code
    def list_block(self, tokens: list[Token], start: int, end: int) -> Block:
        attrs = self._list_attrs(tokens[start])
        items = tuple(self.list_item(tokens, first + 1, last - 1) for first, last in
                      _list_items(tokens, start, end))  # fmt: skip
        return Block("core/list", attrs, items)

    @staticmethod
    def _list_attrs(opening: Token) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if opening.type == "ordered_list_open":
            attrs["ordered"] = True
            first = opening.attrGet("start")
            if first is not None:
                attrs["start"] = int(first)
        return attrs

    def list_item(self, tokens: list[Token], start: int, end: int) -> Block:
        content = ""
        inner: list[Node] = []
        index = start
        while index < end:
            part_end = _end_of(tokens, index)
            kind = tokens[index].type
            if kind == "paragraph_open" and index == start:
                content = rich_text(tokens[index + 1].children or [], "li")
            elif kind in _LISTS:
                inner.append(self.list_block(tokens, index, part_end))
            else:  # a list item holds its text and nested lists only
                raise _Unsuitable(kind)
            index = part_end
        return Block("core/list-item", {"content": content}, tuple(inner))

    def table(self, tokens: list[Token]) -> Block:
        sections: dict[str, list[dict[str, Any]]] = {"head": [], "body": []}
        section = "head"
        row: list[dict[str, Any]] = []
        for index, token in enumerate(tokens):
            if token.type == "tbody_open":
                section = "body"
            elif token.type == "tr_open":
                row = []
            elif token.type == "tr_close":
                sections[section].append({"cells": row})
            elif token.type in ("th_open", "td_open"):
                cell: dict[str, Any] = {
                    "content": rich_text(tokens[index + 1].children or [], token.tag),
                    "tag": token.tag,
                }
                style = str(token.attrGet("style") or "")
                if style.startswith("text-align:"):
                    cell["align"] = style.removeprefix("text-align:")
                row.append(cell)
        attrs = {key: rows for key, rows in sections.items() if rows}
        return Block("core/table", attrs)

    def code(self, token: Token) -> Block:
        text = token.content.removesuffix("\n")
        language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
        if language.lower() in _PREFORMATTED:
            return Block("core/preformatted", {"content": escape_text(text)})
        attrs: dict[str, Any] = {"content": escape_text(text)}
        if _LANGUAGE.match(language):
            attrs["className"] = f"language-{language}"
        return Block("core/code", attrs)

    # --- raw HTML
    def html_block(self, tokens: list[Token], start: int) -> list[Node]:
        token = tokens[start]
        content = token.content.strip()
        if content == SERIES_MARKER:
            return _series(self.post, self.site, self.depends)
        if _MORE.match(content):
            return [Block("core/more")]
        return _html(token.content)

    def block_markup(self, token: Token) -> tuple[str, int] | None:
        """Block markup starting at this HTML token, to its closing delimiter, and the line after
        it; None if the token starts no block (lines of a quote or list would hold their marks)."""
        if (
            token.type != "html_block"
            or token.map is None
            or not token.content.lstrip().startswith("<!-- wp:")
        ):
            return None
        text = "".join(self.lines[token.map[0] :])
        depth = 0
        for match in _DELIMITER.finditer(text):
            if match["closer"]:
                depth -= 1
            elif not match["void"]:
                depth += 1
            if depth <= 0:
                markup = text[: match.end()]
                return markup.strip(), token.map[0] + markup.count("\n") + 1
        return None


def _html(content: str) -> list[Node]:
    """An HTML block, its HTML written as the editor will read it back (none if that is empty,
    as a stray end tag is)."""
    html = normal_html(content.strip("\n"))
    return [Block("core/html", {"content": html})] if html.strip() else []


# What a browser's parser changes in text even when it is escaped: carriage returns (read as
# newlines), NUL (dropped or replaced) and lone surrogates.
_REREAD = re.compile("[\r\x00\ud800-\udfff]")


def _series(post: Post, site: Site, depends: set[str]) -> list[Node]:
    """The series list as an HTML block, written as a browser writes it back: escaped as the
    browser escapes, it reads back as it is, so it is parsed again (the cost of most renders of
    a series part) only when it holds what the parser would change."""
    html = series_html(post, site, depends, escape_text, escape_attribute)
    if _REREAD.search(html):
        return _html(html)
    return [Block("core/html", {"content": html.strip("\n")})]


def _closing_html(tokens: list[Token], start: int) -> int:
    """The index after the HTML block that closes what ``tokens[start]`` opens (HTML around
    Markdown, as in ``<details>`` ... ``</details>``); ``start + 1`` if none does."""
    depth = 0
    index = start
    while index < len(tokens):
        if tokens[index].type == "html_block":
            depth += _left_open(tokens[index].content)
            if depth <= 0:
                return index + 1
        index = _end_of(tokens, index)
    return start + 1


def _list_items(tokens: list[Token], start: int, end: int) -> Iterator[tuple[int, int]]:
    """Where each item of the list ``tokens[start:end]`` starts and ends (its li tokens
    included)."""
    index = start + 1
    while index < end - 1:
        item_end = _end_of(tokens, index)
        yield index, item_end
        index = item_end


def _end_of(tokens: list[Token], start: int) -> int:
    """The index after the token that closes ``tokens[start]`` (itself if it opens nothing)."""
    if tokens[start].nesting != 1:
        return start + 1
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index + 1
    return len(tokens)


def _embed(children: Sequence[Token]) -> Block | None:
    """A YouTube, Vimeo or X URL alone in its paragraph (bare, or as an <autolink>)."""
    if len(children) == 1 and children[0].type == "text":
        url = children[0].content.strip()
    elif [c.type for c in children] == ["link_open", "text", "link_close"] and (
        children[0].markup == "autolink"
    ):
        url = str(children[0].attrGet("href"))
    else:
        return None
    for pattern, provider, kind in _EMBEDS:
        if pattern.match(url):
            attrs: dict[str, Any] = {
                "url": _x_as_twitter(url) if provider == "twitter" else url,
                "type": kind,
                "providerNameSlug": provider,
                "responsive": True,
            }
            if kind == "video":
                attrs["className"] = _ASPECT_16_9
            return Block("core/embed", attrs)
    return None


def _x_as_twitter(url: str) -> str:
    """WordPress's oEmbed knows X posts by their twitter.com address only (up to 6.8 at least)."""
    parts = urlsplit(url)
    if parts.netloc.lower() in ("x.com", "www.x.com"):
        return urlunsplit(parts._replace(netloc="twitter.com"))
    return url


def _images_only(children: Sequence[Token]) -> list[tuple[Token, str | None]]:
    """The images of a paragraph made of images only (each maybe linked), else []."""
    images: list[tuple[Token, str | None]] = []
    index = 0
    while index < len(children):
        child = children[index]
        kinds = [c.type for c in children[index : index + 3]]
        if child.type == "image":
            images.append((child, None))
            index += 1
        elif kinds == ["link_open", "image", "link_close"]:
            images.append((children[index + 1], str(child.attrGet("href"))))
            index += 3
        elif child.type == "softbreak" or (child.type == "text" and not child.content.strip()):
            index += 1
        else:
            return []
    return images
