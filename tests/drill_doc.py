"""Writes a drill's latest figures into its section of docs/reliability.md (between markers)."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"


def write_figures(section: str, lines: list[str]) -> None:
    """Replace the text between ``<!-- drill:SECTION:start -->`` and its end marker."""
    start, end = f"<!-- drill:{section}:start -->", f"<!-- drill:{section}:end -->"
    text = DOC.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{DOC} has no {start} ... {end} section")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()}"
    )
    body = "\n".join(["```", *lines, "```", f"Run {when} ({machine})."])
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    DOC.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
