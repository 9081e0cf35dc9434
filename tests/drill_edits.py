"""The edits drill (issue 10): every field a writer can change in wp-admin, then backfills and
republishes. No edit may be lost, and each must be reported.

Against the real local WordPress, one case at a time (WordPress reset in between): Part 1 of a
series goes live; the writer changes one thing of it in WordPress (what wp-admin's editor sends
through the same REST API); then Part 2 and Part 3 go live (each promises Part 1 a backfill) and
Part 1 is published again without ``--force``. Then it checks:

- fields (title, body, excerpt, categories, tags, featured image, and two at once): the writer's
  value is still there after every backfill and republish; each run reports a conflict naming
  the field (result, job log, ``pipeline status``), and status lists the backfills it holds
  back; ``publish --force`` then puts the pipeline's version back, the links in, and clears it;
- status (draft, pending, private), trash and delete: the post stays as the writer left it (no
  backfill resurrects it); the refresh reports it, links to it go back to plain text in the other
  parts, a trashed post's publish is held with what to do, a deleted one is published anew only
  by an explicit publish.

Run it (the local WordPress must be up: ``scripts/wordpress.sh start``)::

    python -m tests.drill_edits [--write-doc]

In pytest: tests/test_drills.py (marked wordpress and slow).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pipeline.core.plan import describe
from pipeline.publisher import Result
from pipeline.status import status_rows
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
Edit = Callable[[LocalWordPress, dict[str, Any]], dict[str, Any]]


def term(wordpress: LocalWordPress, taxonomy: str, name: str) -> int:
    answer = httpx.post(
        f"{wordpress.url}/wp-json/wp/v2/{taxonomy}",
        json={"name": name},
        auth=wordpress.auth,
        timeout=10,
    )
    data = answer.json()
    return int(data["id"] if answer.is_success else data["data"]["term_id"])


# What the writer changes, as wp-admin sends it: the fields of a field edit, compared afterwards.
FIELD_EDITS: dict[str, tuple[tuple[str, ...], Edit]] = {
    "title": (("title",), lambda wp, p: {"title": "A title the writer chose"}),
    "body": (("body",), lambda wp, p: {"content": p["content"]["raw"] + "\n<p>Writer's note.</p>"}),
    "excerpt": (("excerpt",), lambda wp, p: {"excerpt": "The writer's own excerpt."}),
    "categories": (
        ("categories",),
        lambda wp, p: {"categories": [*p["categories"], term(wp, "categories", "Writer's pick")]},
    ),
    "tags": (("tags",), lambda wp, p: {"tags": [term(wp, "tags", "handpicked")]}),
    "featured image": (("featured image",), lambda wp, p: {"featured_media": 0}),
    "title and body": (
        ("title", "body"),
        lambda wp, p: {"title": "Both changed", "content": "<p>Rewritten in wp-admin.</p>"},
    ),
}
STATUS_EDITS = ("draft", "pending", "private")
COMPARED = ("title", "content", "excerpt", "categories", "tags", "featured_media", "status")


@dataclass
class Case:
    name: str
    reported: list[str] = field(default_factory=list)  # how each run told of it
    kept: bool = False  # the writer's edit still there after the backfills and republish
    afterwards: str = ""  # what --force, or the explicit publish, then did
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    cases: list[Case] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.cases for p in c.problems]

    def lines(self) -> list[str]:
        width = max(len(c.name) for c in self.cases)
        rows = [
            f"{c.name:<{width}}  kept: {'yes' if c.kept else 'NO'}; reported: "
            f"{'; '.join(dict.fromkeys(c.reported))}; then: {c.afterwards}"
            for c in self.cases
        ]
        verdict = "all checks passed" if not self.problems else f"{len(self.problems)} FAILED"
        return [
            f"{len(self.cases)} edits made in WordPress, each followed by 2 backfills and a "
            f"republish ({self.seconds:.0f} s)",
            *rows,
            verdict,
            *[f"  problem: {p}" for p in self.problems],
        ]


class Site:
    def __init__(self, config: Path, wordpress: LocalWordPress) -> None:
        self.config = config
        self.wordpress = wordpress

    def publish(self, *slugs: str, force: bool = False) -> tuple[str, Result]:
        with open_site(self.config) as site:
            publisher = site.publisher()
            plan = publisher.plan(site.targets(slugs), force=force, refresh=True)
            return describe(plan, Path(".")), publisher.execute(plan, force=force)

    def status(self, slug: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(conflicts, pending texts, notes) as ``pipeline status`` shows them."""
        with open_site(self.config) as site:
            rows = status_rows(
                site.workspace.posts,
                {},
                site.store.posts(),
                site.store.steps(),
                now=site.clock(),
                tz=site.workspace.settings.timezone,
                posts_dir=site.workspace.settings.posts_dir,
            )
        row = next(r for r in rows if r.slug == slug)
        return row.conflicts, tuple(p.text for p in row.pending), row.notes

    def log(self, slug: str) -> list[tuple[str, str, str]]:
        with open_site(self.config) as site:
            return [(e.step, e.outcome, e.details) for e in site.store.entries(post=slug)]

    def post(self, slug: str) -> dict[str, Any]:
        found = remote(self.wordpress, slug)
        assert found is not None, f"{slug} is not on WordPress"
        return found

    def by_id(self, post_id: int) -> dict[str, Any] | None:
        answer = httpx.get(
            f"{self.wordpress.url}/wp-json/wp/v2/posts/{post_id}",
            params={"context": "edit"},
            auth=self.wordpress.auth,
            timeout=10,
        )
        return None if answer.status_code == 404 else dict(answer.json())


def snapshot(post: dict[str, Any]) -> dict[str, Any]:
    return {
        name: post[name]["raw"] if isinstance(post.get(name), dict) else post.get(name)
        for name in COMPARED
    }


def field_case(site: Site, name: str, labels: tuple[str, ...], edit: Edit) -> Case:
    case = Case(name)
    site.publish(P1)
    before = site.post(P1)
    update_remote(site.wordpress, before["id"], **edit(site.wordpress, before))
    edited = snapshot(site.post(P1))
    for step, slug in (("backfill for Part 2", P2), ("backfill for Part 3", P3), ("republish", P1)):
        _, result = site.publish(slug)
        if result.conflicts != [P1]:
            case.problems.append(f"{step}: conflicts {result.conflicts}, not [{P1}]")
        if result.ok:
            case.problems.append(f"{step}: a clean run (exit 0) despite the conflict")
        if snapshot(site.post(P1)) != edited:
            case.problems.append(f"{step}: the edit was overwritten")
        conflicts, _, _ = site.status(P1)
        named = [c for c in conflicts if all(label in c for label in labels)]
        if named:
            case.reported.append(f"conflict ({', '.join(labels)}) in result, log and status")
        else:
            case.problems.append(f"{step}: status does not name {labels}: {conflicts}")
    conflicts, _, _ = site.status(P1)
    for slug in (P2, P3):
        if not any("missed" in c and slug in c for c in conflicts):
            case.problems.append(f"status does not show the missed link to {slug}: {conflicts}")
    logged = [d for step, outcome, d in site.log(P1) if outcome == "conflict"]
    if not any(all(label in d for label in labels) for d in logged):
        case.problems.append(f"the job log does not name {labels}")
    case.kept = not any("overwritten" in p for p in case.problems)
    _, forced = site.publish(P1, force=True)
    content = site.post(P1)["content"]["raw"]
    links = all(site.post(s)["link"] in content for s in (P2, P3))
    if not forced.ok or site.status(P1)[0] or not links:
        case.problems.append(f"--force did not settle it: {forced}")
    case.afterwards = "--force overwrote it, put both links in, conflict cleared"
    return case


def status_case(site: Site, status: str) -> Case:
    case = Case(f"status {status}")
    site.publish(P1)
    post_id = site.post(P1)["id"]
    update_remote(site.wordpress, post_id, status=status)
    edited = snapshot(site.post(P1))
    for slug in (P2, P3):
        _, result = site.publish(slug)
        if not result.ok:
            case.problems.append(f"publishing {slug} failed: {result}")
        if snapshot(site.post(P1)) != edited:
            case.problems.append(f"publishing {slug} changed Part 1 (status {status})")
        if site.post(P1)["link"] in site.post(slug)["content"]["raw"]:
            case.problems.append(f"{slug} links Part 1 although it is {status}")
    refreshed = [d for step, o, d in site.log(P1) if step == "refresh"]
    if any(status in d for d in refreshed):
        case.reported.append(f"refresh: {status} in WordPress, links to it back to plain text")
    else:
        case.problems.append(f"no refresh entry in the job log: {site.log(P1)}")
    _, _, notes = site.status(P1)
    if any(f"status {status}" in n for n in notes):
        case.reported.append("status note")
    else:
        case.problems.append(f"status does not say {status}: {notes}")
    case.kept = not case.problems
    shown, again = site.publish(P1)  # the writer's explicit publish: live again
    if not again.ok or site.post(P1)["status"] != "publish" or "(make it live)" not in shown:
        case.problems.append(f"the explicit publish did not make it live: {shown}")
    case.afterwards = "an explicit publish made it live again (planned as 'make it live')"
    return case


def trash_case(site: Site) -> Case:
    case = Case("trash")
    site.publish(P1)
    post_id = site.post(P1)["id"]
    trash_remote(site.wordpress, post_id)
    for slug in (P2, P3):
        site.publish(slug)
    shown, result = site.publish(P1)
    trashed = site.by_id(post_id)
    case.kept = (
        trashed is not None and trashed["status"] == "trash" and not remote(site.wordpress, P1)
    )
    if not case.kept:
        case.problems.append("the trashed post was restored or recreated")
    if "blocked" not in shown or not result.held or result.ok:
        case.problems.append(f"the publish was not held: {shown} {result}")
    else:
        case.reported.append("publish planned as blocked and held, with how to restore it")
    _, pending, _ = site.status(P1)
    if any("trash" in p for p in pending):
        case.reported.append("status: held, in the trash")
    else:
        case.problems.append(f"status does not say it is in the trash: {pending}")
    if site.post(P2)["content"]["raw"].count("/paper-lanterns-part-1/"):
        case.problems.append("Part 2 still links the trashed Part 1")
    case.afterwards = "left in the trash; links to it are plain text"
    return case


def delete_case(site: Site) -> Case:
    case = Case("delete")
    site.publish(P1)
    delete_remote(site.wordpress, site.post(P1)["id"])
    for slug in (P2, P3):
        _, _result = site.publish(slug)
        if remote(site.wordpress, P1) is not None:
            case.problems.append(f"publishing {slug} recreated the deleted Part 1")
    case.kept = remote(site.wordpress, P1) is None
    refreshed = [d for step, o, d in site.log(P1) if step == "refresh"]
    if any("deleted" in d for d in refreshed):
        case.reported.append("refresh: deleted in WordPress, links to it back to plain text")
    else:
        case.problems.append("no refresh entry for the delete")
    _, _, notes = site.status(P1)
    if any("deleted in WordPress" in n for n in notes):
        case.reported.append("status note")
    else:
        case.problems.append(f"status does not say it was deleted: {notes}")
    shown, again = site.publish(P1)
    if "deleted in WordPress: published anew" not in shown or not again.ok:
        case.problems.append(f"the explicit publish was not planned as a create: {shown}")
    case.afterwards = "an explicit publish created it anew (planned as 'create')"
    return case


def run_drill(wordpress: LocalWordPress, workdir: Path) -> Report:
    report = Report()
    began = time.monotonic()
    cases: list[Callable[[Site], Case]] = [
        *(
            (lambda s, n=name, e=spec: field_case(s, n, e[0], e[1]))
            for name, spec in FIELD_EDITS.items()
        ),
        *((lambda s, st=status: status_case(s, st)) for status in STATUS_EDITS),
        trash_case,
        delete_case,
    ]
    for number, run in enumerate(cases):
        wordpress.reset()
        root = workdir / f"case-{number}"
        report.cases.append(run(Site(make_site(root, wordpress), wordpress)))
    report.seconds = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    from tests.wp_local import _load_site

    parser = argparse.ArgumentParser(prog="python -m tests.drill_edits", description=__doc__)
    parser.add_argument("--write-doc", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args(argv)
    site, why = _load_site()
    if site is None:
        print(f"the local WordPress is not up ({why}): scripts/wordpress.sh start", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="drill-edits-"))
    try:
        report = run_drill(site, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in report.lines():
        print(line)
    if args.write_doc:
        from tests.drill_doc import write_figures

        write_figures("edits", report.lines())
    return 0 if not report.problems else 1


if __name__ == "__main__":
    sys.exit(main())
