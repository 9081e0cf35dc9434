"""Which markup posts are written in: blocks for new posts (the default), classic when the site
says so, and a post already on WordPress keeps the format it was created with."""

from __future__ import annotations

from pathlib import Path

from pipeline.publisher import Result
from tests.memwp import MemoryWordPress
from tests.sites import SERIES, make_site, open_site

P1, P2, P3 = SERIES


def site(tmp_path: Path, wordpress: MemoryWordPress, markup: str | None = None) -> Path:
    config = make_site(tmp_path, wordpress)
    if markup is not None:
        text = config.read_text().replace("[wordpress]\n", f'[wordpress]\nformat = "{markup}"\n')
        config.write_text(text)
    return config


def publish(config: Path, wordpress: MemoryWordPress, *slugs: str) -> Result:
    with open_site(config, transport=wordpress.transport()) as found:
        return found.publisher().publish(found.targets(slugs))


def raw(wordpress: MemoryWordPress, slug: str) -> str:
    answer = wordpress.rest("GET", "/posts", params={"slug": slug, "context": "edit"}).json()
    return str(answer[0]["content"]["raw"])


def test_new_posts_are_block_editor_content(tmp_path: Path) -> None:
    wordpress = MemoryWordPress()
    config = site(tmp_path, wordpress)
    assert publish(config, wordpress, P1).ok
    content = raw(wordpress, P1)
    assert content.startswith("<!-- wp:")
    assert "<!-- wp:image" in content
    with open_site(config, transport=wordpress.transport()) as found:
        record = found.store.post(P1)
        assert record is not None
        assert record.format == "blocks"


def test_classic_when_the_site_says_so(tmp_path: Path) -> None:
    wordpress = MemoryWordPress()
    config = site(tmp_path, wordpress, "classic")
    assert publish(config, wordpress, P1).ok
    assert "<!-- wp:" not in raw(wordpress, P1)


def test_a_post_keeps_the_format_it_was_created_with(tmp_path: Path) -> None:
    wordpress = MemoryWordPress()
    config = site(tmp_path, wordpress, "classic")
    assert publish(config, wordpress, P1).ok
    # The site moves to blocks; Part 1 was created classic and stays so when backfilled.
    config.write_text(config.read_text().replace('format = "classic"', 'format = "blocks"'))
    assert publish(config, wordpress, P2).ok
    part1, part2 = raw(wordpress, P1), raw(wordpress, P2)
    assert "<!-- wp:" not in part1
    assert "The Night Train" in part1  # the backfilled link, in classic HTML
    assert part2.startswith("<!-- wp:")


def test_an_unchanged_block_post_is_not_rewritten(tmp_path: Path) -> None:
    wordpress = MemoryWordPress()
    config = site(tmp_path, wordpress)
    assert publish(config, wordpress, *SERIES).ok
    before = len(wordpress.requests)
    again = publish(config, wordpress, *SERIES)
    writes = [r for r in wordpress.requests[before:] if r.method == "POST"]
    assert again.ok
    assert writes == []
