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
from pipeline.state import publishes_due_again
from pipeline.timeutil import utc_iso


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
    retries = publishes_due_again(store.steps(), now)
    split = schedule.due(slots, store.posts(), held_before, now, settings.catch_up)
    for slot in split.held:
        if slot.slug not in held_before and slot.slug not in retries:
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
        by_slug[slug] for slug in retries if slug in by_slug and by_slug[slug] not in targets
    ]
    publisher = found.publisher(echo)
    result = publisher.publish(targets)
    publisher.announce_pending(result=result)
    held = [s.slug for s in split.held if s.slug not in retries]
    return RunReport(result, [p.slug for p in targets], held, list(problems))
