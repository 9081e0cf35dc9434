"""Crash safety: the real scheduler, SIGKILLed at random moments, restarted, and still exactly
one WordPress post per source, one announcement per article, every backfill done.

Runs `pipeline run` as a subprocess against the local WordPress and the fake X API (served from
this test process on loopback), so every kill lands wherever it lands: mid-create, mid-tweet,
between a call and its record.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.store import Store
from tests.fakex import FakeX
from tests.sites import SERIES, make_site, open_site, remote
from tests.wp_local import LocalWordPress

pytestmark = [pytest.mark.wordpress, pytest.mark.slow]

EXTRA_POSTS = 17
KILLS = 6
PIPELINE = [sys.executable, "-m", "pipeline"]


def write_extra_posts(posts: Path) -> list[str]:
    slugs = []
    for number in range(EXTRA_POSTS):
        slug = f"note-{number:02d}"
        (posts / f"{slug}.md").write_text(
            f"---\ntitle: Note {number}\nslug: {slug}\ntags: [notes]\n---\n"
            f"Short note number {number}. It links to [the first part](post:{SERIES[0]}).\n",
            encoding="utf-8",
        )
        slugs.append(slug)
    return slugs


def schedule(slugs: list[str], start: datetime) -> str:
    times = [(start + i * timedelta(seconds=0.4)).isoformat() for i in range(len(slugs))]
    return "".join(
        f'\n[[schedule]]\npost = "{slug}"\nat = "{at}"\n'
        for slug, at in zip(slugs, times, strict=True)
    )


def start_scheduler(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PIPELINE_CONFIG": str(config)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [*PIPELINE, "run", "--check-every", "1"], env=env, stdout=out, stderr=out
        )


def all_done(state: Path, slugs: list[str]) -> bool:
    store = Store.open(state)
    try:
        posts = store.posts()
        announced = {s.post for s in store.steps(status="done") if s.kind == "announce"}
        return (
            all(posts.get(s) is not None and posts[s].live for s in slugs)
            and set(slugs) <= announced
        )
    finally:
        store.close()


def test_sigkill_at_random_moments_then_restart(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    rng = random.Random(20261122)
    root = tmp_path / "site"
    make_site(root, wordpress)  # copies the example posts
    slugs = [*SERIES, "why-i-still-buy-physical-media", *write_extra_posts(root / "posts")]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    config = make_site(
        root,
        wordpress,
        x_url=fake_x.url,
        x_credentials=fake_x.credentials(),
        extra=schedule(slugs, start),
    )
    assert len(slugs) >= 20
    log = tmp_path / "last.log"

    for kill in range(KILLS):
        process = start_scheduler(config, tmp_path / f"killed-{kill}.log")
        time.sleep(rng.uniform(0.8, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    process = start_scheduler(config, log)
    state = root / "state" / "pipeline.sqlite3"
    deadline = time.monotonic() + 180
    # Stop it only once it is up: before that, SIGTERM ends Python the default way.
    while time.monotonic() < deadline and "scheduler started" not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.2)
    while time.monotonic() < deadline and not all_done(state, slugs):
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
    assert all_done(state, slugs), log.read_text()[-3000:]

    for slug in slugs:  # remote() asserts at most one post has the slug
        assert remote(wordpress, slug) is not None, f"exactly one WordPress post for {slug}"
    texts = fake_x.live_texts()
    assert len(texts) == len(slugs), "exactly one announcement per article"
    assert len(set(texts)) == len(texts)
    with open_site(config) as site:
        unfinished = [s for s in site.store.steps() if s.status not in ("done", "skipped")]
        assert unfinished == [], "nothing failed, nothing left running or unknown"
        plan = site.publisher().plan([])
        assert plan.backfills == (), "every backfill is done"
        for slug in slugs:
            outcomes = {(e.step, e.outcome) for e in site.store.entries(post=slug)}
            assert ("publish", "done") in outcomes, f"the job log tells {slug}'s story"
            assert ("announce:x", "done") in outcomes
    first = remote(wordpress, SERIES[0])
    assert first is not None
    for slug in SERIES[1:]:
        other = remote(wordpress, slug)
        assert other is not None
        assert other["link"] in first["content"]["raw"]
