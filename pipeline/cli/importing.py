"""``pipeline import``: existing WordPress posts in as post files, adopted by the state.

The converter (BeautifulSoup, markdownify) and the WordPress client are imported inside the
command: ``pipeline --help`` and every other command stay fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

import click

from pipeline.cli.app import Context, PathArg
from pipeline.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.adopting import Adopted
    from pipeline.config import Credentials, Settings
    from pipeline.importer import ImportPlan, ImportResult
    from pipeline.wordpress import WordPressClient

WORDPRESS_STATUSES = ("publish", "future", "draft", "pending", "private")


@click.command("import")
@click.option("--slug", "slugs", multiple=True, metavar="S", help="A post by its slug (repeat).")
@click.option(
    "--id", "ids", multiple=True, type=int, metavar="N", help="A post by its id (repeat)."
)
@click.option("--all", "every", is_flag=True, help="Every post in --status (dated after --since).")
@click.option(
    "--status",
    "status_list",
    default="publish,future,draft",
    show_default=True,
    metavar="LIST",
    help="With --all or --wxr: the WordPress statuses to import.",
)
@click.option("--since", metavar="D", help="Only posts dated after D (2024-01-01, or 30d).")
@click.option("--force", is_flag=True, help="Overwrite post files that exist.")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--wxr",
    type=PathArg(dir_okay=False),
    metavar="FILE",
    help="Read a WordPress export file (wp-admin: Tools → Export) instead of the site.",
)
@click.pass_obj
def import_command(
    obj: Context,
    slugs: tuple[str, ...],
    ids: tuple[int, ...],
    every: bool,
    status_list: str,
    since: str | None,
    force: bool,
    dry_run: bool,
    wxr: Path | None,
) -> None:
    """Bring existing WordPress posts in as Markdown files under posts_dir, adopted.

    Each post becomes POSTS_DIR/SLUG.md (front matter, the body in Markdown), its images are
    fetched into POSTS_DIR/images/, and the state adopts it: publishing the unchanged file
    writes nothing, a later edit updates the same post, and a live post is never announced
    unless you ask (`pipeline retry POST --resend`). Existing files are never overwritten
    without --force. Promises of a later link ("I'll link them here") are pointed out.
    Exits 2 for bad input (an unknown slug or id, a file that is not an export, a file that
    exists, no credentials), with nothing written; 1 if an image could not be fetched (the
    rest is written, and the problem listed).
    """
    from pipeline.config import find_config, load_credentials, load_settings
    from pipeline.workspace import redactor_for

    settings = load_settings(find_config(obj.config))
    credentials = load_credentials(settings.credentials_path)
    obj.use(redactor_for(settings, credentials))
    choice = Choice(slugs, ids, every, _statuses(status_list), _since(since, settings))
    claimed, pinned = _known_images_and_slugs(settings)
    client = _client(settings, credentials, required=wxr is None)
    try:
        plan = _plan(client, settings, choice, claimed, wxr)
        _check_slugs(plan, settings, pinned)
        if dry_run:
            _show(obj, plan, force=force)
            return
        result = _write(plan, client, force=force)
    finally:
        client.close()
    adopted = _adopt(settings, plan, result) if _same_site(plan, settings) else None
    _summary(obj, plan, result, adopted, settings)
    if result.problems:
        sys.exit(1)


class Choice(NamedTuple):
    slugs: Sequence[str]
    ids: Sequence[int]
    every: bool
    statuses: Sequence[str]
    since: datetime | None


def _plan(
    client: WordPressClient,
    settings: Settings,
    choice: Choice,
    claimed: dict[str, str],
    wxr: Path | None,
) -> ImportPlan:
    """What would be written; every check that can refuse the import runs here."""
    from pipeline.importer import plan_from_wordpress, plan_from_wxr

    if wxr is not None:
        return plan_from_wxr(
            wxr,
            settings.posts_dir,
            statuses=choice.statuses,
            claimed=claimed,
            slugs=choice.slugs,
            ids=choice.ids,
            since=choice.since,
            site=settings.wordpress.url,
        )
    return plan_from_wordpress(
        client,
        settings.posts_dir,
        settings.wordpress.url,
        slugs=choice.slugs,
        ids=choice.ids,
        every=choice.every,
        statuses=choice.statuses,
        since=choice.since,
        claimed=claimed,
    )


def _show(obj: Context, plan: ImportPlan, *, force: bool) -> None:
    """``--dry-run``: the plan, and the refusal the real run would stop with."""
    for line in plan.lines() or ["nothing to import"]:
        click.echo(obj.redact(line))
    if plan.existing and not force:
        from pipeline.importer import existing_error

        raise existing_error(plan.existing)
    click.echo("dry run: nothing written")


def _statuses(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    wrong = [status for status in chosen if status not in WORDPRESS_STATUSES]
    if wrong or not chosen:
        raise InputError(
            f"--status {text!r}: {', '.join(wrong) or 'no status'} is not a WordPress status",
            fix=f"give a comma-separated list of {', '.join(WORDPRESS_STATUSES)}",
        )
    return chosen


def _since(text: str | None, settings: Settings) -> datetime | None:
    from pipeline.status import parse_since
    from pipeline.timeutil import BadTime, utc_now

    if text is None:
        return None
    try:
        return parse_since(text, now=utc_now(), tz=settings.timezone)
    except BadTime as exc:
        raise InputError(f"--since: {exc}", fix="give a date (2024-01-01) or 30d") from exc


def _known_images_and_slugs(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """The images already in the posts folder (path -> the URL the state knows it by, or a
    mark), so that none is overwritten by another image of the same name; and the slugs the
    state pins. Read only: nothing is created when the state file is not there yet."""
    from pipeline.core.importing import IMAGES_DIR
    from pipeline.media import file_hash
    from pipeline.store import Store

    folder = settings.posts_dir / IMAGES_DIR
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    claimed = {
        p.relative_to(settings.posts_dir).as_posix(): "(a file already there)" for p in files
    }
    if not settings.db_path.exists():
        return claimed, {}
    store = Store.open(settings.db_path)
    try:
        for path in files:
            known = store.media(file_hash(path))
            if known is not None:
                claimed[path.relative_to(settings.posts_dir).as_posix()] = known[1]
        return claimed, store.pinned_slugs()
    finally:
        store.close()


def _client(settings: Settings, credentials: Credentials, *, required: bool) -> WordPressClient:
    """The site's client; without credentials, one that can only download (export files)."""
    import httpx

    from pipeline import __version__
    from pipeline.config import missing_wordpress_credentials
    from pipeline.wordpress import WordPressClient, make_http_client, require_secure

    creds = credentials.wordpress
    if not creds.configured:
        if required:
            raise missing_wordpress_credentials(settings.credentials_path)
        require_secure(settings.wordpress.url, settings.wordpress.allow_insecure_http)
        headers = {"User-Agent": f"pipeline/{__version__}"}
        http = httpx.Client(timeout=settings.wordpress.timeout, headers=headers)
        return WordPressClient(
            http,
            settings.wordpress.api_root,
            settings.wordpress.url,
            "(anonymous)",
            allow_insecure_http=settings.wordpress.allow_insecure_http,
        )
    http = make_http_client(settings.wordpress, creds)
    return WordPressClient.connect(http, settings.wordpress, creds)


def _check_slugs(plan: ImportPlan, settings: Settings, pinned: dict[str, str]) -> None:
    """A post of the folder that already has an imported post's slug, in another file, would
    make both fail to load: stop before writing."""
    from pipeline.loading import load_posts

    if not settings.posts_dir.is_dir():
        return
    by_slug = load_posts(settings.posts_dir, settings.timezone, pinned, bodies=False).by_slug()
    for item in plan.files:
        other = by_slug.get(item.source.slug)
        if other is not None and other.path.resolve() != (plan.posts_dir / item.path).resolve():
            raise InputError(
                f"already has the slug {item.source.slug!r} of WordPress post {item.source.id}",
                path=other.path,
                line=other.line_of("slug"),
                fix="that file is this post already: leave it out of the import, or move the "
                "file away to import it anew",
            )


def _write(plan: ImportPlan, client: WordPressClient, *, force: bool) -> ImportResult:
    from pipeline.cli.progress import Lines
    from pipeline.importer import write_plan

    with Lines().bar(len(plan.images) + len(plan.files), "importing") as on_item:
        return write_plan(plan, client.download, force=force, on_item=on_item)


def _same_site(plan: ImportPlan, settings: Settings) -> bool:
    """Posts are adopted only from the configured site (an export of another site is files
    only: publishing them creates them on this one, as old posts)."""
    from pipeline.importer import same_site

    return same_site(settings.wordpress.url, plan.site_url)


def _adopt(settings: Settings, plan: ImportPlan, result: ImportResult) -> list[Adopted]:
    from pipeline.adopting import adopt
    from pipeline.store import Store
    from pipeline.timeutil import utc_now

    store = Store.open(settings.db_path)
    try:
        return adopt(settings, store, plan, result, clock=utc_now)
    finally:
        store.close()


def _summary(
    obj: Context,
    plan: ImportPlan,
    result: ImportResult,
    adopted: Sequence[Adopted] | None,
    settings: Settings,
) -> None:
    by_slug = {item.slug: item for item in adopted or ()}
    for item in plan.files:
        path = plan.posts_dir / item.path
        click.echo(
            obj.redact(f"wrote {path}  <- WordPress post {item.source.id} ({item.source.status})")
        )
        for what in item.inferred:
            click.echo(f"    inferred: {what}")
        found = by_slug.get(item.source.slug)
        if found is not None:
            click.echo(obj.redact(f"    {found.describe()}"))
        for warning in item.warnings:
            click.echo(f"    warning: {warning.render(path)}")
    for image in result.images:
        click.echo(f"image {image}")
    for problem in result.problems:
        click.echo(obj.redact(f"problem: {problem}"), err=True)
    noun = "post" if len(result.written) == 1 else "posts"
    if adopted is None:
        tail = (
            f"; not adopted: the export is of {plan.site_url}, not {settings.wordpress.url} "
            "(publishing them creates them there, as old posts: backdated to their dates, "
            "not announced)"
        )
    else:
        tail = f", {len(adopted)} adopted (publishing an unchanged file writes nothing)"
    click.echo(f"imported {len(result.written)} {noun} and {len(result.images)} images{tail}")
