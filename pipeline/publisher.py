"""Carrying out a plan: publish to WordPress, backfill earlier posts, announce on X.

This is the one code path: ``pipeline publish`` and the scheduler's jobs both call
``Publisher.publish``. Every step is recorded in the store before and after it runs, so a crash
at any point is resumed without duplicates: a create always looks the slug up first, an
announcement interrupted mid-call is re-sent with the same text and X's duplicate check decides.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.config import Settings, missing_wordpress_credentials
from pipeline.core.announce import compose
from pipeline.core.plan import (
    AnnounceItem,
    Plan,
    content_hash,
    desired,
    live_map,
    make_plan,
    predicted_url,
)
from pipeline.core.posts import Image, Post
from pipeline.core.records import PostRecord, Step
from pipeline.core.render import Site, series_index
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    DuplicateTweet,
    InputError,
    PipelineError,
    RateLimited,
)
from pipeline.store import Store
from pipeline.timeutil import from_iso, utc_iso

if TYPE_CHECKING:
    from pipeline.channels.x import XClient
    from pipeline.wordpress import RemotePost, WordPressClient

Clock = Callable[[], datetime]
Echo = Callable[[str], None]


@dataclass
class Result:
    """What one publish run did, for the CLI's summary and exit code."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # outcomes the writer has to settle

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown


# How long a publish waits for another process working on the same post (a scheduler run and a
# one-shot publish): long enough for a slow WordPress, short enough to fail visibly.
LOCK_WAIT = 120.0


def backoff(attempts: int) -> timedelta:
    """How long a failed step waits before its next try: 30 s, 1 min, 2 min ... at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


class Publisher:
    def __init__(
        self,
        settings: Settings,
        posts: Sequence[Post],
        store: Store,
        wordpress: WordPressClient | None,
        x: XClient | None,
        *,
        clock: Clock,
        echo: Echo = lambda line: None,
    ) -> None:
        self.settings = settings
        self.posts = {post.slug: post for post in posts}
        self.series = series_index(posts)
        self.store = store
        self.wordpress = wordpress
        self.x = x
        self.clock = clock
        self.echo = echo
        self._media_lock = threading.Lock()
        self._hashes: dict[Path, str] = {}
        # Posts as this run's refresh read them, by WordPress id; each serves one update.
        self._seen: dict[int, RemotePost] = {}

    # planning

    def plan(self, targets: Sequence[Post], *, announce: bool = True) -> Plan:
        records = self.store.posts()
        items = {}
        if announce:
            for post in targets:
                url = (
                    records[post.slug].permalink
                    if post.slug in records and records[post.slug].permalink
                    else predicted_url(self.settings.wordpress.url, post.slug)
                )
                items[post.slug] = self.announcement(post, url or "")
        return make_plan(
            list(self.posts.values()),
            records,
            targets,
            site_url=self.settings.wordpress.url,
            media=self._known_media(*self.posts.values()),
            image_hashes=self._image_hashes(),
            announcements=items,
        )

    def announcement(self, post: Post, url: str) -> AnnounceItem:
        reply_to = self._previous_part(post)
        step = self.store.step(post.slug, "announce")
        template = post.announce if isinstance(post.announce, str) else self.settings.x.template
        if post.announce is False:
            return AnnounceItem(post.slug, "", 0, None, skip="announce: false in front matter")
        text = compose(
            template,
            title=post.title,
            url=url,
            excerpt=post.excerpt,
            series=post.series,
            part=post.part,
            tags=post.tags,
        )
        skip = None
        if step is not None and step.status in ("done", "skipped"):
            skip = f"already {step.status}"
        elif self.x is None:
            skip = "no X credentials: recorded as skipped"
        return AnnounceItem(post.slug, text.text, text.length, reply_to, skip=skip)

    def _previous_part(self, post: Post) -> str | None:
        if not self.settings.x.thread_series or post.series is None or post.part is None:
            return None
        earlier = [p for p in self.series[post.series] if p.part is not None and p.part < post.part]
        return earlier[-1].slug if earlier else None

    def _image_hashes(self) -> dict[Path, str]:
        for post in self.posts.values():
            for image in _images(post):
                if image.path not in self._hashes:
                    self._hashes[image.path] = _file_hash(image.path)
        return self._hashes

    # acting

    def publish(
        self, targets: Sequence[Post], *, announce: bool = True, force: bool = False
    ) -> Result:
        """Make ``targets`` live now, backfill every post that depends on them, announce them."""
        result = Result()
        wordpress = self._wordpress()
        self._follow_renames()
        self._resolve_terms(wordpress, targets)
        workers = max(1, min(self.settings.wordpress.concurrency, len(targets)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(lambda p: self._publish_one(p, force, result), targets))
        live_now = {post.slug for post, ok in zip(targets, outcomes, strict=True) if ok}
        # After the creates, so that a scheduled post never waits for this read.
        self.refresh(wordpress)
        self.sync(force=force, result=result, triggers=live_now)
        if announce:
            self.announce_pending([p for p in targets if p.slug in live_now], result)
        else:
            for post in targets:
                if self.store.step(post.slug, "announce") is None:
                    self.store.set_step(
                        post.slug, "announce", status="skipped", detail={"why": "--no-announce"}
                    )
                    self.store.log(post.slug, "announce", "skipped", "--no-announce")
        return result

    def announce_pending(
        self, posts: Sequence[Post] | None = None, result: Result | None = None
    ) -> Result:
        """Announce live posts whose announcement is still owed: never sent, interrupted,
        deferred by a rate limit, or failed with retries left. In series order, so that a
        part can reply to the previous part's announcement."""
        result = result or Result()
        candidates = list(self.posts.values()) if posts is None else list(posts)
        for post in sorted(candidates, key=_series_order):
            record = self.store.post(post.slug)
            if record is None or not record.live:
                continue
            step = self.store.step(post.slug, "announce")
            if step is None or self._owed(step):
                self._announce_one(post, result)
        return result

    def _owed(self, step: Step) -> bool:
        if step.status == "running":
            return True
        if step.status not in ("pending", "failed") or step.next_attempt_at is None:
            return step.status == "pending"
        return from_iso(step.next_attempt_at) <= self.clock()

    def refresh(self, wordpress: WordPressClient) -> None:
        """Notice posts unpublished, trashed, deleted or made live again in WordPress (one
        request per 100 posts): links to them follow at the next sync."""
        known = {r.wp_id: r for r in self.store.posts().values() if r.wp_id}
        if not known:
            return
        found = wordpress.posts_by_ids(sorted(known))
        self._seen = dict(found)
        for wp_id, record in known.items():
            remote = found.get(wp_id)
            status = remote.status if remote is not None else "deleted"
            if status == record.wp_status:
                continue
            self.store.update_post(record.slug, wp_status=status)
            what = (
                "live again: links to it come back"
                if status == "publish"
                else "links to it go back to plain text"
            )
            self.store.log(record.slug, "refresh", "done", f"{status} in WordPress; {what}")
            self.echo(f"{record.slug}: {status} in WordPress; {what}")

    def _follow_renames(self) -> None:
        """A published post whose slug the writer changed keeps its WordPress post."""
        for post in self.posts.values():
            if self.store.post(post.slug) is not None:
                continue
            old = self.store.post_by_path(self._relative(post.path))
            if old is not None and old.slug != post.slug:
                self.store.rename_post(old.slug, post.slug)
                self.store.log(post.slug, "rename", "done", f"slug {old.slug} -> {post.slug}")

    def _wordpress(self) -> WordPressClient:
        if self.wordpress is None:
            raise missing_wordpress_credentials(self.settings.credentials_path)
        return self.wordpress

    def _resolve_terms(self, wordpress: WordPressClient, targets: Sequence[Post]) -> None:
        """Resolve the names of the posts about to be created, once, before the concurrent
        publishes; posts already live resolve theirs only if they are written."""
        records = self.store.posts()
        new = [p for p in targets if not (p.slug in records and records[p.slug].live)]
        categories = sorted({name for post in new for name in post.categories})
        tags = sorted({name for post in new for name in post.tags})
        if categories:
            wordpress.term_ids("categories", categories)
        if tags:
            wordpress.term_ids("tags", tags)

    def _publish_one(self, post: Post, force: bool, result: Result) -> bool:
        self.store.set_step(
            post.slug,
            "publish",
            status="running",
            count_attempt=True,
            detail={"source_hash": post.source_hash},
        )
        started = time.monotonic()
        try:
            how = self._write(post, force=force)
        except AuthError:
            self._fail(post.slug, "publish", "", "credentials refused", started, result)
            raise
        except PipelineError as exc:
            self._fail(post.slug, "publish", "", str(exc), started, result)
            return False
        if how == "conflict":
            self.store.set_step(post.slug, "publish", status="conflict")
            result.conflicts.append(post.slug)
            return False
        record = self.store.post(post.slug)
        assert record is not None
        self.store.settle_steps(post.slug, ("backfill", "update"), "covered by publish")
        self.store.set_step(
            post.slug,
            "publish",
            status="done",
            error=None,
            next_attempt_at=None,
            detail={"wp_id": record.wp_id},
        )
        self._log(post.slug, "publish", "done", f"{how} {record.permalink}", started)
        result.done.append(f"{post.slug}: {how} {record.permalink}")
        return True

    def _write(self, post: Post, *, force: bool) -> str:
        """Bring one post on WordPress to what the source says. Returns what was done.

        Under the post's lock, so a `pipeline publish` and a running scheduler never write the
        same post at once; the record is read inside the lock, so the second one sees the
        first one's work."""
        with self.store.locked(f"post:{post.slug}", f"publishing {post.slug}", wait=LOCK_WAIT):
            return self._write_locked(post, force=force)

    def _write_locked(self, post: Post, *, force: bool) -> str:
        wordpress = self._wordpress()
        record = self.store.post(post.slug) or PostRecord(slug=post.slug)
        media = self._upload_images(wordpress, post)
        featured = post.featured_image
        site = Site(
            live=live_map(self.store.posts()),
            series=self.series,
            media={path: url for path, (_, url) in media.items()},
        )
        want = desired(post, site, self._hashes[featured.path] if featured else None)
        if record.live and want.fingerprint == record.sent_hash:
            return "unchanged"
        existing = None
        if record.wp_id is not None and record.remote_hash and not force:
            verdict, existing = self._check_remote(wordpress, post, record, want.rendered.html)
            if verdict != "ok":
                return verdict
        from pipeline.wordpress import PostFields

        fields = PostFields(
            title=post.title,
            slug=post.slug,
            content=want.rendered.html,
            status="publish",
            date_gmt=None,
            excerpt=post.excerpt,
            categories=wordpress.term_ids("categories", post.categories),
            tags=wordpress.term_ids("tags", post.tags),
            featured_media=media[featured.path][0] if featured else None,
        )
        self.store.update_post(post.slug, sending_hash=content_hash(want.rendered.html))
        remote, how = wordpress.publish(fields, known_id=record.wp_id, existing=existing)
        self._seen.pop(remote.id, None)
        self.store.update_post(
            post.slug,
            source_path=self._relative(post.path),
            source_hash=post.source_hash,
            wp_id=remote.id,
            permalink=remote.link,
            wp_status=remote.status,
            title=post.title,
            sent_hash=want.fingerprint,
            remote_hash=content_hash(remote.content_raw),
            live_at=record.live_at or utc_iso(self.clock()),
            conflict=None,
            sending_hash=None,
        )
        return how

    def _check_remote(
        self, wordpress: WordPressClient, post: Post, record: PostRecord, html: str
    ) -> tuple[str, RemotePost | None]:
        """Before overwriting a post we wrote, make sure nobody edited it in WordPress since.

        The copy read by this run's refresh serves when it is what we last wrote; otherwise the
        post is read again, so a copy older than another process's write is never a conflict.
        """
        assert record.wp_id is not None
        remote = self._seen.pop(record.wp_id, None)
        if remote is None or content_hash(remote.content_raw) != record.remote_hash:
            remote = wordpress.get_post(record.wp_id)
        if remote is None:
            self.store.update_post(post.slug, wp_id=None, wp_status=None, permalink=None)
            return "ok", None  # deleted in WordPress: publishing creates it again
        found = content_hash(remote.content_raw)
        if found in (record.remote_hash, record.sending_hash, content_hash(html)):
            # Unchanged since we wrote it, or our own write cut short by a crash.
            return "ok", remote
        note = (
            f"edited in WordPress since the pipeline last wrote it; "
            f"`pipeline publish {post.slug} --force` overwrites those edits"
        )
        self.store.update_post(post.slug, conflict=note)
        self.store.log(post.slug, "update", "conflict", note)
        return "conflict", None

    def _upload_images(self, wordpress: WordPressClient, post: Post) -> dict[Path, tuple[int, str]]:
        media: dict[Path, tuple[int, str]] = {}
        for image in _images(post):
            digest = self._image_hashes()[image.path]
            with self._media_lock:
                known = self.store.media(digest)
                if known is None:
                    uploaded = wordpress.upload_media(
                        image.path.name,
                        image.path.read_bytes(),
                        _mime(image.path),
                        alt=image.alt or post.title,
                        caption=image.caption,
                    )
                    self.store.save_media(digest, uploaded.id, uploaded.source_url, image.path.name)
                    self.store.log(
                        post.slug, "upload", "done", f"{image.src} -> {uploaded.source_url}"
                    )
                    known = (uploaded.id, uploaded.source_url)
            media[image.path] = known
        return media

    def sync(
        self, *, force: bool = False, result: Result | None = None, triggers: set[str] | None = None
    ) -> Result:
        """Backfill: update every live post whose HTML or fields changed since it was written."""
        result = result or Result()
        records = self.store.posts()
        # Backfills change content, never permalinks: one view of the site serves the pass.
        live = live_map(records)
        for post in self.posts.values():
            record = records.get(post.slug)
            if record is None or not record.live or (record.conflict and not force):
                continue  # a conflict waits for the writer: `pipeline publish POST --force`
            self._backfill_one(post, record, live, force, result, triggers or set())
        return result

    def _backfill_one(
        self,
        post: Post,
        record: PostRecord,
        live: dict[str, str],
        force: bool,
        result: Result,
        triggers: set[str],
    ) -> None:
        featured = post.featured_image
        site = Site(live=live, series=self.series, media=self._known_media(post))
        want = desired(post, site, self._hashes[featured.path] if featured else None)
        if want.fingerprint == record.sent_hash:
            return
        because = sorted(want.rendered.depends_on & triggers)
        kind, target = ("backfill", ",".join(because)) if because else ("update", "")
        self.store.set_step(post.slug, kind, target, status="running", count_attempt=True)
        started = time.monotonic()
        try:
            how = self._write(post, force=force)
        except PipelineError as exc:
            self._fail(post.slug, kind, target, str(exc), started, result)
            return
        if how == "conflict":
            self.store.set_step(post.slug, kind, target, status="conflict")
            result.conflicts.append(post.slug)
            return
        self.store.set_step(
            post.slug, kind, target, status="done", error=None, next_attempt_at=None
        )
        self.store.settle_steps(post.slug, ("backfill", "update"), f"covered by {kind}:{target}")
        if how == "unchanged":
            return  # another process brought it up to date while we waited for the lock
        what = (
            f"linked {', '.join(because)}"
            if because
            else "updated from source"
            if record.source_hash != post.source_hash
            else "re-rendered: a linked post or the series changed"
        )
        self._log(post.slug, kind, "done", what, started)
        result.done.append(f"{post.slug}: {what}")

    def _known_media(self, *posts: Post) -> dict[Path, str]:
        media = {}
        for image in (image for post in posts for image in _images(post)):
            known = self.store.media(self._image_hashes()[image.path])
            if known is not None:
                media[image.path] = known[1]
        return media

    def _announce_one(self, post: Post, result: Result) -> None:
        with self.store.locked(f"post:{post.slug}", f"announcing {post.slug}", wait=LOCK_WAIT):
            self._announce_locked(post, result)

    def _announce_locked(self, post: Post, result: Result) -> None:
        record = self.store.post(post.slug)
        assert record is not None
        assert record.permalink is not None
        step = self.store.step(post.slug, "announce")
        if step is not None and step.status in ("done", "skipped", "unknown"):
            return
        if (
            step is not None
            and step.next_attempt_at
            and from_iso(step.next_attempt_at) > self.clock()
        ):
            result.deferred.append(post.slug)
            return
        try:
            item = self.announcement(post, record.permalink)
        except InputError as exc:
            self._fail(post.slug, "announce", "", exc.render(), time.monotonic(), result)
            return
        if item.skip is not None:
            self.store.set_step(
                post.slug,
                "announce",
                status="skipped",
                detail={"text": item.text, "why": item.skip},
            )
            what = f"{item.skip}; would have posted: {item.text!r}" if item.text else item.skip
            self._log(post.slug, "announce", "skipped", what, time.monotonic())
            return
        self._send(post, item, step, result)

    def _send(self, post: Post, item: AnnounceItem, step: Step | None, result: Result) -> None:
        assert self.x is not None
        resumed = step is not None and step.status == "running"
        if resumed and step is not None and step.detail.get("text") != item.text:
            self._unknown(post.slug, "an earlier attempt may have posted a different text", result)
            return
        reply_to = self._reply_id(item.reply_to)
        self.store.set_step(
            post.slug,
            "announce",
            status="running",
            count_attempt=True,
            detail={"text": item.text, "reply_to": reply_to},
        )
        started = time.monotonic()
        image = post.featured_image.path if self.settings.x.image and post.featured_image else None
        try:
            tweet = self.x.post(item.text, reply_to=reply_to, image=image)
        except DuplicateTweet:
            if resumed:
                self._done_announce(
                    post.slug,
                    None,
                    None,
                    "already posted (X reported a duplicate after an interrupted attempt)",
                    started,
                    result,
                )
            else:
                self._unknown(post.slug, "X says this exact text was already posted", result)
            return
        except RateLimited as exc:
            self.store.set_step(
                post.slug,
                "announce",
                status="pending",
                next_attempt_at=utc_iso(exc.reset_at),
                error=str(exc),
            )
            self._log(
                post.slug,
                "announce",
                "deferred",
                f"rate limited until {utc_iso(exc.reset_at)}",
                started,
            )
            result.deferred.append(post.slug)
            return
        except AmbiguousOutcome as exc:
            self._log(
                post.slug,
                "announce",
                "unknown",
                f"{exc}; the next run checks before sending again",
                started,
            )
            result.failed.append(f"{post.slug}: announce: {exc}")
            return
        except PipelineError as exc:
            self._fail(post.slug, "announce", "", str(exc), started, result)
            return
        self._done_announce(post.slug, tweet.id, tweet.url, f"posted {tweet.url}", started, result)

    def _reply_id(self, slug: str | None) -> str | None:
        if slug is None:
            return None
        record = self.store.post(slug)
        return record.tweet_id if record else None

    def _done_announce(
        self,
        slug: str,
        tweet_id: str | None,
        url: str | None,
        what: str,
        started: float,
        result: Result,
    ) -> None:
        self.store.update_post(slug, tweet_id=tweet_id, tweet_url=url)
        self.store.set_step(
            slug,
            "announce",
            status="done",
            error=None,
            next_attempt_at=None,
            detail={"tweet_id": tweet_id},
        )
        self._log(slug, "announce", "done", what, started)
        result.done.append(f"{slug}: {what}")

    def _unknown(self, slug: str, why: str, result: Result) -> None:
        note = (
            f"{why}; settle it with `pipeline retry {slug} --resend` or "
            f"`pipeline retry {slug} --mark-sent`"
        )
        self.store.set_step(slug, "announce", status="unknown", error=note)
        self.store.log(slug, "announce", "unknown", note)
        self.echo(f"{slug}: announce unknown: {note}")
        result.unknown.append(f"{slug}: {note}")

    def _fail(
        self, slug: str, kind: str, target: str, error: str, started: float, result: Result
    ) -> None:
        step = self.store.step(slug, kind, target)
        attempts = step.attempts if step else 1
        retry = (
            utc_iso(self.clock() + backoff(attempts))
            if attempts < self.settings.max_attempts
            else None
        )
        self.store.set_step(slug, kind, target, status="failed", error=error, next_attempt_at=retry)
        when = f"; retry at {retry}" if retry else "; no retries left: `pipeline retry` re-queues"
        self._log(slug, kind if not target else f"{kind}:{target}", "failed", error + when, started)
        result.failed.append(f"{slug}: {kind}: {error}")

    def _log(self, slug: str, step: str, outcome: str, details: str, started: float) -> None:
        duration = int((time.monotonic() - started) * 1000)
        self.store.log(slug, step, outcome, details, duration)
        self.echo(f"{slug}: {step} {outcome}: {details}")

    def _relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.settings.posts_dir.resolve()).as_posix()


_HASHES: dict[tuple[Path, int, int], str] = {}


def _file_hash(path: Path) -> str:
    """The content hash of a file, remembered while its size and mtime stay the same (the
    scheduler builds a publisher per run; images rarely change)."""
    info = path.stat()
    key = (path, info.st_size, info.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _HASHES[key]


def _images(post: Post) -> list[Image]:
    return [*post.images, *([post.featured_image] if post.featured_image else [])]


def _mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _series_order(post: Post) -> tuple[str, int]:
    return (post.series or "", post.part or 0)
