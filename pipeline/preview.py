"""``pipeline preview``: every post rendered to a standalone HTML file, plus an index page."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from html import escape
from pathlib import Path

from msgspec.structs import replace

from pipeline.core.output import render_post
from pipeline.core.posts import Post, series_index
from pipeline.core.render import Site

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ max-width: 42rem; margin: 2rem auto; padding: 0 1rem; font: 18px/1.6 Georgia, serif; }}
figure {{ margin: 1.5rem 0; }} figure img {{ max-width: 100%; }}
figcaption {{ font-size: .85em; color: #555; }}
.series-list {{ border-left: 3px solid #ccc; padding-left: 1rem; }}
.meta {{ color: #666; font-size: .9em; }}
</style></head>
<body>{body}</body></html>
"""


def write_preview(
    posts: Sequence[Post], posts_dir: Path, out: Path, known: Site | None = None
) -> list[Path]:
    """Render every post into ``out`` as WordPress will get it (block markup or classic HTML,
    per ``known.styles``; block comments do not show in a browser); images are copied beside
    them. Returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    media = _copy_images(posts, posts_dir, out)
    known = known or Site(series=series_index(posts))
    site = replace(known, media=media)
    written = []
    for post in posts:
        html = render_post(post, site).html
        page = out / f"{post.slug}.html"
        meta = _meta_line(post)
        page.write_text(
            PAGE.format(
                title=escape(post.title),
                body=(
                    f'<p><a href="index.html">&larr; all posts</a></p><h1>{escape(post.title)}</h1>'
                    f'<p class="meta">{meta}</p>\n{html}'
                ),
            ),
            encoding="utf-8",
        )
        written.append(page)
    index = out / "index.html"
    items = "\n".join(
        f'<li><a href="{escape(p.slug)}.html">{escape(p.title)}</a> '
        f'<span class="meta">{_meta_line(p)}</span></li>'
        for p in posts
    )
    index.write_text(
        PAGE.format(title="Preview", body=f"<h1>Preview</h1><ul>\n{items}\n</ul>"), encoding="utf-8"
    )
    return [index, *written]


def _meta_line(post: Post) -> str:
    bits = [post.status]
    if post.publish_at is not None:
        bits.append(f"publish at {post.publish_at:%Y-%m-%d %H:%M} UTC")
    if post.categories:
        bits.append("in " + ", ".join(post.categories))
    if post.tags:
        bits.append("tagged " + ", ".join(post.tags))
    return escape(" · ".join(bits))


def _copy_images(posts: Sequence[Post], posts_dir: Path, out: Path) -> dict[Path, str]:
    media: dict[Path, str] = {}
    root = posts_dir.resolve()
    for post in posts:
        images = [*post.images, *([post.featured_image] if post.featured_image else [])]
        for image in images:
            relative = Path("media") / image.path.relative_to(root)
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image.path, out / relative)
            media[image.path] = relative.as_posix()
    return media
