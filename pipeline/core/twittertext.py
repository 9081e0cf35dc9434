"""twitter-text-parser (X's own length rules and URL extractor), imported where setuptools is not.

twitter-text-parser 3.0.0, the latest release, reads its emoji list at import with
``pkg_resources.resource_string`` and does not depend on setuptools, which carries
``pkg_resources``. Since setuptools 82 (February 2026) removed ``pkg_resources``, and Python 3.12
and later make virtual environments without setuptools, importing it fails with
``ModuleNotFoundError`` on a fresh install; where ``pkg_resources`` is still there, importing it
costs a quarter of a second and, in setuptools 80.9 to 81, a deprecation warning on stderr.

``resource_string`` is all it uses: while twitter-text is imported, a stand-in that reads the
same file through :mod:`importlib.resources` is put where ``import pkg_resources`` finds it, and
taken away again, so nothing else in the process ever sees it.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType
from typing import Any

_LOCK = threading.Lock()  # the scheduler warms twitter-text up in a thread of its own
# The module once its import has finished. Not sys.modules: while one thread imports it, the
# module is there half-initialised (no parse_tweet yet) for the whole import (~0.3 s).
_IMPORTED: dict[str, Any] = {}


def twitter_text() -> Any:
    """The ``twitter_text`` module (imported on first use: compiling its patterns is slow)."""
    found = _IMPORTED.get("twitter_text")
    if found is not None:
        return found
    with _LOCK:
        if "twitter_text" not in _IMPORTED:
            _IMPORTED["twitter_text"] = _import()
    return _IMPORTED["twitter_text"]


def _import() -> Any:
    stand_in = _stand_in()
    placed = sys.modules.setdefault("pkg_resources", stand_in) is stand_in
    try:
        import twitter_text
    finally:
        if placed and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return twitter_text


def _stand_in() -> ModuleType:
    module = ModuleType("pkg_resources", "twitter-text's one use of setuptools' pkg_resources")
    module.resource_string = _resource_string  # type: ignore[attr-defined]
    return module


def _resource_string(package: str, name: str) -> bytes:
    """``pkg_resources.resource_string``: the bytes of a file shipped beside the module (or in
    the package) named ``package`` -- twitter-text passes its module's ``__name__``."""
    from importlib import resources  # not for every command that reads the config

    is_package = hasattr(sys.modules.get(package), "__path__")
    folder = package if is_package else package.rpartition(".")[0]
    return resources.files(folder).joinpath(name).read_bytes()
