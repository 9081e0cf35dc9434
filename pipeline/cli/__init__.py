"""The thin command line over the library: commands are registered here, explicitly.

Heavy libraries (httpx, tweepy, apscheduler, rich) are imported inside the commands that need
them, so that ``pipeline --help`` starts fast.
"""

from __future__ import annotations

import gc

from pipeline.cli import importing, login, posts, run, state
from pipeline.cli.app import cli

for command in (
    posts.check,
    posts.preview,
    posts.render,
    posts.plan,
    posts.publish,
    run.run,
    state.status,
    state.log_command,
    state.retry,
    login.login,
    importing.import_command,
):
    cli.add_command(command)

GC_THRESHOLDS = (50_000, 20, 100)


def main() -> None:
    # Posts, their parsed Markdown (kept for re-rendering) and the state are long-lived: with
    # the default thresholds the collector rescans them over and over while rendering many
    # posts (about a quarter of the time for 2,000 posts; docs/benchmarks.md).
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        cli(prog_name="pipeline")
    finally:
        # The command is done and the process exits: the interpreter's last collection would
        # walk every object still alive (some 30 ms after `status` over 2,000 posts) only to
        # free memory the exit frees anyway. Files and connections are closed by then.
        gc.freeze()
