"""What is due, done: the one function behind ``pipeline run``, its jobs, and ``run --once``.

It reads the schedule, marks long-missed posts as held, and hands the due posts to
``Publisher.publish``, the same function ``pipeline publish`` calls. Failed steps whose retry
time has come and owed announcements go along.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline import schedule
from pipeline.errors import InputError
from pipeline.publisher import Echo, Result
from pipeline.services import Services
from pipeline.timeutil import from_iso, utc_iso


@dataclass
class RunReport:
    result: Result
    published: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    problems: list[InputError] = field(default_factory=list)


def run_due(found: Services, now: datetime, echo: Echo = lambda line: None) -> RunReport:
    settings = found.workspace.settings
    store = found.store
    slots, problems = schedule.resolve(
        found.workspace.posts, settings.schedule, settings.path, settings.posts_dir
    )
    held_before = {s.post for s in store.steps(status="held") if s.kind == "publish"}
    split = schedule.due(slots, store.posts(), held_before, now, settings.catch_up)
    for slot in split.held:
        if slot.slug not in held_before:
            note = (
                f"missed its time {utc_iso(slot.at)} by more than the catch-up window "
                f"({settings.catch_up}); held: publish it with `pipeline publish {slot.slug}`"
            )
            store.set_step(slot.slug, "publish", status="held", due_at=utc_iso(slot.at), error=note)
            store.log(slot.slug, "publish", "held", note)
            echo(f"{slot.slug}: held: {note}")
    for slot in split.upcoming:
        step = store.step(slot.slug, "publish")
        if step is None or (step.status == "pending" and step.due_at != utc_iso(slot.at)):
            store.set_step(slot.slug, "publish", status="pending", due_at=utc_iso(slot.at))
    by_slug = found.workspace.loaded.by_slug()
    targets = [by_slug[slot.slug] for slot in split.due]
    targets += [
        by_slug[slug]
        for slug in _retries_due(found, now)
        if slug in by_slug and by_slug[slug] not in targets
    ]
    publisher = found.publisher(echo)
    result = publisher.publish(targets)
    publisher.announce_pending(result=result)
    return RunReport(
        result, [p.slug for p in targets], [s.slug for s in split.held], list(problems)
    )


def _retries_due(found: Services, now: datetime) -> list[str]:
    """Posts whose publish step failed and whose next attempt has come (retries left)."""
    return [
        step.post
        for step in found.store.steps(status="failed")
        if step.kind == "publish"
        and step.next_attempt_at is not None
        and from_iso(step.next_attempt_at) <= now
    ]
