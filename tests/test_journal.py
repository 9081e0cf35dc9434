"""The journal: a step's row and its job-log entry are one commit, so a process killed between
them cannot leave a step done (or failed) with no entry telling it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.journal import Journal
from pipeline.store import Store

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, nothing catches it."""


class DiesBeforeLogging(Store):
    """A store whose process dies as the job-log entry is about to be written."""

    def log(self, *args: object, **kwargs: object) -> None:
        raise Killed


def open_store(path: Path, kind: type[Store] = Store) -> Store:
    return kind.open(path, lambda: NOW)


def test_a_kill_before_the_log_entry_leaves_the_step_as_it_was(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    store = open_store(state)
    Journal(store, clock=lambda: NOW).begin("part-1", "publish")
    store.close()

    dying = open_store(state, DiesBeforeLogging)
    with pytest.raises(Killed):
        Journal(dying, clock=lambda: NOW).done("part-1", "publish", what="created")
    dying.close()

    store = open_store(state)
    step = store.step("part-1", "publish")
    assert step is not None
    assert step.status == "running", "the done row was rolled back with its entry"
    assert [(e.step, e.outcome) for e in store.entries(post="part-1")] == []
    store.close()


def test_every_move_writes_its_row_and_entry_together(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.sqlite3")
    journal = Journal(store, clock=lambda: NOW)
    journal.begin("part-1", "publish")
    journal.failed("part-1", "publish", "", "WordPress answered 502")
    journal.begin("part-1", "publish")
    journal.done("part-1", "publish", what="created https://blog.example/part-1/")
    outcomes = [(e.step, e.outcome) for e in store.entries(post="part-1")]
    assert sorted(outcomes) == sorted([("publish", "failed"), ("publish", "done")])
    step = store.step("part-1", "publish")
    assert step is not None
    assert step.status == "done"
    store.close()


def test_transactions_nest_into_one_commit(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.sqlite3")

    def dies_inside() -> None:
        with store.transaction():
            store.log("part-1", "publish", "done", "inner entry")
            raise Killed

    with pytest.raises(Killed):
        dies_inside()
    assert list(store.entries(post="part-1")) == [], "the inner write went with the outer"
    with store.transaction():
        store.log("part-1", "publish", "done", "kept")
    assert [e.details for e in store.entries(post="part-1")] == ["kept"]
    store.close()
