"""Which markup a post is written in on WordPress: block-editor content or classic HTML.

New posts are written as blocks (``[wordpress] format``, default ``"blocks"``); a post already on
WordPress keeps the format it was created with. The block markup follows the site's WordPress
version (its :class:`~pipeline.core.blocks.Dialect`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from pipeline.core.blocks import WORDPRESS_6_1, Dialect, render_blocks
from pipeline.core.posts import Post
from pipeline.core.records import PostRecord
from pipeline.core.render import Rendered, Site, render


@dataclass(frozen=True)
class Style:
    blocks: bool = False
    dialect: Dialect = WORDPRESS_6_1

    @property
    def format(self) -> str:
        return "blocks" if self.blocks else "classic"


CLASSIC = Style()
DIALECT_KEY = "block_dialect"  # where the state keeps the site's dialect


def render_post(post: Post, site: Site) -> Rendered:
    """``post`` in the markup its WordPress post is written in (``site.styles``)."""
    style = site.styles.get(post.slug, CLASSIC)
    return render_blocks(post, site, style.dialect) if style.blocks else render(post, site)


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
