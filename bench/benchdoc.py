"""What the benchmark scripts share: ``docs/benchmarks.md`` and how each rewrites its section.

Each script owns the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` (NAME is the
script's name, e.g. ``bench_load``); :func:`write_section` replaces it, or appends the section when
the markers are missing, and keeps the rest of the file.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "benchmarks.md"
INTRO = """# Benchmarks

Measured by the scripts under `bench/`; each script rewrites only its own section below.
"""


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
    start, end = markers(name)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else INTRO
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
