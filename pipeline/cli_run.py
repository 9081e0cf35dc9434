"""``pipeline run``: the scheduler, and ``--once`` for cron and CI."""

from __future__ import annotations

from pipeline.cli import cli  # noqa: F401
