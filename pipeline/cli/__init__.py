"""The thin command line over the library: commands are registered here, explicitly.

Each command's module is imported only when that command runs (click's "lazily loading
subcommands" pattern): `pipeline status` loads no module of `publish` or `import`, and
`pipeline --help` none at all, since the group knows each command's name and summary (a test
holds those to the commands' own docstrings). Heavy libraries (httpx, tweepy, apscheduler,
rich) are imported inside the commands that need them.
"""

from __future__ import annotations

import gc

from pipeline.cli.app import LazyCommand, cli

# Name, module, command, and the first paragraph of its help (tests/test_cli.py holds each to
# the command's own docstring).
COMMANDS = (
    LazyCommand(
        "check",
        "pipeline.cli.posts",
        "check",
        "Validate the config, the credentials and every post; list all problems at once.",
    ),
    LazyCommand(
        "preview",
        "pipeline.cli.posts",
        "preview",
        "Render every post to HTML files, with an index page, to look at in a browser.",
    ),
    LazyCommand(
        "render",
        "pipeline.cli.posts",
        "render",
        "Print one post's content (POST is a slug or a path) as it would go to "
        "WordPress now: block-editor markup or classic HTML, as that post is written.",
    ),
    LazyCommand(
        "plan",
        "pipeline.cli.posts",
        "plan",
        "What publishing POSTS now would do; sends nothing.",
    ),
    LazyCommand(
        "publish",
        "pipeline.cli.posts",
        "publish",
        "Publish POSTS (slugs or paths) now: WordPress, backfills, then the announcement.",
    ),
    LazyCommand(
        "run",
        "pipeline.cli.run",
        "run",
        "Run the scheduler: publish each scheduled post at its time, until stopped.",
    ),
    LazyCommand(
        "status",
        "pipeline.cli.state",
        "status",
        "Every post: state, publish time, WordPress URL, what went out on each channel, pending.",
    ),
    LazyCommand(
        "log",
        "pipeline.cli.state",
        "log_command",
        "The job log, newest first: every step with its outcome, details and duration.",
    ),
    LazyCommand(
        "retry",
        "pipeline.cli.state",
        "retry",
        "Re-queue the failed steps of POST (a slug or a path) for the next run.",
    ),
    LazyCommand(
        "login",
        "pipeline.cli.login",
        "login",
        "Log in to X or WordPress.com with OAuth 2.0 in the browser.",
    ),
    LazyCommand(
        "import",
        "pipeline.cli.importing",
        "import_command",
        "Bring existing WordPress posts in as Markdown files under posts_dir, adopted.",
    ),
)
for command in COMMANDS:
    cli.add_lazy(command)

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
