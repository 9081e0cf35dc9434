"""The memo of parsed and rendered posts (:mod:`pipeline.core.memo`), kept in the state folder.

One JSON file per namespace under ``<state_dir>/cache/``, stamped with a digest of the code that
computed it: a file written by another version of the parser or the renderers is ignored, never
trusted. It is a cache: a missing, unreadable or foreign file only means parsing again, and a
process killed before it saves loses nothing but time. Files are replaced whole (a temporary
file renamed over), so a reader never sees half of one; when two processes save, the last wins.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

from pipeline.core.memo import MEMO

_attached: Path | None = None
_stamp: str | None = None
_saved_at = float("-inf")  # time.monotonic() of the last write


# The modules whose code decides what is remembered (read as files: importing them to find
# them would cost a listing such as `status` the Markdown and HTML parsers).
_SOURCES = (
    "loading.py",
    "core/blocks.py",
    "core/dom.py",
    "core/memo.py",
    "core/output.py",
    "core/posts.py",
    "core/promises.py",
    "core/records.py",
    "core/render.py",
)


# The libraries whose answers are remembered, by the file that carries each one's version: the
# Markdown parser's tokens, and what Pillow makes of an image (which formats it knows).
_LIBRARIES = (("markdown_it", "__init__.py"), ("PIL", "_version.py"))


def code_stamp() -> str:
    """What the remembered values were computed by: our parsing and rendering modules' source
    and the versions of the libraries they use (read, not imported)."""
    global _stamp
    if _stamp is None:
        package = Path(__file__).parent
        files = [package / name for name in _SOURCES]
        for library, versioned in _LIBRARIES:
            found = importlib.util.find_spec(library)
            if found is not None and found.origin:
                files.append(Path(found.origin).parent / versioned)
        hashed = hashlib.sha256()
        for path in files:
            hashed.update(path.read_bytes())
        _stamp = hashed.hexdigest()[:16]
    return _stamp


def _file(state_dir: Path, name: str) -> Path:
    return state_dir / "cache" / f"{name}.json"


def attach(state_dir: Path) -> None:
    """Remember in ``state_dir`` from now on (what was remembered for another one is saved)."""
    global _attached
    state_dir = state_dir.absolute()
    if _attached == state_dir:
        return
    save()
    if _attached is None:
        atexit.register(save)
    _attached = state_dir
    MEMO.use(lambda name: _load(state_dir, name))


def _load(state_dir: Path, name: str) -> dict[str, Any]:
    try:
        saved = json.loads(_file(state_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or saved.get("code") != code_stamp():
        return {}
    entries = saved.get("entries")
    return entries if isinstance(entries, dict) else {}


def save(*, at_most_every: float = 0.0) -> None:
    """Write the namespaces that changed, if the state folder exists (``check`` on a new site
    creates nothing); not again within ``at_most_every`` seconds of the last write."""
    global _saved_at
    if _attached is None or not MEMO.changed or not _attached.is_dir():
        return
    if time.monotonic() - _saved_at < at_most_every:
        return
    _saved_at = time.monotonic()
    for name in sorted(MEMO.changed):
        _write(_file(_attached, name), {"code": code_stamp(), "entries": MEMO.space(name)})
    MEMO.changed.clear()


def _write(path: Path, data: dict[str, Any]) -> None:
    import tempfile  # only a command that computed something new writes

    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return  # a read-only state folder: nothing is remembered, nothing breaks
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, separators=(",", ":"))
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
