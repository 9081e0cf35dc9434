"""Posts as the pipeline sees them: small frozen structs, and the checks over the whole set.

Reading the files is :mod:`pipeline.loading`'s job; everything here is pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from msgspec import Struct, field

from pipeline.errors import PostError, shown

MAX_POST_BYTES = 2 * 1024 * 1024
STATUSES = ("draft", "ready")
KNOWN_KEYS = frozenset(
    {
        "title",
        "slug",
        "series",
        "part",
        "status",
        "publish_at",
        "categories",
        "tags",
        "excerpt",
        "featured_image",
        "announce",
    }
)
POST_SCHEME = "post:"
CHANNELS = ("x", "bluesky", "mastodon")  # the networks a post can be announced on


class Image(Struct, frozen=True, gc=False):
    """A local image the post uses, as written and as resolved inside the posts folder."""

    src: str
    path: Path
    line: int
    alt: str = ""
    caption: str = ""


class Link(Struct, frozen=True, gc=False):
    """A ``post:`` cross-reference and the line it is written on."""

    slug: str
    line: int


class Post(Struct, frozen=True, gc=False):
    """One post as loaded from its file: front matter, body and where each key was written."""

    path: Path
    title: str
    slug: str
    body: str
    body_line: int
    source_hash: str
    series: str | None = None
    part: int | None = None
    status: str = "ready"
    publish_at: datetime | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    excerpt: str | None = None
    featured_image: Image | None = None
    announce: str | bool | Mapping[str, str | bool] = True  # a table: by channel
    images: tuple[Image, ...] = ()
    links: tuple[Link, ...] = ()
    key_lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    def template(self, channel: str, default: str) -> str | None:
        """The announcement template for ``channel``: the post's own, or ``default``; None when
        the post is not announced there."""
        chosen = self.announce
        if isinstance(chosen, Mapping):
            chosen = chosen.get(channel, True)
        if chosen is False:
            return None
        return chosen if isinstance(chosen, str) else default

    def own_templates(self) -> tuple[str, ...]:
        """The templates written in the post itself, whatever the channel."""
        if isinstance(self.announce, str):
            return (self.announce,)
        if isinstance(self.announce, Mapping):
            return tuple(t for t in self.announce.values() if isinstance(t, str))
        return ()


class LoadResult(Struct, frozen=True):
    """What loading the posts folder gave: the good posts, the errors, the warnings."""

    posts: tuple[Post, ...]
    errors: tuple[PostError, ...]
    warnings: tuple[str, ...]

    def by_slug(self) -> dict[str, Post]:
        return {post.slug: post for post in self.posts}


def slugify(text: str) -> str:
    """A stable, ASCII slug: the same title always gives the same slug."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower())[:190].strip("-")


def is_local(src: str) -> bool:
    return bool(src) and not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", src, re.IGNORECASE)


def check_set(
    posts: list[Post], broken_slugs: Collection[str] = ()
) -> tuple[list[Post], list[PostError]]:
    """Checks only the whole set can make: unique slugs and parts, links that resolve.

    Every post of a clash is held back and reported: publishing either could be the wrong one.
    ``broken_slugs`` are posts that exist but failed to load (already reported): a link to one of
    them is not an error of the linking post.
    """
    errors: list[PostError] = []
    slugs = {post.slug for post in posts}
    numbered = [post for post in posts if post.series is not None and post.part is not None]
    by_slug: dict[str, list[Post]] = {}
    by_part: dict[tuple[str | None, int | None], list[Post]] = {}
    # Grouped only when something clashes: thousands of posts, each its own, are the rule.
    for post in posts if len(slugs) < len(posts) else ():
        by_slug.setdefault(post.slug, []).append(post)
    for post in numbered if len({(p.series, p.part) for p in numbered}) < len(numbered) else ():
        by_part.setdefault((post.series, post.part), []).append(post)
    for slug, group in by_slug.items():
        for post in group if len(group) > 1 else ():
            line = post.line_of("slug" if "slug" in post.key_lines else "title")
            others = ", ".join(str(p.path) for p in group if p is not post)
            errors.append(
                PostError(
                    f"slug {shown(slug)} is also used by {others}; held back until only one "
                    "uses it",
                    path=post.path,
                    line=line,
                    fix="give one of them another slug: ...",
                )
            )
    for (series, part), group in by_part.items():
        for post in group if len(group) > 1 else ():
            others = ", ".join(str(p.path) for p in group if p is not post)
            errors.append(
                PostError(
                    f"part {part} of series {shown(series)} is also claimed by {others}; held back "
                    "until only one claims it",
                    path=post.path,
                    line=post.line_of("part"),
                    fix="number the parts 1, 2, 3 ... once each",
                )
            )
    bad = {p.path for g in [*by_slug.values(), *by_part.values()] if len(g) > 1 for p in g}
    for post in posts:
        for link in post.links:
            if link.slug not in slugs and link.slug not in broken_slugs:
                errors.append(
                    PostError(
                        f"post:{link.slug} links to a post that does not exist",
                        path=post.path,
                        line=link.line,
                        fix="use the slug of a post under the posts folder",
                    )
                )
                bad.add(post.path)
    return ([p for p in posts if p.path not in bad] if bad else list(posts)), errors


def predicted_url(site_url: str, slug: str) -> str:
    """The permalink a post will most likely have (WordPress's default /slug/ permalinks)."""
    return f"{site_url.rstrip('/')}/{slug}/"


class SeriesPart(Struct, frozen=True, gc=False):
    """One part of a series, as the series list shows it."""

    slug: str
    title: str
    part: int | None


def series_index(posts: Iterable[Post]) -> dict[str, tuple[SeriesPart, ...]]:
    """Every series with its parts in order: numbered parts first, then the rest by title."""
    groups: dict[str, list[Post]] = {}
    for post in posts:
        if post.series is not None:
            groups.setdefault(post.series, []).append(post)

    def order(post: Post) -> tuple[int, str]:
        return (post.part if post.part is not None else 1 << 30, post.title)

    return {
        name: tuple(SeriesPart(p.slug, p.title, p.part) for p in sorted(members, key=order))
        for name, members in groups.items()
    }
