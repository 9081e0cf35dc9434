"""The thin command line over the library: commands are registered here, explicitly.

Each command's module is imported only when that command runs (click's "lazily loading
subcommands" pattern): `pipeline status` loads no module of `publish` or `import`, and the
group's help none, since the group knows each command's name and summary (a test holds those
to the commands' own docstrings). Heavy libraries (httpx, tweepy, apscheduler, rich) are
imported inside the commands that need them.

Importing this package imports no click: ``pipeline --help`` prints the group's help as click
rendered it from this command tree (:mod:`pipeline.cli.prerendered`) while every file that
rendering depends on is unchanged, and asks click otherwise. ``cli`` (the click group) is built
when first asked for.
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing for `--help`
if TYPE_CHECKING:
    from typing import Any

    from pipeline.cli.app import PipelineGroup

# Name, module, command, and the first paragraph of its help (tests/test_cli.py holds each to
# the command's own docstring).
COMMANDS = (
    (
        "check",
        "pipeline.cli.posts",
        "check",
        "Validate the config, the credentials and every post; list all problems at once.",
    ),
    (
        "preview",
        "pipeline.cli.posts",
        "preview",
        "Render every post to HTML files, with an index page, to look at in a browser.",
    ),
    (
        "render",
        "pipeline.cli.posts",
        "render",
        "Print one post's content (POST is a slug or a path) as it would go to "
        "WordPress now: block-editor markup or classic HTML, as that post is written.",
    ),
    (
        "plan",
        "pipeline.cli.posts",
        "plan",
        "What publishing POSTS now would do; sends nothing.",
    ),
    (
        "publish",
        "pipeline.cli.posts",
        "publish",
        "Publish POSTS (slugs or paths) now: WordPress, backfills, then the announcement.",
    ),
    (
        "run",
        "pipeline.cli.run",
        "run",
        "Run the scheduler: publish each scheduled post at its time, until stopped.",
    ),
    (
        "status",
        "pipeline.cli.state",
        "status",
        "Every post: state, publish time, WordPress URL, what went out on each channel, pending.",
    ),
    (
        "log",
        "pipeline.cli.state",
        "log_command",
        "The job log, newest first: every step with its outcome, details and duration.",
    ),
    (
        "retry",
        "pipeline.cli.state",
        "retry",
        "Re-queue the failed steps of POST (a slug or a path) for the next run.",
    ),
    (
        "login",
        "pipeline.cli.login",
        "login",
        "Log in to X or WordPress.com with OAuth 2.0 in the browser.",
    ),
    (
        "import",
        "pipeline.cli.importing",
        "import_command",
        "Bring existing WordPress posts in as Markdown files under posts_dir, adopted.",
    ),
)

GC_THRESHOLDS = (50_000, 20, 100)


def group() -> PipelineGroup:
    """The click group with every command registered (lazily)."""
    from pipeline.cli.app import LazyCommand, cli

    for name, module, attribute, summary in COMMANDS:
        cli.add_lazy(LazyCommand(name, module, attribute, summary))
    return cli


def __getattr__(name: str) -> Any:
    """``pipeline.cli.cli``: the group, built when first asked for."""
    if name == "cli":
        return group()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    if sys.argv[1:] in (["--help"], ["-h"]):
        from pipeline.cli.prerendered import print_help

        if print_help():
            return
    # Posts, their parsed Markdown (kept for re-rendering) and the state are long-lived: with
    # the default thresholds the collector rescans them over and over while rendering many
    # posts (about a quarter of the time for 2,000 posts; docs/benchmarks.md).
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        group()(prog_name="pipeline")
    finally:
        # The command is done and the process exits: the interpreter's last collection would
        # walk every object still alive (some 30 ms after `status` over 2,000 posts) only to
        # free memory the exit frees anyway. Files and connections are closed by then.
        gc.freeze()
