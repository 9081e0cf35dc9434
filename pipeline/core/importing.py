"""A WordPress post as a post file of ours: front matter, Markdown body, images to fetch. Pure.

The post comes in as a :class:`SourcePost` (read from the REST API or an export file by
:mod:`pipeline.importer`); out comes the text of ``<slug>.md``, the images it needs downloaded
(inline and featured) with the local paths the text uses, what was inferred, and warnings
(promises of a later link, see :mod:`pipeline.core.promises`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import yaml
from msgspec import Struct, field

from pipeline.core.posts import SeriesPart, slugify
from pipeline.core.promises import Promise, find_promises
from pipeline.core.wpmarkdown import to_markdown
from pipeline.timeutil import utc_iso

IMAGES_DIR = "images"
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_NUMBERS |= {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
# "Fond Memories Part 2: Stink Bomb", "Fond Memories, part two - Stink Bomb", "Trip (Part 3)".
_PART_TITLE = re.compile(
    r"^(?P<series>.*?\w.*?)[\s,:;–—-]*\(?\bpart\s+(?P<number>\d+|[a-z]+)\b\)?(?:\s*[:.–—-]\s*.*)?$",
    re.IGNORECASE,
)
_MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>(?:\\.|[^\]\\])*)\]\((?P<src><[^>]*>|[^\s)]+)")


class SourcePost(Struct, frozen=True):
    """A post as WordPress holds it, whichever way it was read."""

    id: int
    title: str
    slug: str
    status: str  # publish | future | draft | pending | private
    date_gmt: datetime | None  # aware
    content: str  # raw: classic HTML or block markup
    excerpt: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    featured_image_url: str | None = None
    featured_media_id: int | None = None
    link: str = ""
    attachments: Mapping[str, int] = field(default_factory=dict)  # the site's: URL -> id


class Download(Struct, frozen=True):
    url: str
    path: str  # relative to the posts folder, e.g. "images/magnetic-rose-1.jpg"
    media_id: int | None = None  # the attachment, when the post names it (wp-image-N, featured)


class PostFile(Struct, frozen=True):
    source: SourcePost
    path: str  # relative to the posts folder
    text: str
    downloads: tuple[Download, ...]
    inferred: tuple[str, ...]  # e.g. "series 'Fond Memories', part 2 (from the title)"
    warnings: tuple[Promise, ...] = ()
    front: Mapping[str, object] = field(default_factory=dict)


def infer_series(title: str) -> tuple[str, int] | None:
    """``("Fond Memories", 2)`` for "Fond Memories Part 2: Stink Bomb"; None when not plain."""
    match = _PART_TITLE.match(title.strip())
    if match is None:
        return None
    number = match["number"].lower()
    part = int(number) if number.isdigit() else _NUMBERS.get(number)
    series = match["series"].strip(" ,:;–—-")
    if part is None or part < 1 or not series:
        return None
    return series, part


def series_parts(posts: Sequence[SourcePost]) -> dict[str, tuple[SeriesPart, ...]]:
    """The series the titles make plain, each with its parts in order."""
    groups: dict[str, list[SeriesPart]] = {}
    for post in posts:
        found = infer_series(post.title)
        if found is not None:
            groups.setdefault(found[0], []).append(SeriesPart(post.slug, post.title, found[1]))
    return {name: tuple(sorted(parts, key=lambda p: p.part or 0)) for name, parts in groups.items()}


def post_file(
    post: SourcePost,
    site_url: str,
    series: Mapping[str, tuple[SeriesPart, ...]] | None = None,
    taken: Mapping[str, str] | None = None,
    *,
    dated: bool = False,
) -> PostFile:
    """The file for ``post``. Images of ``site_url`` (its uploads) are fetched into ``images/``;
    ``taken`` maps image paths already claimed (by other posts of the same import) to their URL,
    so that two different images never share a file and one image is fetched once. ``dated``:
    a published post keeps its date as ``publish_at`` (it moves to another site, where it is
    an old post: published backdated, not announced)."""
    claimed = dict(taken or {})
    downloads: list[Download] = []
    ids = media_ids(post.content)
    for url, attachment in post.attachments.items():
        ids.setdefault(url, attachment)
    if post.featured_image_url and post.featured_media_id:
        ids.setdefault(post.featured_image_url, post.featured_media_id)

    def local(url: str) -> str:
        path = _image_path(url, claimed)
        claimed[path] = url
        if all(d.path != path for d in downloads):
            downloads.append(Download(url, path, ids.get(url)))
        return path

    body = to_markdown(post.content)
    body = _localise_images(body, site_url, local)
    front, inferred = _front_matter(post, local, dated)
    series_name = front.get("series")
    parts = (series or {}).get(series_name, ()) if isinstance(series_name, str) else ()
    text = "---\n" + _yaml(front) + "---\n" + body
    body_line = text[: len(text) - len(body)].count("\n") + 1
    warnings = find_promises(body, body_line, post.slug, parts)
    return PostFile(
        source=post,
        path=f"{post.slug}.md",
        text=text,
        downloads=tuple(downloads),
        inferred=tuple(inferred),
        warnings=tuple(warnings),
        front=front,
    )


def _front_matter(
    post: SourcePost, local: Callable[[str], str], dated: bool = False
) -> tuple[dict[str, object], list[str]]:
    front: dict[str, object] = {"title": post.title, "slug": post.slug}
    inferred: list[str] = []
    found = infer_series(post.title)
    if found is not None:
        front["series"], front["part"] = found
        inferred.append(f"series {found[0]!r}, part {found[1]} (from the title)")
    front["status"] = "ready" if post.status in ("publish", "future") else "draft"
    if post.status not in ("publish", "future", "draft"):
        inferred.append(f"status draft (it is {post.status!r} in WordPress)")
    if post.status in (("future", "publish") if dated else ("future",)) and post.date_gmt:
        front["publish_at"] = utc_iso(post.date_gmt)
    if post.categories:
        front["categories"] = list(post.categories)
    if post.tags:
        front["tags"] = list(post.tags)
    excerpt = " ".join(re.sub(r"<[^>]+>", "", post.excerpt).split())
    if excerpt:
        front["excerpt"] = excerpt
    if post.featured_image_url:
        front["featured_image"] = local(post.featured_image_url)
    return front, inferred


def _yaml(front: Mapping[str, object]) -> str:
    return yaml.safe_dump(dict(front), sort_keys=False, allow_unicode=True, width=10_000)


def _localise_images(body: str, site_url: str, local: Callable[[str], str]) -> str:
    """Markdown images of the site's own uploads point at local copies; others stay as they are
    (as do images inside raw HTML, which keep their WordPress URLs)."""

    def swap(match: re.Match[str]) -> str:
        src = match["src"].strip("<>")
        if not is_site_upload(src, site_url):
            return match.group(0)
        return f"![{match['alt']}]({local(src)}"

    return _MARKDOWN_IMAGE.sub(swap, body)


_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""\b(src|class)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


_CAPTION_ID = re.compile(
    r"\[caption\b[^\]]*\bid=[\"']?attachment_(?P<id>\d+)[^\]]*\](?:\s*<a\b[^>]*>)?\s*(?P<img><img\b[^>]*>)",
    re.IGNORECASE,
)


def media_ids(content: str) -> dict[str, int]:
    """Image URL -> attachment id, from the ``wp-image-N`` class WordPress puts on its images."""
    found: dict[str, int] = {}
    for tag in _IMG_TAG.findall(content):
        attrs = {m[1].lower(): m[2] or m[3] for m in _ATTR.finditer(tag)}
        number = re.search(r"\bwp-image-(\d+)\b", attrs.get("class", ""))
        if number and attrs.get("src"):
            found.setdefault(attrs["src"], int(number[1]))
    for caption in _CAPTION_ID.finditer(content):  # [caption id="attachment_N"]<img src=...>
        srcs = [m[2] or m[3] for m in _ATTR.finditer(caption["img"]) if m[1].lower() == "src"]
        if srcs:
            found.setdefault(srcs[0], int(caption["id"]))
    return found


def image_sources(content: str) -> list[str]:
    """The ``src`` of every ``<img>`` in a post's raw content, in order."""
    sources = []
    for tag in _IMG_TAG.findall(content):
        attrs = {m[1].lower(): m[2] or m[3] for m in _ATTR.finditer(tag)}
        if attrs.get("src"):
            sources.append(attrs["src"])
    return sources


def is_site_upload(url: str, site_url: str) -> bool:
    """An upload of this site: on its host (or a subdomain of it) under ``wp-content/uploads``,
    or on WordPress.com's file hosts."""
    parts, site = urlsplit(url), urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host, site_host = parts.hostname, site.hostname or ""
    if host.endswith(".files.wordpress.com") or "/wp-content/uploads/" in parts.path:
        return host == site_host or host.endswith("." + site_host) or "files.wordpress" in host
    return False


def _image_path(url: str, claimed: Mapping[str, str]) -> str:
    """``images/<file name>``; a different image of the same name gets ``-2``, ``-3``..."""
    for path, owner in claimed.items():
        if owner == url:
            return path
    name = PurePosixPath(unquote(urlsplit(url).path)).name or "image"
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, suffix) if dot else (name, "")
    stem = slugify(stem) or "image"
    suffix = ("." + re.sub(r"[^a-z0-9]", "", suffix.lower())) if suffix else ""
    candidate = f"{IMAGES_DIR}/{stem}{suffix}"
    number = 2
    while candidate in claimed:
        candidate = f"{IMAGES_DIR}/{stem}-{number}{suffix}"
        number += 1
    return candidate
