"""``pipeline status``, ``pipeline log`` and ``pipeline retry``: reading and settling the state.

Thin over :mod:`pipeline.status`. These commands only read the settings, the credentials (to know
what to redact) and the state file; ``status`` also loads the posts. The publisher, the X client
and rich are imported only where needed, so the commands start fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import click

from pipeline.cli.app import Context
from pipeline.collector import collector_paused
from pipeline.errors import InputError

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipeline import status as state
    from pipeline.config import Settings
    from pipeline.core.records import LogEntry
    from pipeline.media import Recovered
    from pipeline.store import Store
    from pipeline.wordpress import WordPressClient
    from pipeline.workspace import Workspace

# Above this many rows the table is printed as aligned columns without a frame: rich's Table
# measures and wraps every cell, which takes about a second for 2,000 posts.
FRAMED_ROWS = 100
PIPE_WIDTH = 160
POLL_SECONDS = 0.5
STATE_STYLES = {
    "live": "green",
    "scheduled": "cyan",
    "due": "cyan",
    "queued": "cyan",
    "publishing": "cyan",
    "draft": "dim",
    "held": "yellow",
    "unknown": "yellow",
    "removed": "dim",
    "failed": "bold red",
    "conflict": "bold red",
    "invalid": "bold red",
}
STATE_RED = ("failed", "conflict", "invalid")
STATE_COLORS = {
    name: style.split()[-1] for name, style in STATE_STYLES.items() if "dim" not in style
}
OUTCOME_COLORS = {
    "done": "green",
    "failed": "red",
    "conflict": "red",
    "unknown": "yellow",
    "held": "yellow",
    "deferred": "yellow",
    "requeued": "cyan",
}


class Opened(NamedTuple):
    settings: Settings
    store: Store


@contextmanager
def opened(obj: Context) -> Iterator[Opened]:
    """The settings and the state file, and the secrets to redact; not the posts."""
    from pipeline.config import find_config, load_credentials, load_settings
    from pipeline.store import Store
    from pipeline.workspace import redactor_for

    settings = load_settings(find_config(obj.config))
    redactor = redactor_for(settings, load_credentials(settings.credentials_path))
    obj.use(redactor)
    store = Store.open(settings.db_path, redactor=redactor)
    try:
        yield Opened(settings, store)
    finally:
        store.close()


def load_posts(obj: Context, found: Opened, *, bodies: bool = True) -> Workspace:
    from pipeline.workspace import load_workspace

    workspace = load_workspace(found.settings, found.store.pinned_slugs(), bodies=bodies)
    obj.use(workspace.redactor())
    return workspace


# ---------------------------------------------------------------------------------------------
# pipeline status


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document: a list of posts.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Rebuild the state from WordPress by slug first (after the state file was lost).",
)
@click.pass_obj
def status(obj: Context, as_json: bool, rebuild: bool) -> None:
    """Every post: state, publish time, WordPress URL, what went out on each channel, pending.

    A column per channel (X, Bluesky, Mastodon) that is set up or that anything went out on,
    with the URL of the post there (--json: "announced", with its id too).

    \b
    States:
      draft       status: draft in the front matter
      ready       ready, but no time to go live yet
      scheduled   has a time in the future; due: its time has come
      queued      re-queued by `pipeline retry`: the next run publishes it
      publishing  being published now (or interrupted: the next run checks)
      live        on WordPress, published
      held        missed its time by more than the catch-up window; not published
                  late on its own (`pipeline retry POST` publishes it now)
      failed      a step failed (see Pending; `pipeline retry POST` re-queues it)
      unknown     an announcement may or may not have gone out: settle it with
                  `pipeline retry POST --mark-sent` or `--resend`
      conflict    edited in WordPress since the pipeline wrote it; left alone
      removed     in the state, but its file is gone from the posts folder
      invalid     its file has errors (`pipeline check` lists them)

    Times are in the configured timezone (UTC ISO 8601 in --json). The publish time is when
    the post went live, or its scheduled (or missed) time. More than 100 posts are printed as
    plain aligned columns.

    --rebuild, after the state file was lost: looks every post up on WordPress by its slug and
    records its id, link and status. Posts the state already knows are kept. Tweets cannot be
    rebuilt: the announcement of each live post is marked unknown, to be settled with
    `pipeline retry POST --mark-sent [--tweet-url URL]` or `--resend`, so that nothing is
    announced twice. Needs the WordPress credentials.
    """
    from contextlib import nullcontext

    # --rebuild goes online and may take long: the collector stays on for that.
    with nullcontext() if rebuild else collector_paused():
        _status(obj, as_json, rebuild)


def _status(obj: Context, as_json: bool, rebuild: bool) -> None:
    from pipeline import status as state
    from pipeline.scheduler.slots import scheduled
    from pipeline.timeutil import utc_now

    now = utc_now()
    with opened(obj) as found:
        # A listing: front matter is all it needs (`pipeline check` checks the bodies).
        workspace = load_posts(obj, found, bodies=False)
        settings = found.settings
        if rebuild:
            _rebuild(obj, workspace, found.store, err=as_json)
        slots, problems = scheduled(workspace, found.store, now)
        invalid = [
            (error.path, error.render())
            for error in workspace.loaded.errors
            if error.path is not None
        ]
        # Announcements done too: the id and URL of what went out, a column per channel.
        steps = found.store.steps_in(state.OPEN_OR_CONFLICT, done="announce")
        rows = state.status_rows(
            workspace.posts,
            slots,
            found.store.posts(),
            steps,
            now=now,
            tz=settings.timezone,
            posts_dir=settings.posts_dir,
            invalid=invalid,
        )
        spend = _x_month(found, now)
    for problem in problems:
        click.echo(f"warning: {obj.message(problem.render())}", err=True)
    if as_json:
        # One document, a post per line: readable, and json's fast encoder (indent= is slow).
        lines = obj.redactor.json_lines(row.to_json(settings.timezone) for row in rows)
        click.echo("[\n" + ",\n".join(lines) + "\n]")
    elif not rows:
        click.echo(f"No posts yet: add Markdown files to {settings.posts_dir}.")
    else:
        _print_status(rows, settings.timezone, obj, _channel_columns(workspace, rows))
    if spend is not None and not as_json:
        click.echo(spend)


def _x_month(found: Opened, now: datetime) -> str | None:
    """This month's X posts and spend, when there is a budget or something was spent."""
    from pipeline.status import month_costs

    budget = found.settings.x.monthly_budget
    summary = month_costs(found.store, "x", now, found.settings.timezone, budget)
    return summary.describe() if summary.posts or budget is not None else None


def _rebuild(obj: Context, workspace: Workspace, store: Store, *, err: bool) -> None:
    from pipeline import status as state
    from pipeline.journal import Journal
    from pipeline.timeutil import utc_now
    from pipeline.wiring import require, wordpress_client

    with require(wordpress_client(workspace), workspace) as wordpress:
        journal = Journal(store, clock=utc_now, max_attempts=workspace.settings.max_attempts)
        rebuilt = state.rebuild(
            journal, workspace.posts, wordpress, posts_dir=workspace.settings.posts_dir
        )
        recovered = _recover_media(workspace, store, wordpress, rebuilt)
    for item in rebuilt:
        click.echo(obj.redact(item.describe()), err=err)
    for image in recovered:
        click.echo(obj.redact(image.describe(workspace.settings.posts_dir)), err=err)
    if recovered:
        click.echo(f"Recovered {len(recovered)} images into the media table.", err=err)
    found = sum(1 for item in rebuilt if item.outcome == "found")
    unknown = [item.slug for item in rebuilt if item.announce == "unknown"]
    click.echo(
        f"Rebuilt {found} of {len(rebuilt)} posts from WordPress "
        f"({workspace.settings.wordpress.url}).",
        err=err,
    )
    if unknown:
        click.echo(
            "Tweets cannot be rebuilt from WordPress: the announcement of "
            f"{len(unknown)} live post(s) is marked unknown ({', '.join(unknown)}). For each, "
            "run `pipeline retry SLUG --mark-sent [--tweet-url URL]` if it was announced, or "
            "`pipeline retry SLUG --resend` to announce it.",
            err=err,
        )
    click.echo("", err=err)


def _recover_media(
    workspace: Workspace, store: Store, wordpress: WordPressClient, rebuilt: list[state.Rebuilt]
) -> list[Recovered]:
    """The images of the posts on WordPress, back in the media table, so that none is
    uploaded a second time (the listing loaded no bodies: the images need them)."""
    from pipeline.media import recover
    from pipeline.workspace import load_workspace

    ids = {item.wp_id: item.slug for item in rebuilt if item.wp_id is not None}
    remote = {ids[i]: post for i, post in wordpress.posts_by_ids(sorted(ids)).items() if i in ids}
    posts = load_workspace(workspace.settings, store.pinned_slugs()).posts
    return recover(store, wordpress, posts, remote, workspace.settings.wordpress.url)


HEADERS = ("Post", "State", "Publish time", "WordPress", "Pending")
CHANNEL_HEADERS = {"x": "X", "bluesky": "Bluesky", "mastodon": "Mastodon"}


def _channel_columns(workspace: Workspace, rows: Sequence[state.StatusRow]) -> list[str]:
    """A column for each channel set up (with credentials) or that anything went out on."""
    from pipeline import status as state
    from pipeline.wiring import channel_setups

    used = {setup.name for setup in channel_setups(workspace, online=False) if not setup.inactive}
    used |= {sent.channel for row in rows for sent in row.announced}
    return [name for name in state.CHANNEL_ORDER if name in used]


def _headers(channels: Sequence[str]) -> list[str]:
    return [*HEADERS[:4], *(CHANNEL_HEADERS[name] for name in channels), HEADERS[4]]


def _table(
    rows: Sequence[state.StatusRow], tz: ZoneInfo, obj: Context, sep: str, channels: Sequence[str]
) -> list[list[str]]:
    """The cells of every row, masked (all at once: one look for secrets in the lot)."""
    from pipeline import status as state

    table: list[list[str]] = []
    for row in rows:
        when = state.local_time(row.publish_at, tz) if row.publish_at is not None else ""
        cells = [row.name, row.state, when, row.wordpress_url or ""]
        if row.announced:
            cells += [row.on(name) for name in channels]
        else:
            cells += [""] * len(channels)
        pending = ""
        if row.pending or row.conflicts or row.notes:
            texts = [item.text for item in row.pending]
            texts += [f"conflict: {text}" for text in row.conflicts]
            texts += [f"note: {text}" for text in row.notes]
            pending = sep.join(texts)
        cells.append(pending)
        table.append(cells)
    if not table:
        return []
    width = len(table[0])
    flat = [cell for cells in table for cell in cells]
    masked = obj.redact_all(flat)
    if masked is flat:  # nothing masked (redact_all gives back the list itself)
        return table
    return [masked[start : start + width] for start in range(0, len(masked), width)]


def _print_status(
    rows: Sequence[state.StatusRow], tz: ZoneInfo, obj: Context, channels: Sequence[str]
) -> None:
    """A rich table; for many rows, aligned columns (same order, same colours, no frame)."""
    from pipeline import status as state

    if len(rows) > FRAMED_ROWS:
        _print_columns(rows, tz, obj, channels)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH  # into a file or a pager: wide rather than folded
    table = Table(highlight=False, caption=f"Times in {tz.key}.")
    *links, last = _headers(channels)[3:]
    table.add_column(HEADERS[0], no_wrap=True)
    table.add_column(HEADERS[1], no_wrap=True)
    table.add_column(HEADERS[2])
    for header in links:  # WordPress, then a column per channel
        table.add_column(header, overflow="fold")
    table.add_column(last, ratio=1, overflow="fold")
    for row, cells in zip(rows, _table(rows, tz, obj, "\n", channels), strict=True):
        name, status, *middle, pending = cells
        table.add_row(
            Text(name),
            Text(status, STATE_STYLES.get(row.state, "")),
            *(Text(cell) for cell in middle),
            Text(pending, "red" if row.state in STATE_RED else "yellow"),
        )
    console.print(table)
    console.print(state.summary(rows), style="bold")


def _print_columns(
    rows: Sequence[state.StatusRow], tz: ZoneInfo, obj: Context, channels: Sequence[str]
) -> None:
    """Plain aligned columns, coloured on a terminal: fast for thousands of rows (rich's Table
    measures and wraps every cell, about a second for 2,000 posts)."""
    from pipeline import status as state

    cells = _table(rows, tz, obj, "; ", channels)
    named = _headers(channels)
    headers = [*named[:2], f"{named[2]} ({tz.key})", *named[3:]]
    widths = [
        max(len(header), *map(len, column))
        for header, column in zip(headers, zip(*cells, strict=True), strict=True)
    ]
    # Colour only on a terminal: stripping it again from a big output would cost more than
    # everything else here.
    colored = _colored()
    paint = _painter(colored)
    lines = [
        paint("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), bold=True),
        "  ".join("-" * w for w in widths),
    ]
    if colored:
        for row, line in zip(rows, cells, strict=True):
            name, status, *middle, pending = line
            parts = [
                name.ljust(widths[0]),
                paint(status.ljust(widths[1]), STATE_COLORS.get(row.state)),
            ]
            parts += [cell.ljust(width) for cell, width in zip(middle, widths[2:-1], strict=True)]
            if pending:
                parts.append(paint(pending, "red" if row.state in STATE_RED else "yellow"))
            lines.append("  ".join(parts).rstrip())
    else:
        # The same lines uncoloured, by one format each: every cell but the last padded to its
        # column's width ({:<N} pads as ljust does), then the trailing spaces stripped.
        template = "  ".join(f"{{:<{width}}}" for width in widths[:-1]) + "  {}"
        lines += [template.format(*cells_of_row).rstrip() for cells_of_row in cells]
    lines.append(paint(state.summary(rows), bold=True))
    click.echo("\n".join(lines), color=colored)


def _painter(enabled: bool) -> Callable[..., str]:
    def paint(text: str, fg: str | None = None, bold: bool = False) -> str:
        return click.style(text, fg=fg, bold=bold) if enabled and (fg or bold) else text

    return paint


# ---------------------------------------------------------------------------------------------
# pipeline log


@click.command("log")
@click.option("--post", "-p", metavar="POST", help="Only this post (a slug, or a path).")
@click.option(
    "--status",
    "-s",
    "outcome",
    metavar="OUTCOME",
    help="Only entries with this outcome: done, failed, skipped, held, deferred, unknown, "
    "conflict, requeued, rebuilt.",
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Only entries since a time: a duration back from now (30m, 12h, 2d, 1w) or a date "
    "or date-time (2026-12-01, 2026-12-01 09:00; naive times are in the configured timezone).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (times in UTC).")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Print the latest entries, then new ones as they are written, until Ctrl-C.",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    metavar="N",
    default=50,
    show_default=True,
    help="How many entries at most (0: all).",
)
@click.pass_obj
def log_command(
    obj: Context,
    post: str | None,
    outcome: str | None,
    since: str | None,
    as_json: bool,
    follow: bool,
    limit: int,
) -> None:
    """The job log, newest first: every step with its outcome, details and duration.

    Times are in the configured timezone. Secrets never appear. With --follow the latest
    entries are printed oldest first, then new entries as they arrive (every half second).

    \b
    Examples:
      pipeline log --status failed --since 2d
      pipeline log --post fond-memories-part-2 --json
      pipeline log --follow
    """
    from pipeline import status as state
    from pipeline.timeutil import BadTime, utc_now

    with opened(obj) as found:
        tz = found.settings.timezone
        slug = _slug(obj, found, post) if post else None
        when = None
        if since is not None:
            try:
                when = state.parse_since(since, now=utc_now(), tz=tz)
            except BadTime as exc:
                raise click.BadParameter(str(exc), param_hint="--since") from exc
        outcome = outcome.lower() if outcome else None
        store = found.store
        entries = store.entries(post=slug, outcome=outcome, since=when, limit=limit or None)
        if follow:
            entries.reverse()
        _print_entries(entries, tz, obj, as_json)
        if not entries and not as_json and not follow:
            hint = ""
            if outcome and outcome not in state.OUTCOMES:
                hint = f" (outcomes are: {', '.join(state.OUTCOMES)})"
            click.echo(f"No job log entries match.{hint}", err=True)
        if not follow:
            return
        newest = store.entries(limit=1)
        last = max([e.id for e in entries] + [e.id for e in newest] + [0])
        try:
            while True:
                time.sleep(POLL_SECONDS)
                fresh = store.entries(post=slug, outcome=outcome, after_id=last, newest_first=False)
                if fresh:
                    _print_entries(fresh, tz, obj, as_json, widths=False)
                    last = fresh[-1].id
        except KeyboardInterrupt:
            return


def _slug(obj: Context, found: Opened, ref: str) -> str:
    """A slug as it is; a path (or file name) through the posts."""
    if "/" not in ref and not ref.endswith(".md"):
        return ref
    return load_posts(obj, found).find(ref).slug


def _print_entries(
    entries: Sequence[LogEntry], tz: ZoneInfo, obj: Context, as_json: bool, *, widths: bool = True
) -> None:
    """Print entries in batches (one write per thousand lines, not one per line)."""
    import json

    from pipeline import status as state

    if not entries:
        return
    if as_json:
        lines = [json.dumps(state.entry_json(e, obj.redact), ensure_ascii=False) for e in entries]
    else:
        post_width = min(32, max(len(e.post) for e in entries)) if widths else 24
        step_width = min(40, max(len(e.step) for e in entries)) if widths else 10
        paint = _painter(_colored())
        lines = [
            paint(
                state.format_entry(
                    entry, tz, redact=obj.redact, post_width=post_width, step_width=step_width
                ),
                OUTCOME_COLORS.get(entry.outcome),
            )
            for entry in entries
        ]
    for start in range(0, len(lines), 1000):
        click.echo("\n".join(lines[start : start + 1000]), color=_colored())


def _colored() -> bool:
    """Colour on a terminal (or with click's color= override); never stripped afterwards."""
    color = click.get_current_context().color
    return sys.stdout.isatty() if color is None else color


# ---------------------------------------------------------------------------------------------
# pipeline retry

URL_EXAMPLES = {
    "x": "https://x.com/USER/status/1234567890",
    "mastodon": "https://mastodon.social/@USER/1234567890",
    "bluesky": "at://did:plc:.../app.bsky.feed.post/RKEY",
}


def _check_url(url: str, channel: str) -> None:
    from pipeline import status as state

    if state.sent_id_from(url, channel) is None:
        raise click.BadParameter(
            f"expected the URL of a post on {channel} or its id, like {URL_EXAMPLES[channel]}",
            param_hint="--url",
        )


@click.command()
@click.argument("post")
@click.option(
    "--resend",
    is_flag=True,
    help="The announcement's outcome is unknown and it did NOT go out, or it was skipped (an "
    "old or imported post): compose and send it.",
)
@click.option(
    "--mark-sent",
    is_flag=True,
    help="The announcement's outcome is unknown (or it failed) but it DID go out: record it "
    "as done, so it is never sent again.",
)
@click.option(
    "--tweet-url",
    "--url",
    "tweet_url",
    metavar="URL",
    help="With --mark-sent: the announcement's URL (or id), recorded for `pipeline status` "
    "and for threading the next part under it (on Bluesky: its at:// URI, or its bsky.app URL "
    "with the DID).",
)
@click.option(
    "--channel",
    type=click.Choice(["x", "bluesky", "mastodon"]),
    help="Only this channel's announcement (and, with --resend/--mark-sent, settle it there).",
)
@click.pass_obj
def retry(
    obj: Context,
    post: str,
    resend: bool,
    mark_sent: bool,
    tweet_url: str | None,
    channel: str | None,
) -> None:
    """Re-queue the failed steps of POST (a slug or a path) for the next run.

    Failed steps (publish, announce, backfill, update) go back to pending with their attempts
    reset, due now: the next `pipeline run` (or `pipeline run --once`) does them. A held post
    (it missed its time by more than the catch-up window) is re-queued the same way, so the
    scheduler publishes it now.

    An announcement whose outcome is unknown (the process died mid-request, or the state was
    rebuilt) needs your choice: --mark-sent if it went out (optionally --url URL), or --resend
    if it did not; --channel x|bluesky|mastodon says which channel's. Every change is recorded
    in the job log.
    """
    from pipeline import status as state
    from pipeline.journal import Journal
    from pipeline.timeutil import utc_now

    if resend and mark_sent:
        raise click.UsageError("choose one of --resend and --mark-sent")
    if tweet_url and not mark_sent:
        raise click.UsageError("--tweet-url goes with --mark-sent")
    mode: state.Mode = "resend" if resend else "mark-sent" if mark_sent else "requeue"
    with opened(obj) as found:
        store = found.store
        slug = post if store.post(post) or store.steps(post=post) else None
        if slug is None:
            slug = load_posts(obj, found).find(post).slug
        steps = store.steps(post=slug)
        if tweet_url:
            _check_url(tweet_url, channel or state.channel_to_settle(steps))
        plan = state.plan_retry(slug, steps, mode=mode, tweet_url=tweet_url, channel=channel)
        journal = Journal(store, clock=utc_now, max_attempts=found.settings.max_attempts)
        state.apply_retry(journal, plan, now=utc_now(), tweet_url=tweet_url)
    for change in plan.changes:
        click.echo(obj.redact(f"{slug}: {change.name}: {change.message}"))
    for note in plan.notes:
        click.echo(obj.redact(f"{slug}: {note}"))
    for text in plan.unsettled:
        click.echo(obj.redact(f"{slug}: {text}"), err=True)
    if plan.changes:
        if any(change.new == "pending" for change in plan.changes):
            click.echo("The next `pipeline run` (or `pipeline run --once`) does them.")
        return
    if plan.unsettled:
        raise InputError(f"{slug}: nothing re-queued; the unknown outcome needs your choice")
    if not plan.notes:
        click.echo(f"{slug}: nothing to retry (no failed, held or unknown step)")
