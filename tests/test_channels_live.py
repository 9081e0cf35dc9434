"""Bluesky and Mastodon end to end: the three-part series published to WordPress (the real local
one, and the in-memory one) and announced through the publisher on the fake PDS and the fake
Mastodon instance, the real client code against both; then the same through `pipeline` itself.

Exactly once on each network: reruns send nothing; an answer dropped after the server made the
post, and a SIGKILL between the request and its record, leave one post. One channel's refused
credentials hold that channel alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina

from pipeline.publisher import Result
from pipeline.store import Store
from tests.fakebsky import FakeBluesky
from tests.fakehttp import standalone
from tests.fakemastodon import FakeMastodon
from tests.memwp import MemoryWordPress
from tests.sites import SERIES, add_channels, make_site, open_site, remote
from tests.wp_local import LocalWordPress

P1, P2, P3 = SERIES
PIPELINE = [sys.executable, "-m", "pipeline"]


@dataclass
class Site:
    """A site folder with Bluesky and Mastodon set up, on one WordPress backend."""

    config: Path
    transport: httpx.BaseTransport | None  # the in-memory WordPress, or None: the real one
    local: LocalWordPress | None

    def publish(self, *slugs: str) -> Result:
        with open_site(self.config, transport=self.transport) as site:
            return site.publisher().publish(site.targets(slugs))

    def store(self) -> Store:
        return Store.open(self.config.parent / "state" / "pipeline.sqlite3")

    def permalinks(self) -> dict[str, str]:
        store = self.store()
        try:
            links = {slug: record.permalink for slug, record in store.posts().items()}
        finally:
            store.close()
        found = {slug: link for slug, link in links.items() if link}
        if self.local is not None:  # the permalink the state has is the live one
            for slug, link in found.items():
                live = remote(self.local, slug)
                assert live is not None
                assert live["link"] == link
        return found


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.wordpress), "memory"])
def site(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fake_bsky: FakeBluesky,
    fake_mastodon: FakeMastodon,
) -> Iterator[Site]:
    if request.param == "local":
        wordpress: Any = request.getfixturevalue("wordpress")
        transport = None
    else:
        wordpress = MemoryWordPress()
        transport = wordpress.transport()
    config = add_channels(
        make_site(tmp_path, wordpress), bluesky=fake_bsky.url, mastodon=fake_mastodon.url
    )
    with stamina.set_testing(True, attempts=4):  # retries without their waits
        yield Site(config, transport, wordpress if request.param == "local" else None)


def bsky_posts(fake: FakeBluesky) -> dict[str, dict[str, Any]]:
    """The live posts by the title their text starts with."""
    return {_title(r["value"]["text"]): r for r in fake.posts()}


def masto_posts(fake: FakeMastodon) -> dict[str, dict[str, Any]]:
    return {_title(s["text"]): s for s in fake.live_statuses()}


def _title(text: str) -> str:
    for part in ("1", "2", "3"):
        if f"Part {part}:" in text:
            return part
    return text


def link_facets(record: dict[str, Any]) -> list[str]:
    return [
        feature["uri"]
        for facet in record["value"].get("facets", [])
        for feature in facet["features"]
        if feature["$type"] == "app.bsky.richtext.facet#link"
    ]


# ---------------------------------------------------------------------------------------------
# Through the publisher


def test_the_series_is_announced_once_on_each_threaded_with_the_live_links(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    first = site.publish(P1)
    assert first.ok, first.failed + first.held
    later = site.publish(P2, P3)
    assert later.ok, later.failed + later.held
    links = site.permalinks()

    bsky = bsky_posts(fake_bsky)
    assert sorted(bsky) == ["1", "2", "3"]
    for part, slug in zip("123", SERIES, strict=True):
        record = bsky[part]
        assert link_facets(record) == [links[slug]], "the live permalink, as a link facet"
        assert record["value"]["embed"]["external"]["uri"] == links[slug], "the link card"
    root = {"uri": bsky["1"]["uri"], "cid": bsky["1"]["cid"]}
    assert "reply" not in bsky["1"]["value"]
    assert bsky["2"]["value"]["reply"] == {"root": root, "parent": root}
    parent = {"uri": bsky["2"]["uri"], "cid": bsky["2"]["cid"]}
    assert bsky["3"]["value"]["reply"] == {"root": root, "parent": parent}
    assert "thumb" in bsky["1"]["value"]["embed"]["external"], "the featured image as its card"
    assert "thumb" not in bsky["3"]["value"]["embed"]["external"], "part 3 has no image"

    masto = masto_posts(fake_mastodon)
    assert sorted(masto) == ["1", "2", "3"]
    for part, slug in zip("123", SERIES, strict=True):
        assert links[slug] in masto[part]["text"]
        assert masto[part]["visibility"] == "public"
    assert masto["1"]["in_reply_to_id"] is None
    assert masto["2"]["in_reply_to_id"] == masto["1"]["id"]
    assert masto["3"]["in_reply_to_id"] == masto["2"]["id"]
    assert len(masto["1"]["media_ids"]) == 1, "the featured image, attached"
    alt = fake_mastodon.media[masto["1"]["media_ids"][0]]["description"]
    assert "lighthouse" in (alt or "").lower()

    store = site.store()
    try:
        for slug in SERIES:
            for channel in ("bluesky", "mastodon"):
                step = store.step(slug, "announce", channel)
                assert step is not None
                assert step.status == "done"
                assert step.detail["id"], "what was sent, for `pipeline status`"
                assert step.detail["url"]
        step = store.step(P2, "announce", "bluesky")
        assert step is not None
        assert step.detail["id"] == bsky["2"]["uri"]
        step = store.step(P2, "announce", "mastodon")
        assert step is not None
        assert step.detail["id"] == masto["2"]["id"]
        outcomes = {(e.step, e.outcome) for e in store.entries(post=P3)}
        assert ("announce:bluesky", "done") in outcomes, "each channel is its own step"
        assert ("announce:mastodon", "done") in outcomes
    finally:
        store.close()


def test_reruns_send_nothing(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    assert site.publish(*SERIES).ok
    creates = len(fake_bsky.calls("com.atproto.repo.createRecord"))
    statuses = len(fake_mastodon.calls("POST /api/v1/statuses"))
    assert (creates, statuses) == (3, 3)

    again = site.publish(*SERIES)
    assert again.ok
    assert site.publish(P2).ok

    assert len(fake_bsky.calls("com.atproto.repo.createRecord")) == creates
    assert len(fake_mastodon.calls("POST /api/v1/statuses")) == statuses
    assert fake_mastodon.calls("POST /api/v2/media") == [200, 200], "images uploaded once"
    assert (len(fake_bsky.posts()), len(fake_mastodon.live_statuses())) == (3, 3)


def test_an_answer_dropped_after_the_create_leaves_one_post_on_each(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    fake_bsky.drop_next(executed=True)
    fake_mastodon.drop_next(executed=True)

    result = site.publish(P1)

    assert result.ok, result.failed
    assert fake_bsky.calls("com.atproto.repo.createRecord") == [None]  # never sent again
    assert fake_mastodon.calls("POST /api/v1/statuses") == [None, 200]  # replayed by its key
    assert len(fake_bsky.posts()) == 1
    assert len(fake_mastodon.live_statuses()) == 1
    assert site.publish(P1).ok
    assert (len(fake_bsky.posts()), len(fake_mastodon.live_statuses())) == (1, 1)


def test_every_answer_lost_is_settled_by_looking_the_post_up(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    """Mastodon: every attempt dropped (the first made the status, the others replayed it);
    the publisher then finds it among the account's posts instead of guessing."""
    for _ in range(4):
        fake_mastodon.drop_next(executed=True)

    result = site.publish(P1)

    assert result.ok, result.failed
    assert len(fake_mastodon.live_statuses()) == 1
    store = site.store()
    try:
        details = [e.details for e in store.entries(post=P1) if e.step == "announce:mastodon"]
    finally:
        store.close()
    assert any("the answer was lost" in d and d.endswith("found it") for d in details), details


def test_a_lost_answer_in_a_long_history_is_looked_up_back_to_the_first_attempt_only(
    site: Site, fake_mastodon: FakeMastodon
) -> None:
    """An account with 250 older statuses; every answer to the create is lost before Mastodon
    acted. The lookup then, and the next run's before it posts, each read the one page that
    reaches back past the first attempt (not the 5 pages, 200 statuses, read without knowing
    when that was, which then cannot tell)."""
    fake_mastodon.seed_statuses(250, at=time.time() - 2 * 24 * 3600)
    statuses = "GET /api/v1/accounts/:id/statuses"
    for _ in range(4):
        fake_mastodon.drop_next(executed=False)

    first = site.publish(P1)
    looked = len(fake_mastodon.calls(statuses))
    second = site.publish(P1)

    assert first.failed, "every answer was lost: not announced, and not guessed"
    assert second.ok, second.failed
    assert len(fake_mastodon.live_statuses()) == 251
    store = site.store()
    try:
        step = store.step(P1, "announce", "mastodon")
        lookups = [e for e in store.entries(post=P1) if e.step == "announce:mastodon"]
    finally:
        store.close()
    assert step is not None
    assert step.status == "done"
    assert looked == 1, "the lookup after the lost answers: one page"
    assert fake_mastodon.calls(statuses) == [200, 200], [e.details for e in lookups]


def test_an_edit_between_an_interrupted_try_and_the_next_is_still_one_post(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    """The record key and the Idempotency-Key follow the article, not its text."""
    assert site.publish(P1).ok
    store = site.store()
    try:  # as a kill mid-request leaves it: begun, never recorded
        for channel in ("bluesky", "mastodon"):
            step = store.step(P1, "announce", channel)
            assert step is not None
            store.set_step(P1, "announce", channel, status="running", detail={"id": None})
    finally:
        store.close()
    source = site.config.parent / "posts" / f"{P1}.md"
    source.write_text(source.read_text() + "\nA line added afterwards.\n")

    assert site.publish(P1).ok

    assert len(fake_bsky.posts()) == 1
    assert len(fake_mastodon.live_statuses()) == 1


def test_refused_credentials_hold_that_channel_alone(
    site: Site, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    fake_bsky.app_password = "another-password-than-ours"

    result = site.publish(P1)

    assert not result.ok
    assert [held.split(":")[0] for held in result.held] == [P1]
    assert "Bluesky refused the credentials" in result.held[0]
    assert fake_bsky.posts() == []
    assert len(fake_mastodon.live_statuses()) == 1, "Mastodon goes on"
    assert P1 in site.permalinks(), "WordPress goes on"
    store = site.store()
    try:
        step = store.step(P1, "announce", "bluesky")
        assert step is not None
        assert step.status == "held"
        assert "--channel bluesky" in (step.error or "")
        assert "another-password" not in (step.error or "")
    finally:
        store.close()


def test_half_the_credentials_hold_and_none_skip(
    tmp_path: Path, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    wordpress = MemoryWordPress()
    config = add_channels(
        make_site(tmp_path, wordpress),
        bluesky=fake_bsky.url,
        mastodon=fake_mastodon.url,
        app_password=None,
        access_token=None,
    )
    site = Site(config, wordpress.transport(), None)

    result = site.publish(P1)

    assert [held.split(":")[0] for held in result.held] == [P1]
    assert "app_password missing" in result.held[0]
    store = site.store()
    try:
        bluesky = store.step(P1, "announce", "bluesky")
        mastodon = store.step(P1, "announce", "mastodon")
    finally:
        store.close()
    assert bluesky is not None
    assert bluesky.status == "held"
    assert mastodon is not None
    assert mastodon.status == "skipped"
    assert mastodon.detail["text"].startswith("New on the blog: Paper Lanterns Part 1")
    assert fake_bsky.requests == []
    assert fake_mastodon.requests == []


def test_a_plan_offline_counts_with_the_instances_limits_once_read(
    tmp_path: Path, fake_bsky: FakeBluesky
) -> None:
    """`pipeline plan` cannot ask the instance: it uses the limits the last publish read, so
    what it prints is what a publish sends."""
    long_title = "A title long enough to need shortening " * 6
    wordpress = MemoryWordPress()
    with FakeMastodon(max_characters=120) as small:
        config = add_channels(make_site(tmp_path, wordpress), mastodon=small.url)
        post = config.parent / "posts" / "long.md"
        post.write_text(f"---\ntitle: {long_title}\nslug: long\n---\nBody.\n")
        site = Site(config, wordpress.transport(), None)
        with open_site(config, transport=site.transport) as opened:
            before = opened.publisher().plan(opened.targets(["long"]))
        assert site.publish(P1).ok  # reads the instance's limits
        with open_site(config, transport=site.transport) as opened:
            online = opened.publisher().plan(opened.targets(["long"]))
    from pipeline.wiring import services

    with services(str(config), online=False) as offline:
        planned = offline.publisher().plan(offline.targets(["long"]))

    def on_mastodon(plan: Any) -> Any:
        return next(i for i in plan.announcements if i.channel == "mastodon")

    assert on_mastodon(planned).limit == 120
    assert on_mastodon(planned).text == on_mastodon(online).text
    assert on_mastodon(before).limit == 120, "online, the instance is asked before planning"


# ---------------------------------------------------------------------------------------------
# Through `pipeline` itself (the real local WordPress: another process cannot reach memory)


def cli(config: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIPELINE, "--config", str(config), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def live_site(
    wordpress: LocalWordPress, tmp_path: Path, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> Path:
    return add_channels(
        make_site(tmp_path, wordpress), bluesky=fake_bsky.url, mastodon=fake_mastodon.url
    )


@pytest.mark.wordpress
def test_publish_status_and_rerun_from_the_command_line(
    live_site: Path, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    done = cli(live_site, "publish", *SERIES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (len(fake_bsky.posts()), len(fake_mastodon.live_statuses())) == (3, 3)

    again = cli(live_site, "publish", *SERIES)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (len(fake_bsky.posts()), len(fake_mastodon.live_statuses())) == (3, 3)

    rows = {row["slug"]: row for row in json.loads(cli(live_site, "status", "--json").stdout)}
    bsky = bsky_posts(fake_bsky)
    masto = masto_posts(fake_mastodon)
    assert rows[P2]["announced"]["bluesky"]["id"] == bsky["2"]["uri"]
    assert rows[P2]["announced"]["bluesky"]["url"].startswith("https://bsky.app/profile/")
    assert rows[P2]["announced"]["mastodon"]["id"] == masto["2"]["id"]
    table = cli(live_site, "status", COLUMNS="400").stdout
    header = next(line for line in table.splitlines() if "Post" in line and "State" in line)
    assert "Bluesky" in header
    assert "Mastodon" in header
    assert rows[P3]["announced"]["mastodon"]["url"] in table
    log = cli(live_site, "log", "--post", P1).stdout
    assert "announce:bluesky" in log
    assert "announce:mastodon" in log


@pytest.mark.wordpress
def test_bad_credentials_hold_one_channel_until_retried_after_the_fix(
    live_site: Path, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    wrong = "wrong-app-password-9876"
    published = cli(live_site, "publish", P1, PIPELINE_BLUESKY_APP_PASSWORD=wrong)
    output = published.stdout + published.stderr
    assert published.returncode == 1, output
    assert "held:" in published.stderr
    assert "Bluesky refused the credentials" in published.stderr
    assert f"pipeline retry {P1} --channel bluesky" in published.stderr
    assert wrong not in output
    assert "Traceback" not in output
    assert fake_bsky.posts() == []
    assert len(fake_mastodon.live_statuses()) == 1, "Mastodon went on"

    status = json.loads(cli(live_site, "status", "--json").stdout)
    part1 = next(row for row in status if row["slug"] == P1)
    assert part1["live"] is True, "WordPress went on"
    assert [p["step"] for p in part1["pending"]] == ["announce:bluesky"]
    assert part1["pending"][0]["status"] == "held"

    # Fixed (the environment no longer overrides the right password in the file):
    retried = cli(live_site, "retry", P1, "--channel", "bluesky")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "announce:bluesky: held -> pending" in retried.stdout
    ran = cli(live_site, "run", "--once")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert len(fake_bsky.posts()) == 1
    assert len(fake_mastodon.live_statuses()) == 1, "nothing sent twice"


@pytest.mark.wordpress
def test_an_unknown_mastodon_post_is_settled_by_retry_with_its_url(
    live_site: Path, fake_mastodon: FakeMastodon
) -> None:
    store = Store.open(live_site.parent / "state" / "pipeline.sqlite3")
    try:
        store.set_step(P1, "announce", "mastodon", status="unknown", error="the state was lost")
    finally:
        store.close()
    url = "https://social.example/@writer/113000000000000042"
    bad = cli(live_site, "retry", P1, "--mark-sent", "--channel", "mastodon", "--url", "nope")
    assert bad.returncode == 2
    assert "mastodon.social/@USER/" in bad.stderr

    settled = cli(live_site, "retry", P1, "--mark-sent", "--url", url)  # the unknown one

    assert settled.returncode == 0, settled.stdout + settled.stderr
    store = Store.open(live_site.parent / "state" / "pipeline.sqlite3")
    try:
        step = store.step(P1, "announce", "mastodon")
        assert step is not None
        assert step.status == "done"
        assert (step.detail["id"], step.detail["url"]) == ("113000000000000042", url)
        assert store.step(P1, "announce", "x") is None, "X was not touched"
    finally:
        store.close()
    published = cli(live_site, "publish", P1)
    assert published.returncode == 0, published.stdout + published.stderr
    assert fake_mastodon.live_statuses() == [], "marked as sent: never sent again"


def wait_for(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.wordpress
@pytest.mark.parametrize(
    ("module", "endpoint", "made"),
    [
        ("tests.fakebsky", "com.atproto.repo.createRecord", "records"),
        ("tests.fakemastodon", "POST /api/v1/statuses", "statuses"),
    ],
)
def test_sigkill_between_the_request_and_its_record_leaves_one_post(
    wordpress: LocalWordPress, tmp_path: Path, module: str, endpoint: str, made: str
) -> None:
    """`pipeline publish` in its own process, killed while the fake (in a third process) has
    made the post and holds back the answer; the next publish adopts that post."""
    with standalone(module) as url:
        config = make_site(tmp_path, wordpress)
        if module == "tests.fakebsky":
            add_channels(config, bluesky=url)
        else:
            add_channels(config, mastodon=url)
        httpx.post(f"{url}/_fake/delay_next", json={"seconds": 60, "endpoint": endpoint})

        def state() -> Any:
            return httpx.get(f"{url}/_fake/state", timeout=5).json()

        process = subprocess.Popen(
            [*PIPELINE, "--config", str(config), "publish", P1],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: len(state()[made]) == 1, "the post to be made")
            time.sleep(0.2)  # the request is held: nothing more can happen in the publisher
            assert process.poll() is None
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        channel = "bluesky" if module == "tests.fakebsky" else "mastodon"
        store = Store.open(config.parent / "state" / "pipeline.sqlite3")
        try:
            step = store.step(P1, "announce", channel)
            assert step is not None
            assert step.status == "running", "begun, never recorded"
        finally:
            store.close()

        again = cli(config, "publish", P1)

        assert again.returncode == 0, again.stdout + again.stderr
        assert "found the earlier post" in again.stdout
        live = [item for item in state()[made] if not item.get("deleted")]
        assert len(live) == 1, "exactly one post"
        assert cli(config, "publish", P1).returncode == 0
        assert len([i for i in state()[made] if not i.get("deleted")]) == 1
