"""The memo of parsed and rendered posts: what it gives back is always what computing again would
give, in this process and in the next one (the state folder's files), and it is never trusted
beyond what it was computed from."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from markdown_it.token import Token
from msgspec.structs import replace

from pipeline import memofile
from pipeline.cli import cli
from pipeline.core import blocks as blocks_module
from pipeline.core import render as render_module
from pipeline.core.blocks import LATEST, WORDPRESS_6_1, Dialect, render_blocks
from pipeline.core.memo import MEMO
from pipeline.core.output import PIECES, Style, render_post
from pipeline.core.posts import Post
from pipeline.core.promises import promise_warnings
from pipeline.core.render import PARSED, SERIES_MARKER, Site, render, series_index
from pipeline.errors import PostError
from pipeline.loading import CHECKED_IMAGES, image_problem, load_posts
from tests.blocks import corpus
from tests.blocks.corpus import NOT_LIVE
from tests.images import png

NEW_YORK = ZoneInfo("America/New_York")
BLOCKS = Style(blocks=True)


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    """Each test starts with nothing remembered, and leaves nothing attached."""
    MEMO.use(None)
    render_module._PARSED.clear()
    yield
    memofile.save()
    memofile._attached = None
    MEMO.use(None)


def write_series(folder: Path, parts: int = 4) -> None:
    (folder / "pic.png").write_bytes(png())
    for part in range(1, parts + 1):
        links = " and ".join(f"[part {o}](post:part-{o})" for o in range(1, parts + 1) if o != part)
        body = (
            f'Intro to part {part}.\n\n![A picture](pic.png "Its caption")\n\n{SERIES_MARKER}\n\n'
            f"See also {links}. Part {part + 1} is coming soon.\n"
        )
        front = f"title: Part {part}\nslug: part-{part}\nseries: The Series\npart: {part}\n"
        front += f"publish_at: 2026-12-0{part} 09:00\n"
        (folder / f"part-{part}.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def attached_series(tmp_path: Path, parts: int) -> tuple[Path, Path, tuple[Post, ...]]:
    """A series in ``posts/``, loaded with the memo kept in ``state/``."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    write_series(posts_dir, parts)
    memofile.attach(state)
    return posts_dir, state, load(posts_dir)


def load(folder: Path) -> tuple[Post, ...]:
    result = load_posts(folder, NEW_YORK)
    assert result.errors == ()
    return result.posts


def computed(post: Post, site: Site) -> str:
    """What rendering gives without the memo."""
    style = site.styles.get(post.slug, Style())
    return (render_blocks(post, site, style.dialect) if style.blocks else render(post, site)).html


class Permalinks(Mapping[str, str]):
    """Live permalinks by slug that, like the store's view of them, take nothing but a slug."""

    def __init__(self, links: dict[str, str]) -> None:
        self.links = links

    def __getitem__(self, slug: str) -> str:
        if not isinstance(slug, str):
            raise TypeError(f"a slug is text, not {type(slug).__name__}")
        return self.links[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)


def views(posts: tuple[Post, ...], picture: Path) -> Iterator[Site]:
    """The site as a series' life changes it: parts going live one by one, the picture uploaded,
    a permalink changed, a post's format switched."""
    series = series_index(posts)
    live: dict[str, str] = {}
    for style in (Style(), BLOCKS):
        styles = {post.slug: style for post in posts}
        for post in posts:
            live = {**live, post.slug: f"https://blog.example/{post.slug}/"}
            yield Site(live=Permalinks(live), series=series, styles=styles)
        media = {picture: "https://blog.example/uploads/pic.png"}
        yield Site(live=live, series=series, media=media, styles=styles)
        yield Site(live=live, series=series, media=media, media_ids={picture: 7}, styles=styles)
        moved = {**live, "part-2": "https://blog.example/moved/"}
        yield Site(live=moved, series=series, media=media, media_ids={picture: 7}, styles=styles)
        retitled = series_index([replace(posts[0], title="Part One, retitled"), *posts[1:]])
        yield Site(live=moved, series=retitled, styles=styles)


def test_a_remembered_render_is_always_what_rendering_again_gives(tmp_path: Path) -> None:
    write_series(tmp_path)
    posts = load(tmp_path)
    picture = (tmp_path / "pic.png").resolve()
    seen = list(views(posts, picture))
    for _ in range(2):  # the second time round, every view is answered from the memo
        for site in seen:
            for post in posts:
                assert render_post(post, site).html == computed(post, site)
                assert render_post(post, site).depends_on == render(post, site).depends_on


def test_a_live_view_that_changes_in_place_is_asked_again(tmp_path: Path) -> None:
    """The state's view of permalinks is one object whose answers change as posts go live: a
    remembered render is checked against what it answers now."""
    write_series(tmp_path, parts=2)
    posts = load(tmp_path)
    links: dict[str, str] = {}
    site = Site(live=Permalinks(links), series=series_index(posts))
    first = render_post(posts[0], site).html
    assert render_post(posts[0], site).html == first  # from the memo: its lookups were asked
    links["part-2"] = "https://blog.example/part-2/"  # part 2 goes live; the same view
    again = render_post(posts[0], site).html
    assert again != first
    assert again == computed(posts[0], site)


def test_a_new_process_renders_from_the_state_folder_without_parsing(tmp_path: Path) -> None:
    posts_dir, state, posts = attached_series(tmp_path, parts=4)
    site = Site(live={"part-1": "https://blog.example/part-1/"}, series=series_index(posts))
    first = [render_post(post, in_blocks(site, posts)).html for post in posts]
    memofile.save()
    assert {p.name for p in (state / "cache").iterdir()} >= {"rendered.json", "scanned.json"}

    MEMO.use(MEMO.loader)  # as a new process starts: nothing in memory
    render_module._PARSED.clear()
    posts = load(posts_dir)
    again = [render_post(post, in_blocks(site, posts)).html for post in posts]
    assert again == first
    assert render_module._PARSED == {}, "nothing was parsed: every render came from the memo"

    going_live = Site(
        live={**site.live, "part-2": "https://blog.example/part-2/"}, series=site.series
    )
    fresh = [render_post(post, in_blocks(going_live, posts)).html for post in posts]
    assert fresh == [computed(post, in_blocks(going_live, posts)) for post in posts]
    assert fresh != first, "part 2 went live: the posts that link it were rendered again"


@pytest.mark.parametrize("style", [Style(), BLOCKS], ids=["classic", "blocks"])
def test_a_part_going_live_renders_its_linking_posts_from_remembered_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, style: Style
) -> None:
    """A backfill in a new process: the posts that link the part going live are rendered again,
    from the tokens remembered for their bodies (classic: the whole body's; blocks: those of
    the pieces that looked something up), giving what parsing would give; a body edited since
    is parsed again."""
    posts_dir, state, posts = attached_series(tmp_path, parts=4)
    site = replace(Site(series=series_index(posts)), styles={p.slug: style for p in posts})
    for post in posts:
        render_post(post, site)
    memofile.save()
    kept, other = (PIECES, PARSED) if style.blocks else (PARSED, PIECES)
    assert len(list((state / "cache" / kept).iterdir())) == len(posts)
    assert not (state / "cache" / other).exists()

    MEMO.use(MEMO.loader)  # a new process
    render_module._PARSED.clear()
    posts = load(posts_dir)
    going_live = replace(site, live={"part-2": "https://blog.example/part-2/"})
    with monkeypatch.context() as patched:
        patched.setattr(render_module._MD, "parse", lambda *_: pytest.fail("parsed again"))
        rendered = [render_post(post, going_live).html for post in posts]
    assert rendered == [computed(post, going_live) for post in posts]
    assert PARSED not in MEMO.changed, "the tokens read back are not written again"
    if not style.blocks:  # (in blocks, the pieces built again are new ones to keep)
        assert dict(MEMO.space(PARSED)) == {}, "the rows read back are not kept beside them"

    MEMO.use(MEMO.loader)
    render_module._PARSED.clear()
    edited = replace(posts[0], body=posts[0].body + "\nOne more line.\n")
    assert render_post(edited, going_live).html == computed(edited, going_live)
    assert "One more line." in render_post(edited, going_live).html


def test_remembered_tokens_are_the_parsed_tokens() -> None:
    """Tokens read back from their plain form equal the parser's, for every body of the block
    corpus and the render tests' own Markdown."""
    from tests.blocks import corpus

    bodies = [post.body for post in corpus.load().values()]
    bodies += ["| a | b |\n|:-|-:|\n| 1 | 2 |\n", "~~gone~~ *x* **y** `z` <span>h</span>\n"]
    for body in bodies:
        tokens = render_module._MD.parse(body)
        plain = render_module.plain_tokens(tokens)
        assert plain is not None
        assert render_module.tokens_from_plain(json.loads(json.dumps(plain))) == tokens


def test_the_token_fields_are_the_parsers() -> None:
    """The plain form and the renderer's copy name every field markdown-it's Token has (a new
    field in a later markdown-it fails here, not in a render)."""
    from dataclasses import fields

    from markdown_it.token import Token

    names = tuple(each.name for each in fields(Token))
    assert names == render_module._TOKEN_FIELDS
    assert set(render_module._FIELDS) == set(names) - {"meta"}
    token = render_module._MD.parse("[a](b)\n")[1].children[0]  # type: ignore[index]
    changed = {"href": "c"}
    assert render_module._copy(token, attrs=changed) == token.copy(attrs=changed)


def test_damaged_remembered_tokens_are_parsed_again(tmp_path: Path) -> None:
    _, state, posts = attached_series(tmp_path, parts=2)
    site = Site(series=series_index(posts))
    for post in posts:
        render_post(post, site)
    memofile.save()
    files = sorted((state / "cache" / "parsed").iterdir())
    files[0].write_bytes(b"not zlib")
    import zlib

    data = json.loads(zlib.decompress(files[1].read_bytes()))
    data["value"]["tokens"] = [["paragraph_open", "p"]]  # the right stamp, a broken token
    files[1].write_bytes(zlib.compress(json.dumps(data).encode()))
    MEMO.use(MEMO.loader)
    render_module._PARSED.clear()
    going_live = Site(live={"part-1": "https://blog.example/1/"}, series=site.series)
    assert [render_post(p, going_live).html for p in posts] == [
        computed(p, going_live) for p in posts
    ]


def in_blocks(site: Site, posts: tuple[Post, ...]) -> Site:
    return replace(site, styles={post.slug: BLOCKS for post in posts})


def test_a_memo_from_other_code_or_damaged_is_ignored(tmp_path: Path) -> None:
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    (state / "cache").mkdir(parents=True)
    write_series(posts_dir, parts=2)
    forged = {"part-1": [{"from": "x", "reads": [], "html": "FORGED", "depends": []}]}
    (state / "cache" / "rendered.json").write_text(
        json.dumps({"code": "another-version", "entries": forged}), encoding="utf-8"
    )
    (state / "cache" / "scanned.json").write_text("{not json", encoding="utf-8")
    memofile.attach(state)
    posts = load(posts_dir)
    site = Site(series=series_index(posts))
    assert all("FORGED" not in render_post(post, site).html for post in posts)
    assert [render_post(p, site).html for p in posts] == [computed(p, site) for p in posts]


def test_a_remembered_scan_still_checks_the_images_on_disk(tmp_path: Path) -> None:
    write_series(tmp_path, parts=2)
    load(tmp_path)  # remembered: each body's picture and links
    (tmp_path / "pic.png").unlink()
    result = load_posts(tmp_path, NEW_YORK)
    assert [e.line for e in result.errors] == [10, 10], "the image's line in each file"
    assert all(isinstance(e, PostError) and "does not exist" in str(e) for e in result.errors)
    MEMO.use(None)
    unremembered = load_posts(tmp_path, NEW_YORK)
    assert [e.render() for e in unremembered.errors] == [e.render() for e in result.errors]


def test_remembered_front_matter_gives_the_same_posts(tmp_path: Path) -> None:
    write_series(tmp_path)
    first = load(tmp_path)
    again = load(tmp_path)
    assert again == first
    assert [p.publish_at for p in again] == [p.publish_at for p in first]
    assert all(p.publish_at is not None and p.publish_at.tzinfo is not None for p in again)
    assert [p.key_lines for p in again] == [p.key_lines for p in first]


def test_remembered_promises_are_the_same_warnings(tmp_path: Path) -> None:
    write_series(tmp_path)
    posts = load(tmp_path)
    first = promise_warnings(posts)
    assert first, "each part says the next is coming soon"
    assert promise_warnings(posts) == first


def test_check_on_a_new_site_creates_no_state_folder(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    write_series(tmp_path / "posts", parts=2)
    (tmp_path / "pipeline.toml").write_text(
        'posts_dir = "posts"\nstate_dir = "state"\n\n[wordpress]\nurl = "https://blog.example"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "pipeline.toml"), "check"])
    assert result.exit_code == 0, result.output
    memofile.save()
    assert not (tmp_path / "state").exists()


def test_the_stamp_covers_every_module_that_parses_or_renders() -> None:
    """A change to any module whose code decides what is remembered makes a new stamp: each is
    in the list (a module the renderers import from the core and a missing file both fail)."""
    import ast

    core = Path(memofile.__file__).parent / "core"
    listed = {Path(name).stem for name in memofile._SOURCES}
    for module in ("render", "blocks", "output"):
        tree = ast.parse((core / f"{module}.py").read_text(encoding="utf-8"))
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("pipeline.core.")
        }
        assert imported <= listed, f"{module} imports {imported - listed}, not in the stamp"
    assert len(memofile.code_stamp()) == 16


VARIED = {
    # aliases, a Jekyll name (its date and slug), a table of announcements, a warning
    "2016-05-10-jekyll-style.md": "---\ntitle: From Jekyll\ndate: 2016-05-10 14:30:00 +0100\n"
    "summary: Old.\ncover: pic.png\nannounce: {x: false, bluesky: 'New: {title} {url}'}\n"
    "colour: blue\n---\n\n\nBody ![A picture](pic.png)\n",
    "retitled.md": "---\ntitle: A New Title\ntags: a, b, a\ndraft: true\n---\nBody.\n",
    "sub/nested.md": "---\ntitle: Nested\nslug: nested\nseries: S\npart: 2\n"
    "publish_at: 2026-12-01 09:00\ncategories: [One]\n---\nText [x](post:jekyll-style)\n",
}


def write_varied(folder: Path) -> None:
    (folder / "sub").mkdir()
    (folder / "pic.png").write_bytes(png())
    for name, text in VARIED.items():
        (folder / name).write_text(text, encoding="utf-8")


def test_a_post_remembered_by_its_file_is_what_loading_again_gives(tmp_path: Path) -> None:
    """Every field, the warnings and a pinned slug, from the state folder as a new process
    reads it, equal to a load with nothing remembered."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    write_varied(posts_dir)
    pinned = {"retitled.md": "the-old-title"}
    memofile.attach(state)
    first = load_posts(posts_dir, NEW_YORK, pinned)
    assert first.errors == ()
    assert len(first.warnings) == 1, "the unknown key is warned about"
    memofile.save()
    assert "loaded.json" in {p.name for p in (state / "cache").iterdir()}
    for pins in (pinned, {}):
        MEMO.use(MEMO.loader)  # as a new process starts: nothing in memory
        again = load_posts(posts_dir, NEW_YORK, pins)
        listed = load_posts(posts_dir, NEW_YORK, pins, bodies=False)
        assert "front-matter" not in MEMO.loaded(), "no YAML was parsed: all remembered"
        MEMO.use(None)
        computed_now = load_posts(posts_dir, NEW_YORK, pins)
        assert again == computed_now
        assert [p.key_lines for p in again.posts] == [p.key_lines for p in computed_now.posts]
        assert [p.slug for p in listed.posts] == [p.slug for p in computed_now.posts]
        MEMO.use(lambda name: memofile._load(state.absolute(), name))
    assert "the-old-title" in first.by_slug(), "a published post keeps the slug it had"
    MEMO.use(MEMO.loader)
    berlin = load_posts(posts_dir, ZoneInfo("Europe/Berlin"))
    assert [p.publish_at for p in berlin.posts] != [p.publish_at for p in first.posts], (
        "naive times are read in the configured zone: in another, it is another post"
    )


def test_a_post_edited_in_the_same_second_with_the_same_size_is_read_again(
    tmp_path: Path,
) -> None:
    """What a post gave is remembered by its content, never by the file's size and times: an
    edit that keeps both (within one tick of the clock, times put back) is always seen."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    path = posts_dir / "post.md"
    path.write_text("---\ntitle: Version A\n---\nBody A.\n", encoding="utf-8")
    memofile.attach(state)
    before = path.stat()
    assert [p.title for p in load(posts_dir)] == ["Version A"]
    memofile.save()
    path.write_text("---\ntitle: Version B\n---\nBody B.\n", encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    MEMO.use(MEMO.loader)  # a new process
    (post,) = load(posts_dir)
    assert (post.title, post.body) == ("Version B", "Body B.")


SECOND = 1_000_000_000


def test_an_image_check_is_trusted_only_while_its_file_is_as_it_was(tmp_path: Path) -> None:
    """The check of an image's content is remembered by its file's size, times and inode. A
    file changed less than two seconds before it was read is read again (another change in
    the same tick of the clock would leave its times as they are); a file changed since is
    read again whatever its size and modification time say (its change time moved)."""
    path = tmp_path / "pic.png"
    path.write_bytes(png())
    assert image_problem(path) is None
    _, read_at, _ = MEMO.get(CHECKED_IMAGES, str(path))
    assert image_problem(path) is None
    assert MEMO.get(CHECKED_IMAGES, str(path))[1] > read_at, "just written: read again"

    # Read long after its last change: trusted, so a verdict put in the memo is what it says.
    stamp, _, _ = MEMO.get(CHECKED_IMAGES, str(path))
    forged = ["is a forged verdict", "none"]
    MEMO.put(CHECKED_IMAGES, str(path), [stamp, time.time_ns() + 10 * SECOND, forged])
    assert image_problem(path) == ("is a forged verdict", "none")

    before = path.stat()
    path.write_bytes(b"not an image".ljust(before.st_size, b"!"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as they were
    problem = image_problem(path)
    assert problem is not None
    assert "is not an image" in problem[0]


def test_the_console_script_remembers_and_still_sees_every_edit(tmp_path: Path) -> None:
    """Through the real `pipeline` command: a second `check` and `render` read the memo the
    first left in the state folder and print the same; an edit made since is seen."""
    from tests.test_cli import run_script

    (tmp_path / "posts").mkdir()
    write_series(tmp_path / "posts", parts=3)
    (tmp_path / "state").mkdir()
    (tmp_path / "pipeline.toml").write_text(
        'posts_dir = "posts"\nstate_dir = "state"\n\n[wordpress]\nurl = "https://blog.example"\n',
        encoding="utf-8",
    )
    runs = [
        (run_script("check", cwd=tmp_path), run_script("render", "part-1", cwd=tmp_path))
        for _ in range(2)
    ]
    for check, rendered in runs:
        assert check.returncode == 0, check.stdout + check.stderr
        assert rendered.returncode == 0, rendered.stderr
        assert '<nav class="series-list">' in rendered.stdout
    assert runs[1][0].stdout == runs[0][0].stdout
    assert runs[1][1].stdout == runs[0][1].stdout
    cache = tmp_path / "state" / "cache"
    assert {"front-matter.json", "scanned.json", "rendered.json"} <= {
        p.name for p in cache.iterdir()
    }
    # A new post is rendered in blocks: part 1's pieces, with the tokens of those that link.
    assert len(list((cache / PIECES).iterdir())) == 1, "part 1 links the others: its pieces"

    part_2 = tmp_path / "posts" / "part-2.md"
    part_2.write_text(part_2.read_text(encoding="utf-8").replace("title: Part 2", "title: [x"))
    edited = run_script("check", cwd=tmp_path)
    assert edited.returncode == 2
    assert "part-2.md:3: invalid YAML" in edited.stderr


def test_the_parsed_bodies_are_kept_one_file_each() -> None:
    """The state folder keeps the tokens apart, one file per post, by the name the renderers
    give their namespaces (a plan reads a few of them, not the whole catalogue's)."""
    assert {render_module.PARSED, PIECES} == memofile._ONE_FILE_EACH


# A post whose block markup has pieces of every kind: static, reading the series, a list whose
# items each link a part, an image, a quote that links a part.
PIECED = """Intro to {slug}: it looks nothing up.

<!-- series -->

The other parts:

- [Part one](post:part-1)
- [Part two](post:part-2)
- [Part three](post:part-3)
- A plain item

A picture: ![A picture](pic.png)

> A quote that links [part three](post:part-3).
"""


def write_pieced(folder: Path) -> None:
    (folder / "pic.png").write_bytes(png())
    for part in range(1, 4):
        front = f"title: Part {part}\nslug: part-{part}\nseries: Pieces\npart: {part}\n"
        body = PIECED.format(slug=f"part-{part}")
        (folder / f"part-{part}.md").write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def test_a_render_builds_again_only_the_pieces_whose_lookups_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Part 3 goes live, in a new process: in each post the series list, the list item that
    links part 3 and the quote are built again, from their own remembered tokens (nothing is
    parsed); the intro, the other items and the picture are kept; the markup is what building
    the post whole gives."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    write_pieced(posts_dir)
    memofile.attach(state)
    posts = load(posts_dir)
    picture = (posts_dir / "pic.png").resolve()
    live = {"part-1": "https://blog.example/1/", "part-2": "https://blog.example/2/"}
    media = {picture: "https://blog.example/uploads/pic.png"}
    before = Site(live=live, series=series_index(posts), media=media, media_ids={picture: 7})
    for post in posts:
        render_post(post, in_blocks(before, posts))
    memofile.save()

    MEMO.use(MEMO.loader)  # a new process
    render_module._PARSED.clear()
    posts = load(posts_dir)
    after = in_blocks(replace(before, live={**live, "part-3": "https://blog.example/3/"}), posts)
    rebuilt: list[str] = []
    real = blocks_module.tokens_from_plain

    def counted(rows: list[list[object]]) -> list[Token]:
        tokens = real(rows)  # type: ignore[arg-type]
        rebuilt.append(tokens[0].type)
        return tokens

    with monkeypatch.context() as patched:
        patched.setattr(render_module._MD, "parse", lambda *_: pytest.fail("parsed again"))
        patched.setattr(blocks_module, "tokens_from_plain", counted)
        rendered = [render_post(post, after).html for post in posts]
    assert rendered == [computed(post, after) for post in posts]
    assert rebuilt == ["html_block", "list_item_open", "blockquote_open"] * 3
    assert all('<a href="https://blog.example/3/">Part three</a>' in html for html in rendered)


def corpus_sites(posts: Mapping[str, Post]) -> Iterator[Site]:
    """The block corpus's site as its life changes it: nothing live, then its posts going live a
    few at a time, its images uploaded (URLs, then ids), a permalink moved, a series retitled."""
    example = corpus.example_site(posts)
    everything = dict(example.live)
    slugs = sorted(everything)
    series = example.series
    for count in (0, 1, len(slugs) // 2, len(slugs)):
        yield Site(live={slug: everything[slug] for slug in slugs[:count]}, series=series)
    yield Site(live=everything, series=series, media=example.media)
    yield example
    moved = {**everything, slugs[0]: "https://blog.example/moved/?a=1&b=2"}
    yield replace(example, live=moved)
    parts = [*posts.values()]
    retitled = series_index([replace(parts[0], title="Retitled & <new>"), *parts[1:]])
    yield replace(example, live={**moved, **{s: f"https://x.example/{s}/" for s in NOT_LIVE}})
    yield replace(example, series={**series, **retitled})


@pytest.mark.parametrize("dialect", [WORDPRESS_6_1, LATEST], ids=["6.1", "latest"])
def test_the_corpus_rendered_piece_by_piece_is_the_corpus_built_whole(
    tmp_path: Path, dialect: Dialect
) -> None:
    """Every post of the block corpus, through the memo as its site changes (in this process and
    in a new one at every other change), gives what building it whole gives."""
    memofile.attach(tmp_path)
    posts = corpus.load()
    style = Style(blocks=True, dialect=dialect)
    for number, site in enumerate(corpus_sites(posts)):
        site = replace(site, styles={slug: style for slug in posts})
        if number % 2:
            memofile.save()
            MEMO.use(MEMO.loader)
            render_module._PARSED.clear()
        for post in posts.values():
            assert render_post(post, site) == render_blocks(post, site, dialect), post.slug


def test_a_post_that_looks_nothing_up_keeps_no_pieces(tmp_path: Path) -> None:
    """Markup that is the same whatever the site is never built again: no pieces are kept for
    it (a catalogue of plain posts writes no file per post); the render itself is remembered."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    (posts_dir / "plain.md").write_text("---\ntitle: Plain\n---\nJust text.\n\n- a\n- b\n")
    memofile.attach(state)
    (post,) = load(posts_dir)
    site = in_blocks(Site(), (post,))
    first = render_post(post, site).html
    memofile.save()
    assert not (state / "cache" / PIECES).exists()
    MEMO.use(MEMO.loader)
    render_module._PARSED.clear()
    again = render_post(post, site).html
    assert render_module._PARSED == {}, "from the memo's renders: nothing parsed"
    assert again == first == computed(post, site)


def test_the_memo_keeps_only_the_post_files_in_the_folder_as_last_read(tmp_path: Path) -> None:
    """Edited again and again, renamed, removed: the memo of the posts' front matter holds one
    entry per file in the folder, as it was last read (a catalogue edited for years does not
    make every command read its whole history); what it gives is what loading gives."""
    posts_dir, state = tmp_path / "posts", tmp_path / "state"
    posts_dir.mkdir()
    state.mkdir()
    memofile.attach(state)
    for name in ("a", "b", "c"):
        (posts_dir / f"{name}.md").write_text(f"---\ntitle: Post {name}\n---\nText.\n")
    load(posts_dir)
    for edit in range(3):
        (posts_dir / "a.md").write_text(f"---\ntitle: Post a, edit {edit}\n---\nText.\n")
        load(posts_dir)
    (posts_dir / "b.md").unlink()
    (posts_dir / "c.md").rename(posts_dir / "d.md")
    listed = load_posts(posts_dir, NEW_YORK, bodies=False)  # a listing forgets as well
    memofile.save()
    cache = state / "cache"
    loaded = json.loads((cache / "loaded.json").read_text(encoding="utf-8"))["entries"]
    files = json.loads((cache / "post-files.json").read_text(encoding="utf-8"))["entries"]
    assert sorted(files) == [str(posts_dir / "a.md"), str(posts_dir / "d.md")]
    assert len(loaded) == 2
    assert [p.title for p in listed.posts] == ["Post a, edit 2", "Post c"]

    MEMO.use(MEMO.loader)  # a new process, from what was kept
    again = load(posts_dir)
    MEMO.use(None)
    assert again == load(posts_dir)
