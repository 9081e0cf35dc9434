"""Adopting imported posts: the state records each one as if the pipeline had published it.

After ``pipeline import`` wrote the files (:mod:`pipeline.importer`), each post read from the
configured site is recorded with its id, permalink and status, and with:

- ``remote_hash``: the hash of the content WordPress holds — the writer's own HTML — so that an
  edit made in WordPress after the import is a conflict, as for any post;
- ``sent_hash``: the fingerprint the publisher computes for the file as it is now
  (:meth:`pipeline.publisher.Publisher.fingerprint`). Publishing the unchanged file is then
  planned ``unchanged`` and writes nothing, so WordPress keeps the writer's HTML; the first
  change to the file (or to a post it links) updates the same post, with our rendering.

Its images are recorded in the media table as uploaded (the attachments the post shows), so none
is uploaded again; and a live post's announcements are settled as skipped on every channel: an
imported post is old, and announced only if the writer asks (``pipeline retry POST --resend``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from pipeline.config import Settings
from pipeline.core import edits
from pipeline.core.importing import PostFile
from pipeline.core.posts import CHANNELS
from pipeline.errors import PostError
from pipeline.importer import ImportPlan, ImportResult
from pipeline.journal import Echo, Journal
from pipeline.loading import load_posts
from pipeline.media import file_hash
from pipeline.timeutil import utc_iso

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.store import Store

SETTLED = "imported: already on WordPress"


class Adopted(Struct, frozen=True):
    slug: str
    path: Path
    wp_id: int
    wp_status: str
    permalink: str
    problem: str | None = None  # why publishing it unchanged would not be a no-op yet

    def describe(self) -> str:
        live = self.wp_status == "publish"
        what = f"adopted WordPress post {self.wp_id} ({self.wp_status}) {self.permalink}" + (
            "; its announcements are settled as skipped" if live else ""
        )
        if self.problem is not None:
            what += f"; but {self.problem}"
        return what


def adopt(
    settings: Settings,
    store: Store,
    plan: ImportPlan,
    result: ImportResult,
    *,
    clock: Callable[[], datetime],
    echo: Echo = lambda line: None,
) -> list[Adopted]:
    """Record every post of ``plan`` (written as ``result`` says) and its images as the
    pipeline's own. The files must be on disk: each is loaded as any post is."""
    from pipeline.publisher import Publisher

    journal = Journal(store, clock=clock, max_attempts=settings.max_attempts, echo=echo)
    record_images(store, plan, result)
    written = {path.resolve() for path in result.written}
    files = [item for item in plan.files if (plan.posts_dir / item.path).resolve() in written]
    for item in files:
        _record(store, item)
    loaded = load_posts(settings.posts_dir, settings.timezone, store.pinned_slugs())
    by_path = {post.path.resolve(): post for post in loaded.posts}
    errors = {e.path.resolve(): e for e in loaded.errors if e.path is not None}
    # Fingerprints after every record: the live permalinks of the whole import are known.
    publisher = Publisher(settings, loaded.posts, None, [], journal=journal)
    adopted = []
    for item in files:
        target = (plan.posts_dir / item.path).resolve()
        post = by_path.get(target)
        problem = _problem(errors.get(target), post is None)
        if post is not None:
            store.update_post(
                item.source.slug,
                source_hash=post.source_hash,
                sent_hash=publisher.fingerprint(post),
            )
        adopted.append(_settle(journal, item, plan.posts_dir / item.path, problem))
    return adopted


def record_images(store: Store, plan: ImportPlan, result: ImportResult) -> None:
    """Each fetched image as uploaded already: its content hash -> the attachment and URL the
    post shows (an image the state knows by its content keeps what it has)."""
    fetched = {path.resolve() for path in result.images}
    for download in plan.images:
        target = plan.posts_dir / download.path
        if target.resolve() not in fetched or not target.is_file():
            continue
        digest = file_hash(target)
        if store.media(digest) is None:
            store.save_media(digest, download.media_id or 0, download.url, target.name)


def _record(store: Store, item: PostFile) -> None:
    source = item.source
    live = source.status == "publish"
    store.update_post(
        source.slug,
        source_path=item.path,
        source_hash=None,
        wp_id=source.id,
        permalink=source.link or None,
        wp_status=source.status,
        title=source.title,
        sent_hash=None,
        remote_hash=edits.record(edits.Written(content=source.content)),
        live_at=utc_iso(source.date_gmt) if live and source.date_gmt else None,
        conflict=None,
        sending_hash=None,
    )


def _settle(journal: Journal, item: PostFile, path: Path, problem: str | None) -> Adopted:
    source = item.source
    slug = source.slug
    store = journal.store
    if source.status == "publish":
        publish = store.step(slug, "publish")
        if publish is None or publish.status != "done":
            detail = {"wp_id": source.id, "imported": True}
            journal.done(slug, "publish", detail=detail, quiet=True)
        for channel in CHANNELS:
            if store.step(slug, "announce", channel) is None:
                journal.skipped(slug, "announce", channel, SETTLED, detail={"why": SETTLED})
    adopted = Adopted(slug, path, source.id, source.status, source.link, problem)
    journal.event(slug, "import", "done", f"{path}: {adopted.describe()}")
    return adopted


def _problem(error: PostError | None, missing: bool) -> str | None:
    if error is not None:
        return f"the file does not load ({error.render()}): fix it before publishing"
    if missing:
        return "the file is not among the posts loaded"
    return None
