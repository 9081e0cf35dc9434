"""Markdown to HTML, pure: the same post and the same view of the site give the same HTML.

Besides the HTML, rendering returns the slugs the HTML depends on (its ``post:`` links and the other
parts of its series list): when one of those goes live or changes, this post must be re-rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from msgspec import Struct, field

from pipeline.core.memo import MEMO, digest

# The series are the posts' (a check of promises needs them, not the Markdown parser).
from pipeline.core.posts import POST_SCHEME, Post, SeriesPart, is_local
from pipeline.core.posts import series_index as series_index

SERIES_MARKER = "<!-- series -->"

if TYPE_CHECKING:
    from pipeline.core.output import Style


class Site(Struct, frozen=True):
    """What rendering may know of the world: live permalinks, series, uploaded media.

    ``media`` maps a local image to its URL on WordPress; ``media_ids`` to its attachment id
    (block content names it: ``wp-image-<id>``; classic HTML does without).
    """

    live: Mapping[str, str] = field(default_factory=dict)
    series: Mapping[str, tuple[SeriesPart, ...]] = field(default_factory=dict)
    media: Mapping[Path, str] = field(default_factory=dict)
    media_ids: Mapping[Path, int] = field(default_factory=dict)
    styles: Mapping[str, Style] = field(default_factory=dict)  # by slug; none: classic


class Rendered(Struct, frozen=True):
    html: str
    depends_on: frozenset[str]


_MD = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
# A soft line break is only whitespace in Markdown, but WordPress's wpautop turns every newline
# inside a paragraph of classic content into <br />: write it as a space.
_MD.add_render_rule("softbreak", lambda *args: " ")
# Quotes in text are written as they are, not as &quot;: WordPress's wptexturize makes "these" into
# curly quotes, as it does for posts written in its editor, but leaves &quot; alone.
_MD.add_render_rule("text", lambda _, tokens, idx, *args: escape(tokens[idx].content, quote=False))


# Parsing is most of the cost of rendering, and the same post is rendered again and again
# against different views of the site (planning, backfills, every scheduler run). Tokens are
# kept per body and never changed: rendering copies the few tokens it rewrites.
_PARSED: dict[str, list[Token]] = {}
_PARSED_MAX = 4096

# The memo's namespace of parsed bodies, by slug: the tokens of a post that links others, which
# is rendered again, in a new process, each time one of them goes live (a series' backfills).
# Reading them back costs an eighth of parsing.
PARSED = "parsed"


def parse(body: str, slug: str | None = None) -> list[Token]:
    """The tokens of ``body``, shared: never change them (copy a token to rewrite it). For the
    post ``slug``, the tokens remembered for the same body (:func:`remember_tokens`) if any."""
    tokens = _PARSED.get(body)
    if tokens is None:
        tokens = _remembered_tokens(body, slug) if slug is not None else None
        if tokens is None:
            tokens = _MD.parse(body)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[body] = tokens
    return tokens


def remember_tokens(slug: str, body: str) -> None:
    """Remember the tokens of ``body`` for the post ``slug``, from now on and in later processes."""
    made_from = digest(body)
    if (slug, made_from) in _in_memo():
        return
    earlier = MEMO.get(PARSED, slug)
    if not (isinstance(earlier, dict) and earlier.get("from") == made_from):
        saved = plain_tokens(parse(body))
        if saved is None:
            return
        MEMO.put(PARSED, slug, {"from": made_from, "tokens": saved})
    _in_memo().add((slug, made_from))


def _remembered_tokens(body: str, slug: str) -> list[Token] | None:
    entry = MEMO.get(PARSED, slug)
    made_from = digest(body)
    if not isinstance(entry, dict) or entry.get("from") != made_from:
        return None
    try:
        tokens = tokens_from_plain(entry["tokens"])
    except (KeyError, TypeError, ValueError):  # a damaged entry: parse again
        return None
    _in_memo().add((slug, made_from))
    return tokens


# The bodies (slug, digest) whose tokens the memo holds, as this process has seen: the memo does
# not keep the rows it reads (see pipeline.memofile), so asking it again would read the file
# again. Known for one start of the memo (Memo.use): another may be another state folder.
_IN_MEMO: tuple[int, set[tuple[str, str]]] = (-1, set())


def _in_memo() -> set[tuple[str, str]]:
    global _IN_MEMO
    if _IN_MEMO[0] != MEMO.started:
        _IN_MEMO = (MEMO.started, set())
    return _IN_MEMO[1]


# A token's fields as its plain form lists them: those most often set first, so that the many
# that end in defaults (a text token is its type and content) are written short.
_FIELDS = ("type", "content", "children", "tag", "nesting", "level", "map", "attrs", "markup",
           "info", "block", "hidden")  # fmt: skip
_DEFAULTS: tuple[Any, ...] = ("", "", None, "", 0, 0, None, {}, "", "", False, False)


def plain_tokens(tokens: list[Token]) -> list[list[Any]] | None:
    """``tokens`` as JSON data (None if one holds what JSON cannot: plugins' ``meta``)."""
    rows: list[list[Any]] = []
    for token in tokens:
        if token.meta:
            return None
        row = [getattr(token, name) for name in _FIELDS]
        row[7] = dict(token.attrs)  # a token read back holds the shared read-only mapping
        if token.children is not None:
            row[2] = plain_tokens(token.children)
            if row[2] is None:
                return None
        while row and row[-1] == _DEFAULTS[len(row) - 1]:
            row.pop()
        rows.append(row)
    return rows


def tokens_from_plain(rows: list[list[Any]]) -> list[Token]:
    """The tokens :func:`plain_tokens` wrote (equal to the parsed ones)."""
    tokens = []
    for row in rows:
        kind, content, children, tag, nesting, level, where, attrs, markup, info, block, hidden = (
            *row,
            *_DEFAULTS[len(row) :],
        )
        if not isinstance(attrs, dict) or not isinstance(kind, str) or len(row) > len(_FIELDS):
            raise TypeError("not a token")
        # Made field by field, as _made does, written out here: the call was a third of it.
        token = _NEW_TOKEN(Token)
        token.type, token.tag, token.nesting, token.attrs = kind, tag, nesting, attrs or _NOTHING
        token.map, token.level, token.content, token.markup = where, level, content, markup
        token.children = None if children is None else tokens_from_plain(children)
        token.info, token.meta, token.block, token.hidden = info, _NOTHING, block, hidden
        tokens.append(token)
    return tokens


# The empty attributes and meta of the tokens read back: one read-only mapping for all, where
# two new dictionaries a token made every read count towards the garbage collector's next pass
# (a backfill's plan reads ~12,000 tokens). Equal to ``{}``; changing it raises, as changing any
# shared token should.
_NOTHING: Any = MappingProxyType({})


def _copy(
    token: Token,
    *,
    attrs: dict[str, str | int | float] | None = None,
    children: list[Token] | None = None,
    content: str | None = None,
) -> Token:
    """``token.copy(...)`` of what a render rewrites, at a third of the cost of the
    ``dataclasses.replace`` it calls (a render copies every inline token it resolves)."""
    return _made(
        token.type, token.tag, token.nesting, token.attrs if attrs is None else attrs,
        token.map, token.level, token.children if children is None else children,
        token.content if content is None else content, token.markup, token.info, token.meta,
        token.block, token.hidden,
    )  # fmt: skip


def _made(
    kind: str, tag: str, nesting: Any, attrs: dict[str, str | int | float], where: Any,
    level: int, children: list[Token] | None, content: str, markup: str, info: str,
    meta: dict[Any, Any], block: bool, hidden: bool,
) -> Token:  # fmt: skip
    """A token, made field by field: half the cost of ``Token(...)`` (its ``__init__`` and
    ``__post_init__``), which was most of reading a body's tokens back."""
    token = _NEW_TOKEN(Token)
    token.type, token.tag, token.nesting, token.attrs = kind, tag, nesting, attrs
    token.map, token.level, token.children, token.content = where, level, children, content
    token.markup, token.info, token.meta, token.block, token.hidden = (
        markup, info, meta, block, hidden
    )  # fmt: skip
    return token


_NEW_TOKEN = Token.__new__
# Token's fields, in its own order (a test checks them against markdown-it's).
_TOKEN_FIELDS = ("type", "tag", "nesting", "attrs", "map", "level", "children", "content",
                 "markup", "info", "meta", "block", "hidden")  # fmt: skip


def render(post: Post, site: Site) -> Rendered:
    depends: set[str] = set()
    tokens = resolve(_figures(parse(post.body, post.slug), post, site), post, site, depends)
    for index, token in enumerate(tokens):
        if token.type == "html_block" and token.content.strip() == SERIES_MARKER:
            tokens[index] = _copy(token, content=series_html(post, site, depends))
    return Rendered(html=render_tokens(tokens), depends_on=frozenset(depends - {post.slug}))


def render_tokens(tokens: list[Token]) -> str:
    """Classic HTML of (resolved) tokens."""
    html: str = _MD.renderer.render(tokens, _MD.options, {})
    return html


def resolve(tokens: list[Token], post: Post, site: Site, depends: set[str]) -> list[Token]:
    """A copy of ``tokens`` with every inline token's links and images resolved."""
    return [
        _copy(token, children=_inline(token.children, post, site, depends))
        if token.type == "inline" and token.children
        else token
        for token in tokens
    ]


def _inline(children: list[Token], post: Post, site: Site, depends: set[str]) -> list[Token]:
    """Resolve ``post:`` links (plain text until the target is live) and local image URLs."""
    out: list[Token] = []
    dropped_levels: list[bool] = []
    for child in children:
        if child.type == "link_open":
            href = str(child.attrGet("href") or "")
            url: str | None = href
            if href.startswith(POST_SCHEME):
                slug = href[len(POST_SCHEME) :].strip("/")
                depends.add(slug)
                url = site.live.get(slug)
            dropped_levels.append(url is None)
            if url is not None:
                out.append(
                    child if url == href else _copy(child, attrs={**child.attrs, "href": url})
                )
        elif child.type == "link_close":
            if not dropped_levels.pop():
                out.append(child)
        elif child.type == "image":
            src = image_url(str(child.attrGet("src") or ""), post, site)
            out.append(_copy(child, attrs={**child.attrs, "src": src}))
        else:
            out.append(child)
    return out


def image_url(src: str, post: Post, site: Site) -> str:
    if not is_local(src):
        return src
    return site.media.get(image_path(src, post), src)


def image_path(src: str, post: Post) -> Path:
    """Where a local image written as ``src`` in ``post`` is on disk."""
    return (post.path.parent / unquote(src)).resolve()


def image_alt(image: Token) -> str:
    return "".join(child.content for child in image.children or [])


def _figures(tokens: list[Token], post: Post, site: Site) -> list[Token]:
    """A paragraph that is just an image with a title becomes a <figure> with a <figcaption>."""
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        window = tokens[index : index + 3]
        image = _lone_titled_image(window)
        if image is None:
            out.append(tokens[index])
            index += 1
            continue
        figure = Token("html_block", "", 0)
        figure.content = _figure_html(image, post, site)
        out.append(figure)
        index += 3
    return out


def _lone_titled_image(window: list[Token]) -> Token | None:
    if len(window) < 3 or [t.type for t in window] != [
        "paragraph_open",
        "inline",
        "paragraph_close",
    ]:
        return None
    children = window[1].children or []
    if len(children) != 1 or children[0].type != "image" or not children[0].attrGet("title"):
        return None
    return children[0]


def _figure_html(image: Token, post: Post, site: Site) -> str:
    src = image_url(str(image.attrGet("src") or ""), post, site)
    alt = image_alt(image)
    caption = str(image.attrGet("title"))
    return (
        f'<figure class="wp-block-image"><img src="{escape(src)}" alt="{escape(alt)}" />'
        f"<figcaption>{escape(caption, quote=False)}</figcaption></figure>\n"
    )


def _classic_text(value: str) -> str:
    return escape(value, quote=False)


def series_html(
    post: Post,
    site: Site,
    depends: set[str],
    text: Callable[[str], str] = _classic_text,
    attribute: Callable[[str], str] = escape,
) -> str:
    """The series list of ``post`` (the marker itself when it has none), its text and
    attribute values written by ``text`` and ``attribute`` (classic HTML's escaping unless
    told otherwise: block content writes them as a browser would)."""
    if post.series is None or post.series not in site.series:
        return SERIES_MARKER + "\n"
    items = []
    for part in site.series[post.series]:
        depends.add(part.slug)
        title = text(part.title)
        url = site.live.get(part.slug)
        if part.slug == post.slug:
            items.append(f'<li aria-current="page"><strong>{title}</strong></li>')
        elif url is not None:
            items.append(f'<li><a href="{attribute(url)}">{title}</a></li>')
        else:
            items.append(f"<li>{title} <em>(coming soon)</em></li>")
    return (
        f'<nav class="series-list"><p>{text(post.series)}</p>\n<ol>\n'
        + "\n".join(items)
        + "\n</ol></nav>\n"
    )
