"""``pipeline run``: job sync, jobs rebuilt from the state on every start, the lock, signals,
downtime, lateness while running, and ``run --once`` against the real local WordPress."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_settings
from pipeline.core import schedule
from pipeline.core.records import PostRecord, Step
from pipeline.loading import load_posts
from pipeline.scheduler import service as sched
from pipeline.scheduler.runner import RunReport, run_due
from pipeline.scheduler.slots import scheduled
from pipeline.store import Store
from pipeline.wiring import services
from tests.sites import EXAMPLE_POSTS, remote
from tests.wp_local import LocalWordPress

PIPELINE = str(Path(sys.executable).parent / "pipeline")
UTC_Z = "%Y-%m-%dT%H:%M:%S.%f+00:00"
DUMMY_PASSWORD = "abcd efgh ijkl mnop"  # for a WordPress that is never reached


# --- helpers ---------------------------------------------------------------------------------


def dead_url() -> str:
    """A loopback address nothing listens on: any request would fail at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime(UTC_Z)


def write_site(
    root: Path,
    *,
    url: str,
    schedule_: dict[str, str],
    posts: dict[str, str] | None = None,
    copy_posts: bool = False,
    extra: str = "",
) -> Path:
    """pipeline.toml + posts/ in ``root``; ``schedule_`` maps a post (slug or path) to a time."""
    folder = root / "posts"
    folder.mkdir(parents=True, exist_ok=True)
    if copy_posts:
        for item in EXAMPLE_POSTS.iterdir():
            target = folder / item.name
            if item.is_dir():
                target.mkdir(exist_ok=True)
                for image in item.iterdir():
                    target.joinpath(image.name).write_bytes(image.read_bytes())
            else:
                target.write_bytes(item.read_bytes())
    for slug, body in (posts or {}).items():
        (folder / f"{slug}.md").write_text(body, encoding="utf-8")
    entries = "".join(
        f'\n[[schedule]]\npost = "{post}"\nat = "{at}"\n' for post, at in schedule_.items()
    )
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "America/New_York"\nposts_dir = "posts"\nstate_dir = "state"\n'
        f'{extra}\n[wordpress]\nurl = "{url}"\n{entries}',
        encoding="utf-8",
    )
    return config


def simple_post(slug: str, title: str | None = None) -> str:
    """A post with no images, categories or tags: publishing it is one create request."""
    return f"---\ntitle: {title or slug.title()}\nslug: {slug}\nstatus: ready\n---\nHello.\n"


def credentials_env(user: str = "editor", password: str = DUMMY_PASSWORD) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return base | {"PIPELINE_WORDPRESS_USER": user, "PIPELINE_WORDPRESS_APP_PASSWORD": password}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def db(config: Path) -> Path:
    return load_settings(config).db_path


def query(config: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db(config), timeout=30)) as conn:
        return conn.execute(sql).fetchall()


def jobs_from_state(config: Path) -> dict[str, float]:
    """The publish jobs any start of ``pipeline run`` builds now from the files and the state
    (the scheduler keeps no copy of its own): id -> run time (epoch seconds)."""
    with services(str(config), online=False) as found:
        now = datetime.now(UTC)
        slots, _ = scheduled(found.workspace, found.store, now)
        jobs = sched.publish_jobs(slots, found.store.posts(), found.store.steps(), now)
    return {job.id: job.run_at.timestamp() for job in jobs}


def running_jobs(runner: sched.Scheduler) -> dict[str, float]:
    """The publish jobs of a scheduler running in this process: id -> next run (epoch s)."""
    return {
        job.id: job.next_run_time.timestamp()
        for job in runner.jobs()
        if job.id.startswith(sched.PUBLISH_PREFIX)
    }


class Running:
    """``pipeline run`` in a subprocess, its output in files (a full pipe would block it)."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.out = config.parent / f"run-{time.monotonic_ns()}.out"
        self.err = self.out.with_suffix(".err")
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [PIPELINE, "--config", str(config), "run", *args],
                stdout=out,
                stderr=err,
                env=env,
                cwd=config.parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def wait_ready(self, timeout: float = 20) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"pipeline run exited early:\n{self.output()}")
            return "pipeline run: scheduler started" in self.out.read_text()

        wait_for(ready, timeout, "the scheduler to start")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def running() -> Iterator[list[Running]]:
    """Processes a test starts; killed at the end if the test failed half-way."""
    started: list[Running] = []
    yield started
    for process in started:
        process.kill()


class InThread:
    """A :class:`pipeline.scheduler.service.Scheduler` in a thread of this process."""

    def __init__(self, scheduler: sched.Scheduler) -> None:
        self.scheduler = scheduler
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-scheduler")

    def _run(self) -> None:
        try:
            self.scheduler.run()
        except BaseException as exc:  # handed to the test
            self.error = exc

    def __enter__(self) -> sched.Scheduler:
        self.thread.start()
        if not self.scheduler.ready.wait(20):
            raise AssertionError(f"scheduler not ready: {self.error!r}")
        return self.scheduler

    def __exit__(self, *exc: object) -> None:
        self.scheduler.stop("test over")
        self.thread.join(30)
        assert not self.thread.is_alive(), "the scheduler did not stop"
        if self.error is not None:
            raise self.error


# --- what the jobs should be (pure) ----------------------------------------------------------


def slots_of(config: Path) -> dict[str, schedule.Slot]:
    settings = load_settings(config)
    loaded = load_posts(settings.posts_dir, settings.timezone)
    slots, problems = schedule.resolve(
        loaded.posts, settings.schedule, settings.path, settings.posts_dir
    )
    assert problems == []
    return slots


def step(post: str, status: str, next_attempt_at: str | None = None) -> Step:
    return Step(1, post, "publish", "", status, None, 1, next_attempt_at, None, {})


def test_publish_jobs_are_utc_and_follow_dst(tmp_path: Path) -> None:
    # America/New_York: EST (UTC-5) before 2030-03-10 02:00, EDT (UTC-4) after; back on 11-03.
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={s: simple_post(s) for s in ("winter", "spring", "autumn")},
        schedule_={
            "winter": "2030-03-09 09:00",
            "spring": "2030-03-11 09:00",
            "autumn": "2030-11-03 01:30",  # the repeated hour: its first occurrence (EDT)
        },
    )
    jobs = sched.publish_jobs(slots_of(config), {}, [], now=datetime(2030, 1, 1, tzinfo=UTC))
    assert [(j.id, j.run_at) for j in jobs] == [
        ("publish:winter", datetime(2030, 3, 9, 14, 0, tzinfo=UTC)),
        ("publish:spring", datetime(2030, 3, 11, 13, 0, tzinfo=UTC)),
        ("publish:autumn", datetime(2030, 11, 3, 5, 30, tzinfo=UTC)),
    ]
    assert all(j.run_at.utcoffset() == timedelta(0) for j in jobs)


def test_publish_jobs_skip_live_posts_and_past_posts_waiting_for_someone(tmp_path: Path) -> None:
    names = ("live", "fresh", "running", "failed", "held", "future-failed", "unknown")
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={s: simple_post(s) for s in names},
        schedule_={name: "2030-06-01 09:00" for name in names if name != "future-failed"}
        | {"future-failed": "2030-06-03 09:00"},
    )
    now = datetime(2030, 6, 2, tzinfo=UTC)  # after 06-01, before 06-03
    records = {"live": PostRecord("live", wp_status="publish", permalink="https://b/live/")}
    steps = [
        step("running", "running"),
        step("failed", "failed", "2030-06-02T00:05:00Z"),
        step("held", "held"),
        step("future-failed", "failed"),
        step("unknown", "unknown"),
    ]
    jobs = sched.publish_jobs(slots_of(config), records, steps, now)
    # never tried and interrupted ones run at once; a rescheduled failed one at its new time
    assert [j.slug for j in jobs] == ["fresh", "running", "future-failed"]


def test_next_retry_is_the_earliest_future_attempt() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    steps = [
        step("a", "failed", "2030-01-01T12:10:00Z"),
        step("b", "pending", "2030-01-01T12:05:00Z"),  # deferred by a rate limit
        step("c", "failed", "2030-01-01T11:00:00Z"),  # past: the periodic job covers it
        step("d", "done", "2030-01-01T12:01:00Z"),
    ]
    assert sched.next_retry(steps, now) == datetime(2030, 1, 1, 12, 5, tzinfo=UTC)
    assert sched.next_retry(steps[2:], now) is None


# --- the scheduler in this process -----------------------------------------------------------


def test_jobs_are_built_from_the_state_follow_the_files_and_are_rebuilt_on_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in credentials_env().items():
        if name.startswith("PIPELINE_"):
            monkeypatch.setenv(name, value)
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={s: simple_post(s) for s in ("alpha", "beta", "gamma")},
        schedule_={"alpha": "2030-03-09 09:00", "beta": "2030-03-11 09:00"},
    )
    runner = sched.Scheduler(str(config), poll=timedelta(seconds=0.1))
    with InThread(runner):
        jobs = {job.id: job for job in runner.jobs()}
        assert set(jobs) == {"publish:alpha", "publish:beta", "tick"}
        alpha = jobs["publish:alpha"]
        assert alpha.next_run_time == datetime(2030, 3, 9, 14, 0, tzinfo=UTC)
        assert jobs["publish:beta"].next_run_time == datetime(2030, 3, 11, 13, 0, tzinfo=UTC)
        assert alpha.func_ref == "pipeline.scheduler.service:run_job"
        # the post's time, to the microsecond: a run that already saw it due covers it
        assert alpha.args == (str(config), "2030-03-09T14:00:00+00:00")
        assert alpha.misfire_grace_time is None
        assert alpha.coalesce is True
        assert jobs["tick"].trigger.interval == timedelta(seconds=30)
        # the jobs are what the state and the files say, and nothing else
        assert running_jobs(runner) == {
            "publish:alpha": datetime(2030, 3, 9, 14, tzinfo=UTC).timestamp(),
            "publish:beta": datetime(2030, 3, 11, 13, tzinfo=UTC).timestamp(),
        }
        assert running_jobs(runner) == jobs_from_state(config)
        assert query(config, "SELECT name FROM sqlite_master WHERE name LIKE 'apscheduler%'") == []
        assert query(config, "PRAGMA journal_mode") == [("wal",)]
        assert query(config, "SELECT name FROM locks") == [("scheduler",)]

        # an edit to pipeline.toml: beta moves, alpha goes, gamma comes
        text = config.read_text()
        text = text.replace('"alpha"', '"gamma"').replace("2030-03-11 09:00", "2030-03-12 10:00")
        config.write_text(text)
        wait_for(
            lambda: (
                set(running_jobs(runner)) == {"publish:beta", "publish:gamma"}
                and running_jobs(runner)["publish:beta"]
                == datetime(2030, 3, 12, 14, tzinfo=UTC).timestamp()
            ),
            10,
            "the jobs to follow pipeline.toml",
        )
        # a post's own publish_at, edited under posts/
        (tmp_path / "posts" / "alpha.md").write_text(
            simple_post("alpha").replace(
                "status: ready", "status: ready\npublish_at: 2030-07-04 12:00"
            )
        )
        wait_for(
            lambda: (
                running_jobs(runner).get("publish:alpha")
                == datetime(2030, 7, 4, 16, tzinfo=UTC).timestamp()
            ),
            10,
            "the jobs to follow posts/",
        )
    assert query(config, "SELECT name FROM locks") == [], "the lock is released on exit"
    expected = {
        "publish:alpha": datetime(2030, 7, 4, 16, tzinfo=UTC).timestamp(),
        "publish:beta": datetime(2030, 3, 12, 14, tzinfo=UTC).timestamp(),
        "publish:gamma": datetime(2030, 3, 9, 14, tzinfo=UTC).timestamp(),
    }
    assert jobs_from_state(config) == expected
    # a restart builds the same jobs again, and lists them
    lines: list[str] = []
    again = sched.Scheduler(str(config), poll=timedelta(seconds=0.1), echo=lines.append)
    with InThread(again):
        assert running_jobs(again) == expected
    assert any(line.endswith("(2030-03-09 14:00:00 UTC)  gamma") for line in lines), lines


def test_a_retry_job_waits_for_the_earliest_failed_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in credentials_env().items():
        if name.startswith("PIPELINE_"):
            monkeypatch.setenv(name, value)
    config = write_site(
        tmp_path, url=dead_url(), posts={"alpha": simple_post("alpha")}, schedule_={}
    )
    store = Store.open(db(config))
    try:
        store.set_step("alpha", "publish", status="failed", next_attempt_at="2030-01-01T10:00:00Z")
        # an announcement deferred by X's rate limit
        store.set_step(
            "alpha", "announce", "x", status="pending", next_attempt_at="2030-01-01T09:00:00Z"
        )
    finally:
        store.close()
    runner = sched.Scheduler(str(config))
    with InThread(runner):
        retry = {job.id: job for job in runner.jobs()}["retry"]
        assert retry.next_run_time == datetime(2030, 1, 1, 9, tzinfo=UTC)
        assert retry.func_ref == "pipeline.scheduler.service:run_job"
        assert retry.misfire_grace_time is None


def test_a_sigterm_caught_by_another_thread_stops_the_scheduler_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python runs a signal's handler in the main thread when it next runs bytecode, and the
    main thread sleeps in APScheduler's wait until the next job (an hour here). A SIGTERM that
    lands in another thread, or just as the main thread goes to sleep, must stop it now."""
    for name, value in credentials_env().items():
        if name.startswith("PIPELINE_"):
            monkeypatch.setenv(name, value)
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={"alpha": simple_post("alpha")},
        schedule_={"alpha": "2030-03-09 09:00"},
    )
    hour = timedelta(hours=1)
    runner = sched.Scheduler(str(config), tick=hour, poll=hour)
    returned, rescued = threading.Event(), threading.Event()

    def send_sigterm_from_this_thread() -> None:
        if runner.ready.wait(20):
            time.sleep(0.3)  # the start-up run is over or running; the main thread waits
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        if not returned.wait(10):
            rescued.set()
            runner.stop("the test gave up waiting for SIGTERM")

    sender = threading.Thread(target=send_sigterm_from_this_thread, name="test-sender")
    sender.start()
    try:
        runner.run()  # in the main thread, where it catches the signals
    finally:
        returned.set()
        sender.join()
    assert not rescued.is_set(), "SIGTERM was not acted on within 10 s"


def test_stop_finishes_the_run_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in credentials_env().items():
        if name.startswith("PIPELINE_"):
            monkeypatch.setenv(name, value)
    config = write_site(
        tmp_path, url=dead_url(), posts={"alpha": simple_post("alpha")}, schedule_={}
    )
    entered = threading.Event()
    finished: list[float] = []

    def slow_run_due(*args: Any, **kwargs: Any) -> RunReport:
        entered.set()
        time.sleep(0.5)  # a step in flight
        report = run_due(*args, **kwargs)
        finished.append(time.monotonic())
        return report

    monkeypatch.setattr(sched, "run_due", slow_run_due)
    runner = sched.Scheduler(str(config))
    in_thread = InThread(runner)
    with in_thread:
        assert entered.wait(10), "the start-up run began"
        runner.stop("test")
        in_thread.thread.join(30)
        stopped = time.monotonic()
    assert len(finished) == 1, "the run in flight completed, no new one started"
    assert finished[0] <= stopped


def test_run_job_logs_pipeline_errors_instead_of_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in list(os.environ):
        if name.startswith("PIPELINE_"):
            monkeypatch.delenv(name)
    config = write_site(
        tmp_path, url=dead_url(), posts={"alpha": simple_post("alpha")}, schedule_={}
    )
    with caplog.at_level(logging.ERROR, logger="pipeline.scheduler.service"):
        sched.run_job(str(config))  # no WordPress credentials: an InputError
    assert "run failed" in caplog.text
    assert "no WordPress credentials" in caplog.text


def test_run_once_refuses_while_another_run_holds_the_lock(tmp_path: Path) -> None:
    config = write_site(
        tmp_path, url=dead_url(), posts={"alpha": simple_post("alpha")}, schedule_={}
    )
    store = Store.open(db(config))
    try:
        store.acquire("scheduler", "pipeline run")
        result = CliRunner().invoke(
            cli, ["--config", str(config), "run", "--once"], env=credentials_env()
        )
    finally:
        store.release("scheduler")
        store.close()
    assert result.exit_code == 1
    assert f"pipeline run is already running (process {os.getpid()}" in result.output
    assert "Traceback" not in result.output


def test_help_stays_fast_without_apscheduler() -> None:
    code = (
        "import sys, pipeline.cli\n"
        "assert 'apscheduler' not in sys.modules and 'sqlalchemy' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "--once" in result.output
    assert "SIGTERM" in result.output


# --- pipeline run as a process ---------------------------------------------------------------


def test_second_scheduler_refuses_and_sigterm_exits_cleanly(
    tmp_path: Path, running: list[Running]
) -> None:
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={"alpha": simple_post("alpha")},
        schedule_={"alpha": "2030-03-09 09:00"},
    )
    env = credentials_env()
    first = Running(config, env)
    running.append(first)
    first.wait_ready()
    assert "2030-03-09 09:00:00 EST  (2030-03-09 14:00:00 UTC)  alpha" in first.output()

    second = subprocess.run(
        [PIPELINE, "--config", str(config), "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert second.returncode == 1
    assert f"error: pipeline run is already running (process {first.pid} " in second.stderr
    assert "Traceback" not in second.stderr

    assert first.stop(signal.SIGTERM) == 0
    assert "SIGTERM: finishing the run in progress" in first.output()
    assert DUMMY_PASSWORD not in first.output()
    assert "scheduler stopped" in first.output()
    assert query(config, "SELECT name FROM locks") == []
    assert set(jobs_from_state(config)) == {"publish:alpha"}, "the job outlives the process"
    store = Store.open(db(config))
    try:
        alpha = store.step("alpha", "publish")
    finally:
        store.close()
    assert alpha is not None
    assert (alpha.status, alpha.due_at) == ("pending", "2030-03-09T14:00:00Z")


def test_a_scheduler_without_wordpress_credentials_refuses_to_start(tmp_path: Path) -> None:
    config = write_site(
        tmp_path, url=dead_url(), posts={"alpha": simple_post("alpha")}, schedule_={}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    done = subprocess.run(
        [PIPELINE, "--config", str(config), "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "no WordPress credentials" in done.stderr
    assert "Traceback" not in done.stderr
    assert query(config, "SELECT name FROM locks") == [], "the lock is not left behind"


def test_sighup_resyncs_and_sigint_stops(tmp_path: Path, running: list[Running]) -> None:
    config = write_site(
        tmp_path,
        url=dead_url(),
        posts={"alpha": simple_post("alpha"), "beta": simple_post("beta")},
        schedule_={"alpha": "2030-03-09 09:00"},
    )
    first = Running(config, credentials_env(), "--watch-every", "3600")  # only SIGHUP re-syncs
    running.append(first)
    first.wait_ready()
    assert "(2030-03-09 14:00:00 UTC)  alpha" in first.output()
    assert "beta" not in first.output()
    config.write_text(
        config.read_text() + '\n[[schedule]]\npost = "beta"\nat = "2030-04-01 09:00"\n'
    )
    first.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "job publish:beta" in first.output(), 10, "SIGHUP to re-sync the jobs")
    assert "job publish:beta added, runs at 2030-04-01 13:00:00 UTC" in first.output()
    assert first.stop(signal.SIGINT) == 0
    assert "SIGHUP: re-reading" in first.output()
    assert query(config, "SELECT name FROM locks") == []


# --- against the real local WordPress --------------------------------------------------------


def wp_env(wordpress: LocalWordPress) -> dict[str, str]:
    return credentials_env(wordpress.user, wordpress.app_password)


@pytest.mark.wordpress
def test_run_once_publishes_due_holds_missed_and_leaves_future(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    config = write_site(
        tmp_path,
        url=wordpress.url,
        copy_posts=True,
        schedule_={
            "physical-media.md": iso(now - timedelta(hours=2)),
            "paper-lanterns-part-1": iso(now - timedelta(days=3)),
            "paper-lanterns-part-2": iso(now + timedelta(days=1)),
        },
    )
    done = subprocess.run(
        [PIPELINE, "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        env=wp_env(wordpress),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "published why-i-still-buy-physical-media" in done.stdout
    assert "held (missed by more than the catch-up window) paper-lanterns-part-1" in done.stdout
    assert "next: paper-lanterns-part-2" in done.stdout

    live = remote(wordpress, "why-i-still-buy-physical-media")
    assert live is not None
    assert live["status"] == "publish"
    assert remote(wordpress, "paper-lanterns-part-1") is None
    assert remote(wordpress, "paper-lanterns-part-2") is None

    store = Store.open(db(config))
    try:
        assert store.step("why-i-still-buy-physical-media", "publish").status == "done"  # type: ignore[union-attr]
        held = store.step("paper-lanterns-part-1", "publish")
        assert held is not None
        assert held.status == "held"
        assert "catch-up window" in (held.error or "")
        pending = store.step("paper-lanterns-part-2", "publish")
        assert pending is not None
        assert pending.status == "pending"
        assert [e.outcome for e in store.entries(post="paper-lanterns-part-1")] == ["held"]
        assert store.entries(post="why-i-still-buy-physical-media", outcome="done")
    finally:
        store.close()

    again = subprocess.run(
        [PIPELINE, "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        env=wp_env(wordpress),
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert "published" not in again.stdout
    # remote() fails on two posts with one slug: nothing was published twice
    assert remote(wordpress, "why-i-still-buy-physical-media") is not None


@pytest.mark.wordpress
@pytest.mark.slow
def test_after_downtime_recent_misses_go_out_and_old_ones_are_held(
    wordpress: LocalWordPress, tmp_path: Path, running: list[Running]
) -> None:
    t0 = datetime.now(UTC)
    times = {
        "old": t0 + timedelta(seconds=4),  # missed by more than the 5 s window by restart
        "recent": t0 + timedelta(seconds=8),  # missed by less
        "future": t0 + timedelta(hours=1),
    }
    config = write_site(
        tmp_path,
        url=wordpress.url,
        posts={slug: simple_post(slug) for slug in times},
        schedule_={slug: iso(at) for slug, at in times.items()},
        extra='catch_up = "5s"',
    )
    env = wp_env(wordpress)
    first = Running(config, env)
    running.append(first)
    first.wait_ready()
    assert jobs_from_state(config) == {f"publish:{s}": at.timestamp() for s, at in times.items()}
    assert all(f"  {slug}\n" in first.output() for slug in times), "and the scheduler has them"
    assert datetime.now(UTC) < times["old"], "the first scheduler started too slowly"
    assert first.stop() == 0
    assert len(jobs_from_state(config)) == 3, "the jobs stay in the state file while down"

    time.sleep(max(0.0, (t0 + timedelta(seconds=9.5) - datetime.now(UTC)).total_seconds()))
    second = Running(config, env)
    running.append(second)
    second.wait_ready()

    def settled() -> bool:
        store = Store.open(db(config))
        try:
            statuses = {s: store.step(s, "publish") for s in times}
        finally:
            store.close()
        return all(
            (step := statuses[slug]) is not None and step.status == want
            for slug, want in (("old", "held"), ("recent", "done"), ("future", "pending"))
        )

    wait_for(settled, 30, "the missed jobs to run on start")
    assert second.stop() == 0
    assert set(jobs_from_state(config)) == {"publish:future"}, "the missed date jobs ran"
    assert remote(wordpress, "recent") is not None
    assert remote(wordpress, "old") is None
    output = second.output()
    assert "old: held: missed its time" in output
    assert "recent: publish done: created" in output


@pytest.mark.wordpress
def test_a_post_goes_live_within_a_second_of_its_time(
    wordpress: LocalWordPress, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in wp_env(wordpress).items():
        if name.startswith("PIPELINE_"):
            monkeypatch.setenv(name, value)
    start = datetime.now(UTC) + timedelta(seconds=2)
    slugs = [f"on-time-{n}" for n in range(3)]
    due = {slug: start + timedelta(seconds=0.4 * n) for n, slug in enumerate(slugs)}
    config = write_site(
        tmp_path,
        url=wordpress.url,
        posts={slug: simple_post(slug) for slug in slugs},
        schedule_={slug: iso(at) for slug, at in due.items()},
    )
    sent: dict[str, float] = {}

    def on_request(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/wp/v2/posts"):
            sent.setdefault(json.loads(request.content)["slug"], time.time())

    runner = sched.Scheduler(str(config), http_hooks=[on_request])
    with InThread(runner):
        wait_for(lambda: len(sent) == len(slugs), 30, "the three creates")
    lateness = {slug: sent[slug] - due[slug].timestamp() for slug in slugs}
    assert all(0 <= late < 1.0 for late in lateness.values()), lateness
    for slug in slugs:
        post = remote(wordpress, slug)
        assert post is not None
        assert post["status"] == "publish"
