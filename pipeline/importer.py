"""Bringing WordPress posts in as post files: from the site (REST API) or an export file (WXR).

:func:`plan_from_wordpress` and :func:`plan_from_wxr` read and convert, and return an
:class:`ImportPlan` of the files they would write (``--dry-run`` prints it); :func:`write_plan`
fetches the images and writes the files. Nothing here adopts posts into the state: the caller does
that from the plan (each file knows its WordPress id, link, and the URL of every image fetched).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeXML
from defusedxml import DefusedXmlException
from msgspec import Struct

from pipeline.core.importing import Download, PostFile, SourcePost, post_file, series_parts
from pipeline.errors import InputError, PipelineError
from pipeline.wordpress.client import WordPressClient
from pipeline.wordpress.models import RemotePost

STATUSES = ("publish", "future", "draft")


class ImportPlan(Struct, frozen=True):
    posts_dir: Path
    files: tuple[PostFile, ...]
    existing: tuple[Path, ...]  # post files already there: written only with --force
    site_url: str = ""  # the site the posts were read from

    @property
    def images(self) -> tuple[Download, ...]:
        """Every image to fetch, once each."""
        unique: dict[str, Download] = {}
        for item in self.files:
            for download in item.downloads:
                unique.setdefault(download.path, download)
        return tuple(unique.values())

    def lines(self) -> list[str]:
        """What would be written, for ``--dry-run`` and the summary."""
        out = []
        for item in self.files:
            path = self.posts_dir / item.path
            note = " (exists: needs --force)" if path in self.existing else ""
            out.append(f"{path}  <- WordPress post {item.source.id} ({item.source.status}){note}")
            out += [f"    inferred: {what}" for what in item.inferred]
            out += [f"    warning: {w.render(path)}" for w in item.warnings]
        out += [f"{self.posts_dir / d.path}  <- {d.url}" for d in self.images]
        return out


class ImportResult(Struct, frozen=True):
    written: tuple[Path, ...]
    images: tuple[Path, ...]
    problems: tuple[str, ...]  # images that could not be fetched, and why


def plan_from_wordpress(
    client: WordPressClient,
    posts_dir: Path,
    site_url: str,
    *,
    slugs: Sequence[str] = (),
    ids: Sequence[int] = (),
    every: bool = False,
    statuses: Sequence[str] = STATUSES,
    since: datetime | None = None,
    claimed: Mapping[str, str] | None = None,
) -> ImportPlan:
    """The posts chosen by slug, by id, or all of them (in ``statuses``, after ``since``).

    ``claimed`` maps image paths already taken in the posts folder to the URL each was fetched
    from (or to anything else when not known): a new image never overwrites one of them."""
    remote = _chosen(client, slugs, ids, every, statuses, since)
    names = {
        taxonomy: client.term_names(taxonomy, [i for p in remote for i in getattr(p, taxonomy)])
        for taxonomy in ("categories", "tags")
    }
    sources = [_source(client, post, names["categories"], names["tags"]) for post in remote]
    return build_plan(sources, posts_dir, site_url, claimed)


def _chosen(
    client: WordPressClient,
    slugs: Sequence[str],
    ids: Sequence[int],
    every: bool,
    statuses: Sequence[str],
    since: datetime | None,
) -> list[RemotePost]:
    if not (slugs or ids or every):
        raise InputError(
            "nothing to import", fix="name posts with --slug S or --id N, or import them --all"
        )
    chosen: dict[int, RemotePost] = {}
    for slug in slugs:
        found = client.find_post(slug)
        if found is None:
            raise InputError(
                f"WordPress has no post with the slug {slug!r}",
                fix="check the slug in the post's URL, or import --all",
            )
        chosen[found.id] = found
    for post_id in ids:
        post = client.get_post(post_id)
        if post is None or post.status == "trash":
            raise InputError(
                f"WordPress has no post with the id {post_id}",
                fix="check the id (wp-admin shows it in the post's edit link: post=N)",
            )
        chosen[post.id] = post
    if every:
        chosen |= {post.id: post for post in client.list_posts(statuses, since)}
    return sorted(chosen.values(), key=lambda p: p.date_gmt or datetime.max.replace(tzinfo=UTC))


def _source(
    client: WordPressClient, post: RemotePost, categories: dict[int, str], tags: dict[int, str]
) -> SourcePost:
    featured = client.get_media(post.featured_media) if post.featured_media else None
    return SourcePost(
        id=post.id,
        title=post.title_raw,
        slug=post.slug,
        status=post.status,
        date_gmt=post.date_gmt,
        content=post.content_raw,
        excerpt=post.excerpt_raw,
        categories=tuple(categories[i] for i in post.categories if i in categories),
        tags=tuple(tags[i] for i in post.tags if i in tags),
        featured_image_url=featured.source_url if featured is not None else None,
        featured_media_id=featured.id if featured is not None else None,
        link=post.link,
    )


def build_plan(
    sources: Sequence[SourcePost],
    posts_dir: Path,
    site_url: str,
    claimed: Mapping[str, str] | None = None,
    *,
    dated: bool = False,
) -> ImportPlan:
    series = series_parts(sources)
    files: list[PostFile] = []
    taken: dict[str, str] = dict(claimed or {})
    for source in sources:
        item = post_file(source, site_url, series, taken, dated=dated)
        taken |= {d.path: d.url for d in item.downloads}
        files.append(item)
    existing = tuple(posts_dir / f.path for f in files if (posts_dir / f.path).exists())
    return ImportPlan(posts_dir, tuple(files), existing, site_url)


def write_plan(
    plan: ImportPlan,
    fetch: Callable[[str], bytes],
    *,
    force: bool = False,
    on_item: Callable[[str, str], None] = lambda path, outcome: None,
) -> ImportResult:
    """Fetch the images and write the files. Existing post files stop everything (nothing is
    written) unless ``force``; an image that cannot be fetched is reported, the rest goes on.
    ``on_item`` (a progress bar) hears of each image and file as it is done."""
    if plan.existing and not force:
        raise existing_error(plan.existing)
    images, problems = [], []
    for download in plan.images:
        target = plan.posts_dir / download.path
        if target.exists() and not force:
            images.append(target)  # fetched by an earlier import
            on_item(str(download.path), "kept")
            continue
        try:
            _write(target, fetch(download.url))
        except (PipelineError, OSError) as exc:
            problems.append(f"{target}: not fetched from {download.url}: {exc}")
            on_item(str(download.path), "failed")
            continue
        images.append(target)
        on_item(str(download.path), "fetched")
    written = []
    for item in plan.files:
        target = plan.posts_dir / item.path
        _write(target, item.text.encode("utf-8"))
        written.append(target)
        on_item(str(item.path), "written")
    return ImportResult(tuple(written), tuple(images), tuple(problems))


def existing_error(existing: Sequence[Path]) -> InputError:
    names = ", ".join(str(path) for path in existing)
    return InputError(
        f"{names} already exist{'s' if len(existing) == 1 else ''}",
        fix="move them away, or import with --force to overwrite them",
    )


def _write(target: Path, content: bytes) -> None:
    """Whole or not at all: a crash never leaves half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# --- WordPress export files (WXR) ------------------------------------------------------------

_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_WP_VERSIONS = ("1.2", "1.1", "1.0")


def plan_from_wxr(
    path: Path,
    posts_dir: Path,
    *,
    statuses: Sequence[str] = STATUSES,
    claimed: Mapping[str, str] | None = None,
    slugs: Sequence[str] = (),
    ids: Sequence[int] = (),
    since: datetime | None = None,
    site: str | None = None,
) -> ImportPlan:
    """The posts of an export file: all of them in ``statuses``, or those chosen by slug or id
    (an unknown one is an error), dated after ``since``. ``site``: the site they go to; from
    another site, a published post keeps its date in the file (``publish_at``)."""
    sources, site_url = read_wxr(path, statuses)
    for slug in slugs:
        if all(source.slug != slug for source in sources):
            raise InputError(
                f"the export has no post with the slug {slug!r} (in {', '.join(statuses)})",
                path=path,
                fix="check the slug, or leave --slug out to import the whole file",
            )
    for post_id in ids:
        if all(source.id != post_id for source in sources):
            raise InputError(
                f"the export has no post with the id {post_id} (in {', '.join(statuses)})",
                path=path,
                fix="check the id, or leave --id out to import the whole file",
            )
    if slugs or ids:
        sources = [s for s in sources if s.slug in slugs or s.id in ids]
    if since is not None:
        sources = [s for s in sources if s.date_gmt is None or s.date_gmt > since]
    moving = site is not None and not same_site(site, site_url)
    return build_plan(sources, posts_dir, site_url, claimed, dated=moving)


def same_site(a: str, b: str) -> bool:
    """Two URLs of the same WordPress site (host and port; the scheme may differ)."""
    one, two = urlsplit(a), urlsplit(b)
    return (one.hostname or "").lower() == (two.hostname or "").lower() and one.port == two.port


def read_wxr(path: Path, statuses: Sequence[str] = STATUSES) -> tuple[list[SourcePost], str]:
    """The posts of a WordPress export file (Tools → Export), and the site's URL."""
    channel, wp = _channel(path)
    site_url = _text(channel, "link") or _text(channel, f"{wp}base_blog_url")
    items = channel.findall("item")
    attachments = {
        _text(item, f"{wp}post_id"): _text(item, f"{wp}attachment_url")
        for item in items
        if _text(item, f"{wp}post_type") == "attachment"
    }
    by_url = {url: int(key) for key, url in attachments.items() if key.isdigit() and url}
    posts = [
        _wxr_post(item, wp, attachments, by_url)
        for item in items
        if _text(item, f"{wp}post_type") == "post" and _text(item, f"{wp}status") in statuses
    ]
    return posts, site_url


def _channel(path: Path) -> tuple[Element, str]:
    not_wxr = InputError(
        "not a WordPress export file",
        path=path,
        fix="export the posts in wp-admin with Tools → Export, and give that file",
    )
    try:
        root = SafeXML.parse(path).getroot()
    except OSError as exc:
        raise InputError(
            f"cannot read: {exc.strerror}", path=path, fix="give the path of the export file"
        ) from exc
    except (SafeXML.ParseError, DefusedXmlException) as exc:
        raise not_wxr from exc
    channel = root.find("channel") if root is not None and root.tag == "rss" else None
    if channel is None:
        raise not_wxr
    for version in _WP_VERSIONS:
        wp = f"{{http://wordpress.org/export/{version}/}}"
        if channel.find(f"{wp}wxr_version") is not None:
            return channel, wp
    raise not_wxr


def _wxr_post(
    item: Element, wp: str, attachments: dict[str, str], by_url: Mapping[str, int]
) -> SourcePost:
    excerpt_tag = "{" + wp.strip("{}") + "excerpt/}encoded"  # {.../export/1.2/excerpt/}encoded
    meta = {
        _text(m, f"{wp}meta_key"): _text(m, f"{wp}meta_value")
        for m in item.findall(f"{wp}postmeta")
    }
    status = _text(item, f"{wp}status")
    return SourcePost(
        id=int(_text(item, f"{wp}post_id") or 0),
        title=_text(item, "title"),
        slug=_text(item, f"{wp}post_name") or _text(item, f"{wp}post_id"),
        status=status,
        date_gmt=_wxr_date(_text(item, f"{wp}post_date_gmt")),
        content=_text(item, _CONTENT),
        excerpt=_text(item, excerpt_tag),
        categories=_terms(item, "category"),
        tags=_terms(item, "post_tag"),
        featured_image_url=attachments.get(meta.get("_thumbnail_id", "")) or None,
        featured_media_id=int(meta["_thumbnail_id"])
        if meta.get("_thumbnail_id", "").isdigit()
        else None,
        link=_text(item, "link"),
        attachments=by_url,
    )


def _terms(item: Element, domain: str) -> tuple[str, ...]:
    names = (c.text or "" for c in item.findall("category") if c.get("domain") == domain)
    return tuple(dict.fromkeys(name.strip() for name in names if name.strip()))


def _wxr_date(text: str) -> datetime | None:
    if not text or text.startswith("0000"):
        return None  # a draft never scheduled
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        return None


def _text(element: Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""
