"""Plan, then execute exactly that plan: publish to WordPress, backfill, announce on each channel.

This is the one code path: ``pipeline publish``, ``--dry-run``, ``pipeline plan`` and the
scheduler's jobs all go through :meth:`Publisher.plan` then :meth:`Publisher.execute`. The plan
is built whole from what is known (the posts, the state, and — when online — WordPress read once);
execution carries out its items in its order. Under the post's lock each item first compares the
record with what it was planned on; if another process changed it meanwhile, that post alone is
planned again and the job log says why.

Every step change goes through the journal (:mod:`pipeline.journal`): recorded before and after it
runs, so a crash at any point is resumed without duplicates — a create always looks the slug up
first; an announcement interrupted mid-call is looked up on the channel (or, on X, re-sent with the
same text so that X's duplicate check decides).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import mimetypes
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field
from msgspec.structs import replace

from pipeline.channels.base import Channel, ChannelSetup, Outgoing, Sent
from pipeline.collector import collector_paused
from pipeline.config import Settings, XSettings, missing_wordpress_credentials
from pipeline.core import edits
from pipeline.core.announce import compose
from pipeline.core.blocks import Dialect, dialect_of
from pipeline.core.costs import (
    month_label,
    over_budget_reason,
    post_cost,
    within_budget,
)
from pipeline.core.output import (
    DIALECT_KEY,
    Style,
    dialect_from,
    dialect_read_at,
    saved_dialect,
    styles_for,
)
from pipeline.core.plan import (
    AnnounceItem,
    BackfillItem,
    Plan,
    PublishItem,
    Seen,
    apply_renames,
    desired,
    make_plan,
    old_post_date,
    renames,
)
from pipeline.core.posts import Image, Post, predicted_url, series_index
from pipeline.core.records import PostRecord, Step
from pipeline.core.render import Site
from pipeline.core.steps import Status, is_due, status_of, waiting_until
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    CannotTell,
    CreditsExhausted,
    DuplicatePost,
    InputError,
    PipelineError,
    RateLimited,
)
from pipeline.journal import Journal, retries_recorded
from pipeline.media import media_key
from pipeline.status import month_costs
from pipeline.timeutil import from_iso, utc_iso

if TYPE_CHECKING:
    from pipeline.wordpress import PostFields, RemoteMedia, RemotePost, WordPressClient

Clock = Callable[[], datetime]
Echo = Callable[[str], None]
OnItem = Callable[[str, str], None]  # (plan item key, outcome), as each item is carried out

# The job log's name for work that is for the whole site (the refresh, resolving terms).
SITE = "(site)"
log = logging.getLogger("pipeline.publisher")
DIALECT_TTL = timedelta(days=1)  # a site's WordPress is updated now and then, not every run

# How long a publish waits for another process working on the same post (a scheduler run and a
# one-shot publish): long enough for a slow WordPress, short enough to fail visibly.
LOCK_WAIT = 120.0
# An announcement settled by the network's duplicate check whose post could not be looked up.
NO_ID = (
    "; its id and URL could not be found (the account's recent posts do not show it): the next "
    "part is not threaded under it"
)
# Before a create whose outcome is unknown is tried again, so that a request WordPress may still
# be working on (the answer timed out) has saved its post and the slug lookup finds it.
SETTLE_PAUSE = 1.0
FIRST_SENT = "first_sent_at"  # in an announcement step's detail: when it was first attempted


class Result(Struct):
    """What one execution did, for the CLI's summary and exit code."""

    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # outcomes the writer has to settle
    held: list[str] = field(default_factory=list)  # waits for the writer (credits, budget, keys)
    executed: list[tuple[str, str]] = field(default_factory=list)  # (plan item key, outcome)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unknown and not self.held and not self.conflicts

    def record(self, key: str, outcome: str) -> None:
        self.executed.append((key, outcome))


class Freshness(Struct):
    """When this process last read every known post from WordPress (:meth:`Publisher.refresh`).

    A running scheduler keeps one: its runs come seconds apart and its own writes keep the state
    true between them, so a run within ``every`` of the last refresh plans on the state as it
    is. What someone else changes in WordPress meanwhile is noticed at the next refresh, at most
    ``every`` (the scheduler's tick) later — as a change made just after a refresh always was;
    every write still reads its post first (the slug lookup, or the edit check). A one-shot
    command has none and always refreshes.
    """

    every: timedelta
    at: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        return self.at is not None and timedelta(0) <= now - self.at < self.every


class Publisher:
    def __init__(
        self,
        settings: Settings,
        posts: Sequence[Post],
        wordpress: WordPressClient | None,
        channels: Sequence[ChannelSetup],
        *,
        journal: Journal,
        freshness: Freshness | None = None,
    ) -> None:
        self.settings = settings
        self.freshness = freshness
        self.posts = {post.slug: post for post in posts}
        self.series = series_index(posts)
        self.journal = journal
        self.store = journal.store
        self.clock = journal.clock
        self.wordpress = wordpress
        self.channels = {setup.name: setup for setup in channels}
        self.settle_pause = SETTLE_PAUSE
        self._media_lock = threading.Lock()
        self._hashes: dict[Path, str] = {}
        # Posts as this run's refresh read them, by WordPress id; each serves one update.
        self._seen: dict[int, RemotePost] = {}
        # What one lookup of the new posts' slugs found, by slug; each serves one create.
        self._looked_up: dict[str, RemotePost | None] = {}
        self._site_dialect: Dialect | None = None
        # Channels that refused this run's credentials or are out of credits: not called again
        # in this run (each call would fail the same), their announcements held with the reason.
        self._halted: dict[str, str] = {}

    # -- planning --------------------------------------------------------------------------

    def plan(
        self,
        targets: Sequence[Post],
        *,
        announce: bool = True,
        force: bool = False,
        owed: bool = False,
        refresh: bool = False,
        waiting: Mapping[str, str] | None = None,
    ) -> Plan:
        """The whole plan for making ``targets`` live now and everything else up to date.

        ``owed`` adds the announcements of other live posts that are due again (the scheduler's
        runs); ``refresh`` first reads from WordPress which posts were unpublished, trashed or
        deleted there, so that the plan is what will happen. ``waiting`` are due posts that
        wait for an earlier part (slug -> why): planned as waiting, nothing done.
        """
        if refresh:
            wordpress = self._wordpress()  # no credentials: said even when nothing is read
            if self._refresh_needed(targets):
                with retries_recorded(self.journal), self._site_step("refresh"):
                    self.refresh(wordpress)
        recorded = self.store.posts()
        moved = renames(list(self.posts.values()), recorded, self.settings.posts_dir.resolve())
        records = dict(apply_renames(recorded, moved))
        # A renamed post is announced under the permalink its new slug gives it.
        announced = {**records, **{new: replace(records[new], permalink=None) for new in moved}}
        waiting = waiting or {}
        held_back = [self.posts[slug] for slug in waiting if slug in self.posts]
        targets = [post for post in targets if post.slug not in waiting]
        backdates = {
            post.slug: date
            for post in targets
            if (date := self.old_date(post, records.get(post.slug))) is not None
        }
        items = self._announcements(
            targets, announced, announce=announce, owed=owed, backdates=backdates
        )
        with collector_paused():  # every post rendered again is kept to the plan's end
            plan = make_plan(
                list(self.posts.values()),
                records,
                targets,
                site_url=self.settings.wordpress.url,
                media=self._known_media(*self.posts.values()),
                image_hashes=self._image_hashes(),
                announcements=items,
                force=force,
                renames=moved,
                backdates=backdates,
                styles=self._styles(records),
                media_ids=self._known_media_ids(*self.posts.values()),
            )
        waits = tuple(
            PublishItem(p.slug, "waits", p.title, (), p.categories, p.tags, waiting[p.slug])
            for p in held_back
        )
        return replace(plan, publishes=plan.publishes + waits)

    def old_date(self, post: Post, record: PostRecord | None) -> datetime | None:
        """The date ``post`` keeps if it goes live now as an old post (see
        :func:`pipeline.core.plan.old_post_date`). A publish tried before decides as its first
        try did; one never tried that the writer re-queued (a held post) goes out now."""
        step = self.store.step(post.slug, "publish")
        detail = step.detail if step is not None else {}
        tried = detail.get("first_tried")
        return old_post_date(
            post,
            record,
            now=self.clock(),
            catch_up=self.settings.catch_up,
            released=bool(detail.get("requeued_at")) and not tried,
            tried_at=from_iso(tried) if tried else None,
        )

    def fingerprint(self, post: Post) -> str:
        """The fingerprint of what publishing ``post`` now would send, as the plan compares it
        with the record's ``sent_hash``: a post adopted with it is planned ``unchanged``."""
        record = self.store.post(post.slug)
        site = Site(
            live=self.store.live_view(),
            series=self.series,
            media=self._known_media(post),
            media_ids=self._known_media_ids(post),
            styles=self._styles({post.slug: record} if record else {}, [post.slug]),
        )
        featured = post.featured_image
        return desired(
            post, site, self._image_hashes()[featured.path] if featured else None
        ).fingerprint

    def _announcements(
        self,
        targets: Sequence[Post],
        records: dict[str, PostRecord],
        *,
        announce: bool,
        owed: bool,
        backdates: dict[str, datetime],
    ) -> list[AnnounceItem]:
        chosen = {post.slug: post for post in targets}
        if owed:
            for slug, record in records.items():
                if record.live and slug in self.posts:
                    chosen.setdefault(slug, self.posts[slug])
        target_slugs = {t.slug for t in targets}
        items: list[AnnounceItem] = []
        # This month's spend per channel with a budget, with what this plan sends before.
        spent: dict[str, Decimal] = {}
        for post in sorted(chosen.values(), key=_series_order):
            known = records.get(post.slug)
            url = (
                known.permalink
                if known is not None and known.permalink
                else predicted_url(self.settings.wordpress.url, post.slug)
            )
            for setup in self.channels.values():
                step = self.store.step(post.slug, "announce", setup.name)
                if post.slug not in target_slugs and not self._owed(known, setup, step):
                    continue  # an owed-only pass leaves alone what is not due
                if _budget(setup) is not None and setup.name not in spent:
                    spent[setup.name] = self._spent(setup.name)
                # Announcements this plan settles before this one (sent, or skipped).
                earlier = {i.slug for i in items if i.channel == setup.name and (i.sends or i.skip)}
                item = self.announcement(
                    post,
                    url,
                    setup,
                    step,
                    announce=announce,
                    spent=spent.get(setup.name),
                    old=backdates.get(post.slug),
                    sending=earlier,
                )
                if item.sends and item.cost is not None and setup.name in spent:
                    spent[setup.name] += item.cost
                items.append(item)
        return items

    def _owed(self, record: PostRecord | None, setup: ChannelSetup, step: Step | None) -> bool:
        """An announcement of a live post still owed: never attempted (a run died between
        going live and announcing), interrupted, deferred, or failed with retries left whose
        time has come. Posts that went live before the channel was set up are not owed there:
        adding Bluesky credentials does not announce the whole back catalogue."""
        if step is not None:
            return is_due(step, self.clock())
        since = self.store.channel_since(setup.name)
        live_at = record.live_at if record is not None else None
        return since is not None and live_at is not None and live_at >= since

    def announcement(
        self,
        post: Post,
        url: str,
        setup: ChannelSetup,
        step: Step | None,
        *,
        announce: bool = True,
        spent: Decimal | None = None,
        old: datetime | None = None,
        sending: Collection[str] = (),
    ) -> AnnounceItem:
        """What will be done with one post's announcement on one channel.

        ``spent``: this month's spend on the channel so far, when the caller knows it (a plan
        counts in what it sends before this item); otherwise it is read from the state.
        ``old``: the date of an old post going live now (not announced unless the writer asks).
        ``sending``: the posts whose announcement on it goes out before this one in the plan.
        """
        status = status_of(step)
        base = AnnounceItem(post.slug, "", 0, None, channel=setup.name)
        if status in (Status.DONE, Status.SKIPPED):
            return replace(base, wait=f"already {status}")
        if status is Status.UNKNOWN:
            return replace(
                base, wait=f"outcome unknown: settle it with `pipeline retry {post.slug}`"
            )
        if status is Status.HELD:
            return replace(base, wait=f"held: {step.error if step else ''}")
        template = _template(post, setup)
        if template is None:
            return replace(base, skip="announce: false in front matter")
        if not announce:
            return replace(base, skip="--no-announce")
        if old is not None:
            return replace(
                base,
                skip=f"an old post (dated {utc_iso(old)}): not announced; "
                f"`pipeline retry {post.slug} --resend --channel {setup.name}` announces it",
            )
        try:
            limits = setup.known_limits()
            text = compose(
                template,
                title=post.title,
                url=url,
                excerpt=post.excerpt,
                series=post.series,
                part=post.part,
                tags=post.tags,
                limits=limits,
            )
        except InputError as exc:
            if setup.inactive is not None:  # nothing would be sent there anyway
                return replace(base, skip=setup.inactive)
            return replace(base, hold=f"{post.path}:{post.line_of('announce')}: {exc.render()}")
        item = replace(
            base,
            text=text.text,
            length=text.length,
            limit=limits.max_length,
            reply_to=self._previous_part(post, setup),
            cost=post_cost(text.text, setup.settings.prices)
            if isinstance(setup.settings, XSettings)
            else None,
        )
        if setup.inactive is not None:
            return replace(item, skip=setup.inactive)
        if setup.incomplete is not None:
            return replace(item, hold=setup.incomplete)
        until = waiting_until(step, self.clock())
        if until is not None:
            return replace(item, wait=f"deferred until {utc_iso(until)}")
        over = self._over_budget(post.slug, setup, item.cost, spent)
        if over is not None:
            return replace(item, hold=over)
        previous = item.reply_to
        if previous and previous not in sending and self._still_coming(previous, setup.name):
            why = f"waits for {previous}'s announcement on {setup.name}, to be threaded under it"
            return replace(item, wait=why)
        return item

    def _still_coming(self, slug: str, channel: str) -> bool:
        """Is this post's announcement on ``channel`` still to be sent (owed and not yet tried,
        interrupted, deferred, or failed with a retry ahead)? A part's reply waits for it
        rather than go unthreaded."""
        step = self.store.step(slug, "announce", channel)
        if step is None:
            setup = self.channels[channel]
            return slug in self.posts and self._owed(self.store.post(slug), setup, None)
        status = status_of(step)
        if status in (Status.RUNNING, Status.PENDING):
            return True
        return status is Status.FAILED and step is not None and step.next_attempt_at is not None

    def _spent(self, channel: str) -> Decimal:
        """What was sent on ``channel`` this calendar month (site timezone), by the job log."""
        return month_costs(self.store, channel, self.clock(), self.settings.timezone).spend

    def _over_budget(
        self, slug: str, setup: ChannelSetup, cost: Decimal | None, spent: Decimal | None
    ) -> str | None:
        """Why sending would take the month over the channel's budget, if it would."""
        budget = _budget(setup)
        if budget is None or cost is None:
            return None
        spent = self._spent(setup.name) if spent is None else spent
        if within_budget(spent, cost, budget):
            return None
        month = month_label(self.clock(), self.settings.timezone)
        return over_budget_reason(spent, cost, budget, month, slug)

    def _previous_part(self, post: Post, setup: ChannelSetup) -> str | None:
        if not setup.settings.thread_series or post.series is None or post.part is None:
            return None
        earlier = [p for p in self.series[post.series] if p.part is not None and p.part < post.part]
        return earlier[-1].slug if earlier else None

    def _image_hashes(self) -> dict[Path, str]:
        for post in self.posts.values():
            for image in _images(post):
                if image.path not in self._hashes:
                    self._hashes[image.path] = _file_hash(image.path)
        return self._hashes

    # -- executing -------------------------------------------------------------------------

    def publish(
        self,
        targets: Sequence[Post],
        *,
        announce: bool = True,
        force: bool = False,
        owed: bool = False,
        waiting: Mapping[str, str] | None = None,
    ) -> Result:
        """Plan with what WordPress says now, then execute that plan."""
        plan = self.plan(
            targets, announce=announce, force=force, owed=owed, refresh=True, waiting=waiting
        )
        return self.execute(plan, force=force)

    def execute(self, plan: Plan, *, force: bool = False, on_item: OnItem | None = None) -> Result:
        """Carry out exactly ``plan``'s items, in order; each outcome is recorded in the result
        and handed to ``on_item`` (a progress bar) as it is known."""
        result = Result()
        for name, setup in self.channels.items():
            if setup.client is not None:
                self.store.note_channel(name)
        with retries_recorded(self.journal):
            self._apply_renames(plan)
            writes = [i for i in plan.publishes if i.action in ("create", "update")]
            unread = self._unread(plan)
            if writes or unread:
                with self._site_step("prepare"):
                    self._prepare(self._wordpress(), writes, unread)
            chains = _chains(plan.publishes, self.posts)
            workers = max(1, min(self.settings.wordpress.concurrency, len(chains)))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done: dict[str, tuple[str, str]] = {}
                for chain in pool.map(lambda c: self._publish_chain(c, force), chains):
                    for key, outcome in chain:
                        done[key] = outcome
                        if on_item is not None:
                            on_item(key, outcome[0])  # as each chain is done
            outcomes = [done[item.key] for item in plan.publishes]
            for item, outcome in zip(plan.publishes, outcomes, strict=True):
                self._tally(result, item.key, item.slug, outcome)
            for backfill in plan.backfills:
                outcome = self._backfill_item(backfill, force)
                self._tally(result, backfill.key, backfill.slug, outcome, on_item)
            for note in plan.announcements:
                outcome = self._announce_item(note)
                self._tally(result, note.key, note.slug, outcome, on_item)
        return result

    def _tally(
        self,
        result: Result,
        key: str,
        slug: str,
        outcome: tuple[str, str],
        on_item: OnItem | None = None,
    ) -> None:
        kind, what = outcome
        result.record(key, kind)
        if on_item is not None:
            on_item(key, kind)
        bucket = {
            "done": result.done,
            "failed": result.failed,
            "conflict": result.conflicts,
            "deferred": result.deferred,
            "unknown": result.unknown,
            "held": result.held,
        }.get(kind)
        if bucket is not None:
            bucket.append(f"{slug}: {what}" if kind != "conflict" else slug)

    def _apply_renames(self, plan: Plan) -> None:
        for item in plan.publishes:
            if item.renamed_from is not None and self.store.post(item.slug) is None:
                self.store.rename_post(item.renamed_from, item.slug)
                self.journal.event(
                    item.slug, "rename", "done", f"slug {item.renamed_from} -> {item.slug}"
                )

    @contextmanager
    def _site_step(self, step: str) -> Iterator[None]:
        """Work for the whole site, not one post: its retries and its failure are in the job
        log too, under ``(site)``."""
        with self.journal.working_on(SITE, step):
            try:
                yield
            except PipelineError as exc:
                self.journal.event(SITE, step, "failed", str(exc))
                raise

    def refresh(self, wordpress: WordPressClient) -> None:
        """Notice posts unpublished, trashed, deleted or made live again in WordPress (one
        request per 100 posts): links to them follow in the plan."""
        started = self.clock()
        self._read_dialect(wordpress)
        known = {r.wp_id: r for r in self.store.posts().values() if r.wp_id}
        found = wordpress.posts_by_ids(sorted(known)) if known else {}
        self._seen = dict(found)
        if self.freshness is not None:
            self.freshness.at = started
        for wp_id, record in known.items():
            remote = found.get(wp_id)
            status = remote.status if remote is not None else "deleted"
            if status == record.wp_status:
                continue
            changes: dict[str, str | None] = {"wp_status": status}
            if status == "publish" and remote is not None:
                # Its link now (a scheduled post's was ?p=N), and when it went live: an
                # imported post that WordPress's own cron published is owed its announcement.
                changes["permalink"] = remote.link or record.permalink
                if record.live_at is None and remote.date_gmt is not None:
                    changes["live_at"] = utc_iso(remote.date_gmt)
            self.store.update_post(record.slug, **changes)
            what = (
                "live again: links to it come back"
                if status == "publish"
                else "links to it go back to plain text"
            )
            self.journal.event(record.slug, "refresh", "done", f"{status} in WordPress; {what}")

    def _refresh_needed(self, targets: Sequence[Post]) -> bool:
        """Not when this process refreshed moments ago (:class:`Freshness`), nor when there is
        nothing to publish and nothing on WordPress yet (a new site's scheduler makes no
        request until a post is due)."""
        if self.freshness is not None and self.freshness.fresh(self.clock()):
            return False
        return bool(targets) or any(r.wp_id for r in self.store.posts().values())

    def _unread(self, plan: Plan) -> list[int]:
        """The posts this plan overwrites that no refresh of this run read (it was skipped as
        fresh), to read them in one request per 100 before the writes rather than one each at
        its edit check; none when that is one request either way."""
        slugs = [i.slug for i in plan.publishes if i.action == "update"]
        slugs += [i.slug for i in plan.backfills if i.waits is None and not i.together]
        ids = set()
        for slug in slugs:
            record = self.store.post(slug)
            if record and record.wp_id and record.remote_hash and record.wp_id not in self._seen:
                ids.add(record.wp_id)
        return sorted(ids) if len(ids) > 1 else []

    def _wordpress(self) -> WordPressClient:
        if self.wordpress is None:
            raise missing_wordpress_credentials(self.settings.credentials_path)
        return self.wordpress

    def _look_up_slugs(self, slugs: Sequence[str]) -> None:
        """One read for all the posts about to be created (100 slugs a request) instead of one
        each: a post an earlier, interrupted run did create is adopted, not created twice."""
        if slugs:
            found = self._wordpress().find_posts(slugs)
            self._looked_up = {slug: found.get(slug) for slug in slugs}

    def _prepare(
        self, wordpress: WordPressClient, writes: Sequence[PublishItem], unread: Sequence[int]
    ) -> None:
        """The reads the writes need first, side by side (they do not depend on each other):
        the ids of their categories and of their tags (creating the missing ones), the slugs of
        the creates, and the posts to overwrite that no refresh read. The first publish after a
        start waited for each in turn (6 requests on a new site)."""
        categories = sorted({name for item in writes for name in item.categories})
        tags = sorted({name for item in writes for name in item.tags})
        creates = [item.slug for item in writes if item.action == "create"]
        reads: list[Callable[[], object]] = []
        if categories:
            reads.append(functools.partial(wordpress.term_ids, "categories", categories))
        if tags:
            reads.append(functools.partial(wordpress.term_ids, "tags", tags))
        if creates:
            reads.append(functools.partial(self._look_up_slugs, creates))
        if unread:
            reads.append(functools.partial(self._read_posts, wordpress, unread))
        if len(reads) <= 1:
            for read in reads:
                read()
            return
        workers = max(1, min(self.settings.wordpress.concurrency, len(reads)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            # each in a copy of this context: client retries are logged under (site) prepare
            futures = [pool.submit(contextvars.copy_context().run, read) for read in reads]
            for future in futures:
                future.result()

    def _read_posts(self, wordpress: WordPressClient, ids: Sequence[int]) -> None:
        self._seen.update(wordpress.posts_by_ids(ids))

    # -- publish items ---------------------------------------------------------------------

    def _publish_chain(
        self, chain: Sequence[PublishItem], force: bool
    ) -> list[tuple[str, tuple[str, str]]]:
        """The parts of one series, one after the other in part order (other posts run
        alongside): a part goes live only after the earlier ones of the batch did."""
        outcomes: list[tuple[str, tuple[str, str]]] = []
        blocked: str | None = None
        for item in chain:
            if blocked is not None and item.action in ("create", "update"):
                self.journal.event(item.slug, "publish", "waits", blocked)
                outcomes.append((item.key, ("waits", blocked)))
                continue
            outcome = self._publish_item(item, force)
            outcomes.append((item.key, outcome))
            record = self.store.post(item.slug)
            if blocked is None and not (record is not None and record.live):
                post = self.posts[item.slug]
                blocked = f"waits for part {post.part} ({item.slug}), which did not go live"
        return outcomes

    def _publish_item(self, item: PublishItem, force: bool) -> tuple[str, str]:
        post = self.posts[item.slug]
        if item.action == "blocked":
            return self._blocked(item)
        if item.action == "waits":
            return "waits", item.reason  # planned so: an earlier part is not live yet
        step = self.store.step(post.slug, "publish")
        tried = (step.detail.get("first_tried") if step else None) or utc_iso(self.clock())
        with self.journal.working_on(post.slug, "publish"):
            if status_of(step) is Status.RUNNING:
                # Interrupted (or another run is on it): the batch lookup may be older than
                # that run's create, so this post looks its slug up again.
                self._looked_up.pop(post.slug, None)
            detail = {"source_hash": post.source_hash, "first_tried": tried}
            self.journal.begin(post.slug, "publish", detail=detail)
            started = time.monotonic()
            try:
                how = self._write(post, item.seen, force=force, date=item.backdate, publishing=True)
            except (AuthError, InputError) as exc:
                # Refused credentials, or a config that cannot work (not WordPress there):
                # waiting would not help, so no retry is scheduled; the post stays owed.
                message = exc.render() if isinstance(exc, InputError) else str(exc)
                self.journal.queued(post.slug, "publish", why=message, outcome="failed")
                raise
            except PipelineError as exc:
                self.journal.failed(post.slug, "publish", "", str(exc), started=started)
                return "failed", f"publish: {exc}"
        if how == "conflict":
            found = self.store.post(post.slug)
            note = found.conflict if found and found.conflict else "edited in WordPress"
            self.journal.conflict(post.slug, "publish", "", note)  # not left running
            return "conflict", "edited in WordPress"
        record = self.store.post(post.slug)
        assert record is not None
        self.journal.settle(post.slug, ("backfill", "update"), "covered by publish")
        what = f"{how} {record.permalink}"
        self.journal.done(
            post.slug, "publish", what=what, detail={"wp_id": record.wp_id}, started=started
        )
        return "done", what

    def _blocked(self, item: PublishItem) -> tuple[str, str]:
        """Waits for the writer (a post in WordPress's trash): held, not retried."""
        self.journal.held(item.slug, "publish", "", item.reason)
        return "held", f"publish: {item.reason}"

    def _write(
        self,
        post: Post,
        seen: Seen | None,
        *,
        force: bool,
        date: datetime | None = None,
        publishing: bool = False,
    ) -> str:
        """Bring one post on WordPress to what the source says. Returns what was done.

        Under the post's lock, so a `pipeline publish` and a running scheduler never write the
        same post at once; the record is read inside the lock, so the second one sees the
        first one's work, and an item planned on an older record is planned again."""
        with self.store.locked(f"post:{post.slug}", f"publishing {post.slug}", wait=LOCK_WAIT):
            found = self.store.post(post.slug)
            record = found or PostRecord(slug=post.slug)
            if seen is not None and Seen.of(found) != seen:
                self.journal.event(
                    post.slug,
                    "plan",
                    "replanned",
                    "the post's record changed since it was planned (another run wrote it); "
                    "planned again from what it is now",
                )
            return self._write_locked(post, record, force=force, date=date, publishing=publishing)

    def _write_locked(
        self,
        post: Post,
        record: PostRecord,
        *,
        force: bool,
        date: datetime | None = None,
        publishing: bool = False,
    ) -> str:
        wordpress = self._wordpress()
        media = self._upload_images(wordpress, post)
        featured = post.featured_image
        # Only this post's own markup matters to its rendering.
        styles = self._styles({post.slug: record}, [post.slug])
        site = Site(
            live=self.store.live_view(),
            series=self.series,
            media={path: url for path, (_, url) in media.items()},
            media_ids={path: wp_id for path, (wp_id, _) in media.items() if wp_id},
            styles=styles,
        )
        want = desired(post, site, self._hashes[featured.path] if featured else None)
        if record.live and want.fingerprint == record.sent_hash:
            return "unchanged"
        from pipeline.wordpress import PostFields

        # An old post keeps its date; one live before (or meanwhile) keeps the date it has.
        date = date if not (record.live or record.live_at) else None
        fields = PostFields(
            title=post.title,
            slug=post.slug,
            content=want.rendered.html,
            status="publish",
            date_gmt=date,
            excerpt=post.excerpt,
            categories=wordpress.term_ids("categories", post.categories),
            tags=wordpress.term_ids("tags", post.tags),
            # 0: an imported image whose attachment is not known; the featured one is kept.
            featured_media=(media[featured.path][0] or None) if featured else None,
        )
        wanted = _written(fields)
        existing = None
        if record.wp_id is not None and record.remote_hash and not force:
            # An explicit publish makes a post live whatever its status in WordPress.
            ignore = ("status",) if publishing else ()
            verdict, existing = self._check_remote(wordpress, post, record, wanted, ignore)
            if verdict != "ok":
                return verdict
        self.store.update_post(post.slug, sending_hash=edits.record(wanted))
        looked_up = record.wp_id is None and post.slug in self._looked_up
        if looked_up:
            existing = self._looked_up.pop(post.slug)
        remote, how = self._create_or_update(
            wordpress, post.slug, fields, record, existing, looked_up=looked_up
        )
        self._seen.pop(remote.id, None)
        self.store.update_post(
            post.slug,
            source_path=self._relative(post.path),
            source_hash=post.source_hash,
            wp_id=remote.id,
            permalink=remote.link,
            wp_status=remote.status,
            title=post.title,
            sent_hash=want.fingerprint,
            remote_hash=edits.record(edits.as_written(remote)),
            live_at=record.live_at or utc_iso(date or self.clock()),
            conflict=None,
            sending_hash=None,
            format=styles[post.slug].format,
        )
        return how

    def _create_or_update(
        self,
        wordpress: WordPressClient,
        slug: str,
        fields: PostFields,
        record: PostRecord,
        existing: RemotePost | None,
        *,
        looked_up: bool,
    ) -> tuple[RemotePost, str]:
        """``WordPressClient.publish``; a create whose outcome stays unknown (a 5xx or a lost
        answer, and the slug not found after it) is tried once more in this run: the client
        looks the slug up again first, so it adopts the post if the first try made it. Without
        this, one transient fault would cost the post its 30 s backoff and its place in the
        series. Updates are idempotent and retried inside the client."""
        try:
            return wordpress.publish(
                fields, known_id=record.wp_id, existing=existing, looked_up=looked_up
            )
        except AmbiguousOutcome as exc:
            self._once_more(slug, "publish", exc)  # the client looks the slug up first again
            return wordpress.publish(fields, known_id=record.wp_id, existing=None)

    def _check_remote(
        self,
        wordpress: WordPressClient,
        post: Post,
        record: PostRecord,
        wanted: edits.Written,
        ignore: tuple[str, ...],
    ) -> tuple[str, RemotePost | None]:
        """Before overwriting a post we wrote, make sure nobody edited it in WordPress since:
        any field the pipeline writes (title, body, excerpt, terms, featured image, status).

        The copy read by this run's refresh serves when it is what we last wrote; otherwise the
        post is read again, so a copy older than another process's write is never a conflict.
        """
        assert record.wp_id is not None

        def changed(remote: RemotePost) -> list[str]:
            return edits.edited(
                edits.as_written(remote),
                recorded=record.remote_hash,
                sending=record.sending_hash,
                wanted=wanted,
                ignore=ignore,
            )

        remote = self._seen.pop(record.wp_id, None)
        if remote is None or changed(remote):
            remote = wordpress.get_post(record.wp_id)
        if remote is None:
            self.store.update_post(post.slug, wp_id=None, wp_status=None, permalink=None)
            return "ok", None  # deleted in WordPress: publishing creates it again
        fields = changed(remote)
        if not fields:
            # Unchanged since we wrote it, or our own write cut short by a crash.
            return "ok", remote
        note = (
            f"edited in WordPress since the pipeline last wrote it ({', '.join(fields)}); "
            f"`pipeline publish {post.slug} --force` overwrites those edits"
        )
        self.store.update_post(post.slug, conflict=note)
        self.journal.event(post.slug, "update", "conflict", note)
        return "conflict", None

    def _upload_images(self, wordpress: WordPressClient, post: Post) -> dict[Path, tuple[int, str]]:
        media: dict[Path, tuple[int, str]] = {}
        for image in _images(post):
            digest = self._image_hashes()[image.path]
            with self._media_lock:
                known = self.store.media(digest)
                if known is None:
                    known = self._find_or_upload(wordpress, post, image, digest)
            media[image.path] = known
        return media

    def _find_or_upload(
        self, wordpress: WordPressClient, post: Post, image: Image, digest: str
    ) -> tuple[int, str]:
        """Never a second copy: each upload carries its content hash as its slug, so an image
        uploaded before — from a state since lost, another site folder, or an upload whose
        answer was lost — is found in the media library instead of being sent again."""
        key = media_key(digest)
        found = wordpress.find_media([key]).get(key)
        how = "already in the media library"
        if found is None:
            found, how = self._upload(wordpress, post, image, key, again=True)
        self.store.save_media(digest, found.id, found.source_url, image.path.name)
        what = f"{image.src} -> {found.source_url}" + (f" ({how})" if how else "")
        self.journal.event(post.slug, "upload", "done", what)
        return found.id, found.source_url

    def _upload(
        self, wordpress: WordPressClient, post: Post, image: Image, key: str, *, again: bool
    ) -> tuple[RemoteMedia, str]:
        """Upload the image under its key; an upload whose outcome is unknown is looked up by
        the key, and when it is not there, sent once more in this run (as a create is)."""
        try:
            uploaded = wordpress.upload_media(
                image.path.name,
                image.path.read_bytes(),
                _mime(image.path),
                alt=image.alt or post.title,
                caption=image.caption,
                slug=key,
            )
            return uploaded, ""
        except AmbiguousOutcome as exc:
            found = wordpress.find_media([key]).get(key)
            if found is not None:
                return found, "the upload's answer was lost; found it in the media library"
            if not again:
                raise
            self._once_more(post.slug, "upload", exc)
            return self._upload(wordpress, post, image, key, again=False)

    def _once_more(self, slug: str, step: str, exc: AmbiguousOutcome) -> None:
        """A create whose outcome stays unknown and that is not there: tried once more now."""
        self.journal.event(slug, step, "retried", f"{exc}; not found: trying once more")
        time.sleep(self.settle_pause)  # let a request still running in WordPress finish

    # -- backfill items --------------------------------------------------------------------

    def _backfill_item(self, item: BackfillItem, force: bool) -> tuple[str, str]:
        if item.waits is not None:
            # Recorded as a step, so `pipeline status` shows what the post is missing.
            self.journal.conflict(item.slug, item.kind, item.target, _missed(item))
            return "conflict", item.waits
        post = self.posts[item.slug]
        record = self.store.post(item.slug)
        if item.together and not (record is not None and record.live):
            return "waits", "its publish did not go through"  # a backfill never creates
        with self.journal.working_on(post.slug, item.kind):
            self.journal.begin(post.slug, item.kind, item.target)
            started = time.monotonic()
            try:
                how = self._write(post, None if item.together else item.seen, force=force)
            except PipelineError as exc:
                self.journal.failed(post.slug, item.kind, item.target, str(exc), started=started)
                return "failed", f"{item.kind}: {exc}"
        if how == "conflict":
            self.journal.conflict(post.slug, item.kind, item.target, _missed(item))
            return "conflict", "edited in WordPress"
        settled = f"covered by {item.kind}:{item.target}" if item.target else "covered by update"
        if how == "unchanged":
            # Another process brought it up to date while we waited for the lock, or a part it
            # links did not go live after all.
            self.journal.done(post.slug, item.kind, item.target, quiet=True)
            self.journal.settle(post.slug, ("backfill", "update"), settled)
            return "unchanged", "already up to date"
        what = self._backfill_what(item)
        self.journal.done(post.slug, item.kind, item.target, what=what, started=started)
        self.journal.settle(post.slug, ("backfill", "update"), settled)
        return "done", what

    @staticmethod
    def _backfill_what(item: BackfillItem) -> str:
        if item.because:
            return f"linked {', '.join(item.because)}"
        if item.source_changed:
            return "updated from source"
        return "re-rendered: a linked post or the series changed"

    def _styles(
        self, records: Mapping[str, PostRecord], slugs: Sequence[str] | None = None
    ) -> dict[str, Style]:
        """Each post's markup: what it was created with, or the site's format for new posts."""
        if self._site_dialect is None:
            self._site_dialect = dialect_from(self.store.meta(DIALECT_KEY))
        default = self.settings.wordpress.format
        chosen = self.posts if slugs is None else slugs
        return styles_for(chosen, records, default, self._site_dialect)

    def _read_dialect(self, wordpress: WordPressClient) -> None:
        """Read the site's block registry once a day: its WordPress version decides the markup."""
        read_at = dialect_read_at(self.store.meta(DIALECT_KEY))
        if read_at and from_iso(read_at) > self.clock() - DIALECT_TTL:
            return
        try:
            dialect = dialect_of(wordpress.block_types())
        except PipelineError as exc:
            log.warning("could not read the site's block types (%s); keeping what was known", exc)
            return
        self.store.set_meta(DIALECT_KEY, saved_dialect(dialect, utc_iso(self.clock())))
        self._site_dialect = dialect

    def _known_media_ids(self, *posts: Post) -> dict[Path, int]:
        ids = {}
        for image in (image for post in posts for image in _images(post)):
            known = self.store.media(self._image_hashes()[image.path])
            if known is not None and known[0]:
                ids[image.path] = known[0]
        return ids

    def _known_media(self, *posts: Post) -> dict[Path, str]:
        media = {}
        for image in (image for post in posts for image in _images(post)):
            known = self.store.media(self._image_hashes()[image.path])
            if known is not None:
                media[image.path] = known[1]
        return media

    # -- announce items --------------------------------------------------------------------

    def _announce_item(self, item: AnnounceItem) -> tuple[str, str]:
        if item.wait is not None:
            return "waits", item.wait
        if item.skip is not None:
            what = f"{item.skip}; would have posted: {item.text!r}" if item.text else item.skip
            detail = {"text": item.text, "why": item.skip}
            self.journal.skipped(item.slug, "announce", item.channel, what, detail=detail)
            return "skipped", item.skip
        if item.hold is not None:
            self.journal.held(item.slug, "announce", item.channel, item.hold)
            return "held", f"announce on {item.channel}: {item.hold}"
        record = self.store.post(item.slug)
        if record is None or not record.live or record.permalink is None:
            return "waits", "not live"
        post = self.posts[item.slug]
        lock = f"announcing {post.slug} on {item.channel}"
        with self.store.locked(f"post:{post.slug}", lock, wait=LOCK_WAIT):
            return self._announce_locked(post, item, record.permalink)

    def _announce_locked(self, post: Post, item: AnnounceItem, url: str) -> tuple[str, str]:
        step = self.store.step(post.slug, "announce", item.channel)
        status = status_of(step)
        if status in (Status.DONE, Status.SKIPPED, Status.UNKNOWN, Status.HELD):
            return "waits", f"already {status} (another run)"
        setup = self.channels[item.channel]
        assert setup.client is not None
        halted = self._halted.get(item.channel)
        if halted is not None:
            why = _retry_hint(f"not sent, after this: {halted}", post.slug, item.channel)
            self.journal.held(post.slug, "announce", item.channel, why)
            return "held", why
        # The text is composed again with the real permalink when the plan only predicted it.
        fresh = self.announcement(post, url, setup, step)
        if not fresh.sends:
            return "waits", "changed since it was planned"
        outgoing = self._outgoing(post, fresh, url, setup)
        resumed = status is Status.RUNNING
        if resumed and step is not None and step.detail.get("text") not in (None, fresh.text):
            why = "an earlier attempt may have posted a different text"
            return self._unknown(post.slug, item.channel, why)
        first_sent = self._first_sent(step)
        with self.journal.working_on(post.slug, f"announce:{item.channel}"):
            if resumed:
                adopted = self._find(post.slug, setup.client, outgoing, first_sent)
                if adopted is not None:
                    return self._sent(post.slug, item, adopted, "found the earlier post", None)
            self.journal.begin(
                post.slug,
                "announce",
                item.channel,
                detail={
                    "text": fresh.text,
                    "reply_to": _sent_id(outgoing.reply_to),
                    FIRST_SENT: None if first_sent is None else utc_iso(first_sent),
                },
            )
            return self._send(post, fresh, setup.client, outgoing, resumed, first_sent)

    def _send(
        self,
        post: Post,
        item: AnnounceItem,
        client: Channel,
        outgoing: Outgoing,
        resumed: bool,
        first_sent: datetime | None,
    ) -> tuple[str, str]:
        slug, channel = post.slug, item.channel
        started = time.monotonic()
        try:
            sent = client.post(outgoing)
        except DuplicatePost:
            if resumed:
                why = f"already posted ({channel} reported a duplicate after an interrupted try)"
                found = self._find(slug, client, outgoing, first_sent)  # threads the next part
                if found is None:
                    why += NO_ID
                return self._sent(slug, item, found, why, started)
            return self._unknown(
                slug, channel, f"{channel} says this exact text was already posted"
            )
        except RateLimited as exc:
            self.journal.deferred(
                slug, "announce", channel, exc.reset_at, "rate limited", started=started
            )
            return "deferred", f"rate limited on {channel}"
        except (CreditsExhausted, AuthError) as exc:
            self._halted[channel] = str(exc)  # every further call this run would fail the same
            why = _retry_hint(str(exc), slug, channel)
            self.journal.held(slug, "announce", channel, why, started=started)
            return "held", why
        except AmbiguousOutcome as exc:
            adopted = self._find(slug, client, outgoing, first_sent)
            if adopted is not None:
                return self._sent(
                    slug, item, adopted, f"the answer was lost ({exc}); found it", started
                )
            self.journal.event(
                slug,
                f"announce:{channel}",
                "unknown",
                f"{exc}; the next run checks before sending again",
                started,
            )
            return "failed", f"announce on {channel}: {exc}"
        except PipelineError as exc:
            self.journal.failed(slug, "announce", channel, str(exc), started=started)
            return "failed", f"announce on {channel}: {exc}"
        return self._sent(slug, item, sent, f"posted {sent.url or sent.id}", started)

    def _first_sent(self, step: Step | None) -> datetime | None:
        """When the first attempt of this announcement was sent (now, if this is it; None if an
        earlier one's time was not recorded): a lookup need not look at older posts."""
        earlier = step.detail.get(FIRST_SENT) if step is not None else None
        if isinstance(earlier, str):
            return from_iso(earlier)
        return self.clock() if step is None or step.attempts == 0 else None

    def _find(
        self, slug: str, client: Channel, outgoing: Outgoing, first_sent: datetime | None
    ) -> Sent | None:
        """The earlier post of ``outgoing``, if the network shows it; None when it cannot tell
        (or the look-up itself failed: it only ever decides whether to send again)."""
        try:
            return client.find(outgoing, attempted_at=first_sent)
        except CannotTell:
            return None
        except PipelineError as exc:
            self.journal.event(slug, f"announce:{client.name}", "lookup failed", str(exc))
            return None

    def _outgoing(self, post: Post, item: AnnounceItem, url: str, setup: ChannelSetup) -> Outgoing:
        image = post.featured_image if setup.settings.image else None
        return Outgoing(
            # The article's permalink, not its text: an edit between an interrupted attempt and
            # the next must not change the record key (Bluesky) or Idempotency-Key (Mastodon).
            key=f"{setup.name}:{url}",
            text=item.text,
            link=url,
            title=post.title,
            excerpt=post.excerpt or "",
            image=image.path if image else None,
            image_alt=(image.alt or post.title) if image else "",
            reply_to=self._reply_ref(item),
        )

    def _reply_ref(self, item: AnnounceItem) -> Sent | None:
        if item.reply_to is None:
            return None
        step = self.store.step(item.reply_to, "announce", item.channel)
        if step is None or step.status != Status.DONE or not step.detail.get("id"):
            return None
        extra = step.detail.get("extra") or {}
        return Sent(str(step.detail["id"]), step.detail.get("url"), dict(extra))

    def _sent(
        self, slug: str, item: AnnounceItem, sent: Sent | None, what: str, started: float | None
    ) -> tuple[str, str]:
        detail = {
            "id": sent.id if sent else None,
            "url": sent.url if sent else None,
            "extra": dict(sent.extra) if sent else {},
            "sent_at": utc_iso(self.clock()),
            "cost": str(item.cost) if item.cost is not None else None,
        }
        if item.channel == "x":
            self.store.update_post(
                slug, tweet_id=sent.id if sent else None, tweet_url=sent.url if sent else None
            )
        self.journal.done(slug, "announce", item.channel, what=what, detail=detail, started=started)
        return "done", what

    def _unknown(self, slug: str, channel: str, why: str) -> tuple[str, str]:
        retry = f"pipeline retry {slug}" + (f" --channel {channel}" if channel != "x" else "")
        note = f"{why}; settle it with `{retry} --resend` or `{retry} --mark-sent`"
        self.journal.unknown(slug, "announce", channel, note)
        return "unknown", note

    def _relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.settings.posts_dir.resolve()).as_posix()


def _chains(items: Sequence[PublishItem], posts: dict[str, Post]) -> list[list[PublishItem]]:
    """The items to run one after another: each series' parts in part order; other posts alone."""
    chains: dict[str, list[PublishItem]] = {}
    for item in items:
        series = posts[item.slug].series
        chains.setdefault(f"series:{series}" if series else f"post:{item.slug}", []).append(item)
    return [
        sorted(chain, key=lambda item: _series_order(posts[item.slug])) for chain in chains.values()
    ]


def _template(post: Post, setup: ChannelSetup) -> str | None:
    return post.template(setup.name, setup.settings.template)


def _missed(item: BackfillItem) -> str:
    """What a post in conflict does not get, for the job log and `pipeline status`."""
    what = f"the link to {', '.join(item.because)}" if item.because else "its source's changes"
    return (
        f"missed: {what}, held back by the conflict; `pipeline publish {item.slug} --force` "
        "puts it in (overwriting the edits made in WordPress)"
    )


def _written(fields: PostFields) -> edits.Written:
    """What a write sends, field by field; ``None`` where WordPress keeps what it has."""
    return edits.Written(
        title=fields.title,
        content=fields.content,
        excerpt=fields.excerpt,
        categories=fields.categories or None,  # none sent: WordPress keeps the post's own
        tags=fields.tags,
        featured_media=fields.featured_media,
        status=fields.status,
    )


def _retry_hint(why: str, slug: str, channel: str) -> str:
    """``why`` with the exact `pipeline retry` command that re-queues this announcement."""
    command = f"pipeline retry {slug} --channel {channel}"
    if "pipeline retry POST" in why:
        return why.replace("pipeline retry POST", command)
    return f"{why}; then `{command}`"


def _budget(setup: ChannelSetup) -> Decimal | None:
    settings = setup.settings
    return settings.monthly_budget if isinstance(settings, XSettings) else None


def _sent_id(sent: Sent | None) -> str | None:
    return sent.id if sent else None


_HASHES: dict[tuple[Path, int, int], str] = {}


def _file_hash(path: Path) -> str:
    """The content hash of a file, remembered while its size and mtime stay the same (the
    scheduler builds a publisher per run; images rarely change)."""
    info = path.stat()
    key = (path, info.st_size, info.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _HASHES[key]


def _images(post: Post) -> list[Image]:
    return [*post.images, *([post.featured_image] if post.featured_image else [])]


def _mime(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _series_order(post: Post) -> tuple[str, int]:
    return (post.series or "", post.part or 0)
