"""What the benchmark scripts share: ``docs/benchmarks.md``, how each rewrites its section, and
how each hands its figures to ``bench/run_all.py``.

Each script owns the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` (NAME is the
script's name, e.g. ``bench_load``); :func:`write_section` replaces it, or appends the section when
the markers are missing, and keeps the rest of the file. ``BENCH_DOC`` names another file to write
(run_all's ``--doc``; the unit test's temporary one).

Each script also calls :func:`hand_in` with its headline figures, each with its target: when
run_all runs it, ``BENCH_FIGURES`` names a JSON file to write them to, for the summary table;
run alone, nothing is written.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = Path(os.environ.get("BENCH_DOC") or REPO / "docs" / "benchmarks.md").resolve()
INTRO = """# Benchmarks

Measured by the scripts under `bench/`; each script rewrites only its own section below, and
`python bench/run_all.py` runs them all and rewrites the summary.
"""


@dataclass(frozen=True)
class Figure:
    """One measured figure and its target: ``value`` should be at most ``target`` (or, with
    ``higher``, at least); no target: reported only."""

    name: str
    value: float
    unit: str  # "ms", "s", "x", "requests", "writes", "posts"
    target: float | None = None
    detail: str = ""
    higher: bool = False

    @property
    def ratio(self) -> float | None:
        """value / target: at most 1 is met (at least 1 with ``higher``)."""
        if self.target is None or self.target == 0:
            return None
        return self.value / self.target

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher else self.value <= self.target


def hand_in(script: str, figures: list[Figure]) -> None:
    """Give ``figures`` to run_all (the JSON file ``BENCH_FIGURES`` names), if it runs us."""
    path = os.environ.get("BENCH_FIGURES")
    if path:
        data = {"script": script, "figures": [asdict(f) for f in figures]}
        Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


def read_figures(path: Path) -> list[Figure]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [Figure(**item) for item in data["figures"]]


def shown_doc() -> str:
    """The doc's path as printed: relative to the repository when inside it."""
    return str(DOC.relative_to(REPO)) if DOC.is_relative_to(REPO) else str(DOC)


def machine(extra: str = "") -> str:
    """When and on what: UTC time, CPUs, Python, OS; ``extra`` (e.g. the WordPress) appended."""
    text = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs (nproc); "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"{platform.system()} {platform.release()} {platform.machine()}"
    )
    return f"{text}; {extra}" if extra else text


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str) -> None:
    """Put ``body`` between the ``name`` markers in docs/benchmarks.md (or append it)."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else INTRO
    replaced = replace_section(text, name, body)
    if replaced is None:
        replaced = text.rstrip("\n") + "\n\n" + section_block(name, body) + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(replaced, encoding="utf-8")


def section_block(name: str, body: str) -> str:
    start, end = markers(name)
    return f"{start}\n{body}\n{end}"


def replace_section(text: str, name: str, body: str) -> str | None:
    """``text`` with what is between the ``name`` markers replaced by ``body`` (None: no such
    markers)."""
    start, end = markers(name)
    if start not in text or end not in text:
        return None
    before, rest = text.split(start, 1)
    return before + section_block(name, body) + rest.split(end, 1)[1]


def as_a_new_process() -> None:
    """Forget what this process has parsed and rendered, as a new ``pipeline`` command starts:
    nothing in memory; the memo of the state folder (if one is attached) is read from disk again
    (after what was added is saved there, as a command does on its way out), and the garbage
    collector set as the command sets it."""
    import gc

    from pipeline import memofile
    from pipeline.cli import GC_THRESHOLDS
    from pipeline.core import render as render_module
    from pipeline.core.memo import MEMO

    memofile.save()
    MEMO.use(MEMO.loader)
    render_module._PARSED.clear()
    gc.collect()
    gc.set_threshold(*GC_THRESHOLDS)
