"""``pipeline run``: the scheduler, on APScheduler 3, its jobs built from the state.

The state (:mod:`pipeline.store`) and the schedule (front matter, ``pipeline.toml``) are the one
record of what is scheduled. APScheduler keeps its jobs in memory only (``MemoryJobStore``):
every start and every re-sync builds them from the posts, the schedule and the state's publish
steps (:func:`publish_jobs`), so there is no second copy of the schedule to drift or to repair
after a crash. Every job calls :func:`run_job`, which calls
:func:`pipeline.scheduler.runner.run_due` — the same code path as ``pipeline run --once`` and,
through ``Publisher.publish``, ``pipeline publish``:

- one date job per scheduled post not yet live (id ``publish:<slug>``, ``misfire_grace_time=None``
  and ``coalesce=True``). A post whose time passed while the process was down and that was never
  tried, or was interrupted, gets its job at that past time, so it runs at once on start;
  ``run_due`` then publishes it if it is within the catch-up window and holds it otherwise;
- a periodic job (``tick``, every 30 s by default, and once on start) for retries, announcements
  deferred by a rate limit and backfills, plus a date job (``retry``) at the earliest future
  ``next_attempt_at`` of a failed or deferred step.

Jobs run one at a time on a single worker thread: two ``run_due`` at once could both see the same
post due. The workspace, the store and the HTTP clients stay open between jobs (a post is
published well within a second of its time); the files are checked for changes (a few ``stat``
calls) before every run, so a job never works on stale posts. What a run costs does not grow with
the schedule (issue 15: 2,000 scheduled posts): the state is read once per run, the posts are
parsed and rendered once (``core.memo``), and the refresh of the live posts from WordPress is
skipped when this process did it within a tick (:class:`pipeline.publisher.Freshness`). Posts due
while a run is in flight are published by the next run, which starts as soon as it ends; the date
jobs of posts that run already saw due are then skipped (:func:`run_job`).

A control thread owns every change to the jobs: it re-syncs them when ``pipeline.toml``,
``credentials.toml`` or anything under ``posts/`` changes (polled every 2 s) and on SIGHUP, and on
SIGTERM or SIGINT it stops the scheduler after the run in flight (``shutdown(wait=True)``).
Signals reach it through :class:`Inbox`, never through a Python-level handler doing the work:
calling into APScheduler from a handler, on the main thread that runs APScheduler's loop and may
hold its locks, could deadlock, and such a handler may run only when that loop next wakes.

One scheduler per state folder: it holds the store lock ``scheduler`` while it runs (two would
both run every job); ``pipeline run --once`` takes the same lock.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field
from msgspec.structs import replace

from pipeline import memofile
from pipeline.channels.base import ChannelSetup
from pipeline.config import Settings, find_config, load_settings
from pipeline.core import schedule
from pipeline.core.announce import Limits, measure
from pipeline.core.records import PostRecord, Step
from pipeline.errors import InputError, LockedError, PipelineError
from pipeline.publisher import Echo, Freshness
from pipeline.redact import NO_SECRETS, Redactor
from pipeline.scheduler.runner import RunReport, run_due
from pipeline.scheduler.slots import scheduled
from pipeline.store import Store
from pipeline.timeutil import from_iso, utc_now
from pipeline.wiring import (
    Services,
    announceable,
    channel_setups,
    close_channels,
    require,
    services,
    wordpress_access,
)
from pipeline.workspace import Workspace, load_workspace

if TYPE_CHECKING:
    import httpx

    from pipeline.wordpress import WordPressClient

log = logging.getLogger("pipeline.scheduler.service")

PUBLISH_PREFIX = "publish:"
TICK_ID = "tick"
RETRY_ID = "retry"
LOCK_NAME = "scheduler"
LOCK_WHAT = "pipeline run"
DEFAULT_TICK = timedelta(seconds=30)
DEFAULT_POLL = timedelta(seconds=2)
SHOWN_RUNS = 20  # the next runs listed on start; a big schedule's 2,000 lines help nobody
# Steps the scheduler fires a post's date job for once its time has passed. Failed steps wait
# for their retry time, held and unknown ones for the user, conflicts for --force.
FIRE_WHEN_PAST = frozenset({"pending", "running"})

RequestHook = Callable[["httpx.Request"], None]
Fingerprint = tuple[tuple[str, int, int], ...]


# ---------------------------------------------------------------------------------------------
# What the jobs should be: pure, ``now`` is a parameter


class JobSpec(Struct, frozen=True):
    """The date job of one scheduled post."""

    id: str
    slug: str
    run_at: datetime  # aware, UTC


def job_id(slug: str) -> str:
    return f"{PUBLISH_PREFIX}{slug}"


def publish_jobs(
    slots: Mapping[str, schedule.Slot],
    records: Mapping[str, PostRecord],
    steps: Iterable[Step],
    now: datetime,
) -> list[JobSpec]:
    """One date job per scheduled post not yet live, at its time, in time order.

    A post whose time is still ahead always gets its job. Once the time has passed, only a post
    never tried, waiting or interrupted does (the job runs at once; ``run_due`` publishes or
    holds it): a failed publish waits for its retry time, and held, unknown and conflicting
    ones wait for the user.
    """
    publish_steps = {step.post: step for step in steps if step.kind == "publish"}
    jobs = []
    for slot in sorted(slots.values(), key=lambda s: (s.at, s.slug)):
        record = records.get(slot.slug)
        if record is not None and record.live:
            continue
        step = publish_steps.get(slot.slug)
        if slot.at <= now and step is not None and step.status not in FIRE_WHEN_PAST:
            continue
        jobs.append(JobSpec(job_id(slot.slug), slot.slug, slot.at.astimezone(UTC)))
    return jobs


def next_retry(steps: Iterable[Step], now: datetime) -> datetime | None:
    """The earliest future retry of a failed step or of a deferred (rate-limited) one."""
    times = [
        from_iso(step.next_attempt_at)
        for step in steps
        if step.status in ("failed", "pending") and step.next_attempt_at
    ]
    future = [when for when in times if when > now]
    return min(future) if future else None


def fingerprint(settings: Settings) -> Fingerprint:
    """What the workspace is read from: config, credentials and every file under posts_dir.

    Taken before every run and every poll: plain strings, no ``Path`` per file (half the time
    with 2,000 posts).
    """
    entries = [_stat(str(settings.path)), _stat(str(settings.credentials_path))]
    for folder, dirs, files in os.walk(settings.posts_dir):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        entries += [_stat(os.path.join(folder, name)) for name in files if not name.startswith(".")]
    return tuple(sorted(entries))


def _stat(path: str) -> tuple[str, int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (path, -1, -1)
    return (path, info.st_mtime_ns, info.st_size)


# ---------------------------------------------------------------------------------------------
# The open workspace, kept warm between jobs


MEMO_SAVE_SECONDS = 60.0  # how often a running scheduler writes its memo to the state folder


class Runtime:
    """Settings, workspace, store and clients of one config, open for the scheduler's lifetime.

    ``current()`` re-reads the files when they changed (a few ``stat`` calls otherwise) and
    rebuilds the clients only when their settings or credentials changed. A configuration that
    stops loading (a half-saved file) is reported once and the previous one is kept.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        http_hooks: Sequence[RequestHook] = (),
        refresh_every: timedelta = DEFAULT_TICK,
    ) -> None:
        self.key = str(settings.path)
        self.store = store
        self.clock = clock
        self.stopping = threading.Event()
        self.run_lock = threading.Lock()  # one run_due at a time
        self._lock = threading.Lock()  # reloading
        self._hooks = tuple(http_hooks)
        self._http: httpx.Client | None = None
        self._retired: list[Callable[[], None]] = []  # clients to close once no run uses them
        self._bad: Fingerprint | None = None
        self._refresh_every = refresh_every
        self._freshness = Freshness(refresh_every)
        # The time the last finished run planned for: a post due by then was its to publish.
        self.covered_until: datetime | None = None
        self._fingerprint = fingerprint(settings)
        self._memo_saved = time.monotonic()  # the memo is written a minute after the start
        workspace = load_workspace(settings, store.pinned_slugs())
        store.redactor = workspace.redactor()
        wordpress, self._http = self._wordpress(workspace)
        channels = channel_setups(workspace, clock=clock, store=store)
        workspace = announceable(workspace, channels)
        self._services = Services(workspace, store, wordpress, channels, clock, self._freshness)
        self.generation = 0  # bumped on every reload, so the scheduler knows to re-sync

    @property
    def settings(self) -> Settings:
        return self._services.workspace.settings

    @property
    def redactor(self) -> Redactor:
        """Masks the credentials as they are now (they may change while running)."""
        return self._services.store.redactor or NO_SECRETS

    def current(self) -> Services:
        """The services for the files as they are now."""
        with self._lock:
            now_seen = fingerprint(self.settings)
            if now_seen != self._fingerprint and now_seen != self._bad:
                self._reload(now_seen)
            return self._services

    def run(self, now: datetime | None = None, echo: Echo = lambda line: None) -> RunReport:
        """``run_due`` on the current files; ``now`` defaults to the time the run starts."""
        with self.run_lock:
            self._close_retired()
            found = self.current()
            now = now or self.clock()
            report = run_due(found, now=now, echo=echo)
            self.covered_until = now
            # A long-lived process keeps what it rendered as it goes, but not after every run:
            # the memo of a big catalogue is megabytes, and runs come seconds apart. Nor in the
            # first minute: the start-up run and the posts due right after a start would wait
            # for it (0.1-0.3 s for 2,000 posts). Under the run lock, as no run renders while
            # it is written. The rest is written on the way out.
            if time.monotonic() - self._memo_saved >= MEMO_SAVE_SECONDS:
                memofile.save()
                self._memo_saved = time.monotonic()
            return report

    def covered(self, due: datetime) -> bool:
        """Did a run that planned at ``due`` or later already see this job's post due?"""
        return self.covered_until is not None and due <= self.covered_until

    def close(self) -> None:
        with self.run_lock, self._lock:
            self._close_retired()
            if self._http is not None:
                self._http.close()
            close_channels(self._services.channels)

    def _reload(self, seen: Fingerprint) -> None:
        old = self._services
        try:
            settings = load_settings(old.workspace.settings.path)
            if settings.db_path != old.workspace.settings.db_path:
                raise InputError(
                    f"state_dir changed to {settings.state_dir} while pipeline run uses "
                    f"{old.workspace.settings.state_dir}",
                    path=settings.path,
                    fix="restart pipeline run to use the new state folder",
                )
            workspace = load_workspace(settings, self.store.pinned_slugs())
        except InputError as exc:
            self._bad = seen
            log.error("%s; keeping the previous configuration", self.redactor(exc.render()))
            return
        self.store.redactor = workspace.redactor()
        wordpress, channels, http = old.wordpress, old.channels, self._http
        if _wordpress_config(workspace) != _wordpress_config(old.workspace):
            if http is not None:
                self._retired.append(http.close)
            wordpress, http = self._wordpress(workspace)
            self._freshness = Freshness(self._refresh_every)  # another site, or another login
        if _channels_config(workspace) != _channels_config(old.workspace):
            retired = old.channels
            self._retired.append(lambda: close_channels(retired))
            channels = channel_setups(workspace, clock=self.clock, store=self.store)
        workspace = announceable(workspace, channels)
        self._services = Services(
            workspace, self.store, wordpress, channels, self.clock, self._freshness
        )
        self._http = http
        self._fingerprint = seen
        self._bad = None
        self.generation += 1
        log.info("re-read %s and %s", settings.path.name, settings.posts_dir)

    def _wordpress(
        self, workspace: Workspace
    ) -> tuple[WordPressClient | None, httpx.Client | None]:
        access = wordpress_access(workspace, self.clock)
        if access is None:
            return None, None
        from pipeline.wordpress import WordPressClient, make_http_client

        settings, creds = access.settings, access.credentials
        http = make_http_client(settings, creds, auth=access.auth)
        if self._hooks:
            hooks = http.event_hooks
            http.event_hooks = {**hooks, "request": [*hooks.get("request", []), *self._hooks]}
        client = WordPressClient.connect(http, settings, creds, clock=self.clock, memory=self.store)
        return client, http

    def _close_retired(self) -> None:
        while self._retired:
            self._retired.pop()()


def _wordpress_config(workspace: Workspace) -> tuple[object, ...]:
    # Where each key is written (its line) changes nothing the client is built from.
    where_written_aside = replace(workspace.settings.wordpress, key_lines={})
    return (where_written_aside, workspace.credentials.wordpress)


def _channels_config(workspace: Workspace) -> tuple[object, ...]:
    """What the channels are built from: a change in any of it builds them anew."""
    settings, creds = workspace.settings, workspace.credentials
    return (
        (settings.x, creds.x),
        (settings.bluesky, creds.bluesky),
        (settings.mastodon, creds.mastodon),
    )


_RUNTIMES: dict[str, Runtime] = {}


# ---------------------------------------------------------------------------------------------
# The job function, and the one-shot run


def run_job(config_path: str, due: str | None = None) -> None:
    """What every scheduled job runs: ``run_due`` now, with a summary in the log.

    In the scheduler's process it uses the open :class:`Runtime`; elsewhere it opens the
    services for this one run. Pipeline errors are logged (the job log has the steps' own
    failures) and never reach APScheduler, so the scheduler keeps going.

    ``due``: a post's date job, for that time. When posts fall due faster than runs finish,
    their jobs queue behind the run in flight, and the first run after them publishes them
    all; the jobs of posts that run already saw due are then skipped, not run empty one after
    another while later posts wait behind them.
    """
    runtime = _RUNTIMES.get(config_path)
    if runtime is not None and runtime.stopping.is_set():
        log.info("stopping: run skipped")
        return
    if runtime is not None and due is not None and runtime.covered(from_iso(due)):
        log.debug("run for %s skipped: the run at %s covered it", due, runtime.covered_until)
        return
    redact: Redactor = runtime.redactor if runtime is not None else NO_SECRETS
    try:
        if runtime is not None:
            report = runtime.run(echo=lambda line: log.info("%s", redact(line)))
            redact = runtime.redactor
        else:
            with services(config_path) as found:
                redact = found.store.redactor or NO_SECRETS
                report = run_due(found, now=datetime.now(UTC), echo=lambda line: log.info(line))
    except PipelineError as exc:
        message = exc.render() if isinstance(exc, InputError) else str(exc)
        log.error("run failed: %s", redact(message))
        return
    # Held posts are reported once, when held (run_due's echo), not in every run's summary.
    summary = redact(describe_report(report, held=False))
    if report.result.failed:
        log.warning("run: %s", summary)
    elif report.published or report.result.done:
        log.info("run: %s", summary)
    else:
        log.debug("run: nothing due")


def describe_report(report: RunReport, *, held: bool = True) -> str:
    """One line: what a run published, held (with ``held``), deferred and what failed."""
    result = report.result
    parts = [
        f"{label} {', '.join(items)}"
        for label, items in (
            ("published", [s for s in report.published if not _failed(s, result.failed)]),
            ("held (missed by more than the catch-up window)", report.held if held else []),
            ("deferred", result.deferred),
            ("conflicts", result.conflicts),
            ("outcome unknown (settle with `pipeline retry`)", result.unknown),
        )
        if items
    ]
    if result.failed:
        parts.append(f"{len(result.failed)} failed: {'; '.join(result.failed)}")
    return "; ".join(parts) if parts else "nothing due"


def _failed(slug: str, failed: Sequence[str]) -> bool:
    return any(line.startswith(f"{slug}: publish:") for line in failed)


class Upcoming(Struct, frozen=True):
    slug: str
    at: datetime  # aware, UTC


def upcoming(found: Services, now: datetime) -> list[Upcoming]:
    """Scheduled posts not yet live whose time is ahead, soonest first."""
    slots, _ = scheduled(found.workspace, found.store, now)
    records = found.store.posts()
    return [
        Upcoming(slot.slug, slot.at)
        for slot in sorted(slots.values(), key=lambda s: (s.at, s.slug))
        if slot.at > now and not (slot.slug in records and records[slot.slug].live)
    ]


def take_lock(store: Store, settings: Settings) -> None:
    """The one-scheduler-per-state-folder lock, with a message that says what to do."""
    try:
        store.acquire(LOCK_NAME, LOCK_WHAT)
    except LockedError as exc:
        raise LockedError(
            f"{exc} (one `pipeline run` at a time per state folder, {settings.state_dir}; "
            "the running one already publishes what is due)"
        ) from exc


def run_once(found: Services, now: datetime, echo: Echo = lambda line: None) -> RunReport:
    """``pipeline run --once``: what is due now, under the scheduler's lock."""
    take_lock(found.store, found.workspace.settings)
    try:
        return run_due(found, now=now, echo=echo)
    finally:
        found.store.release(LOCK_NAME)


# ---------------------------------------------------------------------------------------------
# The scheduler


Command = tuple[str, str]  # what, why


class Inbox:
    """The control thread's commands, and the signals that become commands.

    A command is queued and a byte written to a socket pair that the control thread waits on.
    Signals write their number to the same socket through :func:`signal.set_wakeup_fd`: Python's
    C-level handler does that the moment a signal lands, in whatever thread. A Python-level
    handler, by contrast, runs only when the main thread next runs bytecode, and the main thread
    sleeps in APScheduler's wait until the next job: a SIGTERM that arrived just as it went to
    sleep was seen only at the next job, maybe hours later (measured: 1 in a few starts).
    """

    SIGNALS: Mapping[int, str] = {
        signal.SIGTERM: "stop",
        signal.SIGINT: "stop",
        signal.SIGHUP: "resync",
    }

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._bell: tuple[socket.socket, socket.socket] | None = None
        self._previous: tuple[dict[int, Any], int] | None = None

    def put(self, command: str, why: str = "") -> None:
        self._queue.put((command, why))
        if self._bell is not None:
            with suppress(OSError):  # full (the reader wakes anyway) or closed (nobody waits)
                self._bell[1].send(b"\0")

    def open(self) -> None:
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        self._bell = (reader, writer)

    def take(self, timeout: float) -> list[Command]:
        """What came in, after waiting up to ``timeout`` s for it; a ``poll`` if nothing did."""
        assert self._bell is not None, "not open"
        reader = self._bell[0]
        wait = 0 if not self._queue.empty() else timeout
        readable, _, _ = select.select([reader], [], [], wait)
        rung = reader.recv(4096) if readable else b""
        commands = [(self.SIGNALS[n], signal.Signals(n).name) for n in rung if n in self.SIGNALS]
        with suppress(queue.Empty):
            while True:
                commands.append(self._queue.get_nowait())
        return commands or [("poll", "")]

    def catch_signals(self) -> None:
        """SIGTERM, SIGINT and SIGHUP become commands (in the main thread only: Python's rule)."""
        if self._bell is None or threading.current_thread() is not threading.main_thread():
            return
        handlers = {signum: signal.signal(signum, _on_signal) for signum in self.SIGNALS}
        fd = signal.set_wakeup_fd(self._bell[1].fileno(), warn_on_full_buffer=False)
        self._previous = (handlers, fd)

    def close(self) -> None:
        """Restore the signal handlers, and close the socket pair."""
        if self._previous is not None:
            handlers, fd = self._previous
            signal.set_wakeup_fd(fd)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            self._previous = None
        if self._bell is not None:
            for end in self._bell:
                end.close()
            self._bell = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """Nothing to do here: the signal's number is already on the inbox's socket."""


class SyncReport(Struct):
    jobs: list[JobSpec] = field(default_factory=list)  # the publish jobs wanted now
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class Scheduler:
    """``pipeline run``: a ``BlockingScheduler`` for one config, until stopped.

    ``run()`` blocks (in the main thread it catches SIGTERM, SIGINT and SIGHUP);
    ``stop()`` and ``resync()`` may be called from any thread.
    """

    def __init__(
        self,
        config: str | None,
        *,
        tick: timedelta = DEFAULT_TICK,
        poll: timedelta = DEFAULT_POLL,
        echo: Echo = lambda line: None,
        http_hooks: Sequence[RequestHook] = (),
    ) -> None:
        self.config = config
        self.tick = tick
        self.poll = poll
        self.echo = echo
        self.http_hooks = tuple(http_hooks)
        self.ready = threading.Event()  # set after the first sync
        self._inbox = Inbox()
        self._started = False  # APScheduler's loop runs: the control thread may change jobs
        self._stop_requested = threading.Event()
        self._aps: Any = None
        self._runtime: Runtime | None = None
        self._synced_generation = -1
        self._retry_at: datetime | None = None
        self._problems: set[str] = set()
        self._warming: threading.Thread | None = None

    # -- control from outside --

    def stop(self, why: str = "stop requested") -> None:
        """Finish the run in flight, then make ``run()`` return."""
        self._inbox.put("stop", why)

    def resync(self, why: str = "resync requested") -> None:
        """Re-read the files and the state, and re-sync the jobs."""
        self._inbox.put("resync", why)

    def redactor(self) -> Redactor:
        """Masks the current credentials (they may change while running)."""
        runtime = self._runtime
        return runtime.redactor if runtime is not None else NO_SECRETS

    def jobs(self) -> list[Any]:
        """APScheduler's jobs, while running."""
        return list(self._aps.get_jobs()) if self._aps is not None else []

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "not running"
        return self._runtime

    # -- running --

    def run(self, settings: Settings | None = None) -> None:
        """Take the lock, start the scheduler and block until stopped; release everything.
        ``settings``: the config as the caller just read it (else it is read here; a
        [[schedule]] of 2,000 posts takes ~0.07 s to parse)."""
        if settings is None:
            settings = load_settings(find_config(self.config))
        store = Store.open(settings.db_path)
        try:
            take_lock(store, settings)
            try:
                self._run(settings, store)
            finally:
                store.release(LOCK_NAME)
        finally:
            store.close()

    def _run(self, settings: Settings, store: Store) -> None:
        from apscheduler.events import EVENT_SCHEDULER_STARTED
        from apscheduler.schedulers.base import STATE_STOPPED

        runtime = Runtime(settings, store, http_hooks=self.http_hooks, refresh_every=self.tick)
        found = runtime.current()
        try:
            require(found.wordpress, found.workspace)  # a scheduler that cannot publish: say so
        except InputError:
            runtime.close()
            raise
        self._runtime = runtime
        _RUNTIMES[runtime.key] = runtime
        self._aps = aps = self._build()
        aps.add_listener(lambda event: self._inbox.put("started"), EVENT_SCHEDULER_STARTED)
        control = threading.Thread(target=self._control, name="pipeline-control", daemon=True)
        self._inbox.open()
        self._inbox.catch_signals()
        try:
            control.start()
            if not self._stop_requested.is_set():
                aps.start()  # blocks until shutdown
        finally:
            self._inbox.put("quit")
            control.join()
            if aps.state != STATE_STOPPED:
                runtime.stopping.set()
                aps.shutdown(wait=True)
            self._inbox.close()
            if self._warming is not None:
                self._warming.join()
            _RUNTIMES.pop(runtime.key, None)
            runtime.close()
            self._aps = None
            log.info("scheduler stopped")

    def _build(self) -> Any:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.blocking import BlockingScheduler

        aps = BlockingScheduler(
            timezone=UTC,
            jobstores={"default": MemoryJobStore()},  # built from the state: see the docstring
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        return aps

    def _start_jobs(self) -> None:
        """The publish jobs, then the periodic job, run once now: what is due after downtime.

        In this order, the start-up run does not compete for the CPU with building the jobs.
        """
        now = datetime.now(UTC)
        report = None
        # Paused while the jobs go in: each job added wakes APScheduler's loop, which would
        # otherwise look over every job so far each time (2,000 jobs: some 0.2 s of CPU).
        self._aps.pause()
        try:
            report = self._sync(now, force=True, first=True)
        finally:
            self._aps.resume()
            self._aps.add_job(
                run_job,
                "interval",
                seconds=self.tick.total_seconds(),
                args=[self.runtime.key],
                id=TICK_ID,
                name="retries, deferred announcements, backfills",
                next_run_time=now,
                misfire_grace_time=None,
                coalesce=True,
            )
            # not `if report`: a sync that changed nothing is falsy, yet has jobs
            self._announce(report.jobs if report is not None else [], now)
            self.ready.set()
            self._warming = threading.Thread(
                target=warm_up, args=(self.runtime.current().channels,), name="pipeline-warm-up"
            )
            self._warming.start()

    def _control(self) -> None:
        """The one thread that changes jobs: syncs, retry job, and shutdown."""
        while True:
            for command, why in self._inbox.take(self.poll.total_seconds()):
                try:
                    if self._handle(command, why):
                        return
                except PipelineError as exc:
                    log.error("%s", self.runtime.redactor(str(exc)))
                except Exception:
                    log.exception("scheduler control: unexpected error (the scheduler goes on)")

    def _handle(self, command: str, why: str) -> bool:
        """Carry out one command; True once the control thread is done."""
        if command == "quit":
            return True
        if command == "stop":
            self._stop_requested.set()
            if self._started:
                self._shutdown(why)
            # not started yet: run() sees the flag, or "started" comes next
            return self._started
        if command == "started":
            self._started = True
            if self._stop_requested.is_set():
                self._shutdown("stop requested during start")
                return True
            self._start_jobs()
        elif self._started:
            if why:
                log.info("%s: re-reading the files and re-syncing the jobs", why)
            self._sync(datetime.now(UTC), force=command == "resync")
        return False

    def _shutdown(self, why: str) -> None:
        log.info("%s: finishing the run in progress, then stopping", why)
        self.runtime.stopping.set()
        self._aps.pause()  # the loop stops submitting jobs before the executors close
        self._aps.shutdown(wait=True)

    def _sync(self, now: datetime, *, force: bool, first: bool = False) -> SyncReport | None:
        runtime = self.runtime
        found = runtime.current()
        report = None
        if force or runtime.generation != self._synced_generation:
            self._synced_generation = runtime.generation
            report = self.sync_jobs(found, now)
            if report and not first:  # the first sync's jobs are all new: _announce lists them
                _log_changes(report)
        self._sync_retry(found, now)
        return report

    def sync_jobs(self, found: Services, now: datetime) -> SyncReport:
        """Make the publish jobs match the schedule and the state (all of them on start)."""
        from apscheduler.jobstores.base import JobLookupError

        settings = found.workspace.settings
        slots, problems = scheduled(found.workspace, found.store, now, assign=found.journal())
        problems = [*found.workspace.loaded.errors, *problems]  # bad posts too, once each
        for problem in problems:
            text = problem.render()
            if text not in self._problems:
                log.warning("skipped: %s", text)
        self._problems = {problem.render() for problem in problems}
        wanted = publish_jobs(slots, found.store.posts(), found.store.steps(kind="publish"), now)
        existing = {
            job.id: job for job in self._aps.get_jobs() if job.id.startswith(PUBLISH_PREFIX)
        }
        report = SyncReport(jobs=wanted)
        for spec in wanted:
            job = existing.pop(spec.id, None)
            if job is not None and job.trigger.run_date == spec.run_at:
                continue
            self._aps.add_job(
                run_job,
                "date",
                run_date=spec.run_at,
                args=[str(settings.path), spec.run_at.isoformat()],  # to the microsecond
                id=spec.id,
                name=f"publish {spec.slug}",
                misfire_grace_time=None,
                coalesce=True,
                replace_existing=True,
            )
            (report.added if job is None else report.changed).append(spec.slug)
        for stale in existing:
            with suppress(JobLookupError):  # it ran meanwhile: gone either way
                self._aps.remove_job(stale)
            report.removed.append(stale.removeprefix(PUBLISH_PREFIX))
        return report

    def _sync_retry(self, found: Services, now: datetime) -> None:
        from apscheduler.jobstores.base import JobLookupError

        when = next_retry(found.store.retrying_steps(), now)
        if when == self._retry_at:
            return
        if when is None:
            if self._retry_at is not None and self._retry_at > now:
                with suppress(JobLookupError):  # it ran already
                    self._aps.remove_job(RETRY_ID)
        else:
            self._aps.add_job(
                run_job,
                "date",
                run_date=when,
                args=[str(found.workspace.settings.path)],
                id=RETRY_ID,
                name="retry failed and deferred steps",
                misfire_grace_time=None,
                coalesce=True,
                replace_existing=True,
            )
            log.info("next retry at %s", when.isoformat(timespec="seconds"))
        self._retry_at = when

    def _announce(self, jobs: Sequence[JobSpec], now: datetime) -> None:
        """What the user sees on start: where it runs and the next runs."""
        settings = self.runtime.settings
        self.echo(
            f"pipeline run: scheduler started for {settings.path} (state {settings.db_path}); "
            "SIGTERM or Ctrl-C stops it after the run in progress"
        )
        if not jobs:
            self.echo(
                "no scheduled posts waiting; looking for retries every "
                f"{_seconds(self.tick)} and for changes every {_seconds(self.poll)}"
            )
            return
        tz = settings.timezone
        self.echo(f"next runs ({tz.key}):")
        for job in jobs[:SHOWN_RUNS]:
            local = job.run_at.astimezone(tz)
            late = " (time passed: runs now)" if job.run_at <= now else ""
            self.echo(
                f"  {local:%Y-%m-%d %H:%M:%S %Z}  ({job.run_at:%Y-%m-%d %H:%M:%S} UTC)  "
                f"{job.slug}{late}"
            )
        if len(jobs) > SHOWN_RUNS:
            self.echo(f"  and {len(jobs) - SHOWN_RUNS:,} more (`pipeline status` lists them all)")


def warm_up(channels: Sequence[ChannelSetup]) -> None:
    """Import now what the first run that publishes would import on its way to the create:
    measuring an announcement loads twitter-text (0.3 s, and more on a busy machine), which
    made the first post due after a start the latest by that much. Each network's counting
    whose limits are known without asking it; in a thread, so that start-up does not wait."""
    for counting in sorted({setup.limits.counting for setup in channels if setup.limits}):
        measure("warm-up https://example.com", Limits(280, counting, 23))


def _log_changes(report: SyncReport) -> None:
    """A re-sync in the log: the counts, then each job added, moved or removed."""
    log.info(
        "jobs re-synced: %d added, %d moved, %d removed",
        len(report.added),
        len(report.changed),
        len(report.removed),
    )
    when = {job.slug: job.run_at for job in report.jobs}
    for label, slugs in (("added", report.added), ("moved", report.changed)):
        for slug in slugs:
            log.info(
                "job %s %s, runs at %s", job_id(slug), label, f"{when[slug]:%Y-%m-%d %H:%M:%S %Z}"
            )
    for slug in report.removed:
        log.info("job %s removed", job_id(slug))


def _seconds(span: timedelta) -> str:
    return f"{span.total_seconds():g}s"
