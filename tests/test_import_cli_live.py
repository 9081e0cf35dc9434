"""`pipeline import` against the real WordPress, through the command line (issue 11's tests).

- The seed's Part 1 as its writer made it in WordPress: imported; publishing the unchanged file
  writes nothing; with `post:` links added, publishing Part 2 links Part 2 from Part 1, which
  keeps both images and their captions, and no image is uploaded twice.
- The corpus (classic and block-editor posts): imported with --all, then published unchanged:
  not one write. The same from an export file of this site.
- Bad input: one line with the fix, exit 2, nothing written.

"Nothing written to WordPress" is read from WordPress itself (each post's ``modified_gmt``, the
media library, the terms) and, for the corpus, also counted at the transport.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import CONFIG_ENV
from tests.import_roundtrip import corpus
from tests.sites import make_site, open_site
from tests.test_import_live import Blog
from tests.test_wordpress_live import png
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress
PART_1 = "fond-memories-part-1"
PART_2 = "fond-memories-part-2"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def invoke(config: Path, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, ["--config", str(config), *args], env={CONFIG_ENV: None})


@pytest.fixture
def blog(wordpress: LocalWordPress) -> Iterator[Blog]:
    opened = Blog(wordpress)
    yield opened
    opened.http.close()


@pytest.fixture
def config(wordpress: LocalWordPress, tmp_path: Path) -> Path:
    """A site folder for the local WordPress with no posts yet."""
    found = make_site(tmp_path / "site", wordpress)
    shutil.rmtree(found.parent / "posts")
    return found


def snapshot(blog: Blog) -> dict[str, Any]:
    """What WordPress holds that a write would change: every post's modification time, the
    media library, the terms."""

    def every(route: str, **params: str) -> list[dict[str, Any]]:
        return list(blog.send("GET", route, params={"per_page": 100, **params}))

    return {
        "posts": {
            p["id"]: p["modified_gmt"] for p in every("/posts", status="any", context="edit")
        },
        "media": sorted((m["id"], m["modified_gmt"]) for m in every("/media")),
        "categories": sorted(c["id"] for c in every("/categories")),
        "tags": sorted(t["id"] for t in every("/tags")),
    }


def seed_part_1(blog: Blog) -> dict[str, Any]:
    """The seed's Part 1 as its writer made it in the classic editor."""
    rose = upload(blog, "magnetic-rose-1.png", png(4, 3), "Miguel (left) Heintz (right)")
    eva = upload(blog, "magnetic-rose-2.png", png(5, 3), "Heintz views a hologram of Eva Friedel.")
    cover = upload(blog, "memories-cover.png", png(6, 4), "")
    anime = blog.send("POST", "/categories", json={"name": "Anime"})
    kon = blog.send("POST", "/tags", json={"name": "Satoshi Kon"})
    content = (
        "With the recent bluray re-release of 1987’s Robot Carnival, I thought it would be "
        "appropriate to revisit another Katsuhiro Otomo related animation anthology, 1995’s "
        "Memories.\n\n"
        f'[caption id="attachment_{rose["id"]}" align="alignnone" width="4"]<img class="size-full '
        f'wp-image-{rose["id"]}" src="{rose["source_url"]}" alt="Miguel and Heintz" width="4" '
        'height="3" /> Miguel (left) Heintz (right)[/caption]\n\n'
        "It takes some obvious inspiration from:\n"
        "<ul>\n <li>2001: A Space Odyssey</li>\n <li>The Shining</li>\n</ul>\n"
        f'[caption id="attachment_{eva["id"]}" align="alignnone" width="5"]<img class="size-full '
        f'wp-image-{eva["id"]}" src="{eva["source_url"]}" alt="Eva Friedel" width="5" '
        'height="3" /> Heintz views a hologram of Eva Friedel.[/caption]\n\n'
        "Thanks for reading my piece on Magnetic Rose! I’ll be covering Stink Bomb and Cannon "
        "Fodder in upcoming articles soon so stay tuned for those! I’ll link them here when I "
        "finish writing them."
    )
    post = blog.create(
        title="Fond Memories Part 1: Magnetic Rose",
        slug=PART_1,
        content=content,
        categories=[anime["id"]],
        tags=[kon["id"]],
        featured_media=cover["id"],
        date_gmt="2019-03-01T12:00:00",
    )
    return post | {"images": [rose, eva], "cover": cover}


def upload(blog: Blog, name: str, data: bytes, caption: str) -> dict[str, Any]:
    headers = {"Content-Type": "image/png", "Content-Disposition": f'attachment; filename="{name}"'}
    media = blog.send("POST", "/media", content=data, headers=headers)
    if caption:
        media = blog.send("POST", f"/media/{media['id']}", json={"caption": caption})
    return dict(media)


def edit_post(blog: Blog, post_id: int) -> dict[str, Any]:
    return dict(blog.send("GET", f"/posts/{post_id}", params={"context": "edit"}))


def test_the_seed_post_imported_published_unchanged_then_linked_from_part_2(
    blog: Blog, config: Path
) -> None:
    original = seed_part_1(blog)
    posts = config.parent / "posts"

    imported = invoke(config, "import", "--slug", PART_1)

    assert imported.exit_code == 0, imported.output
    part_1 = posts / f"{PART_1}.md"
    assert f"wrote {part_1}" in imported.stdout
    assert f"adopted WordPress post {original['id']} (publish)" in imported.stdout
    assert "inferred: series 'Fond Memories', part 1 (from the title)" in imported.stdout
    assert "promises a link to come" in imported.stdout
    assert "imported 1 post and 3 images, 1 adopted" in imported.stdout
    assert sorted(p.name for p in (posts / "images").iterdir()) == [
        "magnetic-rose-1.png",
        "magnetic-rose-2.png",
        "memories-cover.png",
    ]
    checked = invoke(config, "check")
    assert checked.exit_code == 0, checked.output
    assert f"{part_1}:" in checked.stderr
    assert "promises a link to come" in checked.stderr

    before = snapshot(blog)
    unchanged = invoke(config, "publish", PART_1)
    assert unchanged.exit_code == 0, unchanged.output
    assert f"unchanged {PART_1}" in unchanged.stdout
    assert f"announce  {PART_1}  waits: already skipped" in unchanged.stdout
    assert snapshot(blog) == before  # zero writes, zero uploads
    assert edit_post(blog, original["id"])["content"]["raw"] == original["content"]["raw"]

    # The writer keeps the promise in the file, and writes Part 2 (with an image of its own).
    text = part_1.read_text(encoding="utf-8")
    part_1.write_text(
        text.replace(
            "I’ll be covering Stink Bomb", f"I’ll be covering [Stink Bomb](post:{PART_2})"
        ),
        encoding="utf-8",
    )
    (posts / "images" / "stink-bomb.png").write_bytes(png(7, 3))
    (posts / f"{PART_2}.md").write_text(
        f"---\ntitle: 'Fond Memories Part 2: Stink Bomb'\nslug: {PART_2}\nseries: Fond Memories\n"
        "part: 2\n---\n<!-- series -->\n\n"
        '![A gas cloud](images/stink-bomb.png "Tanaka, unaware.")\n\n'
        f"Back to [Magnetic Rose](post:{PART_1}).\n",
        encoding="utf-8",
    )

    published = invoke(config, "publish", PART_2)

    assert published.exit_code == 0, published.output
    assert f"backfill  {PART_1}" in published.stdout
    after = edit_post(blog, original["id"])
    html = after["content"]["raw"]
    part_2 = blog.send("GET", "/posts", params={"slug": PART_2})[0]
    assert f'<a href="{part_2["link"]}">Stink Bomb</a>' in html
    for image in original["images"]:
        assert html.count(f'src="{image["source_url"]}"') == 1
    assert "<figcaption>Miguel (left) Heintz (right)</figcaption>" in html
    assert "<figcaption>Heintz views a hologram of Eva Friedel.</figcaption>" in html
    assert after["featured_media"] == original["cover"]["id"]
    assert after["date_gmt"] == "2019-03-01T12:00:00"
    media = blog.send("GET", "/media", params={"per_page": 100})
    assert len(media) == len(before["media"]) + 1  # Part 2's image, once; none again
    public = blog.public(original["id"])
    assert public.count("<figcaption") == 2
    assert "Stink Bomb</a>" in public


def test_the_corpus_imported_then_published_unchanged_writes_nothing(
    blog: Blog, config: Path
) -> None:
    created = [
        blog.create(title=path.stem, slug=path.stem, content=path.read_text(encoding="utf-8"))
        for path in corpus()
    ]
    assert len(created) >= 20

    imported = invoke(config, "import", "--all", "--status", "publish")

    assert imported.exit_code == 0, imported.output
    assert f"imported {len(created)} posts" in imported.stdout
    before = snapshot(blog)
    counted = Counted()
    with open_site(config, transport=counted) as site:
        publisher = site.publisher()
        plan = publisher.plan(site.targets([p["slug"] for p in created]), refresh=True)
        result = publisher.execute(plan)
    assert [p.action for p in plan.publishes] == ["unchanged"] * len(created)
    assert plan.backfills == ()
    assert result.ok
    assert counted.writes == []
    assert snapshot(blog) == before
    for post in created:
        assert edit_post(blog, post["id"])["content"]["raw"] == post["content"]["raw"]


class Counted(httpx.BaseTransport):
    """The real transport, counting what would change something."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.writes: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in WRITES:
            self.writes.append(f"{request.method} {request.url.path}")
        return self.real.handle_request(request)


WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>A blog</title>
  <link>{site}</link>
  <wp:wxr_version>1.2</wp:wxr_version>
  <wp:base_blog_url>{site}</wp:base_blog_url>
  {items}
</channel>
</rss>
"""
ITEM = """<item>
    <title>{title}</title>
    <link>{link}</link>
    <content:encoded><![CDATA[{content}]]></content:encoded>
    <excerpt:encoded><![CDATA[]]></excerpt:encoded>
    <wp:post_id>{id}</wp:post_id>
    <wp:post_date_gmt>{date}</wp:post_date_gmt>
    <wp:post_name>{slug}</wp:post_name>
    <wp:status>publish</wp:status>
    <wp:post_type>post</wp:post_type>
    <wp:postmeta>
      <wp:meta_key><![CDATA[_thumbnail_id]]></wp:meta_key>
      <wp:meta_value><![CDATA[{cover_id}]]></wp:meta_value>
    </wp:postmeta>
  </item>
  <item>
    <title>cover</title>
    <wp:post_id>{cover_id}</wp:post_id>
    <wp:status>inherit</wp:status>
    <wp:post_type>attachment</wp:post_type>
    <wp:attachment_url><![CDATA[{cover_url}]]></wp:attachment_url>
  </item>"""


def test_an_export_of_this_site_is_adopted_as_the_site_itself_would_be(
    blog: Blog, config: Path, wordpress: LocalWordPress
) -> None:
    original = seed_part_1(blog)
    raw = edit_post(blog, original["id"])
    export = config.parent / "export.xml"
    item = ITEM.format(
        title=raw["title"]["raw"],
        link=raw["link"],
        content=raw["content"]["raw"],
        id=raw["id"],
        date=raw["date_gmt"].replace("T", " "),
        slug=raw["slug"],
        cover_id=original["cover"]["id"],
        cover_url=original["cover"]["source_url"],
    )
    export.write_text(WXR.format(site=wordpress.url, items=item), encoding="utf-8")
    credentials = config.parent / "credentials.toml"
    kept = credentials.read_text(encoding="utf-8")
    credentials.unlink()  # an export needs none: the images are public

    imported = invoke(config, "import", "--wxr", str(export))

    assert imported.exit_code == 0, imported.output
    assert "imported 1 post and 3 images, 1 adopted" in imported.stdout
    credentials.write_text(kept, encoding="utf-8")
    credentials.chmod(0o600)
    before = snapshot(blog)
    published = invoke(config, "publish", PART_1)
    assert published.exit_code == 0, published.output
    assert f"unchanged {PART_1}" in published.stdout
    assert snapshot(blog) == before


# --- bad input: one line with the fix, exit 2, nothing written --------------------------------


def nothing_written(config: Path) -> bool:
    site = config.parent
    return not (site / "posts").exists() and not (site / "state").exists()


def one_error_line(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "(fix: " in lines[0]
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.output


def test_an_id_or_a_slug_that_does_not_exist(blog: Blog, config: Path) -> None:
    blog.create(title="Real", slug="real", content="Here.")
    one_error_line(invoke(config, "import", "--id", "987654"), "no post with the id 987654")
    one_error_line(invoke(config, "import", "--slug", "real", "--slug", "nope"), "slug 'nope'")
    one_error_line(invoke(config, "import"), "nothing to import")
    assert nothing_written(config)


def test_a_file_that_is_not_an_export(config: Path) -> None:
    export = config.parent / "feed.xml"
    export.write_text("<rss><channel><title>A feed</title></channel></rss>", encoding="utf-8")
    one_error_line(invoke(config, "import", "--wxr", str(export)), "not a WordPress export file")
    one_error_line(
        invoke(config, "import", "--wxr", str(config.parent / "missing.xml")), "cannot read"
    )
    assert nothing_written(config)


def test_a_target_file_that_exists_is_never_overwritten_without_force(
    blog: Blog, config: Path
) -> None:
    blog.create(title="Mine", slug="mine", content="From WordPress.")
    posts = config.parent / "posts"
    posts.mkdir()
    (posts / "mine.md").write_text("---\ntitle: Mine\n---\nMy own words.\n", encoding="utf-8")

    refused = invoke(config, "import", "--slug", "mine")
    one_error_line(refused, f"{posts / 'mine.md'} already exists", "--force")
    dry = invoke(config, "import", "--slug", "mine", "--dry-run")
    assert dry.exit_code == 2
    assert "(exists: needs --force)" in dry.stdout
    assert (posts / "mine.md").read_text(encoding="utf-8").endswith("My own words.\n")
    assert sorted(p.name for p in posts.iterdir()) == ["mine.md"]
    assert not (config.parent / "state").exists()

    forced = invoke(config, "import", "--slug", "mine", "--force")
    assert forced.exit_code == 0, forced.output
    assert "From WordPress." in (posts / "mine.md").read_text(encoding="utf-8")


def test_no_credentials(config: Path) -> None:
    (config.parent / "credentials.toml").unlink()
    one_error_line(invoke(config, "import", "--all"), "no WordPress credentials")
    assert nothing_written(config)


def test_a_dry_run_writes_nothing(blog: Blog, config: Path) -> None:
    seed_part_1(blog)
    before = snapshot(blog)
    dry = invoke(config, "import", "--all", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"{config.parent / 'posts' / PART_1}.md  <- WordPress post" in dry.stdout
    assert "dry run: nothing written" in dry.stdout
    assert nothing_written(config)
    assert snapshot(blog) == before


def test_the_summary_shows_no_secret(blog: Blog, config: Path, wordpress: LocalWordPress) -> None:
    blog.create(title="Plain", slug="plain", content="Words.")
    imported = invoke(config, "import", "--all")
    assert imported.exit_code == 0, imported.output
    assert wordpress.app_password not in imported.output
    assert json.dumps(wordpress.app_password)[1:-1] not in imported.output
