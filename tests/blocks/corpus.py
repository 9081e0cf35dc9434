"""The block renderer's corpus (``tests/blocks/corpus/*.md``) and the sites to render it for.

The corpus is one posts folder: a series of three parts with cross-references, three images, and
posts that between them use every Markdown construct the renderer knows (and a few it turns into
HTML blocks on purpose). Part 3 of the series is never live, so its links stay plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.core.blocks import Block, Node
from pipeline.core.posts import Post
from pipeline.core.render import Site, series_index
from pipeline.loading import load_posts

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
FIXTURES = HERE / "fixtures"
NOT_LIVE = frozenset({"fond-memories-part-3"})
EXAMPLE_URL = "https://blog.example"


def load() -> dict[str, Post]:
    """Every corpus post by slug (the corpus has no bad input)."""
    result = load_posts(CORPUS, ZoneInfo("UTC"))
    if result.errors:
        raise AssertionError(f"the block corpus has errors: {result.errors}")
    return result.by_slug()


def images(posts: Mapping[str, Post]) -> list[Path]:
    """Every local image of the corpus, each once, in a stable order."""
    return sorted({image.path for post in posts.values() for image in post.images})


def site(posts: Mapping[str, Post], base_url: str, media: Mapping[Path, tuple[int, str]]) -> Site:
    """The corpus as published on ``base_url`` with ``media`` (image path -> (id, URL))."""
    return Site(
        live={slug: f"{base_url}/{slug}/" for slug in posts if slug not in NOT_LIVE},
        series=series_index(posts.values()),
        media={path: url for path, (_, url) in media.items()},
        media_ids={path: media_id for path, (media_id, _) in media.items()},
    )


def example_site(posts: Mapping[str, Post]) -> Site:
    """The corpus on an imaginary blog, images uploaded with ids from 101 (for the fixtures)."""
    media = {
        path: (101 + index, f"{EXAMPLE_URL}/wp-content/uploads/2026/12/{path.name}")
        for index, path in enumerate(images(posts))
    }
    return site(posts, EXAMPLE_URL, media)


def to_json(block: Block) -> dict[str, Any]:
    """The block as ``wp.blocks.createBlock`` takes it: name, attributes, inner blocks."""
    return {
        "name": block.name,
        "attributes": dict(block.attrs),
        "innerBlocks": [to_json(node) for node in block.inner if isinstance(node, Block)],
    }


def from_json(data: Mapping[str, Any]) -> Block:
    """A block from the ``wp.blocks.createBlock`` shape (``to_json``'s inverse)."""
    inner: tuple[Node, ...] = tuple(from_json(child) for child in data.get("innerBlocks", []))
    return Block(str(data["name"]), dict(data.get("attributes", {})), inner)


def fixture_path(version: str) -> Path:
    return FIXTURES / f"wordpress-{version}.json"


def load_fixtures(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
