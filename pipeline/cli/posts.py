"""Commands on posts: check, preview, render, plan, publish."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from pipeline.cli.app import Context, PathArg
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.core.posts import Post
    from pipeline.core.render import Site
    from pipeline.wiring import Services
    from pipeline.workspace import Workspace


@click.command()
@click.option(
    "--online",
    is_flag=True,
    help="Also log in to WordPress and every channel (X, Bluesky, Mastodon).",
)
@click.pass_obj
def check(obj: Context, online: bool) -> None:
    """Validate the config, the credentials and every post; list all problems at once.

    Every announcement template (each channel's and each post's announce:) is measured against
    the limit of every channel with credentials, as that network counts.

    Exits 2 if anything must be fixed before publishing.
    """
    from pipeline.checks import (
        offline_problems,
        offline_setups,
        online_report,
        post_template_problems,
    )
    from pipeline.core.promises import promise_warnings

    # As a publish sees it: a post whose announcement can never be made is held back.
    setups = offline_setups(obj.workspace())
    workspace = obj.workspace().holding_back(post_template_problems(obj.workspace(), setups))
    # Promises of a later link are warnings with the fix, never problems: check still passes.
    for warning in (*workspace.warnings(), *promise_warnings(workspace.posts)):
        click.echo(f"warning: {obj.message(warning)}", err=True)
    problems = [*workspace.loaded.errors, *offline_problems(workspace, setups)]
    for error in problems:
        click.echo(f"error: {obj.message(error.render())}", err=True)
    click.echo(
        f"{len(workspace.posts)} posts loaded, {len(problems)} problems ({workspace.settings.path})"
    )
    code = 2 if problems else 0
    if online:
        for login in online_report(workspace):
            click.echo(obj.message(login.describe()))
            # Refused credentials are bad input, as for publish (2); an unreachable site is 1.
            code = max(code, login.exit_code)
    sys.exit(code)


@click.command()
@click.option(
    "--out",
    "-o",
    type=PathArg(file_okay=False),
    help="folder to write the HTML into [default: STATE_DIR/preview]",
)
@click.pass_obj
def preview(obj: Context, out: Path | None) -> None:
    """Render every post to HTML files, with an index page, to look at in a browser."""
    from pipeline.preview import write_preview

    workspace = obj.workspace()
    _report_problems(obj, workspace)
    target = out or workspace.settings.state_dir / "preview"
    written = write_preview(workspace.posts, workspace.settings.posts_dir, target, _site(workspace))
    click.echo(f"wrote {len(written) - 1} posts to {target}; open {written[0]} in a browser")


@click.command()
@click.argument("post")
@click.pass_obj
def render(obj: Context, post: str) -> None:
    """Print one post's content (POST is a slug or a path) as it would go to WordPress now:
    block-editor markup or classic HTML, as that post is written."""
    from pipeline.core.output import render_post

    workspace = obj.workspace()
    chosen = workspace.find(post)
    click.echo(render_post(chosen, _site(workspace)).html, nl=False)


@click.command()
@click.argument("posts", nargs=-1)
@click.option("--no-announce", is_flag=True, help="Leave the announcements out.")
@click.pass_obj
def plan(obj: Context, posts: tuple[str, ...], no_announce: bool) -> None:
    """What publishing POSTS now would do; sends nothing.

    Shows creates, updates, image uploads, backfills of earlier posts (as a diff of their text)
    and announcements with their weighted length. Without POSTS: the posts due now.
    """
    from pipeline.core.plan import describe
    from pipeline.wiring import services

    with services(obj.config, online=False) as found:
        obj.use(found.workspace.redactor())
        targets, bad = _targets(obj, found, posts)
        waiting: dict[str, str] = {}
        if not posts:
            from pipeline.scheduler.runner import due_now

            work = due_now(found, found.clock())
            targets, waiting = list(work.targets), dict(work.waiting)
        publisher = found.publisher()
        result = publisher.plan(targets, announce=not no_announce, owed=not posts, waiting=waiting)
        click.echo(describe(result, found.workspace.settings.posts_dir))
    if bad:
        sys.exit(2)


@click.command()
@click.argument("posts", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Print the plan and send nothing.")
@click.option("--no-announce", is_flag=True, help="Publish without announcing on X.")
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite edits made in WordPress since the pipeline last wrote the post.",
)
@click.pass_obj
def publish(
    obj: Context, posts: tuple[str, ...], dry_run: bool, no_announce: bool, force: bool
) -> None:
    """Publish POSTS (slugs or paths) now: WordPress, backfills, then the announcement.

    Earlier posts that promised a link to these are updated where their HTML changed. Exits 1
    if a step failed (the job log says why; it is retried later), 2 for bad input.
    """
    from pipeline.cli.progress import Lines
    from pipeline.core.plan import describe
    from pipeline.wiring import services

    with services(obj.config, online=not dry_run) as found:
        obj.use(found.workspace.redactor())
        for warning in found.workspace.warnings():
            click.echo(f"warning: {obj.message(warning)}", err=True)
        targets, bad = _targets(obj, found, posts)
        lines = Lines()
        publisher = found.publisher(echo=lambda line: lines.echo(obj.redact(line)))
        # What is printed is what runs: the same plan object is executed below.
        chosen = publisher.plan(
            targets, announce=not no_announce, force=force, refresh=not dry_run and bool(targets)
        )
        click.echo(describe(chosen, found.workspace.settings.posts_dir))
        if dry_run or not targets:
            sys.exit(2 if bad else 0)
        click.echo("")
        with lines.bar(len(chosen.keys()), "publishing") as on_item:
            result = publisher.execute(chosen, force=force, on_item=on_item)
    for held in result.held:
        click.echo(f"held: {obj.redact(held)}", err=True)
    for conflict in result.conflicts:
        click.echo(
            f"conflict: {conflict} was edited in WordPress; left alone "
            f"(`pipeline publish {conflict} --force` overwrites it)",
            err=True,
        )
    if bad:
        sys.exit(2)
    for unknown in result.unknown:
        click.echo(f"unknown: {obj.redact(unknown)}", err=True)
    if result.failed:
        click.echo(
            f"{len(result.failed)} step(s) failed; see `pipeline log --status failed`", err=True
        )
    if not result.ok:
        sys.exit(1)


def _targets(obj: Context, found: Services, refs: tuple[str, ...]) -> tuple[list[Post], list[str]]:
    """The posts named on the command line; a bad one is reported and the rest go on."""
    targets: list[Post] = []
    bad: list[str] = []
    for ref in refs:
        try:
            targets.append(found.workspace.find(ref))
        except InputError as exc:
            click.echo(f"skipped: {obj.message(exc.render())}", err=True)
            bad.append(ref)
    return targets, bad


def _site(workspace: Workspace) -> Site:
    """What rendering knows from the state, if this site has one yet: the live permalinks and
    the markup each post is written in (as publishing would write it)."""
    from pipeline.core.output import DIALECT_KEY, dialect_from, styles_for
    from pipeline.core.plan import live_map
    from pipeline.core.posts import series_index
    from pipeline.core.render import Site
    from pipeline.store import Store

    slugs = [post.slug for post in workspace.posts]
    records, saved = {}, None
    if workspace.settings.db_path.exists():
        store = Store.open(workspace.settings.db_path)
        try:
            records, saved = store.posts(), store.meta(DIALECT_KEY)
        finally:
            store.close()
    default = workspace.settings.wordpress.format
    return Site(
        live=live_map(records),
        series=series_index(workspace.posts),
        styles=styles_for(slugs, records, default, dialect_from(saved)),
    )


def _report_problems(obj: Context, workspace: Workspace) -> None:
    """Bad posts are reported and skipped; the rest of the batch goes on."""
    for error in workspace.loaded.errors:
        click.echo(f"skipped: {obj.message(error.render())}", err=True)
