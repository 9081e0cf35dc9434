"""``pipeline status``, ``pipeline log`` and ``pipeline retry``: reading and settling the state."""

from __future__ import annotations

from pipeline.cli import cli  # noqa: F401
