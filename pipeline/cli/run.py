"""``pipeline run``: the scheduler, and ``--once`` for cron and CI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click

from pipeline.cli.app import Context


def _log_to_stderr(redact: Callable[[str], str]) -> None:
    import logging

    from pipeline.redactlog import RedactingFormatter

    handler = logging.StreamHandler(sys.stderr)
    # Masked here as well as by the stream: a traceback is formatted here, in one piece.
    line = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(redact, line))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # APScheduler's own INFO lines ("Added job", "Running job") repeat ours: warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request: too much


@click.command()
@click.option(
    "--once",
    is_flag=True,
    help="Do what is due now (scheduled posts, retries, owed announcements, backfills) and "
    "exit; for cron and CI.",
)
@click.option(
    "--check-every",
    type=click.FloatRange(min=1),
    default=30,
    show_default=True,
    metavar="SECONDS",
    help="How often the scheduler looks for retries, deferred announcements and backfills.",
)
@click.option(
    "--watch-every",
    type=click.FloatRange(min=0.1),
    default=2,
    show_default=True,
    metavar="SECONDS",
    help="How often the scheduler looks for changes to pipeline.toml and posts/.",
)
@click.pass_obj
def run(obj: Context, once: bool, check_every: float, watch_every: float) -> None:
    """Run the scheduler: publish each scheduled post at its time, until stopped.

    Each post in [[schedule]] or with publish_at gets a job at its time, built from the files
    and the state folder on every start; a post goes live within a second of its time. After
    downtime, posts due within the catch-up window (catch_up, default 24h) go out on start;
    older ones are held and reported (publish them with `pipeline publish`). Jobs follow
    changes to pipeline.toml and posts/, and SIGHUP. SIGTERM or Ctrl-C finishes the run in
    progress and exits. One `pipeline run` per state folder: a second one refuses. Logs go to
    stderr.

    With --once: do what is due now and exit. Exits 1 if a step failed, 2 if the schedule has
    bad entries, 0 otherwise.
    """
    if once:
        _once(obj)
        return
    from pipeline.config import find_config, load_credentials, load_settings
    from pipeline.scheduler.service import Scheduler
    from pipeline.workspace import redactor_for

    settings = load_settings(find_config(obj.config))
    obj.use(redactor_for(settings, load_credentials(settings.credentials_path)))
    scheduler = Scheduler(
        obj.config,
        tick=timedelta(seconds=check_every),
        poll=timedelta(seconds=watch_every),
        echo=click.echo,  # masked by the output stream, with the credentials as they are now
    )
    obj.follow = scheduler.redactor
    _log_to_stderr(obj.redact)
    scheduler.run(settings)


def _once(obj: Context) -> None:
    from pipeline.scheduler.service import describe_report, run_once, upcoming
    from pipeline.wiring import services

    with services(obj.config) as found:
        obj.use(found.workspace.redactor())
        for warning in found.workspace.warnings():
            click.echo(f"warning: {obj.message(warning)}", err=True)
        now = datetime.now(UTC)
        report = run_once(found, now, echo=lambda line: click.echo(obj.redact(line)))
        later = upcoming(found, now)
        tz = found.workspace.settings.timezone
        # Posts that did not load are skipped, whether due or not: they are bad input all
        # the same, and one of them may be a post due now.
        problems = [*found.workspace.loaded.errors, *report.problems]
    for problem in problems:
        click.echo(f"skipped: {obj.message(problem.render())}", err=True)
    for slug in report.result.conflicts:
        click.echo(
            f"conflict: {slug} was edited in WordPress; left alone "
            f"(`pipeline publish {slug} --force` overwrites it)",
            err=True,
        )
    click.echo(obj.redact(describe_report(report)))
    if later:
        first = later[0]
        click.echo(
            f"next: {first.slug} at {first.at.astimezone(tz):%Y-%m-%d %H:%M %Z} "
            f"({len(later)} scheduled)"
        )
    for unknown in report.result.unknown:
        click.echo(f"unknown: {obj.redact(unknown)}", err=True)
    if report.result.failed:
        click.echo(
            f"{len(report.result.failed)} step(s) failed; see `pipeline log --status failed`",
            err=True,
        )
    if not report.result.ok:
        sys.exit(1)
    if problems:
        sys.exit(2)
