"""The progress bar of bulk publishes: each item advances it as it is carried out; on a terminal
only, so piped output (scripts, logs, these tests) is exactly the lines."""

from __future__ import annotations

import io
from pathlib import Path

from pipeline.cli.progress import MIN_ITEMS, Lines
from tests.memwp import MemoryWordPress
from tests.sites import make_site, open_site


class Terminal(io.StringIO):
    """What a terminal looks like to ``isatty``; everything written is kept."""

    def isatty(self) -> bool:
        return True


def test_piped_output_is_the_lines_alone() -> None:
    out = io.StringIO()
    lines = Lines(out)
    with lines.bar(MIN_ITEMS * 5, "publishing") as on_item:
        for n in range(MIN_ITEMS * 5):
            lines.echo(f"post-{n}: publish done: created")
            on_item(f"publish post-{n}", "done")
    expected = "".join(f"post-{n}: publish done: created\n" for n in range(MIN_ITEMS * 5))
    assert out.getvalue() == expected


def test_on_a_terminal_a_bar_counts_the_items_and_the_lines_still_show() -> None:
    out = Terminal()
    lines = Lines(out)
    total = MIN_ITEMS + 2
    with lines.bar(total, "publishing") as on_item:
        for n in range(total):
            lines.echo(f"post-{n}: publish done: created")
            on_item(f"publish post-{n}", "done")
    written = out.getvalue()
    assert f"{total}/{total}" in written  # the bar's last frame, before it is cleared
    assert "publishing" in written
    for n in range(total):
        assert f"post-{n}: publish done: created" in written
    lines.echo("after the bar")
    assert written + "after the bar\n" == out.getvalue()  # plain lines again


def test_a_few_items_get_no_bar_even_on_a_terminal() -> None:
    out = Terminal()
    lines = Lines(out)
    with lines.bar(MIN_ITEMS, "publishing") as on_item:
        lines.echo("one line")
        on_item("publish one", "done")
    assert out.getvalue() == "one line\n"


def test_execute_hands_every_item_to_on_item_once(tmp_path: Path) -> None:
    wordpress = MemoryWordPress()
    config = make_site(tmp_path, wordpress)
    seen: list[tuple[str, str]] = []
    with open_site(config, transport=wordpress.transport()) as site:
        publisher = site.publisher()
        plan = publisher.plan(list(site.workspace.posts), announce=False, refresh=True)
        result = publisher.execute(plan, on_item=lambda key, outcome: seen.append((key, outcome)))
    assert len(plan.keys()) > 3
    # The publishes as each chain of them (a series, in part order; a post alone) is done; the
    # backfills and announcements then in plan order.
    assert sorted(seen) == sorted(result.executed)
    assert sorted(key for key, _ in seen) == sorted(plan.keys())
    publishes = len(plan.publishes)
    assert seen[publishes:] == result.executed[publishes:]
