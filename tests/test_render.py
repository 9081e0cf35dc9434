"""Rendering: figures, cross-references, the series list, dependencies, media URLs."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.core.posts import Post
from pipeline.core.render import SERIES_MARKER, Site, render, series_index
from pipeline.loading import load_posts

REPO = Path(__file__).resolve().parents[1]
NEW_YORK = ZoneInfo("America/New_York")


def write(folder: Path, name: str, front: str, body: str) -> None:
    (folder / name).write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")


def load(folder: Path) -> dict[str, Post]:
    result = load_posts(folder, NEW_YORK)
    assert result.errors == ()
    return result.by_slug()


@pytest.fixture
def series(tmp_path: Path) -> dict[str, Post]:
    """A three-part series written out of order, plus a standalone post."""
    write(
        tmp_path,
        "c.md",
        "title: Third\nslug: part-3\nseries: Trilogy\npart: 3",
        f"Back to [the first](post:part-1).\n\n{SERIES_MARKER}\n",
    )
    write(
        tmp_path,
        "a.md",
        "title: First & Foremost\nslug: part-1\nseries: Trilogy\npart: 1",
        f"Intro.\n\n{SERIES_MARKER}\n\nNext: [the second](post:part-2) and "
        "[the *third*](post:part-3).\n",
    )
    write(
        tmp_path,
        "b.md",
        "title: Second\nslug: part-2\nseries: Trilogy\npart: 2",
        "No marker and no links here.\n",
    )
    write(tmp_path, "solo.md", "title: Solo", f"Alone.\n\n{SERIES_MARKER}\n\nThe end.\n")
    return load(tmp_path)


def site_for(posts: dict[str, Post], live: dict[str, str] | None = None) -> Site:
    return Site(live=live or {}, series=series_index(posts.values()))


# --- figures and images ---------------------------------------------------------------------


def test_titled_image_becomes_a_figure_with_caption(tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(b"png")
    write(tmp_path, "p.md", "title: P", '![A *bold* alt](pic.png "Look & see")\n')

    html = render(load(tmp_path)["p"], Site()).html
    assert html == (
        '<figure class="wp-block-image"><img src="pic.png" alt="A bold alt" />'
        "<figcaption>Look &amp; see</figcaption></figure>\n"
    )


def test_untitled_image_stays_an_img_in_a_paragraph(tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(b"png")
    write(tmp_path, "p.md", "title: P", "![Just alt](pic.png)\n")

    html = render(load(tmp_path)["p"], Site()).html
    assert html == '<p><img src="pic.png" alt="Just alt" /></p>\n'
    assert "<figure" not in html


def test_titled_image_inside_text_stays_inline(tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(b"png")
    write(tmp_path, "p.md", "title: P", 'Before ![alt](pic.png "cap") after.\n')

    html = render(load(tmp_path)["p"], Site()).html
    assert "<figure" not in html
    assert '<img src="pic.png" alt="alt" title="cap" />' in html


def test_local_images_map_to_their_media_urls(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"a")
    (tmp_path / "img" / "my pic.png").write_bytes(b"b")
    write(
        tmp_path,
        "p.md",
        "title: P",
        '![a](img/a.png "Caption")\n\nInline ![b](<img/my pic.png>) and '
        "![remote](https://cdn.example.com/x.png) and ![data](data:image/png;base64,AAAA).\n",
    )
    post = load(tmp_path)["p"]
    media = {
        (tmp_path / "img" / "a.png").resolve(): "https://blog.example.com/wp-content/a.png",
        (tmp_path / "img" / "my pic.png").resolve(): "https://blog.example.com/wp-content/b.png",
    }

    html = render(post, Site(media=media)).html
    assert '<img src="https://blog.example.com/wp-content/a.png" alt="a" />' in html
    assert '<img src="https://blog.example.com/wp-content/b.png" alt="b" />' in html
    assert '<img src="https://cdn.example.com/x.png" alt="remote" />' in html
    assert 'src="data:image/png;base64,AAAA"' in html
    assert [image.src for image in post.images] == ["img/a.png", "img/my%20pic.png"]
    assert post.images[0].caption == "Caption"


def test_unmapped_local_images_keep_their_relative_path(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"a")
    write(tmp_path, "p.md", "title: P", "![a](a.png)\n")
    assert 'src="a.png"' in render(load(tmp_path)["p"], Site()).html


# --- cross-references -----------------------------------------------------------------------


def test_post_links_are_plain_text_until_the_target_is_live(series: dict[str, Post]) -> None:
    html = render(series["part-1"], site_for(series)).html

    assert "Next: the second and the <em>third</em>." in html
    assert "post:" not in html
    assert "<a " not in html


def test_post_links_point_at_the_permalink_once_live(series: dict[str, Post]) -> None:
    live = {"part-2": "https://blog.example.com/2026/12/second/"}
    html = render(series["part-1"], site_for(series, live)).html

    assert '<a href="https://blog.example.com/2026/12/second/">the second</a>' in html
    assert "and the <em>third</em>." in html  # part 3 is still not live
    assert "post:" not in html


def test_ordinary_links_are_untouched(tmp_path: Path) -> None:
    write(tmp_path, "p.md", "title: P", "[site](https://example.com/a?b=c) [rel](other.html)\n")
    html = render(load(tmp_path)["p"], Site()).html
    assert '<a href="https://example.com/a?b=c">site</a>' in html
    assert '<a href="other.html">rel</a>' in html


# --- the series list ------------------------------------------------------------------------


def test_series_index_orders_parts(series: dict[str, Post]) -> None:
    index = series_index(series.values())
    assert list(index) == ["Trilogy"]
    assert [(p.slug, p.part) for p in index["Trilogy"]] == [
        ("part-1", 1),
        ("part-2", 2),
        ("part-3", 3),
    ]


def test_series_marker_renders_the_ordered_list_linking_live_parts(
    series: dict[str, Post],
) -> None:
    live = {"part-1": "https://blog.example.com/first/", "part-2": "https://blog.example.com/2/"}
    html = render(series["part-3"], site_for(series, live)).html

    assert SERIES_MARKER not in html
    start, end = html.index("<ol>"), html.index("</ol>")
    items = [line for line in html[start:end].splitlines() if line.startswith("<li")]
    assert items == [
        '<li><a href="https://blog.example.com/first/">First &amp; Foremost</a></li>',
        '<li><a href="https://blog.example.com/2/">Second</a></li>',
        '<li aria-current="page"><strong>Third</strong></li>',
    ]
    assert "<p>Trilogy</p>" in html


def test_series_list_with_nothing_live_has_no_links(series: dict[str, Post]) -> None:
    html = render(series["part-1"], site_for(series)).html
    assert html.count("<li") == 3
    assert "<li>Second <em>(coming soon)</em></li>" in html
    assert "<li>Third <em>(coming soon)</em></li>" in html


def test_series_marker_stays_an_invisible_comment_without_a_series(
    series: dict[str, Post],
) -> None:
    html = render(series["solo"], site_for(series)).html
    assert SERIES_MARKER in html
    assert "<ol>" not in html
    assert "<p>Alone.</p>" in html
    assert "<p>The end.</p>" in html


def test_marker_inside_text_is_not_a_series_list(series: dict[str, Post], tmp_path: Path) -> None:
    write(
        tmp_path,
        "d.md",
        "title: Fourth\nseries: Trilogy\npart: 4",
        f"Write `{SERIES_MARKER}` on its own line.\n",
    )
    html = render(load(tmp_path)["fourth"], site_for(series)).html
    assert "<ol>" not in html
    assert "<code>&lt;!-- series --&gt;</code>" in html


# --- dependencies ---------------------------------------------------------------------------


def test_depends_on_has_links_and_series_parts_but_not_itself(series: dict[str, Post]) -> None:
    site = site_for(series)
    assert render(series["part-1"], site).depends_on == {"part-2", "part-3"}
    assert render(series["part-3"], site).depends_on == {"part-1", "part-2"}
    assert render(series["part-2"], site).depends_on == frozenset()  # no marker, no links
    assert render(series["solo"], site).depends_on == frozenset()


def test_depends_on_does_not_change_when_targets_go_live(series: dict[str, Post]) -> None:
    live = {slug: f"https://blog.example.com/{slug}/" for slug in series}
    assert render(series["part-1"], site_for(series, live)).depends_on == {"part-2", "part-3"}


# --- the rest -------------------------------------------------------------------------------


def test_raw_html_passes_through(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p.md",
        "title: P",
        '<div class="note">\n<p>Careful.</p>\n</div>\n\nText with <span class="x">a span</span>.\n',
    )
    html = render(load(tmp_path)["p"], Site()).html
    assert '<div class="note">\n<p>Careful.</p>\n</div>\n' in html
    assert '<p>Text with <span class="x">a span</span>.</p>' in html


def test_tables_and_strikethrough(tmp_path: Path) -> None:
    write(tmp_path, "p.md", "title: P", "| a | b |\n| - | - |\n| 1 | 2 |\n\n~~old~~ new\n")
    html = render(load(tmp_path)["p"], Site()).html
    assert "<table>" in html
    assert "<s>old</s>" in html


def test_rendering_is_pure(series: dict[str, Post]) -> None:
    site = site_for(series, {"part-2": "https://blog.example.com/2/"})
    first = render(series["part-1"], site)
    assert render(series["part-1"], site) == first
    assert render(series["part-1"], site_for(series)) != first
    assert render(series["part-1"], site) == first


def test_the_example_part_1_promises_parts_2_and_3_as_plain_text() -> None:
    result = load_posts(REPO / "posts", NEW_YORK)
    assert result.errors == ()
    posts = result.by_slug()
    part_1 = next(p for p in posts.values() if p.series and p.part == 1)
    rendered = render(part_1, Site(series=series_index(posts.values())))

    assert "<figure" in rendered.html
    assert "<figcaption>" in rendered.html
    assert "<ol>" in rendered.html
    assert "<a " not in rendered.html
    later = {p.slug for p in posts.values() if p.series == part_1.series and p.slug != part_1.slug}
    assert len(later) >= 2
    assert later <= rendered.depends_on


def test_renders_against_different_sites_do_not_leak_into_each_other(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: A\nseries: S\npart: 1\n---\n<!-- series -->\n\nSee [B](post:b).\n",
        encoding="utf-8",
    )
    (tmp_path / "b.md").write_text("---\ntitle: B\nseries: S\npart: 2\n---\nB.\n")
    loaded = load_posts(tmp_path, ZoneInfo("UTC"))
    post = loaded.by_slug()["a"]
    series = series_index(loaded.posts)
    before = render(post, Site(series=series)).html
    linked = render(post, Site(live={"b": "https://x.test/b/"}, series=series)).html
    again = render(post, Site(series=series)).html
    assert again == before
    assert 'href="https://x.test/b/"' in linked
    assert "https://x.test" not in before


def test_soft_line_breaks_become_spaces_so_wordpress_adds_no_br(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "---\ntitle: A\n---\nA sentence that\nwraps in the source.  \nA hard break stays.\n",
        encoding="utf-8",
    )
    post = load_posts(tmp_path, ZoneInfo("UTC")).by_slug()["a"]
    html = render(post, Site()).html
    assert html == "<p>A sentence that wraps in the source.<br />\nA hard break stays.</p>\n"
