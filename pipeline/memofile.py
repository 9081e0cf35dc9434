"""The memo of parsed and rendered posts (:mod:`pipeline.core.memo`), kept in the state folder.

One JSON file per namespace under ``<state_dir>/cache/`` (the parsed bodies, large and read a few
at a time: one compressed file per post under ``cache/parsed/``), stamped with a digest of the
code that computed it: a file written by another version of the parser or the renderers is
ignored, never trusted. It is a cache: a missing, unreadable or foreign file only means parsing
again, and a process killed before it saves loses nothing but time. Files are replaced whole (a
temporary file renamed over), so a reader never sees half of one; when two processes save, the
last wins.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.util
import json
import os
import zlib
from pathlib import Path
from typing import Any

import msgspec

from pipeline.core.memo import MEMO, digest

_attached: Path | None = None
_stamp: str | None = None


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


# Namespaces whose entries are large and read a few at a time: one file each, read when first
# asked for (pipeline.core.render.PARSED and pipeline.core.output.PIECES: a plan reads the
# tokens of the posts it renders again, not the whole catalogue's).
_ONE_FILE_EACH = frozenset({"parsed", "pieces"})


def _file(state_dir: Path, name: str) -> Path:
    return state_dir / "cache" / f"{name}.json"


class _OneFileEach(dict[str, Any]):
    """A namespace whose entries are files of their own, each read when first asked for."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.added: set[str] = set()

    def entry_file(self, key: str) -> Path:
        return self.folder / f"{digest(key)}.json.z"

    def get(self, key: str, default: Any = None) -> Any:
        """The entry added in this process, or else the one saved, read afresh: not kept in
        memory, as its reader keeps what it makes of it (a body's tokens), and the rows kept
        would only make work for the garbage collector."""
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        found = _read_entry(self.entry_file(key), key)
        return default if found is None else found

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, value)
        self.added.add(key)

    def save(self) -> None:
        for key in sorted(self.added):
            text = _encoded({"code": code_stamp(), "key": key, "value": self[key]})
            if text is not None:
                _replace(self.entry_file(key), zlib.compress(text, 1))
        self.added.clear()


def _read_entry(path: Path, key: str) -> Any:
    try:
        saved = _decode(zlib.decompress(path.read_bytes()))
    except (OSError, ValueError, zlib.error):
        return None
    if not isinstance(saved, dict) or saved.get("code") != code_stamp() or saved.get("key") != key:
        return None
    return saved.get("value")


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
    if name in _ONE_FILE_EACH:
        return _OneFileEach(state_dir / "cache" / name)
    try:
        saved = _decode(_file(state_dir, name).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or saved.get("code") != code_stamp():
        return {}
    entries = saved.get("entries")
    return entries if isinstance(entries, dict) else {}


def save() -> None:
    """Write the namespaces that changed, if the state folder exists (``check`` on a new site
    creates nothing). A running scheduler decides how often (``MEMO_SAVE_SECONDS``)."""
    if _attached is None or not MEMO.changed or not _attached.is_dir():
        return
    for name in sorted(MEMO.changed):
        space = MEMO.space(name)
        if isinstance(space, _OneFileEach):
            space.save()
        else:
            text = _encoded({"code": code_stamp(), "entries": space})
            if text is not None:
                _replace(_file(_attached, name), text)
    MEMO.changed.clear()


def _decode(data: bytes) -> Any:
    """What :func:`_encoded` wrote: msgspec's JSON decoder, at a third of the time of ``json``'s
    (the front matter of 2,000 posts is some 850 KB). Raises ValueError for anything else."""
    return _DECODER.decode(data)


_DECODER = msgspec.json.Decoder()


def _encoded(data: dict[str, Any]) -> bytes | None:
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError):  # not plain data: not remembered
        return None


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it)."""
    import tempfile  # only a command that computed something new writes

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return  # a read-only state folder: nothing is remembered, nothing breaks
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
