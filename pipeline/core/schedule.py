"""When each post goes live, pure: from ``[[schedule]]`` in pipeline.toml and ``publish_at``.

Also decides, for a given ``now``, what is due and what was missed for longer than the catch-up
window (held and reported, never published silently late).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from msgspec import Struct

from pipeline.core.posts import Post
from pipeline.core.records import PostRecord
from pipeline.errors import ConfigError, InputError, PostError, shown
from pipeline.timeutil import BadTime, to_utc


class ScheduleEntry(Struct, frozen=True):
    """One ``[[schedule]]`` entry of pipeline.toml: a post and its time."""

    post: str  # a slug, or a path under posts_dir
    at: datetime  # aware, UTC
    line: int


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Cadence(Struct, frozen=True):
    """Regular slots that take ``ready`` posts without a time of their own, in series order."""

    days: tuple[int, ...]  # 0 = Monday
    at: time  # local time in the site's timezone


class Slot(Struct, frozen=True, gc=False):
    """A post's time to go live, and where that time was set."""

    slug: str
    at: datetime  # aware, UTC
    where: str  # "pipeline.toml:12" or "posts/x.md:5", for messages


class Due(Struct, frozen=True):
    """The posts whose time has come, those held (missed by too much), and the rest."""

    due: tuple[Slot, ...]
    held: tuple[Slot, ...]
    upcoming: tuple[Slot, ...]


def resolve(
    posts: Sequence[Post],
    entries: Sequence[ScheduleEntry],
    config_path: Path,
    posts_dir: Path,
    cadence: Mapping[str, datetime] | None = None,
) -> tuple[dict[str, Slot], list[InputError]]:
    """One time per post. The same post given two different times is an error naming both.

    ``cadence`` holds the cadence times already given to posts without a time of their own;
    a time written for the post itself wins over its cadence time.
    """
    by_slug = {post.slug: post for post in posts}
    slots: dict[str, Slot] = {
        slug: Slot(slug, at, "cadence")
        for slug, at in (cadence or {}).items()
        if slug in by_slug and by_slug[slug].status == "ready"
    }
    errors: list[InputError] = []
    for post in posts:
        if post.publish_at is not None and post.status == "ready":
            where = f"{post.path}:{post.line_of('publish_at')}"
            slots[post.slug] = Slot(post.slug, post.publish_at, where)
    for entry in entries:
        where = f"{config_path}:{entry.line}"
        found = by_slug.get(entry.post) or _by_path(posts, entry.post, posts_dir)
        if found is None:
            errors.append(
                ConfigError(
                    f"schedule: no post {shown(entry.post)}",
                    path=config_path,
                    line=entry.line,
                    fix="use a slug or a path under posts_dir (pipeline status lists them)",
                )
            )
            continue
        post = found
        if post.status != "ready":
            errors.append(
                PostError(
                    f"scheduled at {where} but its status is {post.status}",
                    path=post.path,
                    line=post.line_of("status"),
                    fix="set status: ready, or remove the schedule",
                )
            )
            continue
        earlier = slots.get(post.slug)
        if earlier is not None and earlier.where != "cadence" and earlier.at != entry.at:
            errors.append(
                ConfigError(
                    f"{post.slug} is scheduled twice: at {entry.at:%Y-%m-%d %H:%M} UTC here and "
                    f"at {earlier.at:%Y-%m-%d %H:%M} UTC in {earlier.where}",
                    path=config_path,
                    line=entry.line,
                    fix="keep one of the two times",
                )
            )
            slots.pop(post.slug)
            continue
        slots[post.slug] = Slot(post.slug, entry.at, where)
    return slots, errors


def _by_path(posts: Sequence[Post], ref: str, posts_dir: Path) -> Post | None:
    wanted = {(posts_dir / ref).resolve(), Path(ref).resolve()}
    return next((post for post in posts if post.path.resolve() in wanted), None)


def due(
    slots: Mapping[str, Slot],
    records: Mapping[str, PostRecord],
    held: set[str],
    now: datetime,
    catch_up: timedelta,
) -> Due:
    """Split the slots of posts not yet live into due now, held (missed too long), upcoming.

    A post already held stays held until the user publishes it by hand, even if the window
    later changes.
    """
    due_now: list[Slot] = []
    missed: list[Slot] = []
    later: list[Slot] = []
    for slot in sorted(slots.values(), key=lambda s: (s.at, s.slug)):
        record = records.get(slot.slug)
        if record is not None and record.live:
            continue
        if slot.at > now:
            later.append(slot)
        elif slot.slug in held or now - slot.at > catch_up:
            missed.append(slot)
        else:
            due_now.append(slot)
    return Due(tuple(due_now), tuple(missed), tuple(later))


def cadence_times(cadence: Cadence, tz: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The cadence's times (UTC) strictly after ``after``, in order; DST-correct, and a time
    the clocks skip that day moves to the first moment that exists."""
    day = after.astimezone(tz).date()
    while True:
        if day.weekday() in cadence.days:
            local = datetime.combine(day, cadence.at)
            try:
                when = to_utc(local, tz)
            except BadTime:
                when = to_utc(local + timedelta(hours=1), tz)
            if when > after:
                yield when
        day += timedelta(days=1)


def cadence_queue(
    posts: Sequence[Post], slots: Mapping[str, Slot], records: Mapping[str, PostRecord]
) -> list[Post]:
    """Ready posts with no time that never went out, in series order (then by file name).

    A post already on WordPress is not queued again, even if it is not live there now: the
    writer may have taken it down on purpose."""
    waiting = [
        post
        for post in posts
        if post.status == "ready"
        and post.slug not in slots
        and not (post.slug in records and records[post.slug].wp_id is not None)
    ]
    return sorted(waiting, key=lambda p: (p.series is None, p.series or "", p.part or 0, p.path))


def assign_cadence(
    queue: Sequence[Post],
    taken: Mapping[str, datetime],
    cadence: Cadence,
    tz: ZoneInfo,
    now: datetime,
) -> dict[str, datetime]:
    """Give each queued post the next free cadence time after ``now`` and the times taken."""
    times = cadence_times(cadence, tz, max([now, *taken.values()]))
    return {post.slug: next(times) for post in queue if post.slug not in taken}


def waiting_for_earlier_parts(
    posts: Sequence[Post],
    slots: Mapping[str, Slot],
    live: Collection[str],
    going: Collection[str] = (),
) -> dict[str, str]:
    """Parts of a series that must wait: an earlier part, scheduled no later than this one, is
    not live yet and does not go out with it now (``going``: the batch, run in part order).

    Parts go out in part order, so a fault that delays Part 2 never puts Part 3 before it; a
    writer who schedules Part 3 before Part 2 on purpose is not stopped. Returns slug -> why.
    """
    waiting: dict[str, str] = {}
    by_series: dict[str, list[Post]] = {}
    for post in posts:
        if post.series is not None and post.part is not None and post.slug in slots:
            by_series.setdefault(post.series, []).append(post)
    for parts in by_series.values():
        parts.sort(key=lambda p: p.part or 0)
        for index, post in enumerate(parts):
            at = slots[post.slug].at
            blocking = [
                earlier
                for earlier in parts[:index]
                if (earlier.part or 0) < (post.part or 0)
                and slots[earlier.slug].at <= at
                and earlier.slug not in live
                and (earlier.slug not in going or earlier.slug in waiting)
            ]
            if blocking and post.slug not in live:
                nearest = blocking[-1]
                waiting[post.slug] = (
                    f"waits for part {nearest.part} ({nearest.slug}): parts go out in part "
                    "order, and it is not live yet"
                )
    return waiting
