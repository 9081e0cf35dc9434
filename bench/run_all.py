"""Run every benchmark in bench/ and rewrite docs/benchmarks.md: one command.

    python bench/run_all.py            # every benchmark, full size (about half an hour)
    python bench/run_all.py --quick    # a short smoke form of each (a minute or two)
    python bench/run_all.py --only bench_load bench_bulk

Each benchmark is its own script (each still runs alone, with its own options) and runs here as a
child process: it rewrites its own section of the doc and hands its headline figures, each with
its target, to this script (``benchdoc.hand_in``); this script then writes the summary at the top
of the doc: every figure with its target and its ratio to it, and for each benchmark its wall
time and its peak memory, the machine and its load average. Medians of several runs are taken
inside each benchmark, in the one run.

Peak memory is the peak resident set size (``ru_maxrss``) of the benchmark's process, from
``os.wait4`` on it: on Linux, the largest of that process and of the processes it waited for (the
``pipeline`` commands some benchmarks start), not their sum. The local WordPress (PHP, MariaDB)
runs outside it and is not counted.

The benchmarks that need the local WordPress (``scripts/wordpress.sh start``; ``WP_STATE_DIR``
and ``WP_PORT`` choose which) are skipped, and said so, when it is not running. They reset it:
never point them at a WordPress others are using.

``--quick`` writes ``build/benchmarks-quick.md`` unless ``--doc`` says otherwise, so that smoke
figures never replace the figures of record in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchdoc import REPO, Figure, load_average, machine, read_figures

BENCH = REPO / "bench"
SUMMARY = "run_all"
QUICK_DOC = REPO / "build" / "benchmarks-quick.md"
TIMEOUT = 3600.0  # seconds per benchmark


@dataclass(frozen=True)
class Bench:
    name: str
    what: str
    quick: tuple[str, ...] = ()
    wordpress: bool = False


BENCHES = (
    Bench("bench_load", "`--help`; load + check + render 2,000 posts", ("--quick",)),
    Bench("bench_state", "`status` over 2,000 posts, `log` over 100,000 entries", ("--quick",)),
    Bench("bench_import", "HTML to Markdown on the import corpus"),
    Bench("bench_run_start", "`pipeline run` starting with 100 and 2,000 posts", ("--quick",)),
    Bench("bench_publish", "requests per publish; concurrency 4 vs 1", ("--quick",), True),
    Bench("bench_bulk", "bulk publish vs the WordPress floor", ("--quick",), True),
    Bench("bench_backfill", "a 50-part series, one part at a time", ("--quick",), True),
    Bench("bench_lateness", "lateness of scheduled posts", ("--quick",), True),
)


@dataclass
class Outcome:
    bench: Bench
    code: int | None = None  # None: not run
    seconds: float = 0.0
    peak_kib: int = 0
    cpu_seconds: float = 0.0
    figures: list[Figure] = field(default_factory=list)
    why: str = ""  # why it was skipped or what went wrong
    at: str = ""  # when it ended (UTC)
    earlier: bool = False  # kept from an earlier run (not chosen with --only this time)

    @property
    def state(self) -> str:
        if self.code is None:
            return f"skipped: {self.why}"
        if not self.figures:
            return f"**failed** (exit {self.code}): {self.why}"
        ran = f"ran (in an earlier run, {self.at})" if self.earlier else "ran"
        return ran if self.code in (0, 1) else f"**exit {self.code}**: {self.why}"

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["bench"] = self.bench.name
        data.pop("earlier")
        return data


def saved(path: Path) -> dict[str, Outcome]:
    """The outcomes of the last run, by benchmark, from the JSON beside the doc."""
    if not path.exists():
        return {}
    by_name = {b.name: b for b in BENCHES}
    found = {}
    for item in json.loads(path.read_text(encoding="utf-8")):
        if item["bench"] in by_name:
            item["bench"] = by_name[item["bench"]]
            item["figures"] = [Figure(**f) for f in item["figures"]]
            found[item["bench"].name] = Outcome(**item, earlier=True)
    return found


def wordpress_up() -> str | None:
    """Why the local WordPress cannot be used, or None when it answers."""
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "wordpress.sh"), "status"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return "the local WordPress is not running (`scripts/wordpress.sh start`)"
    return None


def run_one(bench: Bench, quick: bool, doc: Path, logs: Path) -> Outcome:
    """The benchmark as a child process; its figures, wall time, CPU time and peak memory."""
    outcome = Outcome(bench)
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        figures = Path(tmp) / "figures.json"
        env = {**os.environ, "BENCH_FIGURES": str(figures), "BENCH_DOC": str(doc)}
        argv = [sys.executable, str(BENCH / f"{bench.name}.py"), *(bench.quick if quick else ())]
        log = logs / f"{bench.name}.log"
        with log.open("w", encoding="utf-8") as out:
            started = time.perf_counter()
            child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                _, status, usage = wait4(child, TIMEOUT)
            except TimeoutError:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                outcome.why = f"killed after {TIMEOUT:.0f} s"
            outcome.seconds = time.perf_counter() - started
        child.returncode = outcome.code = os.waitstatus_to_exitcode(status)
        outcome.peak_kib = usage.ru_maxrss
        outcome.cpu_seconds = usage.ru_utime + usage.ru_stime
        if figures.exists():
            outcome.figures = read_figures(figures)
        outcome.at = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        if outcome.code not in (0, 1) or not outcome.figures:
            outcome.why = outcome.why or last_line(log)
    return outcome


def wait4(child: subprocess.Popen[bytes], timeout: float) -> tuple[int, int, os.struct_rusage]:
    """``os.wait4`` on the child (its own resource usage, not the sum of all children's)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.05)


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    return f"{lines[-1][:200]} (see {shown(log)})" if lines else f"no output (see {shown(log)})"


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# --- the summary ------------------------------------------------------------------------------


def number(value: float, unit: str) -> str:
    """2 decimals (ms: 1 under 100, else none), trailing zeros dropped: 1.5 s, 4.33 s, 67.3 ms,
    467 ms, 1,275 writes."""
    places = (0 if value >= 100 else 1) if unit == "ms" else 2
    text = f"{value:,.{places}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return f"{text}x" if unit == "x" else f"{text} {unit}".rstrip()


def target_text(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    return ("at least " if figure.higher else "at most ") + number(figure.target, figure.unit)


def verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "met" if figure.met else "**missed**"


def figure_rows(outcomes: list[Outcome]) -> list[str]:
    rows = [
        "| benchmark | figure | measured | target | ratio to target | |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for outcome in outcomes:
        for f in outcome.figures:
            ratio = "-" if f.ratio is None else f"{f.ratio:.2f}"
            detail = f" ({f.detail})" if f.detail else ""
            rows.append(
                f"| `{outcome.bench.name}` | {f.name}{detail} | {number(f.value, f.unit)} | "
                f"{target_text(f)} | {ratio} | {verdict(f)} |"
            )
    return rows


def bench_rows(outcomes: list[Outcome]) -> list[str]:
    rows = [
        "| benchmark | what | wall time | CPU time | peak memory (RSS) | |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for o in outcomes:
        ran = o.code is not None
        rows.append(
            f"| `{o.bench.name}` | {o.bench.what} | {f'{o.seconds:.1f} s' if ran else '-'} | "
            f"{f'{o.cpu_seconds:.1f} s' if ran else '-'} | "
            f"{f'{o.peak_kib / 1024:.0f} MiB' if ran else '-'} | {o.state} |"
        )
    return rows


def summary(outcomes: list[Outcome], quick: bool, load_before: str) -> str:
    figures = [f for o in outcomes for f in o.figures]
    missed = [f for f in figures if f.met is False]
    kind = (
        "a **quick (smoke) run**: small sizes and single runs, not figures of record"
        if quick
        else "the full run"
    )
    return "\n".join(
        [
            "## Summary (`bench/run_all.py`)",
            "",
            f"Written by `python bench/run_all.py{' --quick' if quick else ''}`: {kind}. "
            f"{len(figures)} figures, {len(missed)} missing their target. Ratio = measured / "
            'target: at most 1 meets an "at most" target, at least 1 an "at least" one. '
            "Each benchmark takes medians of several runs within this one run; the sections "
            "below say how many and show the spread.",
            "",
            *figure_rows(outcomes),
            "",
            "Each benchmark ran as a child process of run_all. Peak memory: the peak resident "
            "set size (`ru_maxrss`, from `os.wait4` on the child) of the benchmark's process "
            "or of a process it waited for (the `pipeline` commands some start), whichever is "
            "largest; the local WordPress (PHP, MariaDB) is not counted. CPU time: user + "
            "system of the benchmark and the processes it waited for.",
            "",
            *bench_rows(outcomes),
            "",
            f"Machine: {machine()}; load average {load_before} before, {load_average()} after "
            "(1, 5, 15 min). The machine is shared: wall times move with its load; the ratios "
            "each benchmark takes within one run (pipeline vs floor, concurrency 4 vs 1) move "
            "less.",
        ]
    )


def write_summary(doc: Path, body: str) -> None:
    """Put the summary first, after the title and introduction, keeping every section."""
    from benchdoc import INTRO, replace_section, section_block

    text = doc.read_text(encoding="utf-8") if doc.exists() else INTRO
    replaced = replace_section(text, SUMMARY, body)
    if replaced is None:
        # The sections start at the first marker; what was above it is replaced.
        first = text.find("<!-- ")
        sections = text[first:] if first >= 0 else ""
        replaced = INTRO + "\n" + section_block(SUMMARY, body) + "\n\n" + sections
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(replaced.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke form of each")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benchmarks only")
    parser.add_argument("--doc", type=Path, help="the file to write [docs/benchmarks.md]")
    parser.add_argument("--logs", type=Path, help="each benchmark's output [build/bench-logs]")
    args = parser.parse_args(argv)
    names = [b.name for b in BENCHES]
    unknown = sorted(set(args.only or ()) - set(names))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are: {', '.join(names)}")
    doc = (args.doc or (QUICK_DOC if args.quick else REPO / "docs" / "benchmarks.md")).resolve()
    logs = (args.logs or REPO / "build" / "bench-logs").resolve()
    logs.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    no_wordpress = wordpress_up() if any(b.wordpress for b in chosen) else None
    load_before = load_average()
    figures_file = doc.with_suffix(".json")
    kept = saved(figures_file)  # --only: the others' figures stay, marked as earlier
    outcomes = []
    for bench in BENCHES:
        if bench not in chosen:
            if bench.name in kept:
                outcomes.append(kept[bench.name])
            continue
        if bench.wordpress and no_wordpress:
            outcomes.append(Outcome(bench, why=no_wordpress))
            print(f"{bench.name}: skipped ({no_wordpress})", flush=True)
            continue
        print(f"{bench.name} ...", flush=True)
        outcome = run_one(bench, args.quick, doc, logs)
        outcomes.append(outcome)
        print(
            f"  {outcome.state}; {outcome.seconds:.1f} s, peak {outcome.peak_kib / 1024:.0f} MiB",
            flush=True,
        )
    write_summary(doc, summary(outcomes, args.quick, load_before))
    data = [o.as_json() for o in outcomes if o.code is not None]
    figures_file.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {shown(doc)} and {figures_file.name} (logs in {shown(logs)})")
    print(json.dumps({o.bench.name: o.state for o in outcomes}))
    broken = [o for o in outcomes if o.code is not None and not o.figures and not o.earlier]
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
