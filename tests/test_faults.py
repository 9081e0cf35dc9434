"""Under faults (issue 10.6), on the in-memory WordPress and the fake X: a single transient fault
costs no backoff, parts of a series go out in part order, and an announcement settled by X's
duplicate check keeps its id, URL and thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from msgspec.structs import replace

from pipeline.channels.base import Channel, Outgoing, Sent
from pipeline.core.posts import Post
from pipeline.core.records import Step
from pipeline.core.schedule import Slot, waiting_for_earlier_parts
from pipeline.publisher import Result
from tests.fakex import FakeX
from tests.memwp import Fault, MemoryWordPress
from tests.sites import SERIES, make_site, open_site

P1, P2, P3 = SERIES


@dataclass
class Site:
    config: Path
    wp: MemoryWordPress

    def publish(self, *slugs: str) -> Result:
        with open_site(self.config, transport=self.wp.transport()) as site:
            publisher = site.publisher()
            publisher.settle_pause = 0.0
            return publisher.publish(site.targets(slugs))

    def log(self, slug: str) -> list[tuple[str, str, str]]:
        with open_site(self.config, transport=self.wp.transport()) as site:
            return [(e.step, e.outcome, e.details) for e in site.store.entries(post=slug)]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    wp = MemoryWordPress()
    return Site(make_site(tmp_path, wp), wp)


def db_error() -> httpx.Response:
    body = {"code": "db", "message": "Error establishing a database connection", "data": {}}
    return httpx.Response(500, json=body)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_single_5xx_on_a_create_is_settled_in_the_same_run(site: Site, status: int) -> None:
    site.wp.faults.append(Fault("POST", "/posts", response=httpx.Response(status)))
    result = site.publish(P1)
    assert result.ok, result
    assert [row.name for row in site.wp.posts()] == [P1]
    assert ("publish", "retried") in [(step, outcome) for step, outcome, _ in site.log(P1)]


@pytest.mark.parametrize("after", [False, True])
def test_a_single_fault_on_an_upload_is_settled_in_the_same_run(site: Site, after: bool) -> None:
    """A 503 before the upload (not done) is sent once more; a lost answer after it (done) is
    found by its key. Either way one copy, and no backoff."""
    fault = (
        Fault("POST", "/media", error=httpx.ReadTimeout("late"), after=True)
        if after
        else Fault("POST", "/media", response=httpx.Response(503))
    )
    site.wp.faults.append(fault)
    result = site.publish(P1)
    assert result.ok, result
    media = [row for row in site.wp.rows.values() if row.type == "attachment"]
    assert len(media) == 1
    assert len(site.wp.sent("POST", "/media")) == (1 if after else 2)


def test_a_lost_answer_to_a_create_adopts_the_post(site: Site) -> None:
    site.wp.faults.append(Fault("POST", "/posts", error=httpx.ReadTimeout("late"), after=True))
    result = site.publish(P1)
    assert result.ok, result
    assert [row.name for row in site.wp.posts()] == [P1], "one post, not two"


def test_a_single_500_on_the_slug_lookup_costs_no_backoff(site: Site) -> None:
    site.wp.faults.append(Fault("GET", "/posts", response=db_error()))
    result = site.publish(P1)
    assert result.ok, result
    retried = [d for step, outcome, d in site.log("(site)") if outcome == "retried"]
    assert retried, "the retry inside the client is in the job log (the batch slug lookup)"


def test_a_create_that_keeps_failing_fails_after_one_more_try(site: Site) -> None:
    site.wp.faults.append(Fault("POST", "/posts", response=db_error(), times=2))
    result = site.publish(P1)
    assert not result.ok
    assert site.wp.posts() == []
    assert len(site.wp.sent("POST", "/posts")) == 2


# --- parts in part order ----------------------------------------------------------------------


def test_parts_published_together_go_live_in_part_order(site: Site) -> None:
    result = site.publish(P3, P1, P2)
    assert result.ok, result
    rows = sorted(site.wp.posts(), key=lambda row: row.id)
    assert [row.name for row in rows] == [P1, P2, P3]


def test_a_later_part_waits_when_an_earlier_one_of_the_batch_fails(site: Site) -> None:
    site.wp.faults.append(Fault("POST", "/posts", response=db_error(), times=2))
    result = site.publish(P1, P2)
    assert [row.name for row in site.wp.posts()] == []
    assert dict(result.executed)[f"publish {P2}"] == "waits"
    assert not result.ok
    waits = [d for step, outcome, d in site.log(P2) if outcome == "waits"]
    assert waits == [f"waits for part 1 ({P1}), which did not go live"]


def part(number: int, series: str = "S") -> Post:
    slug = f"{series.lower()}-{number}"
    return Post(Path(f"{slug}.md"), slug, slug, "", 1, slug, series=series, part=number)


def slots(**times: int) -> dict[str, Slot]:
    base = datetime(2026, 12, 1, 9, tzinfo=UTC)
    return {
        slug.replace("_", "-"): Slot(slug.replace("_", "-"), base + timedelta(hours=h), "")
        for slug, h in times.items()
    }


def test_a_later_part_waits_for_an_earlier_one_scheduled_before_it() -> None:
    posts = [part(1), part(2), part(3)]
    found = waiting_for_earlier_parts(posts, slots(s_1=0, s_2=1, s_3=2), live={"s-1"})
    assert set(found) == {"s-3"}
    assert found["s-3"].startswith("waits for part 2 (s-2)")


def test_parts_due_together_do_not_wait_for_each_other() -> None:
    posts = [part(1), part(2), part(3)]
    assert (
        waiting_for_earlier_parts(
            posts, slots(s_1=0, s_2=1, s_3=2), set(), going={"s-1", "s-2", "s-3"}
        )
        == {}
    )
    waits = waiting_for_earlier_parts(
        posts, slots(s_1=0, s_2=1, s_3=2), set(), going={"s-2", "s-3"}
    )
    assert set(waits) == {"s-2", "s-3"}, "part 1 is not going: the others wait, in a chain"


def test_a_part_scheduled_before_an_earlier_one_on_purpose_goes() -> None:
    posts = [part(1), part(2)]
    assert waiting_for_earlier_parts(posts, slots(s_1=5, s_2=1), set(), going={"s-2"}) == {}


def test_an_unscheduled_earlier_part_or_another_series_does_not_hold_it() -> None:
    posts = [part(1), part(2), part(1, "T")]
    assert waiting_for_earlier_parts(posts, slots(s_2=1, t_1=0), set(), going={"s-2"}) == {}


def scheduled_site(tmp_path: Path, wp: MemoryWordPress) -> Path:
    past = datetime.now(UTC) - timedelta(minutes=5)
    times = "".join(
        f'\n[[schedule]]\npost = "{slug}"\nat = "{(past + timedelta(seconds=i)).isoformat()}"\n'
        for i, slug in enumerate(SERIES)
    )
    return make_site(tmp_path, wp, extra=times)


def test_the_scheduler_holds_part_3_while_part_2_is_in_its_backoff(tmp_path: Path) -> None:
    from pipeline.core.plan import describe
    from pipeline.scheduler.runner import due_now, run_due
    from pipeline.scheduler.slots import scheduled
    from pipeline.status import status_rows

    wp = MemoryWordPress()
    config = scheduled_site(tmp_path, wp)
    wp.faults.append(Fault("POST", "/posts", response=db_error(), times=2))  # Part 1 fails
    with open_site(config, transport=wp.transport()) as site:
        site.publisher().settle_pause = 0.0
        report = run_due(site, site.clock())
        assert dict(report.result.executed)[f"publish {P1}"] == "failed"
        assert [row.name for row in wp.posts()] == []

        work = due_now(site, site.clock())  # Part 1 waits for its backoff; 2 and 3 for it
        assert work.targets == ()
        assert set(work.waiting) == {P2, P3}
        plan = site.publisher().plan(list(work.targets), owed=True, waiting=work.waiting)
        shown = describe(plan, Path("."))
        assert f"waits     {P2}" in shown
        assert f"waits for part 1 ({P1})" in shown
        assert f"waits for part 2 ({P2})" in shown
        assert plan.empty

        rows = status_rows(
            site.workspace.posts,
            scheduled(site.workspace, site.store, site.clock())[0],
            site.store.posts(),
            site.store.steps(),
            now=site.clock(),
            tz=site.workspace.settings.timezone,
            posts_dir=site.workspace.settings.posts_dir,
        )
        texts = {row.slug: [p.text for p in row.pending] for row in rows}
        assert any(f"waits for part 2 ({P2})" in text for text in texts[P3]), texts[P3]

        later = site.clock() + timedelta(minutes=2)  # Part 1's backoff is over
        report = run_due(site, later)
        assert report.result.ok, report.result
    rows_by_id = sorted(wp.posts(), key=lambda row: row.id)
    assert [row.name for row in rows_by_id] == list(SERIES), "in part order"


# --- an announcement settled by X's duplicate check keeps its id --------------------------------


class DiesAfterPosting:
    """The X channel, except that the process "dies" right after X accepted the post: the
    announcement is left running, its outcome unknown to the state."""

    def __init__(self, real: Channel) -> None:
        self.real = real
        self.name = real.name

    def post(self, item: Outgoing) -> Sent:
        self.real.post(item)
        raise SystemExit("killed after X accepted the post, before the record")

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def x_site(tmp_path: Path, fake_x: FakeX) -> tuple[Path, MemoryWordPress]:
    wp = MemoryWordPress()
    config = make_site(tmp_path, wp, x_url=fake_x.url, x_credentials=fake_x.credentials())
    return config, wp


def die_while_announcing(config: Path, wp: MemoryWordPress, slug: str) -> None:
    with open_site(config, transport=wp.transport()) as site:
        setup = site.channels[0]
        assert setup.client is not None
        site.channels[0] = replace(setup, client=DiesAfterPosting(setup.client))
        with pytest.raises(SystemExit):
            site.publisher().publish(site.targets([slug]))


def announce_step(config: Path, wp: MemoryWordPress, slug: str) -> Step:
    with open_site(config, transport=wp.transport()) as site:
        step = site.store.step(slug, "announce", "x")
    assert step is not None
    return step


def test_an_interrupted_announcement_is_found_on_the_timeline(
    tmp_path: Path, fake_x: FakeX
) -> None:
    config, wp = x_site(tmp_path, fake_x)
    die_while_announcing(config, wp, P1)
    assert announce_step(config, wp, P1).status == "running"

    with open_site(config, transport=wp.transport()) as site:
        result = site.publisher().publish(site.targets([P2]), owed=True)
    assert result.ok, result
    step = announce_step(config, wp, P1)
    first = fake_x.tweets[0]
    assert step.detail["id"] == first["id"]
    assert step.detail["url"] == f"https://x.com/writer/status/{first['id']}"
    assert fake_x.tweets[1]["reply_to"] == first["id"], "Part 2 is threaded under Part 1"
    assert len(fake_x.live_texts()) == 2


def test_after_the_duplicate_check_the_post_is_looked_up(tmp_path: Path, fake_x: FakeX) -> None:
    config, wp = x_site(tmp_path, fake_x)
    die_while_announcing(config, wp, P1)
    fake_x.fail_next(429, endpoint="GET /2/users/:id/tweets")  # the look-up before the resend

    with open_site(config, transport=wp.transport()) as site:
        result = site.publisher().publish(site.targets([P2]), owed=True)
    assert result.ok, result
    sent = [r for r in fake_x.requests if r["endpoint"] == "POST /2/tweets"]
    assert [r["status"] for r in sent] == [201, 403, 201], "resent, refused as a duplicate"
    step = announce_step(config, wp, P1)
    assert step.detail["id"] == fake_x.tweets[0]["id"]
    assert fake_x.tweets[1]["reply_to"] == fake_x.tweets[0]["id"]
    with open_site(config, transport=wp.transport()) as site:
        record = site.store.post(P1)
        assert record is not None
        assert record.tweet_url == step.detail["url"]
        outcomes = [e.outcome for e in site.store.entries(post=P1)]
    assert "lookup failed" in outcomes


def test_when_it_cannot_be_found_status_says_so(tmp_path: Path, fake_x: FakeX) -> None:
    from pipeline.status import status_rows

    config, wp = x_site(tmp_path, fake_x)
    die_while_announcing(config, wp, P1)
    fake_x.fail_next(429, times=2, endpoint="GET /2/users/:id/tweets")

    with open_site(config, transport=wp.transport()) as site:
        result = site.publisher().publish([], owed=True)
        assert result.ok, result
        rows = status_rows(
            site.workspace.posts,
            {},
            site.store.posts(),
            site.store.steps(),
            now=site.clock(),
            tz=site.workspace.settings.timezone,
            posts_dir=site.workspace.settings.posts_dir,
        )
    notes = next(row.notes for row in rows if row.slug == P1)
    assert any("id and URL are unknown" in note for note in notes), notes
    assert len(fake_x.live_texts()) == 1, "never twice"


def test_find_recent_reads_the_timeline_as_x_shows_it(fake_x: FakeX) -> None:
    """X shows links as t.co links (the posted URL in entities) and escapes & < >."""
    from pipeline.channels.x import XClient

    text = "Fish & chips <3: https://blog.example.com/fish-and-chips/"
    with XClient(fake_x.credentials(), fake_x.url) as client:
        posted = client.post(text)
        client.post("Something else entirely")
        shown = client._client.get_users_tweets(fake_x.user["id"], max_results=5, user_auth=True)
        assert shown["data"][1]["text"].startswith("Fish &amp; chips &lt;3: https://t.co/")
        found = client.find_recent(text)
        assert found is not None
        assert found.id == posted.id
        assert found.url == f"https://x.com/writer/status/{posted.id}"
        assert client.find_recent("Fish & chips") is None
    reads = [r for r in fake_x.requests if r["endpoint"] == "GET /2/users/:id/tweets"]
    assert len(reads) == 3


def test_a_part_waits_for_the_previous_announcement_to_thread_under_it(
    tmp_path: Path, fake_x: FakeX
) -> None:
    import time

    from pipeline.timeutil import utc_iso

    config, wp = x_site(tmp_path, fake_x)
    fake_x.rate_limit(remaining=0, reset_at=time.time() + 3600)
    with open_site(config, transport=wp.transport()) as site:
        first = site.publisher().publish(site.targets([P1]))
    assert dict(first.executed)[f"announce {P1} x"] == "deferred"
    fake_x.rate_limit(remaining=300, reset_at=time.time() + 900)

    with open_site(config, transport=wp.transport()) as site:
        publisher = site.publisher()
        plan = publisher.plan(site.targets([P2]), refresh=True)
        note = next(a for a in plan.announcements if a.slug == P2)
        assert note.wait == f"waits for {P1}'s announcement on x, to be threaded under it"
        publisher.execute(plan)
        assert fake_x.tweets == []
        site.journal().queued(P1, "announce", "x", next_attempt_at=utc_iso(site.clock()))
        result = site.publisher().publish([], owed=True)
    assert result.ok, result
    assert [t["reply_to"] for t in fake_x.tweets] == [None, fake_x.tweets[0]["id"]]


def test_a_lost_first_announcement_holds_back_the_whole_thread(
    tmp_path: Path, fake_x: FakeX
) -> None:
    """Part 1's post is lost (the connection dropped before X acted): Part 2 waits for it, and
    Part 3, never tried yet, waits too rather than go out unthreaded before Part 2."""
    config, wp = x_site(tmp_path, fake_x)
    fake_x.drop_next(executed=False)
    with open_site(config, transport=wp.transport()) as site:
        first = site.publisher().publish(site.targets(list(SERIES)))
    outcomes = dict(first.executed)
    assert outcomes[f"announce {P1} x"] == "failed"
    assert outcomes[f"announce {P2} x"] == "waits"
    assert outcomes[f"announce {P3} x"] == "waits"
    assert fake_x.tweets == []

    with open_site(config, transport=wp.transport()) as site:
        second = site.publisher().publish([], owed=True)
    assert second.ok, second
    one, two, three = fake_x.tweets
    assert (one["reply_to"], two["reply_to"], three["reply_to"]) == (None, one["id"], two["id"])


def test_a_run_killed_after_its_post_went_live_is_finished_by_the_next(tmp_path: Path) -> None:
    """The kill landed between the record (live) and the publish step's done: the post is no
    longer due by the schedule, yet its step is finished by the next run, with no second post."""
    from pipeline.scheduler.runner import run_due

    wp = MemoryWordPress()
    config = scheduled_site(tmp_path, wp)
    with open_site(config, transport=wp.transport()) as site:
        assert run_due(site, site.clock()).result.ok
        site.store.set_step(P2, "publish", status="running")  # as the killed run left it
        report = run_due(site, site.clock())
        assert report.result.ok, report.result
        step = site.store.step(P2, "publish")
        assert step is not None
        assert step.status == "done"
    assert sorted(row.name for row in wp.posts()) == sorted(SERIES)
    assert len(wp.sent("POST", "/posts")) == len(SERIES), "no second create"
