"""The cycle collector paused around short, bounded work that builds many objects and keeps
them to its end (Mercurial's ``nogc``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off while the block runs, back on after (if it was on before).

    For a listing's rows (``status``: thousands stay alive until printed) and a plan (the
    memo's renders read back and every render made, ~50 ms of passes in a 50-part series'
    backfill): a pass finds nothing to free there and only costs. What they drop is freed by
    reference counting as before; a cycle made meanwhile waits for the next pass."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What the block allocated still counts as young: the first allocation after would set
        # off the very pass this avoided, over all of it. Frozen and unfrozen, the survivors
        # join the oldest generation and the young counts start again from nothing (both
        # calls move lists whole, at no cost per object).
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
