"""Import against the real WordPress: the seed post as a writer made it, and the corpus round trip.

The round trip: each corpus post is created in WordPress as it is stored there, imported, and the
import rendered and created again as a second post; both public pages (``content.rendered``, after
WordPress's own filters) show the same text, images and elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.core.render import Site, render
from pipeline.errors import InputError
from pipeline.importer import plan_from_wordpress, write_plan
from pipeline.loading import load_posts
from pipeline.wordpress import WordPressClient, make_http_client
from tests.import_roundtrip import corpus, seen
from tests.test_wordpress_live import png
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress
NEW_YORK = ZoneInfo("America/New_York")


class Blog:
    def __init__(self, wordpress: LocalWordPress) -> None:
        self.settings = WordPressSettings(url=wordpress.url, timeout=60, allow_insecure_http=True)
        creds = WordPressCredentials(
            user=wordpress.user, app_password=Secret(wordpress.app_password)
        )
        self.http = make_http_client(self.settings, creds)
        self.client = WordPressClient.connect(self.http, self.settings, creds)

    def send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, self.client.api_root.url(path), **kwargs)
        assert response.is_success, response.text
        return response.json()

    def upload(self, name: str, caption: str) -> dict[str, Any]:
        headers = {
            "Content-Type": "image/png",
            "Content-Disposition": f'attachment; filename="{name}"',
        }
        media = self.send("POST", "/media", content=png(4, 3), headers=headers)
        return dict(self.send("POST", f"/media/{media['id']}", json={"caption": caption}))

    def create(self, **fields: Any) -> dict[str, Any]:
        return dict(self.send("POST", "/posts", json={"status": "publish", **fields}))

    def public(self, post_id: int) -> str:
        return str(self.send("GET", f"/posts/{post_id}")["content"]["rendered"])


@pytest.fixture
def blog(wordpress: LocalWordPress) -> Iterator[Blog]:
    opened = Blog(wordpress)
    yield opened
    opened.http.close()


def test_the_seed_post_written_in_wordpress_is_imported_with_its_images(
    blog: Blog, tmp_path: Path
) -> None:
    rose = blog.upload("magnetic-rose-1.png", "Miguel (left) Heintz (right)")
    eva = blog.upload("magnetic-rose-2.png", "Heintz views a hologram of Eva Friedel.")
    cover = blog.upload("cover.png", "")
    category = blog.send("POST", "/categories", json={"name": "Anime"})
    tag = blog.send("POST", "/tags", json={"name": "Satoshi Kon"})
    content = (
        "Memories is a three episode anthology.\n\n"
        f'[caption id="attachment_{rose["id"]}" align="alignnone" width="4"]<img class="size-full '
        f'wp-image-{rose["id"]}" src="{rose["source_url"]}" alt="Miguel" width="4" height="3" />'
        " Miguel (left) Heintz (right)[/caption]\n\n"
        "<ul>\n <li>2001: A Space Odyssey</li>\n <li>The Shining</li>\n</ul>\n"
        f'[caption id="attachment_{eva["id"]}" align="alignnone" width="4"]<img '
        f'src="{eva["source_url"]}" alt="" /> Heintz views a hologram of Eva Friedel.[/caption]\n\n'
        "I’ll be covering Stink Bomb and Cannon Fodder in upcoming articles soon so stay tuned for "
        "those! I’ll link them here when I finish writing them."
    )
    original = blog.create(
        title="Fond Memories Part 1: Magnetic Rose",
        slug="fond-memories-part-1",
        content=content,
        categories=[category["id"]],
        tags=[tag["id"]],
        featured_media=cover["id"],
    )

    plan = plan_from_wordpress(
        blog.client, tmp_path, blog.settings.url, slugs=["fond-memories-part-1"]
    )
    result = write_plan(plan, blog.client.download)

    assert result.problems == ()
    # Each image is known as the attachment it is, for the state to record as uploaded already.
    assert sorted(d.media_id or 0 for d in plan.images) == sorted(
        [rose["id"], eva["id"], cover["id"]]
    )
    assert sorted(p.name for p in result.images) == [
        "cover.png",
        "magnetic-rose-1.png",
        "magnetic-rose-2.png",
    ]
    assert all(path.read_bytes() == png(4, 3) for path in result.images)
    loaded = load_posts(tmp_path, NEW_YORK)
    assert loaded.errors == ()
    (post,) = loaded.posts
    assert (post.series, post.part, post.categories, post.tags) == (
        "Fond Memories",
        1,
        ("Anime",),
        ("Satoshi Kon",),
    )
    assert [i.caption for i in post.images] == [
        "Miguel (left) Heintz (right)",
        "Heintz views a hologram of Eva Friedel.",
    ]
    assert any("post:" in w.fix for item in plan.files for w in item.warnings)

    # Rendered with the images already on the site, the import shows what the original showed.
    uploaded = [rose, eva]
    media = {
        image.path: str(m["source_url"]) for image, m in zip(post.images, uploaded, strict=True)
    }
    copy = blog.create(title="copy", slug="copy", content=render(post, Site(media=media)).html)
    assert seen(blog.public(copy["id"])) == seen(blog.public(original["id"]))


@pytest.mark.parametrize("path", corpus(), ids=lambda path: path.stem)
def test_the_public_page_of_an_import_equals_the_original(
    blog: Blog, tmp_path: Path, path: Path
) -> None:
    original = blog.create(
        title=path.stem, slug=path.stem, content=path.read_text(encoding="utf-8")
    )

    plan = plan_from_wordpress(blog.client, tmp_path, blog.settings.url, ids=[original["id"]])
    write_plan(plan, blog.client.download)
    (post,) = load_posts(tmp_path, NEW_YORK).posts
    copy = blog.create(title="copy", slug=f"{path.stem}-copy", content=render(post, Site()).html)

    assert seen(blog.public(copy["id"])) == seen(blog.public(original["id"]))


def test_all_posts_by_status_and_date_and_bad_choices(blog: Blog, tmp_path: Path) -> None:
    old = blog.create(title="Old", slug="old", content="Old.", date_gmt="2020-01-01T10:00:00")
    new = blog.create(title="New", slug="new", content="New.", date_gmt="2026-01-01T10:00:00")
    blog.create(title="Idea", slug="idea", content="Draft.", status="draft")

    everything = plan_from_wordpress(blog.client, tmp_path, blog.settings.url, every=True)
    assert [f.source.slug for f in everything.files][:2] == ["old", "new"]  # oldest first
    assert {f.source.slug for f in everything.files} == {"old", "new", "idea"}
    since = datetime(2025, 1, 1, tzinfo=UTC)
    recent = plan_from_wordpress(
        blog.client, tmp_path, blog.settings.url, every=True, statuses=["publish"], since=since
    )
    assert [f.source.id for f in recent.files] == [new["id"]]
    assert old["id"] not in {f.source.id for f in recent.files}

    for choice, message in [
        ({"slugs": ["no-such-post"]}, "no post with the slug 'no-such-post'"),
        ({"ids": [987654]}, "no post with the id 987654"),
        ({}, "nothing to import"),
    ]:
        with pytest.raises(InputError, match=message) as info:
            plan_from_wordpress(blog.client, tmp_path, blog.settings.url, **choice)
        assert info.value.fix
    assert list(tmp_path.iterdir()) == []
