"""A step's lifecycle, pure: its statuses, the moves allowed between them, and "is it due?".

Every step of every post (``publish``, ``update``, ``backfill:<slugs>``, ``announce:<channel>``)
lives by these rules; the journal (:mod:`pipeline.journal`) is the only writer and checks each
move here first. ``now`` is always passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pipeline.core.records import Step
from pipeline.timeutil import from_iso


class Status(StrEnum):
    PENDING = "pending"  # waiting for its time (due_at) or its next attempt (next_attempt_at)
    RUNNING = "running"  # recorded before acting: found at start, it was interrupted
    DONE = "done"
    FAILED = "failed"  # retried after a backoff while attempts are left
    UNKNOWN = "unknown"  # may or may not have happened, and nothing can tell: the writer settles
    SKIPPED = "skipped"  # deliberately not done (announce: false, --no-announce)
    HELD = "held"  # waits for the writer: a missed time, no credentials, no credits, a budget
    CONFLICT = "conflict"  # edited in WordPress since we wrote it: waits for --force


FINISHED = frozenset({Status.DONE, Status.SKIPPED})
# Nothing happens to these until the writer acts (`pipeline retry`, `publish --force`).
WAITING_FOR_WRITER = frozenset({Status.UNKNOWN, Status.HELD, Status.CONFLICT})
OPEN = frozenset(Status) - FINISHED

# Where each status may go. A finished announcement is final: that is "never twice" (only the
# writer's `retry --resend` of an *unknown* one sends again, and that starts from UNKNOWN).
_ANY = frozenset(Status)
MOVES: dict[Status, frozenset[Status]] = {
    Status.PENDING: _ANY,
    Status.RUNNING: _ANY,
    Status.FAILED: _ANY - {Status.UNKNOWN},
    Status.HELD: _ANY - {Status.UNKNOWN},
    Status.CONFLICT: _ANY - {Status.UNKNOWN},
    Status.SKIPPED: _ANY - {Status.UNKNOWN, Status.FAILED},
    Status.UNKNOWN: frozenset({Status.UNKNOWN, Status.PENDING, Status.DONE}),
    Status.DONE: _ANY - {Status.UNKNOWN, Status.FAILED},
}
FINAL_FOR_ANNOUNCE = frozenset({Status.DONE})


class BadMove(ValueError):
    """A step change the lifecycle does not allow: a bug in the caller, never user input."""


def check_move(kind: str, old: Status | None, new: Status) -> None:
    if old is None:
        return
    if kind == "announce" and old in FINAL_FOR_ANNOUNCE and new != old:
        raise BadMove(f"{kind}: {old} is final (an announcement is never sent twice)")
    if new not in MOVES[old]:
        raise BadMove(f"{kind}: {old} -> {new} is not an allowed move")


def status_of(step: Step | None) -> Status | None:
    return Status(step.status) if step is not None else None


def backoff(attempts: int) -> timedelta:
    """How long a failed step waits before its next try: 30 s, 1 min, 2 min ... at most 1 h."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def next_attempt(attempts: int, max_attempts: int, now: datetime) -> datetime | None:
    """When a step that just failed for the ``attempts``-th time is tried again, if ever."""
    return now + backoff(attempts) if attempts < max_attempts else None


def is_due(step: Step | None, now: datetime) -> bool:
    """Does this step want to run now?

    No step yet, or one interrupted mid-run (checked before acting again), or pending or failed
    whose next attempt time has come. Finished steps and those waiting for the writer never are.
    """
    if step is None:
        return True
    status = Status(step.status)
    if status is Status.RUNNING:
        return True
    if status is Status.PENDING:
        return step.next_attempt_at is None or from_iso(step.next_attempt_at) <= now
    if status is Status.FAILED:
        return step.next_attempt_at is not None and from_iso(step.next_attempt_at) <= now
    return False


def waiting_until(step: Step | None, now: datetime) -> datetime | None:
    """The future time a pending or failed step waits for (a backoff or a rate limit)."""
    if step is None or step.next_attempt_at is None:
        return None
    if Status(step.status) not in (Status.PENDING, Status.FAILED):
        return None
    when = from_iso(step.next_attempt_at)
    return when if when > now else None
