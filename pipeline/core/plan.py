"""Planning, pure: from the posts, the recorded state and the targets, what publishing will do.

The plan is built whole before anything is sent. ``--dry-run`` and ``pipeline plan`` print it;
the publisher then carries out exactly its items, in its order, re-rendering only to put in the
real permalinks as they arrive. Each item keeps what it was planned on (:class:`Seen`): if that
changed by the time the item runs, that post alone is planned again, and the job log says why.
Permalinks of posts not yet on WordPress are predicted (``SITE/SLUG/``) for display only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from msgspec import Struct
from msgspec.structs import replace

from pipeline.core.output import Style, render_post
from pipeline.core.posts import Image, Post, predicted_url, series_index
from pipeline.core.records import PostRecord
from pipeline.core.render import Rendered, Site
from pipeline.timeutil import utc_iso


class Seen(Struct, frozen=True):
    """What an item was planned on: the post's record as read. Compared again before acting."""

    wp_id: int | None = None
    wp_status: str | None = None
    permalink: str | None = None
    sent_hash: str | None = None
    conflict: bool = False

    @classmethod
    def of(cls, record: PostRecord | None) -> Seen:
        if record is None:
            return cls()
        return cls(
            record.wp_id,
            record.wp_status,
            record.permalink,
            record.sent_hash,
            record.conflict is not None,
        )


class PublishItem(Struct, frozen=True):
    slug: str
    action: str  # create | update | unchanged | blocked | waits (for an earlier part)
    title: str
    uploads: tuple[Path, ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    reason: str
    seen: Seen = Seen()
    renamed_from: str | None = None
    backdate: datetime | None = None  # an old post: the date it goes on WordPress with

    @property
    def key(self) -> str:
        return f"publish {self.slug}"


class BackfillItem(Struct, frozen=True):
    slug: str
    because: tuple[str, ...]
    source_changed: bool
    before: str  # the post's markup as it is on WordPress, and as it will be
    after: str
    seen: Seen = Seen()
    waits: str | None = None  # why it is not done now (a conflict waiting for --force)
    together: bool = False  # a post of this batch that links others of it: its record is new

    @property
    def diff(self) -> str:
        """What changes, as a person reads it (made when shown: a publish shows none)."""
        return text_diff(self.before, self.after)

    @property
    def kind(self) -> str:
        return "backfill" if self.because else "update"

    @property
    def target(self) -> str:
        return ",".join(self.because)

    @property
    def key(self) -> str:
        return f"{self.kind} {self.slug}"


class AnnounceItem(Struct, frozen=True):
    """One announcement of one post on one channel, and what will be done with it.

    ``skip`` is recorded as skipped (announce: false, --no-announce, a channel not set up);
    ``hold`` is recorded as held until the writer acts (credentials incomplete, a budget);
    ``wait`` records nothing and is shown only (done already, unknown, rate-limited until ...).
    With none of the three, the text is sent.
    """

    slug: str
    text: str
    length: int
    reply_to: str | None
    skip: str | None = None
    channel: str = "x"
    limit: int = 280
    hold: str | None = None
    wait: str | None = None
    cost: Decimal | None = None  # the estimated charge, where the network charges (X)

    @property
    def sends(self) -> bool:
        return self.skip is None and self.hold is None and self.wait is None

    @property
    def key(self) -> str:
        return f"announce {self.slug} {self.channel}"


class Plan(Struct, frozen=True):
    publishes: tuple[PublishItem, ...]
    backfills: tuple[BackfillItem, ...]
    announcements: tuple[AnnounceItem, ...]

    @property
    def empty(self) -> bool:
        writes = any(p.action not in ("unchanged", "waits") for p in self.publishes)
        backfills = any(b.waits is None for b in self.backfills)
        return not (writes or backfills or any(a.sends for a in self.announcements))

    def keys(self) -> list[str]:
        """Every item, in the order it is carried out."""
        items: list[PublishItem | BackfillItem | AnnounceItem] = [
            *self.publishes,
            *self.backfills,
            *self.announcements,
        ]
        return [item.key for item in items]


class Desired(Struct, frozen=True):
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


def live_map(records: Mapping[str, PostRecord]) -> dict[str, str]:
    return {slug: r.permalink for slug, r in records.items() if r.live and r.permalink}


def desired(post: Post, site: Site, featured_hash: str | None) -> Desired:
    rendered = render_post(post, site)
    return Desired(rendered, fingerprint(post, rendered.html, featured_hash))


def old_post_date(
    post: Post,
    record: PostRecord | None,
    *,
    now: datetime,
    catch_up: timedelta,
    released: bool = False,
    tried_at: datetime | None = None,
) -> datetime | None:
    """The date an *old* post goes on WordPress with, or None for a post that goes out now.

    A post is old when it first goes live (never live before: no record, or a draft adopted
    from WordPress) with a ``publish_at`` more than the catch-up window ago — a post brought
    over from another blog, or published by hand long after its date. It keeps that date
    (backdated) and is not announced unless the writer asks (``pipeline retry --resend``).
    A ``publish_at`` within the window is a post running late: it goes out now, as the
    scheduler's catch-up does. ``released``: the writer re-queued a held publish with
    ``pipeline retry`` ("publish it now"), so it goes out now, announced. ``tried_at``: when
    the publish was first attempted; a retry decides as that attempt did.
    """
    if post.publish_at is None or released:
        return None
    if record is not None and (record.live or record.live_at):
        return None
    if (tried_at or now) - post.publish_at <= catch_up:
        return None
    return post.publish_at


def make_plan(
    posts: Sequence[Post],
    records: Mapping[str, PostRecord],
    targets: Sequence[Post],
    *,
    site_url: str,
    media: Mapping[Path, str],
    image_hashes: Mapping[Path, str],
    announcements: Mapping[str, AnnounceItem] | Sequence[AnnounceItem],
    force: bool = False,
    renames: Mapping[str, str] | None = None,
    backdates: Mapping[str, datetime] | None = None,
    styles: Mapping[str, Style] | None = None,
    media_ids: Mapping[Path, int] | None = None,
) -> Plan:
    """The whole plan for making ``targets`` live now and bringing every live post up to date.

    ``styles`` says which posts are written as blocks (and in which dialect); others are classic.

    ``media`` maps each local image already on WordPress to its URL; ``image_hashes`` gives
    each image's content hash (the featured image is part of a post's fingerprint).
    ``announcements`` holds the composed announcements, in the order they go out. ``renames``
    maps a post's new slug to the one it was published under (its record is the old one's).
    ``backdates`` gives the old posts among ``targets`` their date (:func:`old_post_date`).
    """
    renames = renames or {}
    records = apply_renames(records, renames)
    before = live_map(records)
    after = dict(before)
    for post in targets:
        if post.slug in renames:  # a new slug makes a new permalink
            after[post.slug] = predicted_url(site_url, post.slug)
        after.setdefault(post.slug, predicted_url(site_url, post.slug))
    series = series_index(posts)
    site_after = Site(after, series, media, media_ids or {}, styles or {})
    publishes = tuple(
        _publish_item(
            post, records.get(post.slug), site_after, image_hashes, renames, backdates or {}
        )
        for post in targets
    )
    target_slugs = {post.slug for post in targets}
    going_live = target_slugs - set(before)
    backfills = tuple(
        item
        for post in posts
        if (
            item := _together_item(post, site_after, going_live)
            if post.slug in target_slugs
            else _backfill_item(
                post,
                records.get(post.slug),
                Site(before, series, media, media_ids or {}, styles or {}),
                site_after,
                image_hashes,
                force,
            )
        )
        is not None
    )
    if isinstance(announcements, Mapping):
        announcements = [announcements[p.slug] for p in targets if p.slug in announcements]
    return Plan(publishes, backfills, tuple(announcements))


def apply_renames(
    records: Mapping[str, PostRecord], renames: Mapping[str, str]
) -> Mapping[str, PostRecord]:
    if not renames:
        return records
    moved = {old: new for new, old in renames.items()}
    return {
        moved.get(slug, slug): replace(record, slug=moved[slug]) if slug in moved else record
        for slug, record in records.items()
    }


def renames(
    posts: Sequence[Post], records: Mapping[str, PostRecord], posts_dir: Path
) -> dict[str, str]:
    """Posts whose slug the writer changed since publishing: new slug -> the recorded one.

    Found by the file's path: the post keeps its WordPress post under the new slug."""
    by_path = {r.source_path: r for r in records.values() if r.source_path}
    # A file can only be at a recorded path if it has that path's file name: the other posts
    # of a big catalogue are not made relative (~10 µs each) in every scheduler run.
    names = {path.rsplit("/", 1)[-1] for path in by_path}
    found: dict[str, str] = {}
    for post in posts:
        if post.slug in records or post.path.name not in names:
            continue
        old = by_path.get(_relative(post.path, posts_dir))
        if old is not None and old.slug != post.slug and old.slug not in found.values():
            found[post.slug] = old.slug
    return found


def _relative(path: Path, posts_dir: Path) -> str:
    try:
        return path.relative_to(posts_dir).as_posix()
    except ValueError:
        return path.as_posix()


def _publish_item(
    post: Post,
    record: PostRecord | None,
    site: Site,
    image_hashes: Mapping[Path, str],
    renames: Mapping[str, str],
    backdates: Mapping[str, datetime],
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
        reason=reason
        if post.slug not in renames
        else f"{reason}; renamed from {renames[post.slug]}",
        seen=Seen.of(record),
        renamed_from=renames.get(post.slug),
        backdate=backdates.get(post.slug) if action in ("create", "update") else None,
    )


def _publish_action(
    post: Post, record: PostRecord | None, site: Site, image_hashes: Mapping[Path, str]
) -> tuple[str, str]:
    if record is None or record.wp_id is None:
        return "create", "new post"
    if record.wp_status == "deleted":
        return "create", "deleted in WordPress: published anew"
    if record.wp_status == "trash":
        return "blocked", (
            "in WordPress's trash: restore it there (Posts → Trash → Restore), or delete it "
            "permanently to publish it anew"
        )
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
    force: bool,
) -> BackfillItem | None:
    if record is None or not record.live:
        return None
    featured = image_hashes[post.featured_image.path] if post.featured_image else None
    new = desired(post, after, featured)
    if new.fingerprint == record.sent_hash:
        return None
    old = render_post(post, before)
    changed_links = sorted(
        slug for slug in new.rendered.depends_on if before.live.get(slug) != after.live.get(slug)
    )
    source_changed = record.source_hash != post.source_hash
    return BackfillItem(
        slug=post.slug,
        because=tuple(changed_links),
        source_changed=source_changed,
        before=old.html,
        after=new.rendered.html,
        seen=Seen.of(record),
        waits=None
        if force or record.conflict is None
        else f"edited in WordPress (conflict): `pipeline publish {post.slug} --force` "
        "overwrites those edits",
    )


def _together_item(post: Post, after: Site, going_live: set[str]) -> BackfillItem | None:
    """A post published with others it links: written again once they are live, unless the
    publishes happened in an order that already put the links in (then it is unchanged)."""
    linked = sorted((render_post(post, after).depends_on & going_live) - {post.slug})
    if not linked:
        return None
    return BackfillItem(post.slug, tuple(linked), False, "", "", together=True)


def _all_images(post: Post) -> list[Image]:
    return [*post.images, *([post.featured_image] if post.featured_image else [])]


def text_diff(old_html: str, new_html: str) -> str:
    """A readable diff of two renderings: changed lines, with links shown as text -> URL."""
    old_lines = _readable(old_html)
    new_lines = _readable(new_html)
    lines = difflib.unified_diff(old_lines, new_lines, "before", "after", n=0, lineterm="")
    return "\n".join(line for line in lines if not line.startswith("@@"))


def _readable(html: str) -> list[str]:
    text = _LINK.sub(lambda link: f"[{link[2]}]({link[1]})", html)
    text = _TAG.sub("", text)
    return [line for line in text.splitlines() if line.strip()]


_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>')
_TAG = re.compile(r"<[^>]+>")


def describe(plan: Plan, posts_dir: Path) -> str:
    """The plan as a person reads it: what is created, updated, uploaded, backfilled, announced."""
    lines: list[str] = []
    for item in plan.publishes:
        lines.append(f"{item.action:<9} {item.slug}  {item.title!r}  ({item.reason})")
        if item.backdate is not None:
            lines.append(
                f"          backdated to {utc_iso(item.backdate)} (its publish_at: an old post)"
            )
        lines += [f"          upload {_shown(path, posts_dir)}" for path in item.uploads]
        if item.action not in ("unchanged", "waits") and (item.categories or item.tags):
            lines.append(
                f"          categories: {', '.join(item.categories) or '-'}; "
                f"tags: {', '.join(item.tags) or '-'}"
            )
    for backfill in plan.backfills:
        why = [f"links {', '.join(backfill.because)}"] if backfill.because else []
        why += ["source changed"] if backfill.source_changed else []
        waits = f"; waits: {backfill.waits}" if backfill.waits else ""
        why = [f"with the batch: {why[0]}"] if backfill.together else why
        lines.append(f"backfill  {backfill.slug}  ({'; '.join(why) or 'links changed'}){waits}")
        lines += [
            f"          {line}"
            for line in backfill.diff.splitlines()
            if not line.startswith(("---", "+++"))
        ]
    for note in plan.announcements:
        lines += _describe_announcement(note)
    return "\n".join(lines) if lines else "nothing to do"


def _describe_announcement(note: AnnounceItem) -> list[str]:
    where = f"  [{note.channel}{f', ${note.cost:.3f}' if note.cost is not None else ''}]"
    reason = note.skip or note.hold or note.wait
    if reason and not note.text:
        what = "held" if note.hold else "skipped" if note.skip else "waits"
        return [f"announce  {note.slug}  {what}: {reason}{where}"]
    reply = f", in reply to {note.reply_to}'s announcement" if note.reply_to else ""
    status = f" ({'held: ' if note.hold else ''}{reason})" if reason else ""
    return [
        f"announce  {note.slug}  {note.length}/{note.limit}{reply}{status}{where}",
        f"          {note.text}",
    ]


def _shown(path: Path, posts_dir: Path) -> str:
    try:
        return path.relative_to(posts_dir.resolve()).as_posix()
    except ValueError:
        return str(path)
