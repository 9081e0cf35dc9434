"""A progress bar under the lines of a long batch (a bulk publish, an import): terminals only.

:class:`Lines` prints the batch's lines. Inside :meth:`Lines.bar` on a terminal, for more than
:data:`MIN_ITEMS` items, a rich progress bar stays below them and each finished item advances it;
the lines are printed above the bar, unchanged. Piped or redirected output (scripts, logs, the
tests) gets exactly the lines and no bar, and rich is not even imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress

MIN_ITEMS = 10
OnItem = Callable[[str, str], None]  # (item key, outcome)


class Lines:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._bar: Progress | None = None

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stdout

    def echo(self, line: str) -> None:
        if self._bar is None:
            click.echo(line, file=self._stream)
        else:
            self._bar.console.print(line, markup=False, highlight=False, emoji=False, crop=False)

    @contextmanager
    def bar(self, total: int, what: str) -> Iterator[OnItem]:
        """An ``on_item`` callback that advances a bar of ``total`` items, when one is shown."""
        if total <= MIN_ITEMS or not _is_terminal(self.stream):
            yield lambda key, outcome: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        console = Console(file=self.stream, soft_wrap=True)
        with Progress(
            f"{what}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # when done, only the lines remain, as when piped
        ) as progress:
            task = progress.add_task(what, total=total)
            self._bar = progress
            try:
                yield lambda key, outcome: progress.advance(task)
            finally:
                self._bar = None


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False
