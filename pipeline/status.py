"""Reading and settling the state: status rows, the job log, rebuilding, re-queueing.

The library behind ``pipeline status``, ``pipeline log`` and ``pipeline retry``. Everything here is
pure over store records and steps (``now`` is passed in where time matters), except
:func:`rebuild` and :func:`apply_retry`, which write what they decided into the store.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from msgspec import Struct

from pipeline.core.costs import MonthSummary, month_start, month_summary, recorded_costs
from pipeline.core.records import LogEntry, PostRecord, Step
from pipeline.errors import shown
from pipeline.timeutil import BadTime, from_iso, parse_duration, to_utc, utc_iso, wall_clock

if TYPE_CHECKING:
    from pipeline.core.posts import Post
    from pipeline.core.schedule import Slot
    from pipeline.journal import Journal
    from pipeline.store import Store
    from pipeline.wordpress import RemotePost

# Step statuses that still need something to happen (done and skipped are finished).
OPEN = ("pending", "running", "failed", "unknown", "held")
# The steps status rows look at: finished ones (done, skipped) change nothing there.
OPEN_OR_CONFLICT = (*OPEN, "conflict")
# The outcomes the job log records, for `pipeline log --status` (others may appear).
OUTCOMES = (
    "done",
    "failed",
    "skipped",
    "held",
    "deferred",
    "unknown",
    "conflict",
    "requeued",
    "rebuilt",
)
STATES = (
    "draft",
    "ready",
    "scheduled",
    "due",
    "queued",
    "publishing",
    "live",
    "held",
    "failed",
    "unknown",
    "conflict",
    "removed",
    "invalid",
)

Redact = Callable[[str], str]


def local_time(when: datetime, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """A stored UTC time as people read it: in the site's timezone, with the zone's abbreviation."""
    local = when.astimezone(tz)
    # strftime's "%Y-%m-%d %H:%M %Z", at a fifth of its cost (a listing writes thousands).
    return f"{wall_clock(local, ' ', seconds=seconds)} {local.tzname() or ''}"


def _iso(when: datetime | None) -> str | None:
    return utc_iso(when) if when is not None else None


def _local_iso(when: datetime | None, tz: ZoneInfo) -> str | None:
    return when.astimezone(tz).isoformat() if when is not None else None


# ---------------------------------------------------------------------------------------------
# pipeline status


class PendingStep(Struct, frozen=True, gc=False):
    """A step that still needs something: waiting, running, failed, unknown or held."""

    step: str  # "publish", "announce", "backfill:part-2", "update"
    status: str
    attempts: int
    next_attempt_at: datetime | None
    error: str | None
    text: str  # what people read, e.g. "announce deferred until 2026-12-01 09:15 EST"

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "error": self.error,
            "text": self.text,
        }


class Announced(Struct, frozen=True, gc=False):
    """Where a post's announcement went out on one channel (the id and URL of what was sent)."""

    channel: str
    id: str | None
    url: str | None

    @property
    def text(self) -> str:
        return self.url or self.id or "sent"


class StatusRow(Struct, frozen=True, gc=False):
    """One post as ``pipeline status`` shows it. Times are aware UTC datetimes."""

    slug: str | None  # None only for a file that failed to load and was never published
    state: str
    title: str | None = None
    live: bool = False
    publish_at: datetime | None = None  # when it went live, else its scheduled (or missed) time
    wordpress_url: str | None = None
    tweet_url: str | None = None
    next_run: datetime | None = None  # the next time the scheduler will act on this post
    pending: tuple[PendingStep, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: str | None = None  # the file, relative to the posts folder
    announced: tuple[Announced, ...] = ()  # one per channel it went out on

    @property
    def name(self) -> str:
        return self.slug or self.source or "?"

    def on(self, channel: str) -> str:
        """What ``pipeline status`` shows in the channel's column."""
        for sent in self.announced:  # a loop, not next() of a generator: asked of every row
            if sent.channel == channel:
                return sent.text
        return ""

    def to_json(self, tz: ZoneInfo) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "state": self.state,
            "live": self.live,
            "publish_at": _iso(self.publish_at),
            "publish_at_local": _local_iso(self.publish_at, tz),
            "wordpress_url": self.wordpress_url,
            "tweet_url": self.tweet_url,
            "next_run": _iso(self.next_run),
            "pending": [item.to_json() for item in self.pending],
            "conflicts": list(self.conflicts),
            "notes": list(self.notes),
            "source": self.source,
            "announced": {a.channel: {"id": a.id, "url": a.url} for a in self.announced},
        }


def status_rows(
    posts: Sequence[Post],
    slots: Mapping[str, Slot],
    records: Mapping[str, PostRecord],
    steps: Iterable[Step],
    *,
    now: datetime,
    tz: ZoneInfo,
    posts_dir: Path,
    invalid: Sequence[tuple[Path, str]] = (),
) -> list[StatusRow]:
    """Every post: the loaded ones, the files that failed to load, and whatever the state
    knows of (records and steps of posts no longer in the folder).

    Sorted by time (live ones by when they went live, then scheduled ones), then the posts
    without a time by name.
    """
    by_post: dict[str, list[Step]] = {}
    for step in steps:
        by_post.setdefault(step.post, []).append(step)
    loaded = {post.slug: post for post in posts}
    by_source = {r.source_path: r for r in records.values() if r.source_path}
    waits = _waiting_parts(posts, slots, records, now)
    rows: list[StatusRow] = []
    shown: set[str] = set()

    broken: dict[str, list[str]] = {}
    for path, message in invalid:
        broken.setdefault(_relative(path, posts_dir), []).append(message)
    for source, messages in broken.items():
        record = by_source.get(source)
        if record is not None and record.slug in loaded:
            record = None  # another, loaded file owns that slug now
        slug = record.slug if record is not None else None
        if slug is not None:
            shown.add(slug)
        rows.append(
            _row(
                slug,
                None,
                None,
                record,
                by_post.get(slug, []) if slug else [],
                now=now,
                tz=tz,
                source=source,
                invalid=tuple(messages),
            )
        )

    for name in sorted({*loaded, *records, *by_post} - shown):
        post = loaded.get(name)
        record = records.get(name)
        where = (
            _relative(post.path, posts_dir)
            if post is not None
            else (record.source_path if record else None)
        )
        rows.append(
            _row(
                name,
                post,
                slots.get(name),
                record,
                by_post.get(name, []),
                now=now,
                tz=tz,
                source=where,
                waits=waits.get(name),
            )
        )
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r.publish_at is None, r.publish_at or far, r.name))
    return rows


def _id_unknown(step: Step) -> bool:
    detail = step.detail
    return not detail.get("id") and not detail.get("marked_sent") and not detail.get("rebuilt")


def _waiting_parts(
    posts: Sequence[Post],
    slots: Mapping[str, Slot],
    records: Mapping[str, PostRecord],
    now: datetime,
) -> dict[str, str]:
    """Due parts of a series that the scheduler holds back until an earlier part is live."""
    from pipeline.core.schedule import waiting_for_earlier_parts

    live = {slug for slug, record in records.items() if record.live}
    found = waiting_for_earlier_parts(posts, slots, live)
    return {slug: why for slug, why in found.items() if slots[slug].at <= now}


def _relative(path: Path, posts_dir: Path) -> str:
    try:
        # as loading found it: no need to ask the disk
        return _relative_posix()(path, posts_dir)
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(posts_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


@functools.cache
def _relative_posix() -> Callable[[Path, Path], str]:
    """pipeline.loading's, imported when first asked for (`pipeline log` loads no posts), then
    kept: an import statement in a function costs more than the call it makes, per post."""
    from pipeline.loading import relative_posix

    return relative_posix


def _row(
    slug: str | None,
    post: Post | None,
    slot: Slot | None,
    record: PostRecord | None,
    steps: Sequence[Step],
    *,
    now: datetime,
    tz: ZoneInfo,
    source: str | None,
    invalid: tuple[str, ...] = (),
    waits: str | None = None,
) -> StatusRow:
    live = record is not None and record.live
    # One pass over the steps (a listing asks this of thousands of posts).
    publish: Step | None = None
    waiting: list[Step] = []
    sent_unseen: list[Step] = []  # announcements done whose post's id and URL are unknown
    statuses: set[str] = set()
    for step in steps:
        statuses.add(step.status)
        if publish is None and step.kind == "publish":
            publish = step
        if step.status in OPEN:
            waiting.append(step)
        elif step.kind == "announce" and step.status == "done" and _id_unknown(step):
            sent_unseen.append(step)
    pending: tuple[PendingStep, ...] = ()
    if waiting:  # most posts wait for nothing
        described = (_pending(step, slug or "", now, tz, live) for step in waiting)
        pending = tuple(item for item in described if item is not None)
    if waits is not None:
        pending += (PendingStep("publish", "waiting", 0, None, None, f"publish {waits}"),)
    conflicts: tuple[str, ...] = ()
    if "conflict" in statuses or (record is not None and record.conflict):
        conflicts = _conflicts(slug or "", record, steps)

    notes = list(invalid)
    if post is None and record is not None and not invalid:
        notes.append("its file is no longer in the posts folder")
    for step in sent_unseen:
        notes.append(
            f"announce:{step.target} went out, but its post's id and URL are unknown ("
            f"{step.target} refused the re-send of an interrupted post as a duplicate and "
            "its recent posts did not show it): the next part is not threaded under it"
        )
    gone = record is not None and record.wp_status == "deleted"
    if gone and record is not None:
        notes.append(
            f"deleted in WordPress (was post {record.wp_id}): `pipeline publish {slug}` "
            "publishes it anew"
        )
    elif not live and record is not None and record.wp_id is not None and record.wp_status:
        notes.append(f"on WordPress as post {record.wp_id} with status {record.wp_status}")

    if invalid:
        state = "invalid"
    elif conflicts:
        state = "conflict"
    elif "failed" in statuses:
        state = "failed"
    elif "unknown" in statuses:
        state = "unknown"
    elif publish is not None and publish.status == "held" and not live:
        state = "held"
    elif live:
        state = "live"
    elif publish is not None and publish.status == "running":
        state = "publishing"
    elif post is None:
        state = "removed"
    elif post.status == "draft":
        state = "draft"
    elif slot is not None:
        state = "due" if slot.at <= now else "scheduled"
    elif publish is not None and publish.status == "pending" and publish.next_attempt_at:
        state = "queued"
    else:
        state = "ready"

    publish_at: datetime | None = None
    if live and record is not None and record.live_at:
        publish_at = from_iso(record.live_at)
    elif not live and slot is not None:
        publish_at = slot.at
    elif not live and publish is not None and publish.due_at:
        publish_at = from_iso(publish.due_at)

    times = [item.next_attempt_at for item in pending if item.next_attempt_at is not None]
    if slot is not None and state in ("scheduled", "due"):
        times.append(slot.at)
    return StatusRow(
        slug=slug,
        state=state,
        title=post.title if post is not None else (record.title if record else None),
        live=live,
        publish_at=publish_at,
        wordpress_url=record.permalink
        if record is not None and record.wp_id and record.wp_status not in _NOWHERE
        else None,
        tweet_url=record.tweet_url if record is not None else None,
        next_run=max(min(times), now) if times else None,
        pending=pending,
        conflicts=conflicts,
        notes=tuple(notes),
        source=source,
        announced=_announced(steps, record),
    )


# WordPress statuses whose post the permalink no longer leads to (a trashed post's slug is
# renamed to ...__trashed; a deleted one is gone).
_NOWHERE = frozenset({"trash", "deleted"})

CHANNEL_ORDER = ("x", "bluesky", "mastodon")
_CHANNEL_RANK = {name: index for index, name in enumerate(CHANNEL_ORDER)}


def _announced(steps: Sequence[Step], record: PostRecord | None) -> tuple[Announced, ...]:
    """The announcements done, from their steps (and, for X, the tweet the record names)."""
    found: dict[str, Announced] = {}
    for step in steps:
        if step.kind == "announce" and step.status == "done":
            sent_id, url = step.detail.get("id"), step.detail.get("url")
            found[step.target] = Announced(
                step.target, str(sent_id) if sent_id else None, str(url) if url else None
            )
    if record is not None and record.tweet_url and not (found.get("x") and found["x"].url):
        found["x"] = Announced("x", record.tweet_id, record.tweet_url)
    if len(found) < 2:  # most posts: nothing to order
        return tuple(found.values())
    # In CHANNEL_ORDER, then any other channel by name (no key function: thousands of rows).
    known = [found[name] for name in CHANNEL_ORDER if name in found]
    return (*known, *(found[name] for name in sorted(found) if name not in _CHANNEL_RANK))


def _pending(step: Step, slug: str, now: datetime, tz: ZoneInfo, live: bool) -> PendingStep | None:
    name = step.name
    after = from_iso(step.next_attempt_at) if step.next_attempt_at else None
    tries = f"{step.attempts} attempt{'s' if step.attempts != 1 else ''}"
    if step.status == "pending":
        if step.kind == "publish" and live:
            return None  # a leftover of the schedule: the post is live
        if after is not None and after > now:
            text = f"{name} deferred until {local_time(after, tz)}"
        elif after is not None:
            text = f"{name} queued for the next run"
        elif step.kind == "publish" and step.due_at:
            text = f"publish at {local_time(from_iso(step.due_at), tz)}"
        else:
            text = f"{name} waiting"
    elif step.status == "running":
        text = f"{name} running or interrupted ({tries}); the next run checks it before acting"
    elif step.status == "failed":
        when = (
            f"retry at {local_time(after, tz)}"
            if after is not None
            else f"no retries left: `pipeline retry {slug}`"
        )
        text = f"{name} failed ({tries}), {when}"
        if step.error:
            text += f": {step.error}"
    elif step.status == "unknown":
        text = (
            f"{name} outcome unknown: settle it with `pipeline retry {slug} --mark-sent` "
            "(it went out) or `--resend`"
        )
    elif step.kind != "publish" or (step.error and not step.due_at):
        # held: its error says why (credits, budget, login, the trash) and what to do
        text = f"{name} held: {step.error or 'waits for you'}"
    else:  # held
        missed = f" (missed {local_time(from_iso(step.due_at), tz)})" if step.due_at else ""
        text = f"{name} held{missed}: `pipeline retry {slug}` publishes it now"
    return PendingStep(name, step.status, step.attempts, after, step.error, text)


def _conflicts(slug: str, record: PostRecord | None, steps: Sequence[Step]) -> tuple[str, ...]:
    found = [record.conflict] if record is not None and record.conflict else []
    for step in steps:
        if step.status != "conflict":
            continue
        if step.error and step.error.startswith("missed"):
            found.append(f"{step.name} {step.error}")  # a backfill the conflict holds back
        elif not found:
            found.append(
                f"{step.name}: edited in WordPress since the pipeline last wrote it; "
                f"`pipeline publish {slug} --force` overwrites those edits"
            )
    return tuple(found)


def summary(rows: Sequence[StatusRow]) -> str:
    """``12 posts: 3 live, 2 scheduled, 1 failed``."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    parts = [f"{counts[state]} {state}" for state in STATES if state in counts]
    noun = "post" if len(rows) == 1 else "posts"
    return f"{len(rows)} {noun}: {', '.join(parts)}" if parts else f"0 {noun}"


# ---------------------------------------------------------------------------------------------
# pipeline log


def parse_since(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """``2d``, ``12h``, ``90m`` back from ``now``, or a date or date-time (naive in ``tz``)."""
    try:
        return now - parse_duration(text)
    except BadTime:
        pass
    try:
        return to_utc(text, tz)
    except BadTime as exc:
        raise BadTime(
            f"{shown(text)} is neither a duration (2d, 12h, 30m) nor a date or time "
            f"(2026-12-01 or 2026-12-01 09:00): {exc}"
        ) from exc


def entry_json(entry: LogEntry, redact: Redact = lambda text: text) -> dict[str, Any]:
    """One job-log entry as a JSON object (``at`` in UTC)."""
    data = entry.to_json()
    data["details"] = redact(entry.details)
    return data


def format_entry(
    entry: LogEntry,
    tz: ZoneInfo,
    *,
    redact: Redact = lambda text: text,
    post_width: int = 0,
    step_width: int = 0,
) -> str:
    """One job-log entry as a line for people, its time in ``tz``."""
    when = local_time(from_iso(entry.at), tz, seconds=True)
    line = f"{when}  {entry.post:<{post_width}}  {entry.step:<{step_width}}  {entry.outcome:<8}"
    details = redact(entry.details)
    if details:
        line += f"  {details}"
    if entry.duration_ms is not None:
        line += f" ({_duration(entry.duration_ms)})"
    return line.rstrip()


def _duration(ms: int) -> str:
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


# ---------------------------------------------------------------------------------------------
# pipeline retry

Mode = Literal["requeue", "resend", "mark-sent"]
# Patterns of what `pipeline retry` is given, compiled when first used (by re's cache).
TWEET_ID = r"/status(?:es)?/(\d+)"


class Change(Struct, frozen=True):
    """One step moved by ``pipeline retry``, and the job-log line that records it."""

    kind: str
    target: str
    old: str | None  # its status before (None: there was no step yet)
    new: str
    outcome: str  # the job-log outcome: "requeued", or "done" for --mark-sent
    message: str
    detail: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


class RetryPlan(Struct, frozen=True):
    """What ``pipeline retry`` changes for one post, and what it leaves to the writer."""

    slug: str
    changes: tuple[Change, ...]
    unsettled: tuple[str, ...]  # what needs a choice (--resend or --mark-sent)
    notes: tuple[str, ...]  # what retry does not do, and why

    @property
    def empty(self) -> bool:
        return not self.changes


def tweet_id_from(url: str) -> str | None:
    """The id in ``https://x.com/user/status/123``, or the value itself if it is an id."""
    value = url.strip()
    if value.isdigit():
        return value
    match = re.search(TWEET_ID, value)
    return match.group(1) if match else None


BLUESKY_POST_URL = r"/profile/(did:[a-z]+:[^/]+)/post/([a-z2-7]{13})/?$"
MASTODON_STATUS_URL = r"/(?:@[^/]+|statuses)/(\d+)/?$"


def sent_id_from(url: str, channel: str = "x") -> str | None:
    """The id a post on ``channel`` is recorded by, from its URL (or the id itself): a tweet id;
    a Mastodon status id (``https://mastodon.social/@me/123``); a Bluesky at:// URI (from
    ``https://bsky.app/profile/did:plc:.../post/RKEY``: a handle in the URL cannot be resolved
    offline)."""
    value = url.strip()
    if channel == "bluesky":
        if value.startswith("at://"):
            return value
        match = re.search(BLUESKY_POST_URL, value)
        return f"at://{match.group(1)}/app.bsky.feed.post/{match.group(2)}" if match else None
    if channel == "mastodon":
        if value.isdigit():
            return value
        found = re.search(MASTODON_STATUS_URL, value)
        return found.group(1) if found else None
    return tweet_id_from(value)


def channel_to_settle(steps: Sequence[Step]) -> str:
    """The channel whose announcement --resend/--mark-sent settles when none is named: the one
    whose outcome is unknown (X's, if several are)."""
    unknown = [s.target for s in steps if s.kind == "announce" and s.status == "unknown"]
    return unknown[0] if unknown and "x" not in unknown else "x"


def plan_retry(
    slug: str,
    steps: Sequence[Step],
    *,
    mode: Mode = "requeue",
    tweet_url: str | None = None,
    channel: str | None = None,
) -> RetryPlan:
    """What ``pipeline retry`` does with the steps of one post.

    Failed steps and a held publish go back to pending, attempts reset, due now. An announcement
    whose outcome is unknown needs a choice: ``resend`` composes and sends it again,
    ``mark-sent`` records it as done (with the tweet, if given). Conflicts and running steps
    are left alone, with a note saying why.
    """
    changes: list[Change] = []
    unsettled: list[str] = []
    notes: list[str] = []
    if channel is not None:
        steps = [s for s in steps if s.kind == "announce" and s.target == channel]
    settle = channel or channel_to_settle(steps)
    announce = next((s for s in steps if s.kind == "announce" and s.target == settle), None)
    for step in steps:
        if step is announce and mode != "requeue":
            continue
        if step.status == "failed":
            was = f"failed after {step.attempts} attempt(s)"
            reason = f": {step.error}" if step.error else ""
            changes.append(_requeue(step, f"{was}{reason}", {}))
        elif step.status == "held" and step.kind == "publish":
            changes.append(_requeue(step, "held; publish it now", {}))
        elif step.status == "held":
            changes.append(_requeue(step, f"held: {step.error}", {}))
        elif step.status == "unknown":
            unsettled.append(
                f"{step.name}: outcome unknown ({step.error or 'it may or may not have gone out'});"
                f" choose `pipeline retry {slug} --mark-sent` if it went out (add --tweet-url "
                "URL to record it) or `--resend` to send it again"
            )
        elif step.status == "conflict":
            notes.append(
                f"{step.name}: the post was edited in WordPress; retry does not overwrite it "
                f"(`pipeline publish {slug} --force` does)"
            )
        elif step.status == "running":
            notes.append(
                f"{step.name} is running or was interrupted; the next run checks it before "
                "acting again"
            )
    if mode == "resend":
        # Skipped too: an old or imported post is announced only when the writer asks.
        if announce is not None and announce.status in ("unknown", "failed", "skipped"):
            changes.append(
                _requeue(
                    announce,
                    f"{announce.status}; --resend: composed and sent again",
                    {"text": None},
                )
            )
        else:
            notes.append(_nothing_to_settle(announce))
    elif mode == "mark-sent":
        if announce is None or announce.status in ("unknown", "failed", "pending"):
            tweet_id = sent_id_from(tweet_url, settle) if tweet_url else None
            where = f" as {tweet_url}" if tweet_url else ""
            changes.append(
                Change(
                    "announce",
                    settle,
                    announce.status if announce else None,
                    "done",
                    "done",
                    f"marked as sent by hand{where} (pipeline retry --mark-sent)",
                    {"id": tweet_id, "url": tweet_url, "marked_sent": True},
                )
            )
        else:
            notes.append(_nothing_to_settle(announce))
    return RetryPlan(slug, tuple(changes), tuple(unsettled), tuple(notes))


def _requeue(step: Step, why: str, detail: Mapping[str, Any]) -> Change:
    return Change(
        step.kind,
        step.target,
        step.status,
        "pending",
        "requeued",
        f"{step.status} -> pending, attempts reset, due now (was {why})",
        detail,
    )


def _nothing_to_settle(announce: Step | None) -> str:
    if announce is None:
        return "announce: nothing to settle (it has not been attempted)"
    return f"announce: nothing to settle (it is {announce.status})"


def apply_retry(
    journal: Journal, plan: RetryPlan, *, now: datetime, tweet_url: str | None = None
) -> None:
    """Carry out a retry plan: move each step and record it in the job log."""
    for change in plan.changes:
        if change.new == "pending":
            journal.queued(
                plan.slug,
                change.kind,
                change.target,
                next_attempt_at=utc_iso(now),
                detail={**change.detail, "requeued_at": utc_iso(now)},
                why=change.message,
                outcome=change.outcome,
                reset_attempts=True,
            )
            continue
        journal.done(
            plan.slug, change.kind, change.target, what=change.message, detail=dict(change.detail)
        )
        if change.kind == "announce" and change.target == "x" and tweet_url:
            journal.store.update_post(
                plan.slug, tweet_url=tweet_url, tweet_id=change.detail.get("id")
            )


def publishes_due_again(steps: Iterable[Step], now: datetime) -> list[str]:
    """Posts whose publish step is due again: failed with retries left, or re-queued by
    ``pipeline retry`` (held posts too), once their next attempt time has come.

    For the scheduler: these are due now, whatever the schedule and the catch-up window say.
    """
    return [
        step.post
        for step in steps
        if step.kind == "publish"
        and step.status in ("failed", "pending")
        and step.next_attempt_at is not None
        and from_iso(step.next_attempt_at) <= now
    ]


# ---------------------------------------------------------------------------------------------
# pipeline status --rebuild


class PostFinder(Protocol):
    def find_post(self, slug: str) -> RemotePost | None: ...


class Rebuilt(Struct, frozen=True):
    """One post looked up on WordPress by ``pipeline status --rebuild``."""

    slug: str
    outcome: Literal["found", "missing", "kept"]
    wp_id: int | None = None
    permalink: str | None = None
    wp_status: str | None = None
    announce: str | None = None  # what the announce step was set to, if anything

    def describe(self) -> str:
        if self.outcome == "kept":
            return f"{self.slug}: already in the state (post {self.wp_id}); kept as it is"
        if self.outcome == "missing":
            return f"{self.slug}: not on WordPress"
        text = f"{self.slug}: found post {self.wp_id} ({self.wp_status}) {self.permalink}"
        if self.announce == "unknown":
            text += "; announcement unknown"
        elif self.announce == "skipped":
            text += "; announce: false"
        return text


def rebuild(
    journal: Journal, posts: Sequence[Post], finder: PostFinder, *, posts_dir: Path
) -> list[Rebuilt]:
    """Rebuild the records of ``posts`` from WordPress, looked up by slug.

    Posts the state already knows on WordPress are kept. ``sent_hash`` stays empty, so the next
    publish compares and updates as needed (never creating a second copy: the record has the id).
    Tweets cannot be found from WordPress: the announcement of a live post is marked ``unknown``
    so that nothing is announced twice silently; the user settles it with ``pipeline retry``.
    """
    from pipeline.core import edits

    store = journal.store
    done: list[Rebuilt] = []
    for post in posts:
        known = store.post(post.slug)
        if known is not None and known.wp_id is not None:
            done.append(Rebuilt(post.slug, "kept", known.wp_id, known.permalink, known.wp_status))
            continue
        remote = finder.find_post(post.slug)
        if remote is None:
            done.append(Rebuilt(post.slug, "missing"))
            continue
        live = remote.status == "publish"
        store.update_post(
            post.slug,
            source_path=_relative(post.path, posts_dir),
            wp_id=remote.id,
            permalink=remote.link,
            wp_status=remote.status,
            title=remote.title_raw or post.title,
            sent_hash=None,
            remote_hash=edits.record(edits.as_written(remote)),
            live_at=utc_iso(remote.date_gmt) if live and remote.date_gmt else None,
            conflict=None,
        )
        announce: str | None = None
        if live:
            publish = store.step(post.slug, "publish")
            if publish is None or publish.status != "done":
                journal.done(
                    post.slug, "publish", detail={"wp_id": remote.id, "rebuilt": True}, quiet=True
                )
            if store.step(post.slug, "announce", "x") is None:
                announce = _rebuild_announce(journal, post)
        found = Rebuilt(post.slug, "found", remote.id, remote.link, remote.status, announce)
        journal.event(post.slug, "rebuild", "rebuilt", found.describe())
        done.append(found)
    return done


def _rebuild_announce(journal: Journal, post: Post) -> str:
    if post.announce is False:
        journal.skipped(post.slug, "announce", "x", "announce: false in front matter")
        return "skipped"
    note = (
        "state rebuilt from WordPress: whether this post was announced on X is unknown; settle it "
        f"with `pipeline retry {post.slug} --mark-sent [--tweet-url URL]` if it was, or "
        f"`pipeline retry {post.slug} --resend`"
    )
    journal.unknown(post.slug, "announce", "x", note)
    return "unknown"


def month_costs(
    store: Store,
    channel: str,
    now: datetime,
    tz: ZoneInfo,
    budget: Decimal | None = None,
) -> MonthSummary:
    """This calendar month's announcements on ``channel`` and what they cost, from the state."""
    rows = store.sent_costs(channel, since=utc_iso(month_start(now, tz)))
    return month_summary(recorded_costs(rows), now, tz, budget)
