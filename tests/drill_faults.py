"""The fault drill (issue 10): the real scheduler, a flaky network and SIGKILLs, then exact counts.

``pipeline run`` runs as a subprocess against the real local WordPress and the fake X, each behind
a seeded fault-injecting proxy (tests/faultproxy.py: 500/502/503, 429 with Retry-After, resets,
answers later than the clients' timeout, answers dropped after the request was executed). A
schedule of posts with two series goes out while the scheduler is SIGKILLed at random moments
and restarted; the last start runs until everything is done. Then it asserts:

- one WordPress post per source post, and the number of posts is the number of sources;
- one announcement per article on X, all different;
- no image twice in the media library;
- each series live in part order (WordPress's dates and ids), each part's announcement a reply
  to the previous part's;
- every step done, no backfill left;
- every injected fault in the job log (a retry, an adoption, a failure, a deferral, a lookup
  that failed), except faults the process was killed too soon after to record.

Run it (the local WordPress must be up: ``scripts/wordpress.sh start``)::

    python -m tests.drill_faults            # the short form, as CI runs it (under 3 minutes)
    python -m tests.drill_faults --long     # 150 posts, 30 kills
    python -m tests.drill_faults --seed 7   # another fault sequence

It prints its figures; ``--write-doc`` puts them in docs/reliability.md. In pytest:
tests/test_drills.py (marked wordpress and slow).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from pipeline.core.records import LogEntry
from pipeline.store import Store
from pipeline.timeutil import from_iso
from tests.fakex import FakeX
from tests.faultproxy import FaultProxy, Injected
from tests.memwp import png
from tests.wp_local import LocalWordPress

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "posts"
SERIES_A = ("paper-lanterns-part-1", "paper-lanterns-part-2", "paper-lanterns-part-3")
SERIES_B = tuple(f"night-notes-part-{n}" for n in range(1, 5))
PIPELINE = [sys.executable, "-m", "pipeline"]
TIMEOUT = 3.0  # both clients' timeout in the drill's config: a "delay" fault answers later
# What a job-log entry must say to account for a fault of each kind.
STATUS_SIGNS = {"500": ("HTTP 500",), "502": ("HTTP 502",), "503": ("HTTP 503",)}
TRANSPORT_SIGNS = (
    "ReadError",
    "RemoteProtocolError",
    "WriteError",
    "ReadTimeout",
    "ConnectError",
    "reset",
    "dropped",
    "no answer in time",
    "timed out",
)
FAULT_OUTCOMES = {"retried", "adopted", "failed", "unknown", "deferred", "lookup failed", "done"}


@dataclass(frozen=True)
class Options:
    seed: int = 20261201
    notes: int = 25  # standalone posts besides the 3 + 4 parts of the two series
    kills: int = 6
    rate: float = 0.15  # the share of API requests that meet a fault
    spacing: float = 0.5  # seconds between scheduled posts
    kill_after: tuple[float, float] = (0.2, 3.0)  # a run works this long before its SIGKILL
    deadline: float = 600.0  # a guard against a hang, not a target: the last run to finish

    @property
    def posts(self) -> int:
        return len(SERIES_A) + len(SERIES_B) + self.notes


SHORT = Options()
LONG = Options(notes=143, kills=30, spacing=0.3, kill_after=(0.2, 5.0), deadline=900)


@dataclass
class Report:
    options: Options
    posts: int = 0
    announcements: int = 0
    media: int = 0
    kills: int = 0
    requests: int = 0
    faults: list[Injected] = field(default_factory=list)
    logged: int = 0  # faults found in the job log
    excused: list[Injected] = field(default_factory=list)  # killed before it could be logged
    unlogged: list[Injected] = field(default_factory=list)
    retries_logged: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def by_kind(self) -> Counter[str]:
        return Counter(f.kind for f in self.faults)

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind().items()))
        verdict = "all checks passed" if not self.problems else f"{len(self.problems)} FAILED"
        return [
            f"seed {self.options.seed}: {self.posts} posts (2 series), {self.kills} SIGKILLs, "
            f"{self.requests} API requests through the proxies, {self.seconds:.0f} s",
            f"faults injected: {len(self.faults)} ({kinds})",
            f"in the job log: {self.logged}; killed before they could be logged: "
            f"{len(self.excused)}; missing: {len(self.unlogged)}",
            f"WordPress posts {self.posts}, X announcements {self.announcements}, "
            f"media {self.media}; client retries in the job log: {self.retries_logged}",
            verdict,
            *[f"  problem: {p}" for p in self.problems],
        ]


# --- the site --------------------------------------------------------------------------------


def write_posts(posts: Path, notes: int) -> list[str]:
    """The posts, in the order they are scheduled: the series interleaved with notes."""
    posts.mkdir(parents=True)
    for slug in SERIES_A:
        shutil.copy(EXAMPLE / f"{slug}.md", posts / f"{slug}.md")
    shutil.copytree(EXAMPLE / "images", posts / "images")
    (posts / "images" / "night-notes.png").write_bytes(png(3, 2))
    for number, slug in enumerate(SERIES_B, start=1):
        following = (
            f"Next: [part {number + 1}](post:{SERIES_B[number]}).\n"
            if number < len(SERIES_B)
            else ""
        )
        image = "featured_image: images/night-notes.png\n" if number == 1 else ""
        (posts / f"{slug}.md").write_text(
            f"---\ntitle: Night Notes Part {number}\nslug: {slug}\nseries: Night Notes\n"
            f"part: {number}\ntags: [night notes]\n{image}---\n"
            f"Notes from the night shift, part {number}.\n\n<!-- series -->\n\n{following}",
            encoding="utf-8",
        )
    slugs = []
    for number in range(notes):
        slug = f"note-{number:03d}"
        (posts / f"{slug}.md").write_text(
            f"---\ntitle: Note {number}\nslug: {slug}\ntags: [notes]\n---\n"
            f"Short note {number}. It links to [the first part](post:{SERIES_A[0]}).\n",
            encoding="utf-8",
        )
        slugs.append(slug)
    third = max(1, len(slugs) // 3)
    return [
        SERIES_A[0],
        SERIES_B[0],
        *slugs[:third],
        SERIES_A[1],
        SERIES_B[1],
        *slugs[third : 2 * third],
        SERIES_A[2],
        SERIES_B[2],
        *slugs[2 * third :],
        SERIES_B[3],
    ]


def write_site(
    root: Path, wordpress: LocalWordPress, wp_proxy: str, fake_x: FakeX, x_proxy: str, o: Options
) -> tuple[Path, list[str]]:
    order = write_posts(root / "posts", o.notes)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    times = [(start + i * timedelta(seconds=o.spacing)).isoformat() for i in range(len(order))]
    schedule = "".join(
        f'\n[[schedule]]\npost = "{slug}"\nat = "{at}"\n'
        for slug, at in zip(order, times, strict=True)
    )
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "UTC"\nposts_dir = "posts"\nstate_dir = "state"\n'
        f"{schedule}\n"
        f'[wordpress]\nurl = "{wordpress.url}"\napi_root = "{wp_proxy}/wp-json/wp/v2"\n'
        f"timeout = {TIMEOUT}\n\n"
        f'[x]\napi_url = "{x_proxy}"\nthread_series = true\ntimeout = {TIMEOUT}\n',
        encoding="utf-8",
    )
    keys = fake_x.credentials()
    creds = root / "credentials.toml"
    creds.write_text(
        f'[wordpress]\nuser = "{wordpress.user}"\napp_password = "{wordpress.app_password}"\n\n'
        "[x]\n"
        + "".join(
            f'{name} = "{getattr(keys, name).reveal()}"\n'
            for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        ),
        encoding="utf-8",
    )
    creds.chmod(0o600)
    return config, order


# --- running ---------------------------------------------------------------------------------


def start_scheduler(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PIPELINE_CONFIG": str(config)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [*PIPELINE, "run", "--check-every", "1"], env=env, stdout=out, stderr=out
        )


def wait_until_started(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "scheduler started" not in log.read_text():
        if process.poll() is not None:
            raise RuntimeError(f"pipeline run exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def finished(state: Path, slugs: Sequence[str]) -> bool:
    if not state.exists():
        return False
    store = Store.open(state)
    try:
        posts = store.posts()
        steps = store.steps()
    finally:
        store.close()
    announced = {s.post for s in steps if s.kind == "announce" and s.status == "done"}
    open_steps = [s for s in steps if s.status not in ("done", "skipped")]
    live = all(posts.get(s) is not None and posts[s].live for s in slugs)
    return live and set(slugs) <= announced and not open_steps


def run_drill(wordpress: LocalWordPress, workdir: Path, o: Options = SHORT) -> Report:
    report = Report(o)
    began = time.monotonic()
    rng = random.Random(o.seed)
    wordpress.reset()
    with (
        FakeX() as fake_x,
        FaultProxy(wordpress.url, "wordpress", seed=o.seed, rate=o.rate) as wp,
        FaultProxy(fake_x.url, "x", seed=o.seed + 1, rate=o.rate) as xp,
    ):
        wp.delay = xp.delay = TIMEOUT + 1.5
        config, slugs = write_site(workdir / "site", wordpress, wp.url, fake_x, xp.url, o)
        state = workdir / "site" / "state" / "pipeline.sqlite3"
        kills: list[float] = []
        for number in range(o.kills):
            log = workdir / f"killed-{number}.log"
            process = start_scheduler(config, log)
            wait_until_started(process, log)  # a kill before that would prove nothing
            time.sleep(rng.uniform(*o.kill_after))
            kills.append(time.time())
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        last = workdir / "last.log"
        process = start_scheduler(config, last)
        deadline = time.monotonic() + o.deadline
        while time.monotonic() < deadline and not finished(state, slugs):
            if process.poll() is not None:
                report.problems.append(f"pipeline run exited: {last.read_text()[-2000:]}")
                break
            time.sleep(0.5)
        wp.enabled.clear()
        xp.enabled.clear()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            report.problems.append("pipeline run did not stop on SIGTERM")
        if not finished(state, slugs):
            report.problems.append(f"not finished within {o.deadline:.0f} s")
        report.kills = len(kills)
        report.requests = wp.requests + xp.requests
        report.faults = sorted(wp.injected + xp.injected, key=lambda f: f.at)
        check(report, wordpress, fake_x, state, slugs, kills, x_faults=set(xp.injected))
        (workdir / "faults.json").write_text(
            json.dumps({"kills": kills, "faults": [f.__dict__ for f in report.faults]}, indent=1),
            encoding="utf-8",
        )
    report.seconds = time.monotonic() - began
    return report


# --- checking --------------------------------------------------------------------------------


def check(
    report: Report,
    wordpress: LocalWordPress,
    fake_x: FakeX,
    state: Path,
    slugs: Sequence[str],
    kills: Sequence[float],
    *,
    x_faults: set[Injected],
) -> None:
    problems = report.problems
    posts = wp_list(wordpress, "posts")
    report.posts = len(posts)
    found = Counter(p["slug"] for p in posts)
    for slug in slugs:
        if found[slug] != 1:
            problems.append(f"{slug}: {found[slug]} WordPress posts, not 1")
    if len(posts) != len(slugs):
        problems.append(f"{len(posts)} WordPress posts for {len(slugs)} sources")

    texts = fake_x.live_texts()
    report.announcements = len(texts)
    if len(texts) != len(slugs) or len(set(texts)) != len(texts):
        problems.append(
            f"{len(texts)} announcements ({len(set(texts))} different) for {len(slugs)}"
        )

    media = wp_list(wordpress, "media")
    report.media = len(media)
    stems = Counter(_stem(m["source_url"]) for m in media)
    for stem, count in stems.items():
        if count > 1:
            problems.append(f"image {stem} is {count} times in the media library")
    if len(media) != 3:
        problems.append(f"{len(media)} images in the media library, not 3")

    by_slug = {p["slug"]: p for p in posts}
    store = Store.open(state)
    try:
        steps = store.steps()
        entries = store.entries()
        records = store.posts()
    finally:
        store.close()
    tweets = {
        s.post: s.detail.get("id") for s in steps if s.kind == "announce" and s.status == "done"
    }
    replies = {t["id"]: t["reply_to"] for t in fake_x.tweets if not t["deleted"]}
    for series in (SERIES_A, SERIES_B):
        order = [(by_slug[s]["date_gmt"], by_slug[s]["id"]) for s in series if s in by_slug]
        if order != sorted(order) or len(set(order)) != len(order):
            problems.append(f"{series[0]}...: not live in part order on WordPress: {order}")
        lives = [records[s].live_at for s in series if s in records]
        if lives != sorted(str(t) for t in lives):
            problems.append(f"{series[0]}...: recorded live out of order: {lives}")
        for earlier, later in itertools.pairwise(series):
            if replies.get(str(tweets.get(later))) != tweets.get(earlier):
                problems.append(f"{later}'s announcement is not a reply to {earlier}'s")
    unfinished = [
        f"{s.post} {s.name} {s.status}" for s in steps if s.status not in ("done", "skipped")
    ]
    if unfinished:
        problems.append(f"steps not done: {unfinished}")

    report.retries_logged = sum(1 for e in entries if e.outcome == "retried")
    account(report, entries, kills, x_faults)


def account(
    report: Report, entries: Sequence[LogEntry], kills: Sequence[float], x_faults: set[Injected]
) -> None:
    """Each fault against its own job-log entry that tells of it, near the time it happened (a
    maximum matching, so no fault takes the entry another needs); a fault the process was
    killed too soon after to record is excused. Faults far from a kill are matched first: a
    matched fault stays matched while the others are added."""
    candidates = [e for e in entries if e.outcome in FAULT_OUTCOMES]

    def near_kill(fault: Injected) -> bool:
        return any(fault.at - 1 <= k <= fault.at + TIMEOUT + 2 for k in kills)

    faults = sorted(report.faults, key=lambda f: (near_kill(f), f.at))
    tells = [[e.id for e in candidates if _tells(e, f, f in x_faults)] for f in faults]
    owner: dict[int, int] = {}  # entry id -> index of the fault it accounts for

    def assign(index: int, seen: set[int]) -> bool:  # Kuhn's augmenting path
        for entry in tells[index]:
            if entry in seen:
                continue
            seen.add(entry)
            if entry not in owner or assign(owner[entry], seen):
                owner[entry] = index
                return True
        return False

    for index, fault in enumerate(faults):
        if assign(index, set()):
            report.logged += 1
        elif near_kill(fault):
            report.excused.append(fault)
        else:
            report.unlogged.append(fault)
    for fault in report.unlogged:
        report.problems.append(
            f"fault not in the job log: {fault.kind} on {fault.method} {fault.path} "
            f"at {datetime.fromtimestamp(fault.at, UTC):%H:%M:%S}"
        )


def _tells(entry: LogEntry, fault: Injected, on_x: bool) -> bool:
    at = from_iso(entry.at).timestamp()  # whole seconds
    late = TIMEOUT if fault.kind == "delay" else 0.0  # the client gives up after its timeout
    if not fault.at - 1.5 <= at <= fault.at + late + 6:
        return False
    if entry.step.startswith("announce:") != on_x:
        return False  # WordPress is reached in every other step; X only when announcing
    text = entry.details
    if entry.outcome == "done" and "lost" not in text and "duplicate" not in text:
        return False
    if fault.kind == "429":
        return "HTTP 429" in text or "rate limit" in text
    if fault.kind in ("500", "502", "503", "500-after"):
        code = "500" if fault.kind == "500-after" else fault.kind
        return f"HTTP {code}" in text or (on_x and "duplicate" in text)
    return any(sign in text for sign in TRANSPORT_SIGNS)


def wp_list(wordpress: LocalWordPress, kind: str) -> list[dict[str, Any]]:
    """Every post (or media item), read straight from WordPress, in pages ordered by id (many
    share a date to the second, and a date order would page them unstably)."""
    found: list[dict[str, Any]] = []
    status = "any" if kind == "posts" else "inherit"
    for page in range(1, 100):
        params = {"status": status, "per_page": 100, "page": page, "context": "edit"}
        answer = httpx.get(
            f"{wordpress.url}/wp-json/wp/v2/{kind}",
            params={**params, "orderby": "id", "order": "asc"},
            auth=wordpress.auth,
            timeout=30,
        )
        answer.raise_for_status()
        items = answer.json()
        found += items
        if len(items) < 100:
            break
    assert len({item["id"] for item in found}) == len(found), "a page repeated an item"
    return found


def _stem(url: str) -> str:
    """``lighthouse-1.png`` (WordPress's name for a second copy) is ``lighthouse``."""
    name = url.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    base, _, suffix = name.rpartition("-")
    return base if base and suffix.isdigit() else name


# --- the command -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from tests.wp_local import _load_site

    parser = argparse.ArgumentParser(prog="python -m tests.drill_faults", description=__doc__)
    parser.add_argument("--long", action="store_true", help="150 posts, 30 SIGKILLs")
    parser.add_argument("--seed", type=int, default=SHORT.seed)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--write-doc", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args(argv)
    site, why = _load_site()
    if site is None:
        print(f"the local WordPress is not up ({why}): scripts/wordpress.sh start", file=sys.stderr)
        return 2
    options = LONG if args.long else SHORT
    options = Options(**{**options.__dict__, "seed": args.seed})
    workdir = Path(tempfile.mkdtemp(prefix="drill-faults-"))
    try:
        report = run_drill(site, workdir, options)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for line in report.lines():
        print(line)
    if args.keep:
        print(f"work folder: {workdir}")
    if args.write_doc:
        from tests.drill_doc import write_figures

        write_figures("faults-long" if args.long else "faults", report.lines())
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
