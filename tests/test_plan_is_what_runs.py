"""The plan printed is what runs: for each scenario, the items of ``Publisher.plan`` and the steps
``Publisher.execute`` carried out are the same, in the same order — and the plan said what the
act then did (a conflict is planned as waiting, an unknown announcement as waiting, a slug change
as an update, never a create).

One scenario suite, run against every WordPress backend we have (as huey runs one storage suite
against every backend): the real local WordPress and, when it is there, the in-memory one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.core.plan import Plan, describe
from pipeline.publisher import Result
from tests.fakex import FakeX
from tests.memwp import MemoryWordPress
from tests.sites import (
    SERIES,
    delete_remote,
    make_site,
    open_site,
    remote,
    trash_remote,
    update_remote,
)
from tests.wp_local import LocalWordPress

P1, P2, P3 = SERIES


class Backend:
    """A WordPress for the scenarios, and a person editing it in wp-admin behind our back."""

    url: str
    user: str
    app_password: str

    def transport(self) -> httpx.BaseTransport | None:
        return None  # the network

    def find(self, slug: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def edit(self, post_id: int, **fields: str) -> None:
        raise NotImplementedError

    def trash(self, post_id: int) -> None:
        raise NotImplementedError

    def delete(self, post_id: int) -> None:
        raise NotImplementedError


class Real(Backend):
    def __init__(self, wordpress: LocalWordPress) -> None:
        self.wordpress = wordpress
        self.url, self.user, self.app_password = (
            wordpress.url,
            wordpress.user,
            wordpress.app_password,
        )

    def find(self, slug: str) -> dict[str, Any] | None:
        return remote(self.wordpress, slug)

    def edit(self, post_id: int, **fields: str) -> None:
        update_remote(self.wordpress, post_id, **fields)

    def trash(self, post_id: int) -> None:
        trash_remote(self.wordpress, post_id)

    def delete(self, post_id: int) -> None:
        delete_remote(self.wordpress, post_id)


class Memory(Backend):
    def __init__(self, site: MemoryWordPress) -> None:
        self.site = site
        self.url, self.user, self.app_password = site.url, site.user, site.app_password

    def transport(self) -> httpx.BaseTransport:
        return self.site.transport()

    def find(self, slug: str) -> dict[str, Any] | None:
        params = {"slug": slug, "status": "any", "context": "edit"}
        found: list[dict[str, Any]] = self.site.rest("GET", "/posts", params=params).json()
        return found[0] if found else None

    def edit(self, post_id: int, **fields: str) -> None:
        self.site.edit(post_id, **fields)

    def trash(self, post_id: int) -> None:
        self.site.trash(post_id)

    def delete(self, post_id: int) -> None:
        self.site.delete(post_id)


@pytest.fixture(params=["memory", pytest.param("real", marks=pytest.mark.wordpress)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        return Memory(MemoryWordPress())
    return Real(request.getfixturevalue("wordpress"))


class Run:
    """One site folder; plans and executes as `pipeline publish` does."""

    def __init__(self, config: Path, backend: Backend) -> None:
        self.config = config
        self.backend = backend

    def plan_and_execute(
        self,
        *slugs: str,
        force: bool = False,
        owed: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> tuple[Plan, Result]:
        with open_site(self.config, transport=transport or self.backend.transport()) as site:
            publisher = site.publisher()
            plan = publisher.plan(site.targets(slugs), force=force, owed=owed, refresh=True)
            result = publisher.execute(plan, force=force)
        assert [key for key, _ in result.executed] == plan.keys(), describe(plan, Path("."))
        return plan, result

    def remote_id(self, slug: str) -> int:
        found = self.backend.find(slug)
        assert found is not None
        return int(found["id"])


@pytest.fixture
def run(backend: Backend, tmp_path: Path) -> Run:
    return Run(make_site(tmp_path, backend), backend)


@pytest.fixture
def run_x(backend: Backend, fake_x: FakeX, tmp_path: Path) -> Run:
    config = make_site(
        tmp_path,
        backend,
        x_url=fake_x.url,
        x_credentials=fake_x.credentials(),
    )
    return Run(config, backend)


def outcomes(result: Result) -> dict[str, str]:
    return dict(result.executed)


def test_new_posts(run: Run) -> None:
    plan, result = run.plan_and_execute(P1, P2)
    assert [p.action for p in plan.publishes] == ["create", "create"]
    assert outcomes(result)[f"publish {P1}"] == "done"


def test_unchanged_posts_are_planned_as_unchanged(run: Run) -> None:
    run.plan_and_execute(*SERIES)
    plan, result = run.plan_and_execute(*SERIES)
    assert [p.action for p in plan.publishes] == ["unchanged"] * 3
    assert plan.backfills == ()
    assert result.ok


def test_edited_source_is_an_update(run: Run, tmp_path: Path) -> None:
    run.plan_and_execute(P1)
    source = next((tmp_path / "posts").glob("*part-1*.md"))
    source.write_text(source.read_text() + "\nOne more paragraph.\n")
    plan, result = run.plan_and_execute(P1)
    assert [p.action for p in plan.publishes] == ["update"]
    assert outcomes(result)[f"publish {P1}"] == "done"


def test_edited_in_wordpress_is_planned_as_a_conflict(run: Run) -> None:
    run.plan_and_execute(P1)
    run.backend.edit(run.remote_id(P1), content="<p>Mine now.</p>")
    run.plan_and_execute(P2)  # the backfill of Part 1 finds the edit
    plan, result = run.plan_and_execute(P3)
    waiting = [b for b in plan.backfills if b.slug == P1]
    assert waiting
    assert waiting[0].waits is not None
    assert "--force" in waiting[0].waits
    assert outcomes(result)[waiting[0].key] == "conflict"


def test_trashed_in_wordpress_is_blocked_not_unchanged(run: Run) -> None:
    run.plan_and_execute(P1)
    run.backend.trash(run.remote_id(P1))
    plan, result = run.plan_and_execute(P1)
    assert [p.action for p in plan.publishes] == ["blocked"]
    assert "trash" in plan.publishes[0].reason
    assert not result.ok


def test_drafted_in_wordpress_is_made_live_again_by_an_explicit_publish(run: Run) -> None:
    run.plan_and_execute(P1)
    run.backend.edit(run.remote_id(P1), status="draft")
    plan, result = run.plan_and_execute(P1)
    assert [(p.action, p.reason) for p in plan.publishes] == [("update", "make it live")]
    assert result.ok


def test_deleted_in_wordpress(run: Run) -> None:
    run.plan_and_execute(P1, P2)
    run.backend.delete(run.remote_id(P2))
    plan, result = run.plan_and_execute(P3)
    assert [b.slug for b in plan.backfills] == [P1]  # its link to Part 2 goes back to text
    assert result.ok


def test_slug_renamed_is_an_update_not_a_create(run: Run, tmp_path: Path) -> None:
    run.plan_and_execute(P1, P3)
    for path in (tmp_path / "posts").glob("*.md"):
        path.write_text(path.read_text().replace(P3, "last-letters"))
    plan, result = run.plan_and_execute("last-letters")
    assert [(p.action, p.renamed_from) for p in plan.publishes] == [("update", P3)]
    assert [b.slug for b in plan.backfills] == [P1]
    assert result.ok


def test_unknown_announcement_is_planned_as_waiting(run_x: Run, fake_x: FakeX) -> None:
    run_x.plan_and_execute(P1)
    with open_site(run_x.config) as site:
        site.journal().unknown(P2, "announce", "x", "lost in a crash")
    plan, result = run_x.plan_and_execute(P2)
    note = next(a for a in plan.announcements if a.slug == P2)
    assert note.wait is not None
    assert "unknown" in note.wait
    assert outcomes(result)[note.key] == "waits"
    assert len(fake_x.tweets) == 1


def test_rate_limited_then_deferred(run_x: Run, fake_x: FakeX) -> None:
    fake_x.rate_limit(remaining=0, reset_at=time.time() + 3600)
    _, first = run_x.plan_and_execute(P1)
    assert outcomes(first)[f"announce {P1} x"] == "deferred"
    plan, second = run_x.plan_and_execute(P1)
    note = plan.announcements[0]
    assert note.wait is not None
    assert note.wait.startswith("deferred until")
    assert outcomes(second)[note.key] == "waits"
    assert fake_x.tweets == []


def test_owed_announcements_are_in_the_plan(run_x: Run, fake_x: FakeX) -> None:
    fake_x.fail_next(status=500, times=4)  # every attempt the X client makes in one call
    _, first = run_x.plan_and_execute(P1)
    assert outcomes(first)[f"announce {P1} x"] == "failed"
    with open_site(run_x.config) as site:  # its backoff has passed
        site.journal().queued(P1, "announce", "x", why="due again", outcome="requeued")
    plan, result = run_x.plan_and_execute(owed=True)
    assert [a.key for a in plan.announcements] == [f"announce {P1} x"]
    assert outcomes(result)[f"announce {P1} x"] == "done"


class FailCreateOf(httpx.BaseTransport):
    """The backend's transport, except that creating the post with this slug answers HTTP 500."""

    def __init__(self, slug: str, inner: httpx.BaseTransport | None) -> None:
        self.slug = slug
        self.real = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        creating = request.method == "POST" and request.url.path.endswith("/wp/v2/posts")
        if creating and json.loads(request.content or b"{}").get("slug") == self.slug:
            return httpx.Response(500, json={"code": "boom", "message": "Database gone"})
        return self.real.handle_request(request)


def test_partial_failure_is_the_planned_item_failing(run: Run) -> None:
    failing = FailCreateOf(P3, run.backend.transport())
    _, result = run.plan_and_execute(P1, P3, transport=failing)
    assert outcomes(result)[f"publish {P1}"] == "done"
    assert outcomes(result)[f"publish {P3}"] == "failed"
    assert run.backend.find(P1) is not None
    assert run.backend.find(P3) is None
