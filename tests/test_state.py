"""pipeline.status over a real SQLite store: status rows, the job log's filters and lines,
retry transitions, rebuilding from WordPress (with a stand-in finder), JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline import status as state
from pipeline.core import edits
from pipeline.core.posts import Post
from pipeline.core.records import PostRecord, Step
from pipeline.core.schedule import Slot
from pipeline.journal import Journal
from pipeline.store import Store
from pipeline.timeutil import BadTime, utc_iso, wall_clock
from pipeline.wordpress import RemotePost

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 EST


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    opened = Store.open(tmp_path / "state" / "pipeline.sqlite3", clock)
    yield opened
    opened.close()


@pytest.fixture
def posts_dir(tmp_path: Path) -> Path:
    path = tmp_path / "posts"
    path.mkdir()
    return path


def post(posts_dir: Path, slug: str, **fields: object) -> Post:
    return Post(
        path=posts_dir / f"{slug}.md",
        title=f"Title of {slug}",
        slug=slug,
        body="Hello.",
        body_line=3,
        source_hash="0" * 64,
        **fields,  # type: ignore[arg-type]
    )


def live(store: Store, slug: str, at: str = "2026-11-30T14:00:00Z", **fields: object) -> None:
    store.update_post(
        slug,
        wp_id=len(store.posts()) + 10,
        permalink=f"https://blog.example.com/{slug}/",
        wp_status="publish",
        live_at=at,
        **fields,
    )


def rows(
    store: Store,
    posts_dir: Path,
    posts: list[Post],
    slots: dict[str, Slot] | None = None,
    invalid: list[tuple[Path, str]] | None = None,
) -> dict[str, state.StatusRow]:
    found = state.status_rows(
        posts,
        slots or {},
        store.posts(),
        store.steps(),
        now=NOW,
        tz=TZ,
        posts_dir=posts_dir,
        invalid=invalid or [],
    )
    return {row.name: row for row in found}


def slot(slug: str, at: datetime) -> Slot:
    return Slot(slug, at, "pipeline.toml:9")


# ---------------------------------------------------------------------------------------------
# status rows


def test_draft_ready_scheduled_and_due(store: Store, posts_dir: Path) -> None:
    later = NOW + timedelta(days=1)
    earlier = NOW - timedelta(minutes=5)
    found = rows(
        store,
        posts_dir,
        [
            post(posts_dir, "a-draft", status="draft"),
            post(posts_dir, "b-ready"),
            post(posts_dir, "c-scheduled"),
            post(posts_dir, "d-due"),
        ],
        {"c-scheduled": slot("c-scheduled", later), "d-due": slot("d-due", earlier)},
    )
    assert {name: row.state for name, row in found.items()} == {
        "a-draft": "draft",
        "b-ready": "ready",
        "c-scheduled": "scheduled",
        "d-due": "due",
    }
    assert found["c-scheduled"].publish_at == later
    assert found["c-scheduled"].next_run == later
    assert found["d-due"].next_run == NOW  # due: the next run is now
    assert found["b-ready"].publish_at is None
    assert found["b-ready"].next_run is None
    assert found["a-draft"].source == "a-draft.md"
    assert found["a-draft"].title == "Title of a-draft"


def test_live_post_shows_urls_and_when_it_went_live(store: Store, posts_dir: Path) -> None:
    live(store, "p", tweet_url="https://x.com/me/status/1", tweet_id="1")
    store.set_step("p", "publish", status="done")
    store.set_step("p", "announce", "x", status="done")
    row = rows(store, posts_dir, [post(posts_dir, "p")], {"p": slot("p", NOW)})["p"]
    assert row.state == "live"
    assert row.live
    assert row.wordpress_url == "https://blog.example.com/p/"
    assert row.tweet_url == "https://x.com/me/status/1"
    assert row.publish_at == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # went live, not the slot
    assert row.pending == ()
    assert row.next_run is None


def test_deferred_announcement_is_pending_with_local_time(store: Store, posts_dir: Path) -> None:
    live(store, "p")
    store.set_step(
        "p", "announce", "x", status="pending", next_attempt_at="2026-12-01T14:15:00Z", error="429"
    )
    row = rows(store, posts_dir, [post(posts_dir, "p")])["p"]
    assert row.state == "live"
    [item] = row.pending
    assert item.text == "announce:x deferred until 2026-12-01 09:15 EST"
    assert item.next_attempt_at == datetime(2026, 12, 1, 14, 15, tzinfo=UTC)
    assert row.next_run == item.next_attempt_at


def test_failed_steps_say_attempts_retry_time_and_error(store: Store, posts_dir: Path) -> None:
    live(store, "p")
    for _ in range(3):
        store.set_step(
            "p", "backfill", "q", status="failed", error="WordPress said 500", count_attempt=True
        )
    store.set_step("r", "publish", status="running", count_attempt=True)
    store.set_step(
        "r",
        "publish",
        status="failed",
        error="timed out",
        next_attempt_at="2026-12-01T14:02:00Z",
    )
    found = rows(store, posts_dir, [post(posts_dir, "p"), post(posts_dir, "r")])
    assert found["p"].state == "failed"
    assert found["p"].live  # live, but a backfill needs attention
    assert found["p"].pending[0].text == (
        "backfill:q failed (3 attempts), no retries left: `pipeline retry p`: WordPress said 500"
    )
    assert found["r"].state == "failed"
    assert found["r"].pending[0].text == (
        "publish failed (1 attempt), retry at 2026-12-01 09:02 EST: timed out"
    )
    assert found["r"].next_run == datetime(2026, 12, 1, 14, 2, tzinfo=UTC)


def test_unknown_held_publishing_and_queued(store: Store, posts_dir: Path) -> None:
    live(store, "u")
    store.set_step("u", "announce", "x", status="unknown", error="X says duplicate")
    store.set_step("h", "publish", status="held", due_at="2026-11-01T13:00:00Z", error="missed")
    store.set_step("w", "publish", status="running", count_attempt=True)
    store.set_step("q", "publish", status="pending", next_attempt_at=utc_iso(NOW))
    found = rows(store, posts_dir, [post(posts_dir, s) for s in ("u", "h", "w", "q")])
    assert found["u"].state == "unknown"
    assert "pipeline retry u --mark-sent" in found["u"].pending[0].text
    assert found["h"].state == "held"
    assert found["h"].publish_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # the missed time
    assert found["h"].pending[0].text == (
        "publish held (missed 2026-11-01 08:00 EST): `pipeline retry h` publishes it now"
    )
    assert found["h"].next_run is None
    assert found["w"].state == "publishing"
    assert "running or interrupted (1 attempt)" in found["w"].pending[0].text
    assert found["q"].state == "queued"
    assert found["q"].pending[0].text == "publish queued for the next run"
    assert found["q"].next_run == NOW


def test_conflicts_from_the_record_and_from_steps(store: Store, posts_dir: Path) -> None:
    live(store, "a", conflict="edited in WordPress since the pipeline last wrote it")
    live(store, "b")
    store.set_step("b", "backfill", "c", status="conflict")
    found = rows(store, posts_dir, [post(posts_dir, "a"), post(posts_dir, "b")])
    assert found["a"].state == "conflict"
    assert found["a"].conflicts == ("edited in WordPress since the pipeline last wrote it",)
    assert found["b"].state == "conflict"
    assert found["b"].conflicts[0].startswith("backfill:c: edited in WordPress")
    assert "pipeline publish b --force" in found["b"].conflicts[0]
    assert found["b"].pending == ()  # a conflict is not pending work


def test_posts_gone_from_the_folder_are_still_listed(store: Store, posts_dir: Path) -> None:
    live(store, "gone-live", source_path="gone-live.md")
    store.update_post("gone-draft", wp_id=5, wp_status="draft", permalink="https://b/?p=5")
    store.set_step("orphan", "publish", status="failed", error="boom")
    found = rows(store, posts_dir, [])
    assert found["gone-live"].state == "live"
    assert found["gone-live"].source == "gone-live.md"
    assert "its file is no longer in the posts folder" in found["gone-live"].notes
    assert found["gone-draft"].state == "removed"
    assert "on WordPress as post 5 with status draft" in found["gone-draft"].notes
    assert found["orphan"].state == "failed"


def test_a_post_trashed_or_deleted_in_wordpress_shows_no_url(store: Store, posts_dir: Path) -> None:
    """Its old permalink leads nowhere (WordPress renames a trashed post's slug): not shown."""
    for slug, status in (("trashed", "trash"), ("deleted", "deleted"), ("drafted", "draft")):
        live(store, slug)
        store.set_step(slug, "publish", status="done")
        store.update_post(slug, wp_status=status)
    found = rows(store, posts_dir, [post(posts_dir, s) for s in ("trashed", "deleted", "drafted")])
    assert found["trashed"].wordpress_url is None
    assert "on WordPress as post 10 with status trash" in found["trashed"].notes
    assert found["deleted"].wordpress_url is None
    assert found["drafted"].wordpress_url == "https://blog.example.com/drafted/", "it is there"


def test_files_that_fail_to_load_are_invalid_rows(store: Store, posts_dir: Path) -> None:
    live(store, "was-fine", source_path="was-fine.md")
    invalid = [
        (posts_dir / "was-fine.md", "was-fine.md:2: title: missing"),
        (posts_dir / "was-fine.md", "was-fine.md:4: bad date"),
        (posts_dir / "new.md", "new.md:1: not UTF-8"),
    ]
    found = rows(store, posts_dir, [], invalid=invalid)
    assert set(found) == {"was-fine", "new.md"}  # not listed twice
    assert found["was-fine"].state == "invalid"
    assert found["was-fine"].wordpress_url == "https://blog.example.com/was-fine/"
    assert found["was-fine"].notes == ("was-fine.md:2: title: missing", "was-fine.md:4: bad date")
    assert found["new.md"].slug is None
    assert found["new.md"].state == "invalid"


def test_rows_are_ordered_by_time_then_name(store: Store, posts_dir: Path) -> None:
    live(store, "z-old", at="2026-01-01T00:00:00Z")
    posts = [post(posts_dir, s) for s in ("b", "a", "z-old", "m-soon")]
    found = state.status_rows(
        posts,
        {"m-soon": slot("m-soon", NOW + timedelta(hours=1))},
        store.posts(),
        store.steps(),
        now=NOW,
        tz=TZ,
        posts_dir=posts_dir,
    )
    assert [row.name for row in found] == ["z-old", "m-soon", "a", "b"]
    assert state.summary(found) == "4 posts: 2 ready, 1 scheduled, 1 live"


def test_status_json_shape(store: Store, posts_dir: Path) -> None:
    live(store, "p", tweet_url="https://x.com/me/status/9")
    store.set_step("p", "announce", "x", status="pending", next_attempt_at="2026-12-01T15:00:00Z")
    row = rows(store, posts_dir, [post(posts_dir, "p")])["p"]
    data = json.loads(json.dumps(row.to_json(TZ)))
    assert data == {
        "slug": "p",
        "title": "Title of p",
        "state": "live",
        "live": True,
        "publish_at": "2026-11-30T14:00:00Z",
        "publish_at_local": "2026-11-30T09:00:00-05:00",
        "wordpress_url": "https://blog.example.com/p/",
        "tweet_url": "https://x.com/me/status/9",
        "next_run": "2026-12-01T15:00:00Z",
        "pending": [
            {
                "step": "announce:x",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": "2026-12-01T15:00:00Z",
                "error": None,
                "text": "announce:x deferred until 2026-12-01 10:00 EST",
            }
        ],
        "conflicts": [],
        "notes": [],
        "source": "p.md",
        "announced": {"x": {"id": None, "url": "https://x.com/me/status/9"}},
    }


# ---------------------------------------------------------------------------------------------
# the job log


def test_parse_since_durations_dates_and_local_times() -> None:
    assert state.parse_since("2d", now=NOW, tz=TZ) == NOW - timedelta(days=2)
    assert state.parse_since("12h", now=NOW, tz=TZ) == NOW - timedelta(hours=12)
    assert state.parse_since("2026-11-30", now=NOW, tz=TZ) == datetime(
        2026, 11, 30, 5, 0, tzinfo=UTC
    )  # midnight in New York
    assert state.parse_since("2026-07-01 09:00", now=NOW, tz=TZ) == datetime(
        2026, 7, 1, 13, 0, tzinfo=UTC
    )  # EDT in summer
    assert state.parse_since("2026-07-01T09:00:00Z", now=NOW, tz=TZ) == datetime(
        2026, 7, 1, 9, 0, tzinfo=UTC
    )
    with pytest.raises(BadTime, match="neither a duration"):
        state.parse_since("yesterday", now=NOW, tz=TZ)


def test_log_filters_by_post_outcome_and_since(store: Store, clock: Clock) -> None:
    for hours_ago, slug, outcome in (
        (72, "a", "done"),
        (30, "a", "failed"),
        (10, "b", "failed"),
        (1, "a", "done"),
    ):
        clock.now = NOW - timedelta(hours=hours_ago)
        store.log(slug, "publish", outcome, f"{hours_ago}h ago")
    since = state.parse_since("2d", now=NOW, tz=TZ)
    assert [e.details for e in store.entries(since=since)] == ["1h ago", "10h ago", "30h ago"]
    assert [e.details for e in store.entries(post="a", outcome="failed")] == ["30h ago"]
    assert [e.details for e in store.entries(outcome="failed", since=since)] == [
        "10h ago",
        "30h ago",
    ]
    assert [e.details for e in store.entries(limit=2)] == ["1h ago", "10h ago"]


def test_log_lines_and_json_are_redacted(store: Store) -> None:
    store.log("p", "publish", "failed", "login with hunter2 refused", 1234)
    store.log("p", "announce", "done", "posted https://x.com/me/status/1", 87)
    failed, done = reversed(store.entries())

    def redact(text: str) -> str:
        return text.replace("hunter2", "********")

    line = state.format_entry(failed, TZ, redact=redact, post_width=4, step_width=8)
    assert line == (
        "2026-12-01 09:00:00 EST  p     publish   failed    login with ******** refused (1.2 s)"
    )
    assert state.format_entry(done, TZ).endswith("posted https://x.com/me/status/1 (87 ms)")
    data = state.entry_json(failed, redact)
    assert data == {
        "id": failed.id,
        "at": "2026-12-01T14:00:00Z",
        "post": "p",
        "step": "publish",
        "outcome": "failed",
        "details": "login with ******** refused",
        "duration_ms": 1234,
    }


# ---------------------------------------------------------------------------------------------
# retry


def retry(
    store: Store, slug: str, mode: state.Mode = "requeue", tweet_url: str | None = None
) -> state.RetryPlan:
    plan = state.plan_retry(slug, store.steps(post=slug), mode=mode, tweet_url=tweet_url)
    state.apply_retry(Journal(store, clock=lambda: NOW), plan, now=NOW, tweet_url=tweet_url)
    return plan


def one(store: Store, slug: str, kind: str, target: str = "") -> Step:
    step = store.step(slug, kind, target)
    assert step is not None
    return step


def test_retry_requeues_failed_steps_with_attempts_reset(store: Store) -> None:
    for _ in range(5):
        store.set_step("p", "publish", status="failed", error="HTTP 500", count_attempt=True)
    store.set_step("p", "backfill", "q", status="failed", error="HTTP 502", count_attempt=True)
    store.set_step("p", "announce", "x", status="done")
    plan = retry(store, "p")
    assert [(c.name, c.old, c.new) for c in plan.changes] == [
        ("publish", "failed", "pending"),
        ("backfill:q", "failed", "pending"),
    ]
    for kind, target in (("publish", ""), ("backfill", "q")):
        step = one(store, "p", kind, target)
        assert (step.status, step.attempts, step.error) == ("pending", 0, None)
        assert step.next_attempt_at == utc_iso(NOW)
    assert one(store, "p", "announce", "x").status == "done"
    logged = store.entries(outcome="requeued")
    assert {(e.post, e.step) for e in logged} == {("p", "publish"), ("p", "backfill:q")}
    assert "failed after 5 attempt(s): HTTP 500" in logged[-1].details
    assert state.publishes_due_again(store.steps(), NOW) == ["p"]
    assert state.publishes_due_again(store.steps(), NOW - timedelta(seconds=1)) == []


def test_retry_requeues_a_held_post(store: Store) -> None:
    store.set_step("h", "publish", status="held", due_at="2026-11-01T13:00:00Z", error="missed")
    plan = retry(store, "h")
    assert [(c.name, c.new) for c in plan.changes] == [("publish", "pending")]
    step = one(store, "h", "publish")
    assert (step.status, step.next_attempt_at, step.due_at) == (
        "pending",
        utc_iso(NOW),
        "2026-11-01T13:00:00Z",
    )
    assert state.publishes_due_again(store.steps(), NOW) == ["h"]


def test_unknown_announcement_needs_a_choice(store: Store) -> None:
    store.set_step(
        "p", "announce", "x", status="unknown", error="X says duplicate", detail={"text": "t"}
    )
    plan = retry(store, "p")
    assert plan.empty
    assert "--mark-sent" in plan.unsettled[0]
    assert one(store, "p", "announce", "x").status == "unknown"
    assert store.entries() == []  # nothing changed, nothing logged


def test_resend_requeues_the_announcement_and_forgets_its_text(store: Store) -> None:
    store.set_step(
        "p",
        "announce",
        "x",
        status="unknown",
        error="X says duplicate",
        detail={"text": "old text", "reply_to": "5"},
        count_attempt=True,
    )
    plan = retry(store, "p", "resend")
    assert [(c.name, c.old, c.new) for c in plan.changes] == [("announce:x", "unknown", "pending")]
    step = one(store, "p", "announce", "x")
    assert (step.status, step.attempts, step.error) == ("pending", 0, None)
    assert step.detail["text"] is None
    assert store.entries()[0].outcome == "requeued"


def test_mark_sent_records_the_tweet(store: Store) -> None:
    live(store, "p")
    store.set_step("p", "announce", "x", status="unknown", error="interrupted")
    url = "https://x.com/me/status/1870000000000000042"
    plan = retry(store, "p", "mark-sent", url)
    assert [(c.name, c.new) for c in plan.changes] == [("announce:x", "done")]
    step = one(store, "p", "announce", "x")
    assert (step.status, step.error, step.detail["id"]) == (
        "done",
        None,
        "1870000000000000042",
    )
    record = store.post("p")
    assert record is not None
    assert (record.tweet_url, record.tweet_id) == (url, "1870000000000000042")
    [entry] = store.entries()
    assert (entry.step, entry.outcome) == ("announce:x", "done")
    assert url in entry.details


def test_mark_sent_or_resend_with_nothing_to_settle(store: Store) -> None:
    store.set_step("p", "announce", "x", status="done")
    assert retry(store, "p", "mark-sent").empty
    plan = retry(store, "p", "resend")
    assert plan.empty
    assert plan.notes == ("announce: nothing to settle (it is done)",)
    assert one(store, "p", "announce", "x").status == "done"


def test_mark_sent_without_an_attempt_stops_the_announcement(store: Store) -> None:
    plan = retry(store, "p", "mark-sent")
    assert [(c.name, c.old, c.new) for c in plan.changes] == [("announce:x", None, "done")]
    assert one(store, "p", "announce", "x").status == "done"


def test_conflicts_running_and_done_steps_are_left_alone(store: Store) -> None:
    store.set_step("p", "update", status="conflict")
    store.set_step("p", "publish", status="running")
    store.set_step("p", "announce", "x", status="skipped")
    plan = retry(store, "p")
    assert plan.empty
    assert not plan.unsettled
    assert any("pipeline publish p --force" in note for note in plan.notes)
    assert any("publish is running or was interrupted" in note for note in plan.notes)
    assert [s.status for s in store.steps(post="p")] == ["conflict", "running", "skipped"]
    assert retry(store, "nothing-here").empty


def test_tweet_ids_from_urls() -> None:
    assert state.tweet_id_from("https://x.com/me/status/123?s=20") == "123"
    assert state.tweet_id_from("https://twitter.com/i/web/statuses/456") == "456"
    assert state.tweet_id_from(" 789 ") == "789"
    assert state.tweet_id_from("https://x.com/me") is None


# ---------------------------------------------------------------------------------------------
# rebuild (the real WordPress is in test_cli_state.py)


def remote(post_id: int, slug: str, status: str = "publish") -> RemotePost:
    return RemotePost(
        id=post_id,
        slug=slug,
        status=status,
        link=f"https://blog.example.com/{slug}/",
        date_gmt=datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        modified_gmt=None,
        title_raw=f"Remote {slug}",
        content_raw=f"<p>{slug}</p>\n",
        excerpt_raw="",
        featured_media=0,
        categories=(),
        tags=(),
    )


class Finder:
    def __init__(self, *posts: RemotePost) -> None:
        self.posts = {p.slug: p for p in posts}
        self.asked: list[str] = []

    def find_post(self, slug: str) -> RemotePost | None:
        self.asked.append(slug)
        return self.posts.get(slug)


def test_rebuild_records_what_wordpress_has(store: Store, posts_dir: Path) -> None:
    finder = Finder(remote(11, "live"), remote(12, "quiet"), remote(13, "draft", "draft"))
    store.save_post(PostRecord(slug="known", wp_id=7, permalink="https://b/known/", wp_status="x"))
    posts = [
        post(posts_dir, "live"),
        post(posts_dir, "quiet", announce=False),
        post(posts_dir, "draft"),
        post(posts_dir, "missing"),
        post(posts_dir, "known"),
    ]
    done = {
        item.slug: item
        for item in state.rebuild(
            Journal(store, clock=lambda: NOW), posts, finder, posts_dir=posts_dir
        )
    }
    assert finder.asked == ["live", "quiet", "draft", "missing"]  # "known" is not looked up
    assert {slug: item.outcome for slug, item in done.items()} == {
        "live": "found",
        "quiet": "found",
        "draft": "found",
        "missing": "missing",
        "known": "kept",
    }
    record = store.post("live")
    assert record == PostRecord(
        slug="live",
        source_path="live.md",
        wp_id=11,
        permalink="https://blog.example.com/live/",
        wp_status="publish",
        title="Remote live",
        sent_hash=None,
        remote_hash=edits.record(edits.as_written(remote(11, "live"))),
        live_at="2026-11-02T12:00:00Z",
    )
    assert one(store, "live", "publish").status == "done"
    announce = one(store, "live", "announce", "x")
    assert announce.status == "unknown"
    assert "pipeline retry live --mark-sent" in (announce.error or "")
    assert done["live"].announce == "unknown"
    assert one(store, "quiet", "announce", "x").status == "skipped"  # announce: false
    draft = store.post("draft")
    assert draft is not None
    assert (draft.wp_id, draft.live, draft.live_at) == (13, False, None)
    assert store.step("draft", "announce", "x") is None
    assert store.step("draft", "publish") is None
    assert store.post("missing") is None
    assert {e.post for e in store.entries(outcome="rebuilt")} == {"live", "quiet", "draft"}
    assert done["missing"].describe() == "missing: not on WordPress"


def test_rebuild_twice_changes_nothing_more(store: Store, posts_dir: Path) -> None:
    finder = Finder(remote(11, "live"))
    posts = [post(posts_dir, "live")]
    state.rebuild(Journal(store, clock=lambda: NOW), posts, finder, posts_dir=posts_dir)
    retry(store, "live", "mark-sent")
    again = state.rebuild(Journal(store, clock=lambda: NOW), posts, finder, posts_dir=posts_dir)
    assert [item.outcome for item in again] == ["kept"]
    assert one(store, "live", "announce", "x").status == "done"  # the settled choice stays


def test_status_after_rebuild_asks_to_settle_the_announcement(
    store: Store, posts_dir: Path
) -> None:
    state.rebuild(
        Journal(store, clock=lambda: NOW),
        [post(posts_dir, "live")],
        Finder(remote(11, "live")),
        posts_dir=posts_dir,
    )
    row = rows(store, posts_dir, [post(posts_dir, "live")])["live"]
    assert row.state == "unknown"
    assert row.live
    assert row.publish_at == datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 12, 1, 18, 14, 19, 123456, tzinfo=UTC),
        datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(1000, 1, 1, 0, 0, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_stored_times_are_strftimes(when: datetime) -> None:
    """utc_iso writes what strftime would (without its cost), in every year; so do the clock
    times people read (in the site's timezone, with its abbreviation), in every zone."""
    assert utc_iso(when) == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert wall_clock(when, " ", seconds=False) == when.strftime("%Y-%m-%d %H:%M")
    # An hour: New York in 1900 is on railway time (EST), Monrovia on its mean time (MMT,
    # -0:44:30); UTC's abbreviation is UTC.
    zones = [ZoneInfo(name) for name in ("America/New_York", "Africa/Monrovia", "UTC")]
    for tz in zones:
        local = when.astimezone(tz)
        assert state.local_time(when, tz) == local.strftime("%Y-%m-%d %H:%M %Z")
        assert state.local_time(when, tz, seconds=True) == local.strftime("%Y-%m-%d %H:%M:%S %Z")


def test_each_channel_in_its_order_then_the_others_by_name(store: Store, posts_dir: Path) -> None:
    live(store, "p")
    for channel in ("zzz", "mastodon", "x", "aaa", "bluesky"):
        store.set_step("p", "announce", channel, status="done", detail={"id": f"{channel}-1"})
    row = rows(store, posts_dir, [post(posts_dir, "p")])["p"]
    assert [sent.channel for sent in row.announced] == ["x", "bluesky", "mastodon", "aaa", "zzz"]
    assert [row.on(name) for name in ("bluesky", "aaa", "nowhere")] == ["bluesky-1", "aaa-1", ""]


def test_status_json_holds_no_float(store: Store, posts_dir: Path) -> None:
    """`status --json` is written by msgspec, which writes floats its own way: none is there."""
    live(store, "p", tweet_url="https://x.com/me/status/9", conflict="edited")
    store.set_step("p", "announce", "x", status="failed", error="503", count_attempt=True)
    store.set_step("p", "announce", "bluesky", status="done", detail={"id": 1.5, "url": 2.5})
    store.set_step("q", "publish", status="pending", due_at="2026-12-02T14:00:00Z")
    found = rows(store, posts_dir, [post(posts_dir, "p"), post(posts_dir, "q")], invalid=[])

    def leaves(value: object) -> Iterator[object]:
        if isinstance(value, dict):
            yield from (leaf for item in value.values() for leaf in leaves(item))
        elif isinstance(value, list):
            yield from (leaf for item in value for leaf in leaves(item))
        else:
            yield value

    values = [leaf for row in found.values() for leaf in leaves(row.to_json(TZ))]
    assert {type(value) for value in values} <= {str, int, bool, type(None)}
    assert "1.5" in values  # an id stored as a number is shown as text
