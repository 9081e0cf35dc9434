"""Benchmark: how long ``pipeline run`` takes to start with 100 and 2,000 scheduled posts.

    .venv/bin/python bench/bench_run_start.py [--posts 100 2000] [--runs 5] [--no-write]

Each site has N small posts, every one with a ``[[schedule]]`` entry a day or more ahead (so
nothing publishes), and a WordPress URL on loopback where nothing listens (the scheduler needs
credentials to start; nothing due means no request is made). ``pipeline run`` runs as a whole
subprocess; measured, median of ``--runs``:

- *ready*: from the exec to the first line on stdout (``pipeline run: scheduler started``),
  printed once every job is in place (the files loaded, the schedule resolved, the jobs synced);
- *stopped*: SIGTERM is sent at *ready*; the time until the process has exited, which includes
  listing the next runs and finishing the start-up run of ``run_due`` in flight;
- CPU (user + system) and peak memory (max RSS) of the process;
- how many times the SIGTERM was not acted on within 10 s (then sent again; those runs are
  left out of *stopped*).

Two cases: a *first start* (no state folder yet) and a *restart* (the state of an earlier run).
Also the import cost of the scheduler's libraries. Target (issue 15): ready under 2 s at 2,000.
The table goes into docs/benchmarks.md between the bench_run_start markers.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchdoc import Figure, hand_in, load_average, machine, shown_doc, write_section

TARGET_READY = 2.0
TARGET_POSTS = 2_000
STOP_WAIT = 10.0  # s: a SIGTERM not acted on by then counts as ignored
APSCHEDULER = (
    "apscheduler.schedulers.blocking",
    "apscheduler.jobstores.memory",
    "apscheduler.executors.pool",
)
SQLALCHEMY_STORE = ("sqlalchemy", "apscheduler.jobstores.sqlalchemy")


def dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def write_site(root: Path, count: int) -> Path:
    posts = root / "posts"
    posts.mkdir(parents=True)
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    entries = []
    for number in range(count):
        slug = f"scheduled-{number:04d}"
        (posts / f"{slug}.md").write_text(
            f"---\ntitle: Scheduled post {number}\nslug: {slug}\nstatus: ready\n"
            f"tags: [bench]\nexcerpt: Post {number} of the start-up benchmark.\n---\n"
            f"Hello from post {number}, with *emphasis* and a "
            f"[link](https://example.com/{number}).\n",
            encoding="utf-8",
        )
        at = (first + timedelta(minutes=number)).isoformat()
        entries.append(f'\n[[schedule]]\npost = "{slug}"\nat = "{at}"\n')
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "UTC"\nposts_dir = "posts"\nstate_dir = "state"\n\n'
        f'[wordpress]\nurl = "{dead_url()}"\n{"".join(entries)}',
        encoding="utf-8",
    )
    return config


def pipeline_script() -> str:
    beside = Path(sys.executable).parent / "pipeline"
    found = str(beside) if beside.exists() else shutil.which("pipeline")
    if not found:
        raise SystemExit("the pipeline console script is not installed (pip install -e .)")
    return found


@dataclass(frozen=True)
class Start:
    ready: float  # s
    stopped: float  # s
    cpu: float  # s
    peak_mib: float
    ignored: bool  # the first SIGTERM was not acted on within STOP_WAIT


def start_once(config: Path) -> Start:
    """One ``pipeline run``: exec, first stdout line, SIGTERM, exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env |= {"PIPELINE_WORDPRESS_USER": "editor", "PIPELINE_WORDPRESS_APP_PASSWORD": "x" * 24}
    command = [pipeline_script(), "--config", str(config), "run", "--check-every", "3600"]
    with (config.parent / "run.err").open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=err)
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        ready = time.perf_counter() - started
        # the list of next runs: drained, or the child blocks on it
        threading.Thread(target=process.stdout.read, daemon=True).start()
        process.send_signal(signal.SIGTERM)
        ignored, status, usage = stop_wait(process)
        stopped = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if "scheduler started" not in first or process.returncode != 0:
        error = (config.parent / "run.err").read_text()
        raise SystemExit(f"pipeline run failed ({process.returncode}): {first}{error[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Start(ready, stopped, cpu, usage.ru_maxrss / 1024, ignored)


def stop_wait(process: subprocess.Popen[bytes]) -> tuple[bool, int, resource.struct_rusage]:
    """Wait for the exit; a SIGTERM not acted on within STOP_WAIT is sent again."""
    ignored = False
    deadline = time.monotonic() + STOP_WAIT
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return ignored, status, usage
        if not ignored and time.monotonic() > deadline:
            ignored = True
            process.send_signal(signal.SIGTERM)
        time.sleep(0.005)


def measure(site: Path, runs: int) -> dict[str, list[Start]]:
    """``runs`` first starts (the state folder removed before each) and ``runs`` restarts."""
    config = site / "pipeline.toml"
    first: list[Start] = []
    for _ in range(runs):
        shutil.rmtree(site / "state", ignore_errors=True)
        first.append(start_once(config))
    again = [start_once(config) for _ in range(runs)]
    return {"first start": first, "restart": again}


def import_seconds(base: tuple[str, ...], extra: tuple[str, ...], runs: int) -> float | None:
    """Median time to import ``extra`` in a fresh interpreter that has imported ``base``."""
    code = (
        "import importlib, time\n"
        f"for name in {base!r}: importlib.import_module(name)\n"
        "started = time.perf_counter()\n"
        f"for name in {extra!r}: importlib.import_module(name)\n"
        "print(time.perf_counter() - started)\n"
    )
    times = []
    for _ in range(runs + 1):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if done.returncode != 0:
            return None  # not installed
        times.append(float(done.stdout))
    return statistics.median(times[1:])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def table(results: dict[int, dict[str, list[Start]]]) -> str:
    lines = [
        "| posts | case | ready | stopped | CPU | peak memory | SIGTERM ignored | target (ready) "
        "| |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for count, cases in results.items():
        for case, starts in cases.items():
            ready = statistics.median(s.ready for s in starts)
            low, high = min(s.ready for s in starts), max(s.ready for s in starts)
            target, verdict = "", ""
            if count == TARGET_POSTS:
                target = f"< {TARGET_READY:g} s"
                verdict = "met" if ready < TARGET_READY else "**missed**"
            stopped = [s.stopped for s in starts if not s.ignored] or [math.nan]
            ignored = sum(s.ignored for s in starts)
            lines.append(
                f"| {count:,} | {case} | {ms(ready)} ({ms(low)}-{ms(high)}) "
                f"| {ms(statistics.median(stopped))} "
                f"| {ms(statistics.median(s.cpu for s in starts))} "
                f"| {max(s.peak_mib for s in starts):.0f} MiB | {ignored} of {len(starts)} "
                f"| {target} | {verdict} |"
            )
    return "\n".join(lines)


def imports_line(runs: int) -> str:
    aps = import_seconds((), APSCHEDULER, runs)
    sqla = import_seconds(APSCHEDULER, SQLALCHEMY_STORE, runs)
    text = f"Imports: APScheduler's blocking scheduler, memory job store and thread pool {ms(aps)}"
    if aps is None:
        return "Imports: APScheduler is not installed."
    if sqla is None:
        return f"{text}; SQLAlchemy is not installed (no longer a dependency)."
    return f"{text}; `sqlalchemy` and APScheduler's SQLAlchemy job store on top of them {ms(sqla)}."


def section(text: str, imports: str, runs: int) -> str:
    return (
        "## Starting the scheduler (`bench/bench_run_start.py`)\n\n"
        "`pipeline run` as a whole subprocess on a site of N small posts, each with a "
        "`[[schedule]]` entry a day or more ahead. *ready*: from the exec to its first line "
        "(`pipeline run: scheduler started`), printed once every job is in place; *stopped*: "
        "SIGTERM sent at *ready*, until the process exited (listing the next runs and finishing "
        "the start-up run included). A SIGTERM not acted on within 10 s is sent again and "
        "counted as ignored; that run is left out of *stopped*. APScheduler keeps its jobs in "
        "memory; every start builds them from the state (`pipeline.store`) and the schedule. "
        "*first start*: no state folder yet; *restart*: the state of an earlier run. Median "
        f"(min-max) of {runs} runs; CPU median; peak memory the largest max RSS.\n\n"
        f"{text}\n\n{imports}\n\n"
        f"Machine: {machine(f'load average at the end {load_average()}')}."
    )


def figures(results: dict[int, dict[str, list[Start]]]) -> list[Figure]:
    found = []
    for count, cases in results.items():
        for case, starts in cases.items():
            found.append(
                Figure(
                    f"`pipeline run` ready with {count:,} scheduled posts, {case}",
                    statistics.median(s.ready for s in starts),
                    "s",
                    TARGET_READY if count == TARGET_POSTS else None,
                    f"peak {max(s.peak_mib for s in starts):.0f} MiB",
                )
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[100, TARGET_POSTS])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 runs each: a smoke check")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 2
    results: dict[int, dict[str, list[Start]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-start-") as folder:
        for count in args.posts:
            site = Path(folder) / f"site-{count}"
            write_site(site, count)
            results[count] = measure(site, args.runs)
            print(f"{count} posts measured", file=sys.stderr, flush=True)
    text = table(results)
    imports = imports_line(args.runs)
    print(f"{text}\n\n{imports}")
    hand_in("bench_run_start", figures(results))
    if not args.no_write:
        write_section("bench_run_start", section(text, imports, args.runs))
        print(f"\nwrote {shown_doc()}")
    big = results.get(TARGET_POSTS)
    if big is None:
        return 0
    return 0 if statistics.median(s.ready for s in big["first start"]) < TARGET_READY else 1


if __name__ == "__main__":
    sys.exit(main())
