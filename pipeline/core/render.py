"""Markdown to HTML, pure: the same post and the same view of the site give the same HTML.

Besides the HTML, rendering returns the slugs the HTML depends on (its ``post:`` links and the other
parts of its series list): when one of those goes live or changes, this post must be re-rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token

# The series are the posts' (a check of promises needs them, not the Markdown parser).
from pipeline.core.posts import POST_SCHEME, Post, SeriesPart, is_local
from pipeline.core.posts import series_index as series_index

SERIES_MARKER = "<!-- series -->"

if TYPE_CHECKING:
    from pipeline.core.output import Style


@dataclass(frozen=True)
class Site:
    """What rendering may know of the world: live permalinks, series, uploaded media.

    ``media`` maps a local image to its URL on WordPress; ``media_ids`` to its attachment id
    (block content names it: ``wp-image-<id>``; classic HTML does without).
    """

    live: Mapping[str, str] = field(default_factory=dict)
    series: Mapping[str, tuple[SeriesPart, ...]] = field(default_factory=dict)
    media: Mapping[Path, str] = field(default_factory=dict)
    media_ids: Mapping[Path, int] = field(default_factory=dict)
    styles: Mapping[str, Style] = field(default_factory=dict)  # by slug; none: classic


@dataclass(frozen=True)
class Rendered:
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


def parse(body: str) -> list[Token]:
    """The tokens of ``body``, shared: never change them (copy a token to rewrite it)."""
    tokens = _PARSED.get(body)
    if tokens is None:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        tokens = _PARSED[body] = _MD.parse(body)
    return tokens


def render(post: Post, site: Site) -> Rendered:
    depends: set[str] = set()
    tokens = resolve(_figures(parse(post.body), post, site), post, site, depends)
    for index, token in enumerate(tokens):
        if token.type == "html_block" and token.content.strip() == SERIES_MARKER:
            tokens[index] = token.copy(content=series_html(post, site, depends))
    return Rendered(html=render_tokens(tokens), depends_on=frozenset(depends - {post.slug}))


def render_tokens(tokens: list[Token]) -> str:
    """Classic HTML of (resolved) tokens."""
    html: str = _MD.renderer.render(tokens, _MD.options, {})
    return html


def resolve(tokens: list[Token], post: Post, site: Site, depends: set[str]) -> list[Token]:
    """A copy of ``tokens`` with every inline token's links and images resolved."""
    return [
        token.copy(children=_inline(token.children, post, site, depends))
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
                out.append(child if url == href else child.copy(attrs={**child.attrs, "href": url}))
        elif child.type == "link_close":
            if not dropped_levels.pop():
                out.append(child)
        elif child.type == "image":
            src = image_url(str(child.attrGet("src") or ""), post, site)
            out.append(child.copy(attrs={**child.attrs, "src": src}))
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


def series_html(post: Post, site: Site, depends: set[str]) -> str:
    """The series list of ``post`` (the marker itself when it has none)."""
    if post.series is None or post.series not in site.series:
        return SERIES_MARKER + "\n"
    items = []
    for part in site.series[post.series]:
        depends.add(part.slug)
        title = escape(part.title, quote=False)
        url = site.live.get(part.slug)
        if part.slug == post.slug:
            items.append(f'<li aria-current="page"><strong>{title}</strong></li>')
        elif url is not None:
            items.append(f'<li><a href="{escape(url)}">{title}</a></li>')
        else:
            items.append(f"<li>{title} <em>(coming soon)</em></li>")
    return (
        f'<nav class="series-list"><p>{escape(post.series, quote=False)}</p>\n<ol>\n'
        + "\n".join(items)
        + "\n</ol></nav>\n"
    )
