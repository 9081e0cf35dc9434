"""The SQLite store: migrations, records, steps, the job log and locks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.core.records import PostRecord
from pipeline.errors import LockedError, PipelineError
from pipeline.store import MIGRATIONS, Store

T0 = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state" / "pipeline.sqlite3", clock=lambda: T0)
    yield opened
    opened.close()  # not left to the collector: Python 3.13 warns (an error here) of that


def test_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    Store.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"posts", "media", "steps", "log", "locks"} <= tables
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(PipelineError, match="newer pipeline") as refused:
        Store.open(path)
    # Closed at once, not left to the collector (Python 3.13 warns of that, an error here).
    opening = next(entry for entry in refused.traceback if entry.name == "open")
    left = opening.locals["conn"]
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        left.execute("SELECT 1")


def test_records_round_trip_and_update(store: Store) -> None:
    store.save_post(
        PostRecord(
            slug="a", wp_id=7, permalink="https://b/a/", wp_status="publish", source_path="a.md"
        )
    )
    record = store.update_post("a", tweet_id="99")
    assert record.live
    assert record.tweet_id == "99"
    assert record.wp_id == 7
    assert store.posts()["a"] == record
    assert store.pinned_slugs() == {"a.md": "a"}


def test_live_permalinks_are_the_live_records(store: Store) -> None:
    store.save_post(PostRecord("b-live", wp_status="publish", permalink="https://s/b/"))
    store.save_post(PostRecord("a-live", wp_status="publish", permalink="https://s/a/"))
    store.save_post(PostRecord("draft", wp_status="draft", permalink="https://s/?p=3"))
    store.save_post(PostRecord("trashed", wp_status="trash", permalink="https://s/t/"))
    store.save_post(PostRecord("no-link", wp_status="publish"))
    store.save_post(PostRecord("new"))
    live = {slug: r.permalink for slug, r in store.posts().items() if r.live}
    assert store.live_permalinks() == live == {"a-live": "https://s/a/", "b-live": "https://s/b/"}
    assert list(store.live_permalinks()) == ["a-live", "b-live"]
    view = store.live_view()  # what rendering reads, one slug at a time
    assert dict(view) == live
    assert len(view) == 2
    assert view.get("a-live") == "https://s/a/"
    assert view.get("draft") is None
    assert view.get("no-link") is None
    assert "trashed" not in view
    store.update_post("draft", wp_status="publish")
    assert view.get("draft") == "https://s/?p=3"  # read when asked, not when made


def test_rename_moves_record_and_steps(store: Store) -> None:
    store.save_post(PostRecord(slug="old", wp_id=1, source_path="x.md"))
    store.set_step("old", "publish", status="done")
    store.rename_post("old", "new")
    assert store.post("old") is None
    assert store.post_by_path("x.md") == store.post("new")
    assert store.step("new", "publish") is not None


def test_steps_merge_detail_and_count_attempts(store: Store) -> None:
    store.set_step("a", "announce", status="running", detail={"text": "hi"}, count_attempt=True)
    step = store.set_step(
        "a",
        "announce",
        status="failed",
        error="503",
        count_attempt=True,
        next_attempt_at="2026-12-01T14:01:00Z",
    )
    assert (step.status, step.attempts, step.error) == ("failed", 2, "503")
    assert step.detail == {"text": "hi"}
    assert step.next_attempt_at == "2026-12-01T14:01:00Z"
    assert [s.name for s in store.steps(status="failed")] == ["announce"]
    backfill = store.set_step("a", "backfill", "b,c", status="done")
    assert backfill.name == "backfill:b,c"


def test_steps_in_reads_what_a_call_for_each_status_reads(store: Store) -> None:
    statuses = ("pending", "failed", "conflict")
    for number, status in enumerate(["done", "failed", "pending", "conflict", "done"] * 3):
        for kind in ("publish", "announce"):
            store.set_step(f"p{number % 4}", kind, f"t{number}", status=status)
    each = [step for status in statuses for step in store.steps(status)]
    assert store.steps_in(statuses) == each
    done = store.steps("done", kind="announce")
    assert done
    assert store.steps_in(statuses, done="announce") == each + done


def test_job_log_filters_newest_first(tmp_path: Path) -> None:
    now = [T0]
    store = Store.open(tmp_path / "s.sqlite3", clock=lambda: now[0])
    store.log("a", "publish", "done", "created")
    now[0] = T0 + timedelta(days=3)
    store.log("b", "publish", "failed", "503", duration_ms=12)
    store.log("a", "announce", "skipped", "no X credentials")
    assert [e.step for e in store.entries()] == ["announce", "publish", "publish"]
    assert [e.post for e in store.entries(outcome="failed")] == ["b"]
    assert len(store.entries(since=T0 + timedelta(days=1))) == 2
    assert [e.outcome for e in store.entries(post="a", newest_first=False)] == ["done", "skipped"]
    first = store.entries(newest_first=False)[0]
    assert [e.post for e in store.entries(after_id=first.id, newest_first=False)] == ["b", "a"]
    assert store.entries(limit=1)[0].to_json()["duration_ms"] is None
    store.close()


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = Store.open(path)
    second = Store.open(path)
    first.acquire("scheduler", "pipeline run")
    with pytest.raises(LockedError, match="pipeline run is already running"):
        second.acquire("scheduler", "pipeline run")
    first.release("scheduler")
    second.acquire("scheduler", "pipeline run")
    second.release("scheduler")

    code = (
        "import sys; from pathlib import Path; from pipeline.store import Store; "
        "Store.open(Path(sys.argv[1])).acquire('scheduler', 'pipeline run')"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    with first.locked("scheduler", "pipeline run"):  # the holder's process is gone
        pass
    first.close()
    second.close()


def test_processes_creating_the_state_at_once_all_succeed(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from pipeline.store import Store; "
        "s = Store.open(Path(sys.argv[1])); s.log('x', 'publish', 'done'); s.close()"
    )
    for round_ in range(3):
        path = tmp_path / f"state-{round_}.sqlite3"
        runs = [
            subprocess.Popen([sys.executable, "-c", code, str(path)], stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        errors = [run.communicate(timeout=60)[1].decode() for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0, 0], errors
        store = Store.open(path)
        assert len(store.entries()) == 4
        store.close()


def plans_of(store: Store, read: Callable[[], object]) -> list[str]:
    """The query plans of the SELECTs that ``read`` sends."""
    sent: list[str] = []
    store.conn.set_trace_callback(sent.append)
    try:
        read()
    finally:
        store.conn.set_trace_callback(None)
    plans = []
    for sql in (s for s in sent if s.lstrip().upper().startswith("SELECT")):
        rows = store.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        plans.append(" / ".join(str(row[-1]) for row in rows))
    return plans


def test_one_posts_log_and_steps_are_read_by_index(store: Store) -> None:
    """`log --post` reads the newest entries of one post through the (post, id) index, not the
    whole job log; a post's steps through theirs; the kind of step is chosen in SQL."""
    for number in range(50):
        store.log(f"post-{number % 5}", "publish", "done", f"entry {number}")
        store.set_step(f"post-{number}", "publish", status="done")
    store.conn.execute("ANALYZE")
    (one_post,) = plans_of(store, lambda: store.entries(post="post-1", limit=50))
    assert "USING INDEX log_post" in one_post, one_post
    assert "TEMP B-TREE" not in one_post, "the index gives the order too"
    (steps_of_post,) = plans_of(store, lambda: store.steps(post="post-1"))
    assert "USING INDEX" in steps_of_post, steps_of_post
    done = store.steps("done")
    assert len(done) == 50
    assert store.steps("done", kind="publish") == [s for s in done if s.kind == "publish"]
    assert store.steps("done", kind="announce") == []


def test_threads_sharing_the_store_read_their_own_rows(tmp_path: Path) -> None:
    """The publisher's threads share one store. With sqlite3's statement cache, Python 3.12+
    handed two threads running the same SQL one statement: rows of the other thread's query,
    None, or "bad parameter or other API misuse" (python/cpython#118172)."""
    store = Store.open(tmp_path / "s.sqlite3")
    for n in range(20):
        store.set_step(f"p{n}", "publish", status="done")
    wrong: list[str] = []

    def read(n: int) -> None:
        try:
            for _ in range(300):
                step = store.step(f"p{n}", "publish")
                if step is None or step.post != f"p{n}":
                    wrong.append(f"p{n}: {step!r}")
        except Exception as exc:
            wrong.append(f"p{n}: {exc!r}")

    threads = [threading.Thread(target=read, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    assert wrong == []
