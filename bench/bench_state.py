"""Benchmark: ``pipeline log`` over 100,000 entries and ``pipeline status`` over 2,000 posts.

Each command runs as a whole CLI subprocess (start-up, config, state file, output into a pipe),
a warm-up run then the median of ``--runs`` runs. Target: each under 300 ms.

    /work/venv/bin/python bench/bench_state.py [--runs 7] [--no-write]

Two sites are measured: the state of 2,000 posts with a small posts folder (20 files), and the
same state with all 2,000 posts as Markdown files, where ``status`` also loads every post.
The result table goes into docs/benchmarks.md between the bench_state markers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdoc import DOC, REPO, Figure, hand_in, load_average, machine, write_section

sys.path.insert(0, str(REPO))

from pipeline.store import Store
from pipeline.timeutil import utc_iso

POSTS = 2_000
ENTRIES = 100_000
POST_FILES_SMALL = 20
TARGET_MS = 300.0
NOW = datetime.now(UTC).replace(microsecond=0)


def slug(number: int) -> str:
    return f"post-number-{number:04}"


def write_site(root: Path, post_files: int) -> Path:
    posts = root / "posts"
    posts.mkdir(parents=True)
    for number in range(post_files):
        (posts / f"{slug(number)}.md").write_text(
            f"---\ntitle: Post number {number}\nslug: {slug(number)}\n"
            f"series: Bench {number // 4}\npart: {number % 4 + 1}\n"
            "tags: [bench, state]\nexcerpt: A post to measure the state commands with.\n---\n"
            f"Hello from post {number}.\n\n<!-- series -->\n\n## A section\n\n"
            "Some *Markdown* with a [link](https://example.com) and a list:\n\n- one\n- two\n",
            encoding="utf-8",
        )
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "America/New_York"\nposts_dir = "posts"\nstate_dir = "state"\n\n'
        '[wordpress]\nurl = "https://blog.example.com"\n',
        encoding="utf-8",
    )
    credentials = root / "credentials.toml"  # secrets to redact, as on a real site
    credentials.write_text(
        '[wordpress]\nuser = "editor"\napp_password = "abcd efgh ijkl mnop qrst uvwx"\n\n'
        '[x]\nbearer_token = "bench-bearer-token-0123456789"\n',
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    return config


def fill_state(db: Path) -> None:
    """2,000 posts (most live, some scheduled, failing, deferred, unknown) and 100,000 entries."""
    rng = random.Random(6)
    store = Store.open(db)
    posts: list[tuple[object, ...]] = []
    steps: list[tuple[object, ...]] = []
    log: list[tuple[object, ...]] = []
    for number in range(POSTS):
        name = slug(number)
        live_at = NOW - timedelta(days=POSTS - number)
        live = number < POSTS - 50
        posts.append(
            (
                name,
                f"{name}.md",
                "0" * 64,
                10_000 + number if live else None,
                f"https://blog.example.com/{name}/" if live else None,
                "publish" if live else None,
                f"Post number {number}",
                "1" * 64 if live else None,
                "2" * 64 if live else None,
                utc_iso(live_at) if live else None,
                str(1_870_000_000_000_000_000 + number) if live else None,
                f"https://x.com/bench/status/{1_870_000_000_000_000_000 + number}"
                if live
                else None,
                None,
                utc_iso(NOW),
            )
        )
        if live:
            steps.append((name, "publish", "", "done", None, 1, None, None))
            kind = rng.random()
            if kind < 0.02:
                steps.append((name, "announce", "", "failed", None, 5, None, "HTTP 503"))
            elif kind < 0.04:
                later = utc_iso(NOW + timedelta(minutes=15))
                steps.append((name, "announce", "", "pending", None, 1, later, "rate limited"))
            elif kind < 0.05:
                steps.append((name, "announce", "", "unknown", None, 1, None, "interrupted"))
            else:
                steps.append((name, "announce", "", "done", None, 1, None, None))
            if number % 4:
                steps.append((name, "backfill", slug(number + 1), "done", None, 1, None, None))
        else:
            due = utc_iso(NOW + timedelta(hours=number))
            steps.append((name, "publish", "", "pending", due, 0, None, None))
    outcomes = ["done"] * 80 + ["skipped"] * 8 + ["failed"] * 6 + ["deferred"] * 4 + ["held"] * 2
    span = timedelta(days=365).total_seconds()
    for index in range(ENTRIES):
        number = rng.randrange(POSTS)
        at = NOW - timedelta(seconds=span * (ENTRIES - index) / ENTRIES)
        step = rng.choice(["publish", "announce", "backfill:" + slug(number + 1), "upload"])
        outcome = rng.choice(outcomes)
        details = f"{outcome} https://blog.example.com/{slug(number)}/ after {index} entries"
        log.append((utc_iso(at), slug(number), step, outcome, details, rng.randrange(20, 900)))
    with store.transaction() as conn:
        conn.executemany(
            "INSERT INTO posts (slug, source_path, source_hash, wp_id, permalink, wp_status, "
            "title, sent_hash, remote_hash, live_at, tweet_id, tweet_url, conflict, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            posts,
        )
        conn.executemany(
            "INSERT INTO steps (post, kind, target, status, due_at, attempts, next_attempt_at, "
            "error, detail, updated_at) VALUES (?,?,?,?,?,?,?,?,'{}',?)",
            [(*step, utc_iso(NOW)) for step in steps],
        )
        conn.executemany(
            "INSERT INTO log (at, post, step, outcome, details, duration_ms) VALUES (?,?,?,?,?,?)",
            log,
        )
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.conn.execute("ANALYZE")
    store.close()


def pipeline_script() -> str:
    beside = Path(sys.executable).parent / "pipeline"
    found = str(beside) if beside.exists() else shutil.which("pipeline")
    if not found:
        raise SystemExit("the pipeline console script is not installed (pip install -e .)")
    return found


def measure(config: Path, args: list[str], runs: int) -> Sample:
    """Wall and CPU time (user + system) of the whole subprocess, in ms."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env["COLUMNS"] = "200"
    command = [pipeline_script(), "--config", str(config), *args]
    wall: list[float] = []
    cpu: list[float] = []
    size = 0
    for run in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()}")
        size = len(done.stdout)
        if run:  # the first run warms the page cache
            wall.append(elapsed)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpu.append(used * 1000)
    return Sample(statistics.median(wall), min(wall), max(wall), statistics.median(cpu), size)


@dataclass(frozen=True)
class Sample:
    median: float
    low: float
    high: float
    cpu: float
    size: int


def section(rows: list[tuple[str, str, Sample]], runs: int) -> str:
    lines = [
        "## `pipeline status` and `pipeline log` (bench/bench_state.py)",
        "",
        f"State: {POSTS:,} posts (records and steps) and {ENTRIES:,} job-log entries. Each "
        f"command runs as a whole CLI subprocess with its output into a pipe; median (min-max) "
        f"of {runs} runs after a warm-up. Target: under {TARGET_MS:.0f} ms.",
        "",
        "| site | command | median ms | min-max ms | CPU ms | output | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for site, command, sample in rows:
        verdict = "ok" if sample.median < TARGET_MS else "**over**"
        lines.append(
            f"| {site} | `{command}` | {sample.median:.0f} | {sample.low:.0f}-{sample.high:.0f} "
            f"| {sample.cpu:.0f} | {sample.size / 1024:.0f} KiB | {verdict} |"
        )
    lines += [
        "",
        f"The {POSTS:,}-post-files rows read the front matter of every Markdown file as well "
        "(remembered in the state folder's memo by each file's bytes after the first run, so "
        "what is left is listing, reading and hashing the files and looking each featured "
        "image up on disk): that, not the state, "
        f"is the difference to the {POST_FILES_SMALL}-file rows. `pipeline --config ... --help` "
        "is the start-up floor of a command: python, click and the group (click renders that "
        "help; a bare `pipeline --help` prints the rendering kept in `pipeline/cli/_help.py` "
        "without importing click, see bench_load). Each command imports only its own module "
        "(the group knows the others by name and summary). `status` takes the schedule from "
        "`pipeline.scheduler.slots` (cadence slots included) and this month's X spend from "
        "`pipeline.status`, neither of which imports the publisher or the network clients; "
        "which channels are set up comes from "
        "`pipeline.wiring`, which does not import them either. `log --post` reads the job log by "
        "its index on (post, id).",
        "",
        "CPU ms is the median user + system time of the process: what the command costs "
        "without waiting for a shared CPU (wall times move with the machine's load).",
        "",
        f"Machine: {machine(f'load average at the end {load_average()}')}.",
    ]
    return "\n".join(lines)


def figures(rows: list[tuple[str, str, Sample]]) -> list[Figure]:
    """The slowest `log` variant, then each `status` row."""
    logs = [row for row in rows if " log" in row[1]]
    shown = [row for row in rows if " status" in row[1]]
    if logs:
        _, command, sample = max(logs, key=lambda row: row[2].median)
        where = f"{ENTRIES:,} job-log entries, the slowest of {len(logs)} variants"
        shown.insert(0, (where, command, sample))
    return [
        Figure(f"`{command}`, {site}", sample.median, "ms", TARGET_MS, f"CPU {sample.cpu:.0f} ms")
        for site, command, sample in shown
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1 run each: a smoke check")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    options = parser.parse_args()
    if options.quick:
        options.runs = 1
    rows: list[tuple[str, str, Sample]] = []
    with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        for site, files in (
            (f"{POST_FILES_SMALL} post files", POST_FILES_SMALL),
            (f"{POSTS:,} post files", POSTS),
        ):
            root = Path(tmp) / f"site-{files}"
            config = write_site(root, files)
            started = time.perf_counter()
            fill_state(root / "state" / "pipeline.sqlite3")
            print(f"{site}: state filled in {time.perf_counter() - started:.1f} s", flush=True)
            commands = [
                ["--help"],
                ["log"],
                ["log", "--post", slug(1234)],
                ["log", "--status", "held", "--since", "30d"],
                ["log", "--json", "--limit", "1000"],
                ["status"],
                ["status", "--json"],
            ]
            if files == POSTS:
                commands = [["status"], ["status", "--json"]]
            for args in commands:
                sample = measure(config, args, options.runs)
                shown = "pipeline " + " ".join(args)
                rows.append((site, shown, sample))
                print(
                    f"  {shown:<48} {sample.median:7.0f} ms  ({sample.low:.0f}-{sample.high:.0f}),"
                    f" CPU {sample.cpu:.0f} ms",
                    flush=True,
                )
    text = section(rows, options.runs)
    hand_in("bench_state", figures(rows))
    if not options.no_write:
        write_section("bench_state", text)
        print(f"wrote {DOC}")
    print(
        json.dumps([{"site": r[0], "command": r[1], "median_ms": round(r[2].median)} for r in rows])
    )


if __name__ == "__main__":
    main()
