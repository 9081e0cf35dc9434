"""The one benchmark command runs and writes the doc (no timing asserts: targets live in bench/).

Only the benchmark that needs no WordPress runs here (the others reset the WordPress they are
given, which would pull the rug from under the tests sharing it); its quick form is small.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import run_all  # noqa: E402
from benchdoc import Figure  # noqa: E402


def test_run_all_quick_writes_the_summary_and_the_section(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [
            sys.executable,
            "bench/run_all.py",
            "--quick",
            "--only",
            "bench_load",
            "--doc",
            str(doc),
            "--logs",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = doc.read_text(encoding="utf-8")
    summary = text.split("<!-- run_all:start -->")[1].split("<!-- run_all:end -->")[0]
    assert "quick (smoke) run" in summary
    assert "| `bench_load` | `pipeline --help`, cold process |" in summary
    row = next(line for line in summary.splitlines() if "load + check + render 200 posts" in line)
    assert "at most 1.5 s" in row  # the target, then the ratio to it
    assert row.split("|")[5].strip().replace(".", "", 1).isdigit()
    bench_row = next(line for line in summary.splitlines() if line.endswith(" MiB | ran |"))
    assert bench_row.startswith("| `bench_load` | ")  # its wall time, CPU time, peak memory
    assert bench_row.split("|")[3].strip().endswith(" s")
    assert "Machine: " in summary
    assert "load average" in summary
    assert "<!-- bench_load:start -->" in text.split("<!-- run_all:end -->")[1]


def test_the_summary_goes_first_and_every_section_is_kept(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nA summary kept by hand.\n\n"
        "<!-- bench_a:start -->\nA\n<!-- bench_a:end -->\n\n"
        "<!-- bench_b:start -->\nB\n<!-- bench_b:end -->\n",
        encoding="utf-8",
    )
    run_all.write_summary(doc, "first")
    run_all.write_summary(doc, "second")
    text = doc.read_text(encoding="utf-8")
    assert "kept by hand" not in text
    assert text.index("second") < text.index("bench_a:start") < text.index("bench_b:start")
    assert "first" not in text
    assert text.count("<!-- run_all:start -->") == 1


def test_a_figure_is_met_by_its_side_of_the_target() -> None:
    assert Figure("plan", 80, "ms", 100).met is True
    assert Figure("plan", 120, "ms", 100).ratio == 1.2
    assert Figure("speed-up", 1.9, "x", 1.7, higher=True).met is True
    assert Figure("speed-up", 1.5, "x", 1.7, higher=True).met is False
    assert Figure("count", 3, "requests").met is None
