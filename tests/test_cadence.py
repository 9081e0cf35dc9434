"""Cadence slots end to end on the state: assigned once, kept, and due at their time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.core.schedule import Cadence
from pipeline.errors import ConfigError
from pipeline.journal import Journal
from pipeline.scheduler.runner import due_now
from pipeline.scheduler.slots import scheduled
from pipeline.store import Store
from pipeline.wiring import Services
from pipeline.workspace import load_workspace

CONFIG = """timezone = "America/New_York"
[cadence]
days = ["Tue", "fri"]
at = "09:00"
[wordpress]
url = "http://127.0.0.1:9"
"""


def site(tmp_path: Path, config: str = CONFIG) -> Path:
    (tmp_path / "posts").mkdir()
    for name, front in {"one": "series: S\npart: 1", "two": "series: S\npart: 2"}.items():
        (tmp_path / "posts" / f"{name}.md").write_text(
            f"---\ntitle: {name}\n{front}\n---\nBody.\n", encoding="utf-8"
        )
    path = tmp_path / "pipeline.toml"
    path.write_text(config, encoding="utf-8")
    return path


def test_cadence_config_is_read(tmp_path: Path) -> None:
    settings = load_settings(site(tmp_path))
    assert settings.cadence == Cadence(days=(1, 4), at=time(9, 0))


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('days = ["someday"]\nat = "09:00"', "cadence.days: must be a list of weekdays"),
        ('days = ["tue"]\nat = "9am"', "cadence.at: must be a time of day"),
        ('days = ["tue"]\nat = "09:00"\nevery = 2', "cadence.every: unknown key"),
    ],
)
def test_bad_cadence_names_the_key_and_line(tmp_path: Path, table: str, problem: str) -> None:
    path = site(tmp_path, f'[cadence]\n{table}\n[wordpress]\nurl = "https://b.example"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert problem in caught.value.render()
    assert caught.value.line is not None
    assert caught.value.fix is not None


def test_cadence_slots_are_kept_and_come_due(tmp_path: Path) -> None:
    settings = load_settings(site(tmp_path))
    store = Store.open(tmp_path / "state.sqlite3")
    workspace = load_workspace(settings)
    monday = datetime(2026, 11, 30, 12, tzinfo=UTC)

    journal = Journal(store, clock=lambda: monday)
    slots, _ = scheduled(workspace, store, monday, assign=journal)
    tuesday_9 = datetime(2026, 12, 1, 14, tzinfo=UTC)
    friday_9 = datetime(2026, 12, 4, 14, tzinfo=UTC)
    assert {s: slot.at for s, slot in slots.items()} == {"one": tuesday_9, "two": friday_9}
    step = store.step("one", "publish")
    assert step is not None
    assert step.detail == {"cadence": True}

    again, _ = scheduled(workspace, store, monday + timedelta(days=2), assign=journal)
    assert {s: slot.at for s, slot in again.items()} == {"one": tuesday_9, "two": friday_9}

    found = Services(workspace, store, None, [], lambda: tuesday_9)
    assert [p.slug for p in due_now(found, tuesday_9 + timedelta(seconds=1)).targets] == ["one"]
    assert due_now(found, tuesday_9 - timedelta(seconds=1)).targets == ()
    store.close()  # not left to the collector: Python 3.13 warns (an error here) of that
