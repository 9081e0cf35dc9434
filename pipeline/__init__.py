"""pipeline: publish Markdown posts to WordPress, announce them on X, backfill series links."""

import sys

__version__ = "0.1.0"

# httpx's __init__ imports its own command line (click, rich, pygments) for `httpx.main`, which
# nothing here uses: about 90 ms of every command that talks to WordPress (encode/httpx#3547,
# open). That import is guarded by `except ImportError`; a module entry of None makes it raise
# ImportError, so httpx defines its placeholder `main` instead. Nothing else of httpx changes.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
