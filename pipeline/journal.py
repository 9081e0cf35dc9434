"""The one writer of step changes: each is the state row, the job-log entry and the echoed line.

Nothing else writes a step. Every move is checked against the lifecycle in
:mod:`pipeline.core.steps` first, so a bug cannot, say, send an announcement that is done again.
Faults retried inside a client and resumes after a killed process are recorded here too
(:meth:`Journal.event`), not only on stderr.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, TypeVar, cast

from pipeline.core.records import Step
from pipeline.core.steps import Status, check_move, next_attempt, status_of
from pipeline.store import Store
from pipeline.timeutil import utc_iso

Echo = Callable[[str], None]
Clock = Callable[[], datetime]

# The post and step being worked on in this thread, so that a client's retry (logged through
# `logging`) lands in the job log under the right post.
_current: ContextVar[tuple[str, str] | None] = ContextVar("pipeline_step", default=None)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _atomic(method: _Method) -> _Method:
    """The step's row and its job-log entry commit together: a kill between two commits would
    leave, say, a publish done with no entry telling it."""

    @functools.wraps(method)
    def wrapper(self: Journal, *args: Any, **kwargs: Any) -> Any:
        with self.store.transaction():
            return method(self, *args, **kwargs)

    return cast("_Method", wrapper)


class Journal:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        max_attempts: int = 5,
        echo: Echo = lambda line: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_attempts = max_attempts
        self.echo = echo

    # -- moves -----------------------------------------------------------------------------

    @_atomic
    def begin(
        self, slug: str, kind: str, target: str = "", *, detail: dict[str, Any] | None = None
    ) -> Step:
        """Recorded before acting: a kill from here on leaves a ``running`` step to check."""
        before = self.store.step(slug, kind, target)
        if status_of(before) is Status.RUNNING:
            self.event(
                slug,
                _name(kind, target),
                "resumed",
                "an earlier run was interrupted here; checking before acting again",
            )
        return self._move(slug, kind, target, Status.RUNNING, detail=detail, count_attempt=True)

    @_atomic
    def done(
        self,
        slug: str,
        kind: str,
        target: str = "",
        *,
        what: str = "",
        detail: dict[str, Any] | None = None,
        started: float | None = None,
        quiet: bool = False,
    ) -> Step:
        step = self._move(slug, kind, target, Status.DONE, detail=detail)
        if not quiet:
            self._record(slug, _name(kind, target), "done", what, started)
        return step

    @_atomic
    def failed(
        self, slug: str, kind: str, target: str, error: str, *, started: float | None = None
    ) -> datetime | None:
        """A failure worth another try after a backoff, while attempts are left."""
        current = self.store.step(slug, kind, target)
        attempts = current.attempts if current else 1
        retry = next_attempt(attempts, self.max_attempts, self.clock())
        self._move(slug, kind, target, Status.FAILED, error=error, next_attempt_at=retry)
        when = (
            f"; retry at {utc_iso(retry)}"
            if retry
            else "; no retries left: `pipeline retry` re-queues"
        )
        self._record(slug, _name(kind, target), "failed", error + when, started)
        return retry

    @_atomic
    def deferred(
        self,
        slug: str,
        kind: str,
        target: str,
        until: datetime,
        why: str,
        *,
        started: float | None = None,
    ) -> None:
        """Not now, by the other side's word (a rate limit): pending until ``until``."""
        self._move(slug, kind, target, Status.PENDING, error=why, next_attempt_at=until)
        self._record(
            slug, _name(kind, target), "deferred", f"{why} until {utc_iso(until)}", started
        )

    @_atomic
    def held(
        self,
        slug: str,
        kind: str,
        target: str,
        why: str,
        *,
        due_at: str | None = None,
        started: float | None = None,
    ) -> None:
        """Waits for the writer; ``why`` says what to do. A held publish is a held post."""
        self._move(slug, kind, target, Status.HELD, error=why, due_at=due_at)
        shown = "" if kind == "publish" else _name(kind, target)
        self._record(slug, _name(kind, target), "held", why, started, shown=shown)

    @_atomic
    def skipped(
        self,
        slug: str,
        kind: str,
        target: str,
        why: str,
        *,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._move(slug, kind, target, Status.SKIPPED, detail=detail)
        self._record(slug, _name(kind, target), "skipped", why, None)

    @_atomic
    def unknown(self, slug: str, kind: str, target: str, why: str) -> None:
        self._move(slug, kind, target, Status.UNKNOWN, error=why)
        self._record(slug, _name(kind, target), "unknown", why, None)

    @_atomic
    def conflict(self, slug: str, kind: str, target: str, why: str) -> None:
        self._move(slug, kind, target, Status.CONFLICT, error=why)
        self._record(slug, _name(kind, target), "conflict", why, None)

    @_atomic
    def queued(
        self,
        slug: str,
        kind: str,
        target: str = "",
        *,
        due_at: str | None = None,
        next_attempt_at: str | None = None,
        detail: dict[str, Any] | None = None,
        why: str | None = None,
        outcome: str = "scheduled",
        reset_attempts: bool = False,
    ) -> None:
        """Pending: for a time (``due_at``), or again now (``pipeline retry``)."""
        step = self._move(
            slug,
            kind,
            target,
            Status.PENDING,
            due_at=due_at,
            detail=detail,
            next_attempt_at=next_attempt_at,
        )
        if reset_attempts:
            self.store.reset_attempts(step)
        if why is not None:
            self._record(slug, _name(kind, target), outcome, why, None)

    def settle(self, slug: str, kinds: tuple[str, ...], note: str) -> None:
        """Open steps of these kinds are done: a later write of the whole post covered them."""
        self.store.settle_steps(slug, kinds, note)

    # -- events ----------------------------------------------------------------------------

    def event(
        self, slug: str, step: str, outcome: str, details: str, started: float | None = None
    ) -> None:
        """A job-log entry that moves no step: a refresh, a rename, a retry inside a client."""
        self._record(slug, step, outcome, details, started)

    @contextmanager
    def working_on(self, slug: str, step: str) -> Iterator[None]:
        """Client retries logged while this runs are recorded under ``slug``/``step``."""
        token = _current.set((slug, step))
        try:
            yield
        finally:
            _current.reset(token)

    # -- internals -------------------------------------------------------------------------

    def _move(
        self,
        slug: str,
        kind: str,
        target: str,
        status: Status,
        *,
        detail: dict[str, Any] | None = None,
        error: str | None = None,
        next_attempt_at: datetime | str | None = None,
        due_at: str | None = None,
        count_attempt: bool = False,
    ) -> Step:
        check_move(kind, status_of(self.store.step(slug, kind, target)), status)
        when = (
            utc_iso(next_attempt_at) if isinstance(next_attempt_at, datetime) else next_attempt_at
        )
        return self.store.set_step(
            slug,
            kind,
            target,
            status=status.value,
            detail=detail,
            error=error,
            next_attempt_at=when,
            due_at=due_at,
            count_attempt=count_attempt,
        )

    def _record(
        self,
        slug: str,
        step: str,
        outcome: str,
        details: str,
        started: float | None,
        *,
        shown: str | None = None,
    ) -> None:
        duration = int((time.monotonic() - started) * 1000) if started is not None else None
        if self.store.redactor is not None:  # masked here, before the job log and the echo
            details = self.store.redactor(details)
        self.store.log(slug, step, outcome, details, duration)
        label = " ".join(part for part in (step if shown is None else shown, outcome) if part)
        self.echo(f"{slug}: {label}" + (f": {details}" if details else ""))


def _name(kind: str, target: str) -> str:
    return f"{kind}:{target}" if target else kind


class RetriesToJournal(logging.Handler):
    """Forwards the clients' "retrying" warnings into the job log of the step being worked on."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(logging.WARNING)
        self.journal = journal

    def emit(self, record: logging.LogRecord) -> None:
        current = _current.get()
        if current is None or not getattr(record, "retry", False):
            return
        slug, step = current
        outcome = str(getattr(record, "outcome", "retried"))  # e.g. "adopted"
        self.journal.store.log(slug, step, outcome, record.getMessage())


@contextmanager
def retries_recorded(journal: Journal) -> Iterator[None]:
    """While this runs, the clients' retries are job-log entries too."""
    handler = RetriesToJournal(journal)
    logger = logging.getLogger("pipeline")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
