"""When posts go live: schedule resolution and the due/held/upcoming split, on pure data."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.core import schedule
from pipeline.core.posts import Post
from pipeline.core.records import PostRecord
from pipeline.core.schedule import Cadence, ScheduleEntry
from pipeline.errors import ConfigError, PostError
from pipeline.loading import load_posts

NY = ZoneInfo("America/New_York")
CONFIG = Path("/site/pipeline.toml")


def posts_in(tmp_path: Path, **fronts: str) -> list[Post]:
    for name, front in fronts.items():
        (tmp_path / f"{name}.md").write_text(f"---\n{front}\n---\nBody.\n", encoding="utf-8")
    loaded = load_posts(tmp_path, NY)
    assert not loaded.errors
    return list(loaded.posts)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_front_matter_and_config_times_resolve(tmp_path: Path) -> None:
    posts = posts_in(tmp_path, a="title: A\npublish_at: 2026-12-01 09:00", b="title: B")
    entries = [ScheduleEntry("b", at("2026-12-02T14:00:00"), 7)]
    slots, errors = schedule.resolve(posts, entries, CONFIG, tmp_path)
    assert errors == []
    assert slots["a"].at == at("2026-12-01T14:00:00")  # 09:00 EST
    assert slots["b"].where == "/site/pipeline.toml:7"


def test_two_different_times_name_both_places(tmp_path: Path) -> None:
    posts = posts_in(tmp_path, a="title: A\npublish_at: 2026-12-01 09:00")
    entries = [ScheduleEntry("a.md", at("2026-12-05T14:00:00"), 12)]
    slots, errors = schedule.resolve(posts, entries, CONFIG, tmp_path)
    assert "a" not in slots
    assert len(errors) == 1
    assert isinstance(errors[0], ConfigError)
    message = errors[0].render()
    assert "pipeline.toml:12" in message
    assert "a.md:3" in message


def test_unknown_post_and_draft_are_errors(tmp_path: Path) -> None:
    posts = posts_in(tmp_path, d="title: D\nstatus: draft")
    entries = [
        ScheduleEntry("nope", at("2026-12-01T00:00:00"), 3),
        ScheduleEntry("d", at("2026-12-01T00:00:00"), 6),
    ]
    _, errors = schedule.resolve(posts, entries, CONFIG, tmp_path)
    assert isinstance(errors[0], ConfigError)
    assert "no post 'nope'" in errors[0].message
    assert isinstance(errors[1], PostError)
    assert "status is draft" in errors[1].message


def test_due_held_and_upcoming(tmp_path: Path) -> None:
    now = at("2026-12-10T12:00:00")
    slots = {
        "due": schedule.Slot("due", now - timedelta(hours=2), "x"),
        "old": schedule.Slot("old", now - timedelta(days=3), "x"),
        "later": schedule.Slot("later", now + timedelta(minutes=1), "x"),
        "live": schedule.Slot("live", now - timedelta(hours=1), "x"),
        "was-held": schedule.Slot("was-held", now - timedelta(hours=1), "x"),
    }
    records = {"live": PostRecord("live", wp_id=1, permalink="u", wp_status="publish")}
    split = schedule.due(slots, records, {"was-held"}, now, timedelta(hours=24))
    assert [s.slug for s in split.due] == ["due"]
    assert [s.slug for s in split.held] == ["old", "was-held"]
    assert [s.slug for s in split.upcoming] == ["later"]


TUE_FRI_9 = Cadence(days=(1, 4), at=time(9, 0))


def test_cadence_times_follow_the_local_clock_across_dst() -> None:
    after = at("2026-10-30T00:00:00")  # a Friday; New York leaves DST on Sunday Nov 1
    times = schedule.cadence_times(TUE_FRI_9, NY, after)
    got = [next(times) for _ in range(3)]
    assert got == [
        at("2026-10-30T13:00:00"),  # Fri 09:00 EDT
        at("2026-11-03T14:00:00"),  # Tue 09:00 EST
        at("2026-11-06T14:00:00"),  # Fri 09:00 EST
    ]


def test_cadence_time_in_a_dst_gap_moves_to_the_first_real_moment() -> None:
    sunday_230 = Cadence(days=(6,), at=time(2, 30))
    first = next(schedule.cadence_times(sunday_230, NY, at("2026-03-07T00:00:00")))
    assert first == at("2026-03-08T07:30:00")  # 03:30 EDT: 02:30 does not exist that night


def test_cadence_takes_ready_posts_without_a_time_in_series_order(tmp_path: Path) -> None:
    posts = posts_in(
        tmp_path,
        b2="title: B2\nseries: B\npart: 2",
        b1="title: B1\nseries: B\npart: 1",
        solo="title: Solo",
        timed="title: Timed\npublish_at: 2026-12-24 09:00",
        draft="title: Draft\nstatus: draft",
        gone="title: Gone",
    )
    slots, _ = schedule.resolve(posts, [], CONFIG, tmp_path)
    records = {"gone": PostRecord("gone", wp_id=9, wp_status="draft")}
    queue = schedule.cadence_queue(posts, slots, records)
    assert [p.slug for p in queue] == ["b1", "b2", "solo"]
    now = at("2026-12-01T15:00:00")  # Tuesday, after 09:00 New York
    given = schedule.assign_cadence(queue, {}, TUE_FRI_9, NY, now)
    assert given == {
        "b1": at("2026-12-04T14:00:00"),
        "b2": at("2026-12-08T14:00:00"),
        "solo": at("2026-12-11T14:00:00"),
    }
    later = schedule.assign_cadence(queue, given, TUE_FRI_9, NY, now + timedelta(days=5))
    assert later == {}, "posts keep the slots they were given"
