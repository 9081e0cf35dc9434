"""What is due, done: the one function behind ``pipeline run``, its jobs, and ``run --once``.

It reads the schedule, marks long-missed posts as held, and hands the due posts to
``Publisher.publish``, the same function ``pipeline publish`` calls. Failed steps whose retry
time has come and owed announcements go along.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime

from msgspec import Struct, field

from pipeline.core import schedule
from pipeline.core.posts import Post
from pipeline.core.records import Step
from pipeline.errors import InputError
from pipeline.publisher import Echo, Result
from pipeline.scheduler.slots import scheduled
from pipeline.status import publishes_due_again
from pipeline.store import Store
from pipeline.timeutil import utc_iso
from pipeline.wiring import Services


class RunReport(Struct):
    result: Result
    published: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)


class DueWork(Struct, frozen=True):
    """What is due now, read from the schedule and the state without changing either."""

    targets: tuple[Post, ...]
    newly_held: tuple[schedule.Slot, ...]
    upcoming: tuple[schedule.Slot, ...]
    problems: tuple[InputError, ...]
    waiting: Mapping[str, str] = field(default_factory=dict)  # due, after an earlier part


def due_now(found: Services, now: datetime) -> DueWork:
    slots, problems = scheduled(found.workspace, found.store, now)
    return _due_work(found, now, slots, problems, _publish_steps(found.store))


def _publish_steps(store: Store) -> dict[str, Step]:
    return {step.post: step for step in store.steps(kind="publish")}


def _due_work(
    found: Services,
    now: datetime,
    slots: Mapping[str, schedule.Slot],
    problems: Sequence[InputError],
    publish_steps: Mapping[str, Step],
) -> DueWork:
    settings = found.workspace.settings
    records = found.store.posts()
    held_before = {slug for slug, s in publish_steps.items() if s.status == "held"}
    retries = publishes_due_again(publish_steps.values(), now)
    split = schedule.due(slots, records, held_before, now, settings.catch_up)
    by_slug = found.workspace.loaded.by_slug()
    due = [
        slot.slug
        for slot in split.due
        # Failed steps come back through their backoff (retries); conflicts, unknowns and
        # posts the writer unpublished after we published them wait for the writer.
        if slot.slug not in publish_steps
        or publish_steps[slot.slug].status in ("pending", "running")
    ] + [s for s in retries if s in by_slug]
    # A run killed after its post went live but before the step was marked done: the post is
    # no longer due by the schedule, so it is planned again here (unchanged, its step done).
    due += [
        slug
        for slug, step in publish_steps.items()
        if step.status == "running" and slug in by_slug and slug in records and records[slug].live
    ]
    live = {slug for slug, record in records.items() if record.live}
    waiting = {
        slug: why
        for slug, why in schedule.waiting_for_earlier_parts(
            found.workspace.posts, slots, live, going=set(due)
        ).items()
        if slug in due
    }
    return DueWork(
        targets=tuple(by_slug[slug] for slug in dict.fromkeys(due) if slug not in waiting),
        newly_held=tuple(
            s for s in split.held if s.slug not in held_before and s.slug not in retries
        ),
        upcoming=split.upcoming,
        problems=tuple(problems),
        waiting=waiting,
    )


def run_due(found: Services, now: datetime, echo: Echo = lambda line: None) -> RunReport:
    journal = found.journal(echo)
    store = found.store
    slots, problems = scheduled(found.workspace, store, now, assign=journal)
    # One read of the publish steps serves the whole run: the held ones written below are
    # not upcoming, so the loop over the upcoming posts needs no second read.
    publish_steps = _publish_steps(store)
    work = _due_work(found, now, slots, problems, publish_steps)
    catch_up = found.workspace.settings.catch_up
    for slot in work.newly_held:
        note = (
            f"missed its time {utc_iso(slot.at)} by more than the catch-up window "
            f"({catch_up}); held: `pipeline retry {slot.slug}` publishes it now, announced "
            f"(`pipeline publish {slot.slug}` publishes a post whose own publish_at is that old "
            "backdated to it, not announced)"
        )
        journal.held(slot.slug, "publish", "", note, due_at=utc_iso(slot.at))
    # One read for every upcoming post (2,000 single reads took ~0.15 s a run), and one commit
    # for all that are new (the first start of a big schedule: 2,000 commits took seconds on a
    # busy disk, and the first posts due waited for them).
    queue = []
    for slot in work.upcoming:
        step, due_at = publish_steps.get(slot.slug), _stored(slot.at)
        if step is None or (step.status == "pending" and step.due_at != due_at):
            queue.append((slot.slug, due_at))
    if queue:
        with store.transaction():
            for slug, due_at in queue:
                journal.queued(slug, "publish", due_at=due_at)
    result = found.publisher(echo).publish(work.targets, owed=True, waiting=work.waiting)
    return RunReport(
        result,
        [p.slug for p in work.targets],
        [s.slug for s in work.newly_held],
        list(work.problems),
    )


@functools.lru_cache(maxsize=8192)
def _stored(at: datetime) -> str:
    """A due time as the state stores it: the same 2,000 times are compared in every run."""
    return utc_iso(at)
