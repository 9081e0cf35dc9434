"""Which markup a post is written in on WordPress: block-editor content or classic HTML.

New posts are written as blocks (``[wordpress] format``, default ``"blocks"``); a post already on
WordPress keeps the format it was created with. The block markup follows the site's WordPress
version (its :class:`~pipeline.core.blocks.Dialect`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import Struct
from msgspec.structs import asdict

from pipeline.core.blocks import WORDPRESS_6_1, Dialect, Piece, block_pieces, joined, pieces_again
from pipeline.core.memo import (
    MEMO,
    Reads,
    compact,
    digest,
    plain,
    still_true,
    still_true_compact,
)
from pipeline.core.posts import Post
from pipeline.core.records import PostRecord
from pipeline.core.render import Rendered, Site, remember_tokens, render


class Style(Struct, frozen=True):
    blocks: bool = False
    dialect: Dialect = WORDPRESS_6_1

    @property
    def format(self) -> str:
        return "blocks" if self.blocks else "classic"


CLASSIC = Style()
DIALECT_KEY = "block_dialect"  # where the state keeps the site's dialect


RENDERED = "rendered"  # the memo's namespace: by slug, the last few renders of that post
VARIANTS = 3  # a plan renders a post against the site before and after it
# The memo's namespace of the pieces of each post's latest render in blocks, by slug: read only
# when a render must be made again (one file each, apart from the renders: they are large).
PIECES = "pieces"


def render_post(post: Post, site: Site) -> Rendered:
    """``post`` in the markup its WordPress post is written in (``site.styles``).

    Remembered (:mod:`pipeline.core.memo`): the same text, rendered in the same style, gives the
    same markup as long as every lookup the render made in ``site`` gives the same answer. In
    blocks, a render whose lookups changed builds again only the pieces (top-level blocks, list
    items) whose own lookups did (:func:`pipeline.core.blocks.pieces_again`).
    """
    style = site.styles.get(post.slug, CLASSIC)
    made_from = digest(post.body, post.slug, str(post.path), post.series or "", repr(plain(style)))
    views: dict[str, Mapping[Any, Any]] = {
        "live": site.live,
        "series": site.series,
        "media": site.media,
        "media_ids": site.media_ids,
        "styles": site.styles,
    }
    earlier: list[dict[str, Any]] = MEMO.get(RENDERED, post.slug) or []
    for entry in earlier:
        if entry["from"] == made_from and still_true_compact(entry["reads"], views):
            return Rendered(entry["html"], frozenset(entry["depends"]))
    reads: list[list[Any]] = []
    watched = Site(**{name: Reads(name, view, reads) for name, view in views.items()})
    if style.blocks:
        pieces = _pieces(post, watched, style.dialect, reads, made_from, views)
        rendered = joined(pieces, post.slug)
        reads = [read for piece in pieces for read in piece.all_reads()]
        if reads:  # else it is the same whatever the site: never built again
            saved = {"from": made_from, "pieces": [piece.plain() for piece in pieces]}
            MEMO.put(PIECES, post.slug, saved)
    else:
        rendered = render(post, watched)
        if rendered.depends_on:  # rendered again when one of those changes: keep its tokens
            remember_tokens(post.slug, post.body)
    entry = {
        "from": made_from,
        "reads": compact(reads),
        "html": rendered.html,
        "depends": sorted(rendered.depends_on),
    }
    MEMO.put(RENDERED, post.slug, [entry, *earlier][:VARIANTS])
    return rendered


def _pieces(
    post: Post,
    site: Site,
    dialect: Dialect,
    reads: list[list[Any]],
    made_from: str,
    views: Mapping[str, Mapping[Any, Any]],
) -> list[Piece]:
    """The post's pieces: those of its latest render, built again where their lookups changed;
    or else all built afresh."""
    saved = MEMO.get(PIECES, post.slug)
    if isinstance(saved, dict) and saved.get("from") == made_from:
        try:
            kept = [Piece.from_plain(piece) for piece in saved["pieces"]]
        except (KeyError, TypeError, ValueError):  # a damaged memo: built afresh
            kept = None
        again = kept and pieces_again(
            post, site, dialect, reads, kept, lambda lookups: still_true(lookups, views)
        )
        if again:
            return again
    return block_pieces(post, site, dialect, reads)


def style_for(
    record_format: str | None, on_wordpress: bool, default: str, dialect: Dialect
) -> Style:
    """A post's style: what it was created with, or for a new post the site's default. Posts
    created before formats were recorded are classic."""
    chosen = record_format or ("classic" if on_wordpress else default)
    return Style(chosen == "blocks", dialect)


def styles_for(
    slugs: Iterable[str], records: Mapping[str, PostRecord], default: str, dialect: Dialect
) -> dict[str, Style]:
    """Each post's style, by slug (see :func:`style_for`)."""
    styles = {}
    for slug in slugs:
        record = records.get(slug)
        on_wordpress = record is not None and record.wp_id is not None
        styles[slug] = style_for(record.format if record else None, on_wordpress, default, dialect)
    return styles


def dialect_from(saved: str | None) -> Dialect:
    """The dialect as the state keeps it (:func:`saved_dialect`), or WordPress 6.1's."""
    return Dialect(**json.loads(saved)["dialect"]) if saved else WORDPRESS_6_1


def saved_dialect(dialect: Dialect, read_at: str) -> str:
    return json.dumps({"dialect": asdict(dialect), "read_at": read_at})


def dialect_read_at(saved: str | None) -> str | None:
    return str(json.loads(saved)["read_at"]) if saved else None
