"""Every post's time: when each is due (its own time or its cadence slot).

Apart from the runner so that ``pipeline status`` can show the schedule without importing the
publisher and its clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipeline.core.schedule import Slot, assign_cadence, cadence_queue, resolve
from pipeline.errors import InputError
from pipeline.store import Store
from pipeline.timeutil import from_iso, utc_iso

if TYPE_CHECKING:
    from pipeline.journal import Journal
    from pipeline.workspace import Workspace


def scheduled(
    workspace: Workspace, store: Store, now: datetime, *, assign: Journal | None = None
) -> tuple[dict[str, Slot], list[InputError]]:
    """Every post's time: its own (publish_at, [[schedule]]) or its cadence slot.

    With ``assign`` (the journal to record it in), posts newly queued for the cadence keep the
    slot they are given now (recorded as their pending publish step), so their times never shift
    between runs.
    """
    settings = workspace.settings
    journal = assign
    taken = (
        {
            step.post: from_iso(step.due_at)
            for step in store.steps()
            if step.kind == "publish"
            and step.detail.get("cadence")
            and step.due_at
            and step.status != "done"
        }
        if settings.cadence is not None
        else {}
    )
    slots, problems = _resolved(workspace, taken)
    problems = [*settings.schedule_problems, *problems]
    if settings.cadence is None:
        return slots, problems
    queue = cadence_queue(workspace.posts, slots, store.posts())
    new = assign_cadence(queue, taken, settings.cadence, settings.timezone, now)
    for slug, at in new.items():
        slots[slug] = Slot(slug, at, "cadence")
        if journal is not None:
            journal.queued(
                slug,
                "publish",
                due_at=utc_iso(at),
                detail={"cadence": True},
                why=f"cadence slot {utc_iso(at)}",
            )
    return slots, problems


# The last answer of resolve(), with what it was computed from: a running scheduler resolves the
# same posts and schedule in every run (2,000 posts: ~12 ms a run) until the files change, and
# then its workspace is a new object.
_last: tuple[Workspace, dict[str, datetime], tuple[dict[str, Slot], list[InputError]]] | None = None


def _resolved(
    workspace: Workspace, taken: dict[str, datetime]
) -> tuple[dict[str, Slot], list[InputError]]:
    global _last
    last = _last
    if last is not None and last[0] is workspace and last[1] == taken:
        slots, problems = last[2]
    else:
        settings = workspace.settings
        slots, problems = resolve(
            workspace.posts, settings.schedule, settings.path, settings.posts_dir, cadence=taken
        )
        _last = (workspace, dict(taken), (slots, problems))
    return dict(slots), list(problems)  # copies: the caller adds the cadence's new slots
