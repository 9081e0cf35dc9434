"""Planning, pure: from the posts, the recorded state and the targets, what publishing will do.

The plan is built whole before anything is sent. ``--dry-run`` and ``pipeline plan`` print it; the
publisher then carries it out step by step, re-rendering with the real permalinks as they arrive.
Permalinks of posts not yet on WordPress are predicted (``SITE/SLUG/``) for display only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.posts import Image, Post
from pipeline.core.records import PostRecord
from pipeline.core.render import Rendered, Site, render, series_index


@dataclass(frozen=True)
class PublishItem:
    slug: str
    action: str  # create | update | unchanged
    title: str
    uploads: tuple[Path, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class BackfillItem:
    slug: str
    because: tuple[str, ...]
    source_changed: bool
    diff: str


@dataclass(frozen=True)
class AnnounceItem:
    slug: str
    text: str
    length: int
    reply_to: str | None
    skip: str | None = None


@dataclass(frozen=True)
class Plan:
    publishes: tuple[PublishItem, ...]
    backfills: tuple[BackfillItem, ...]
    announcements: tuple[AnnounceItem, ...]

    @property
    def empty(self) -> bool:
        writes = [p for p in self.publishes if p.action != "unchanged"]
        sends = [a for a in self.announcements if a.skip is None]
        return not (writes or self.backfills or sends)


@dataclass(frozen=True)
class Desired:
    """Everything the pipeline would write to one WordPress post, and its fingerprint."""

    rendered: Rendered
    fingerprint: str


def fingerprint(post: Post, html: str, featured: str | None) -> str:
    """What was sent, as one hash: a change in any of it means the post needs an update."""
    data = {
        "slug": post.slug,
        "title": post.title,
        "content": html,
        "excerpt": post.excerpt or "",
        "categories": list(post.categories),
        "tags": list(post.tags),
        "featured": featured,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def content_hash(html: str) -> str:
    return hashlib.sha256(html.strip().encode()).hexdigest()


def live_map(records: Mapping[str, PostRecord]) -> dict[str, str]:
    return {slug: r.permalink for slug, r in records.items() if r.live and r.permalink}


def predicted_url(site_url: str, slug: str) -> str:
    return f"{site_url.rstrip('/')}/{slug}/"


def desired(post: Post, site: Site, featured_hash: str | None) -> Desired:
    rendered = render(post, site)
    return Desired(rendered, fingerprint(post, rendered.html, featured_hash))


def make_plan(
    posts: Sequence[Post],
    records: Mapping[str, PostRecord],
    targets: Sequence[Post],
    *,
    site_url: str,
    media: Mapping[Path, str],
    image_hashes: Mapping[Path, str],
    announcements: Mapping[str, AnnounceItem],
) -> Plan:
    """The whole plan for making ``targets`` live now and bringing every live post up to date.

    ``media`` maps each local image already on WordPress to its URL; ``image_hashes`` gives
    each image's content hash (the featured image is part of a post's fingerprint).
    ``announcements`` holds the composed announcement of each target.
    """
    before = live_map(records)
    after = dict(before)
    for post in targets:
        after.setdefault(post.slug, predicted_url(site_url, post.slug))
    series = series_index(posts)
    site_after = Site(live=after, series=series, media=media)
    publishes = tuple(
        _publish_item(post, records.get(post.slug), site_after, image_hashes) for post in targets
    )
    target_slugs = {post.slug for post in targets}
    backfills = tuple(
        item
        for post in posts
        if post.slug not in target_slugs
        if (
            item := _backfill_item(
                post, records.get(post.slug), Site(before, series, media), site_after, image_hashes
            )
        )
        is not None
    )
    return Plan(
        publishes, backfills, tuple(announcements[s] for s in target_slugs if s in announcements)
    )


def _publish_item(
    post: Post, record: PostRecord | None, site: Site, image_hashes: Mapping[Path, str]
) -> PublishItem:
    uploads = tuple(
        dict.fromkeys(image.path for image in _all_images(post) if image.path not in site.media)
    )
    action, reason = _publish_action(post, record, site, image_hashes)
    return PublishItem(
        slug=post.slug,
        action=action,
        title=post.title,
        uploads=uploads,
        categories=post.categories,
        tags=post.tags,
        reason=reason,
    )


def _publish_action(
    post: Post, record: PostRecord | None, site: Site, image_hashes: Mapping[Path, str]
) -> tuple[str, str]:
    if record is None or record.wp_id is None:
        return "create", "new post"
    featured = image_hashes[post.featured_image.path] if post.featured_image else None
    if record.live and desired(post, site, featured).fingerprint == record.sent_hash:
        return "unchanged", "already live and up to date"
    return "update", ("make it live" if not record.live else "source or links changed")


def _backfill_item(
    post: Post,
    record: PostRecord | None,
    before: Site,
    after: Site,
    image_hashes: Mapping[Path, str],
) -> BackfillItem | None:
    if record is None or not record.live:
        return None
    featured = image_hashes[post.featured_image.path] if post.featured_image else None
    new = desired(post, after, featured)
    if new.fingerprint == record.sent_hash:
        return None
    old = render(post, before)
    changed_links = sorted(
        slug for slug in new.rendered.depends_on if before.live.get(slug) != after.live.get(slug)
    )
    source_changed = record.source_hash != post.source_hash
    return BackfillItem(
        slug=post.slug,
        because=tuple(changed_links),
        source_changed=source_changed,
        diff=text_diff(old.html, new.rendered.html),
    )


def _all_images(post: Post) -> list[Image]:
    return [*post.images, *([post.featured_image] if post.featured_image else [])]


def text_diff(old_html: str, new_html: str) -> str:
    """A readable diff of two renderings: changed lines, with links shown as text -> URL."""
    old_lines = _readable(old_html)
    new_lines = _readable(new_html)
    lines = difflib.unified_diff(old_lines, new_lines, "before", "after", n=0, lineterm="")
    return "\n".join(line for line in lines if not line.startswith("@@"))


def _readable(html: str) -> list[str]:
    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', r"[\2](\1)", html)
    text = re.sub(r"<[^>]+>", "", text)
    return [line for line in text.splitlines() if line.strip()]


def describe(plan: Plan, posts_dir: Path) -> str:
    """The plan as a person reads it: what is created, updated, uploaded, backfilled, announced."""
    lines: list[str] = []
    for item in plan.publishes:
        lines.append(f"{item.action:<9} {item.slug}  {item.title!r}  ({item.reason})")
        lines += [f"          upload {_shown(path, posts_dir)}" for path in item.uploads]
        if item.action != "unchanged" and (item.categories or item.tags):
            lines.append(
                f"          categories: {', '.join(item.categories) or '-'}; "
                f"tags: {', '.join(item.tags) or '-'}"
            )
    for backfill in plan.backfills:
        why = [f"links {', '.join(backfill.because)}"] if backfill.because else []
        why += ["source changed"] if backfill.source_changed else []
        lines.append(f"backfill  {backfill.slug}  ({'; '.join(why) or 'links changed'})")
        lines += [
            f"          {line}"
            for line in backfill.diff.splitlines()
            if not line.startswith(("---", "+++"))
        ]
    for note in plan.announcements:
        if note.skip and not note.text:
            lines.append(f"announce  {note.slug}  skipped: {note.skip}")
            continue
        reply = f", in reply to {note.reply_to}'s announcement" if note.reply_to else ""
        status = f" ({note.skip})" if note.skip else ""
        lines.append(f"announce  {note.slug}  {note.length}/280{reply}{status}")
        lines.append(f"          {note.text}")
    return "\n".join(lines) if lines else "nothing to do"


def _shown(path: Path, posts_dir: Path) -> str:
    try:
        return path.relative_to(posts_dir.resolve()).as_posix()
    except ValueError:
        return str(path)
