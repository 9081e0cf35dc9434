"""Writers' edits outside the body (issue 10.4): every field the pipeline writes is protected the
way the body is. A title, excerpt, tag, category, featured image or status changed in WordPress
is a conflict the next backfill reports and leaves alone, until ``--force``; the backfill it
holds back shows in ``pipeline status``.

The pure rules (pipeline/core/edits.py) first, then the publisher on the in-memory WordPress.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.core import edits
from pipeline.core.plan import describe
from pipeline.publisher import Result
from pipeline.status import status_rows
from tests.memwp import MemoryWordPress
from tests.sites import SERIES, make_site, open_site

P1, P2, P3 = SERIES

# --- the pure rules ---------------------------------------------------------------------------

WROTE = edits.Written(
    title="T",
    content="<p>Body</p>\n",
    excerpt="E",
    categories=(3, 2),
    tags=(5,),
    featured_media=9,
    status="publish",
)


def changed(now: edits.Written, **kwargs: Any) -> list[str]:
    options: dict[str, Any] = {"recorded": edits.record(WROTE), "sending": None, "wanted": WROTE}
    options.update(kwargs)
    return edits.edited(now, **options)


def with_(**fields: Any) -> edits.Written:
    values = {name: getattr(WROTE, name) for name in edits.FIELDS} | fields
    return edits.Written(**values)


def test_nothing_changed() -> None:
    assert changed(WROTE) == []
    assert changed(with_(categories=(2, 3))) == [], "the order of terms is not an edit"
    assert changed(with_(content="<p>Body</p>")) == [], "nor whitespace at the ends of the body"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("title", "Mine", "title"),
        ("content", "<p>Mine</p>", "body"),
        ("excerpt", "Mine", "excerpt"),
        ("categories", (2,), "categories"),
        ("tags", (5, 6), "tags"),
        ("featured_media", 0, "featured image"),
        ("status", "draft", "status"),
    ],
)
def test_each_field_is_protected(field: str, value: object, label: str) -> None:
    assert changed(with_(**{field: value})) == [label]


def test_fields_not_written_are_not_compared() -> None:
    wanted = with_(excerpt=None, categories=None, featured_media=None)
    now = with_(excerpt="Mine", categories=(7,), featured_media=0)
    assert changed(now, wanted=wanted) == []


def test_the_status_is_ignored_when_asked() -> None:
    assert changed(with_(status="draft"), ignore=("status",)) == []


def test_what_is_about_to_be_sent_is_no_edit() -> None:
    wanted = with_(title="New title")
    assert changed(with_(title="New title"), wanted=wanted) == []


def test_our_own_write_cut_short_is_no_edit() -> None:
    sending = edits.record(with_(title="Sent"))
    assert changed(with_(title="Sent"), sending=sending, wanted=with_(title="Later")) == []


def test_an_old_record_compares_the_body_only() -> None:
    old = edits.Written(content="<p>Body</p>\n").hashes()["content"]
    assert changed(with_(title="Mine"), recorded=old) == []
    assert changed(with_(content="<p>Mine</p>"), recorded=old) == ["body"]


# --- the publisher, on the in-memory WordPress ------------------------------------------------


@dataclass
class Site:
    config: Path
    wp: MemoryWordPress

    def publish(self, *slugs: str, force: bool = False) -> Result:
        with open_site(self.config, transport=self.wp.transport()) as site:
            publisher = site.publisher()
            plan = publisher.plan(site.targets(slugs), force=force, refresh=True)
            self.last_plan = describe(plan, Path("."))
            return publisher.execute(plan, force=force)

    def post(self, slug: str) -> Any:
        return next(row for row in self.wp.posts() if row.name == slug)

    def conflicts(self, slug: str) -> tuple[str, ...]:
        with open_site(self.config, transport=self.wp.transport()) as site:
            rows = status_rows(
                site.workspace.posts,
                {},
                site.store.posts(),
                site.store.steps(),
                now=site.clock(),
                tz=site.workspace.settings.timezone,
                posts_dir=site.workspace.settings.posts_dir,
            )
        return next(row.conflicts for row in rows if row.name == slug)


@pytest.fixture
def site(tmp_path: Path) -> Site:
    wp = MemoryWordPress()
    return Site(make_site(tmp_path, wp), wp)


def term_id(wp: MemoryWordPress, name: str, taxonomy: str) -> int:
    answer = wp.rest("POST", f"/{taxonomy}", json={"name": name})
    data = answer.json()
    return int(data["id"] if answer.is_success else data["data"]["term_id"])


EDITS: dict[str, Any] = {
    "title": lambda wp, p: {"title": "A title I chose in wp-admin"},
    "excerpt": lambda wp, p: {"excerpt": "My own excerpt."},
    "tags": lambda wp, p: {"tags": [*p["tags"], term_id(wp, "mine", "tags")]},
    "categories": lambda wp, p: {"categories": [term_id(wp, "Mine", "categories")]},
    "featured image": lambda wp, p: {"featured_media": 0},
    "body": lambda wp, p: {"content": p["content"]["raw"] + "\n<p>My note.</p>"},
}


@pytest.mark.parametrize("label", list(EDITS))
def test_an_edit_of_any_field_is_a_conflict_until_force(site: Site, label: str) -> None:
    site.publish(P1)
    row = site.post(P1)
    before = site.wp.rest("GET", f"/posts/{row.id}", params={"context": "edit"}).json()
    edit = EDITS[label](site.wp, before)
    site.wp.edit(row.id, **edit)
    after = site.wp.rest("GET", f"/posts/{row.id}", params={"context": "edit"}).json()

    result = site.publish(P2)  # Part 1 promised a link to Part 2: a backfill

    assert result.conflicts == [P1]
    assert not result.ok, "a conflict is not a clean run (exit code 1)"
    kept = site.wp.rest("GET", f"/posts/{row.id}", params={"context": "edit"}).json()
    assert kept == after, f"the {label} edited in WordPress is kept"
    shown = site.conflicts(P1)
    assert f"({label})" in shown[0], shown

    result = site.publish(P3)  # another backfill it misses, shown in status and the plan
    assert result.conflicts == [P1]
    assert "waits" in site.last_plan
    shown = site.conflicts(P1)
    assert any(P3 in line and "missed" in line for line in shown), shown

    forced = site.publish(P1, force=True)
    assert forced.ok, forced
    assert site.conflicts(P1) == ()
    body = site.wp.rest("GET", f"/posts/{row.id}", params={"context": "edit"}).json()
    assert P3 in body["content"]["raw"] or "Last Letters" in body["content"]["raw"]


def test_a_rerun_without_edits_is_no_conflict(site: Site) -> None:
    site.publish(P1)
    assert site.publish(P2).conflicts == []
    assert site.publish(P3).conflicts == []


def test_an_old_record_keeps_working(site: Site) -> None:
    """A record written before every field was kept (the body's hash): a title edit is not seen
    until the next write records every field; a body edit still is."""
    site.publish(P1)
    with open_site(site.config, transport=site.wp.transport()) as opened:
        row = site.post(P1)
        old = edits.Written(content=row.content).hashes()["content"]
        opened.store.update_post(P1, remote_hash=old)
    site.wp.edit(site.post(P1).id, content=site.post(P1).content + "<p>Mine.</p>")
    assert site.publish(P2).conflicts == [P1]


def test_an_explicit_publish_makes_a_drafted_post_live(site: Site) -> None:
    site.publish(P1)
    site.wp.edit(site.post(P1).id, status="draft")
    result = site.publish(P1)
    assert result.ok, result
    assert site.post(P1).status == "publish"


def test_trashed_deleted_and_drafted_say_what_happens(site: Site) -> None:
    """The first publish after a trash is blocked (held, not "unchanged"); after a delete it is
    planned as the create it is; after a draft, as making it live."""
    site.publish(P1)
    post_id = site.post(P1).id
    site.wp.trash(post_id)
    result = site.publish(P1)
    assert "blocked" in site.last_plan
    assert "trash" in site.last_plan
    assert result.held
    assert not result.ok

    site.wp.edit(post_id, status="draft")  # restored from the trash as a draft
    result = site.publish(P1)
    assert "update    " + P1 in site.last_plan
    assert "(make it live)" in site.last_plan
    assert result.ok

    site.wp.delete(post_id)
    result = site.publish(P1)
    assert "create    " + P1 in site.last_plan
    assert "deleted in WordPress: published anew" in site.last_plan
    assert result.done == [f"{P1}: created {site.wp.url}/{P1}/"]
