"""The local WordPress (scripts/wordpress.sh) is real and usable with the application password."""

from __future__ import annotations

import struct
import time
import uuid
import zlib

import httpx
import pytest

from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress


def _png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG (WordPress checks that uploads really are images)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _client(site: LocalWordPress) -> httpx.Client:
    return httpx.Client(base_url=site.url, auth=site.auth, timeout=30.0)


def test_application_password_authenticates_admin(wordpress: LocalWordPress) -> None:
    with _client(wordpress) as client:
        me = client.get("/wp-json/wp/v2/users/me", params={"context": "edit"})
        anonymous = httpx.get(f"{wordpress.url}/wp-json/wp/v2/users/me", timeout=30.0)
        wrong = httpx.get(
            f"{wordpress.url}/wp-json/wp/v2/users/me",
            auth=(wordpress.user, "aaaa bbbb cccc dddd eeee ffff"),
            timeout=30.0,
        )
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["username"] == "admin"
    assert "administrator" in body["roles"]
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    # WordPress 6.1 only looks at the Basic credentials once something asks for the current user:
    # with nothing loaded that does so early, a bad application password reads "not logged in".
    assert wrong.json()["code"] in ("rest_not_logged_in", "incorrect_password")


def test_created_post_is_served_and_removed_by_reset(wordpress: LocalWordPress) -> None:
    marker = uuid.uuid4().hex[:10]
    with _client(wordpress) as client:
        category = client.post("/wp-json/wp/v2/categories", json={"name": f"Cat {marker}"})
        tag = client.post("/wp-json/wp/v2/tags", json={"name": f"tag-{marker}"})
        assert category.status_code == 201, category.text
        assert tag.status_code == 201, tag.text
        created = client.post(
            "/wp-json/wp/v2/posts",
            json={
                "title": f"Héllo {marker}",
                "content": f"<p>Body ✓ {marker}</p>",
                "status": "publish",
                "slug": f"hello-{marker}",
                "categories": [category.json()["id"]],
                "tags": [tag.json()["id"]],
            },
        )
        assert created.status_code == 201, created.text
        post = created.json()
        assert post["link"] == f"{wordpress.url}/hello-{marker}/", "pretty permalinks are on"
        assert post["categories"] == [category.json()["id"]]

        page = httpx.get(post["link"], timeout=30.0)
        assert page.status_code == 200
        assert f"Body ✓ {marker}" in page.text

        started = time.perf_counter()
        wordpress.reset()
        elapsed = time.perf_counter() - started

        gone = client.get(f"/wp-json/wp/v2/posts/{post['id']}", params={"context": "edit"})
        cat_gone = client.get(f"/wp-json/wp/v2/categories/{category.json()['id']}")
        tag_gone = client.get(f"/wp-json/wp/v2/tags/{tag.json()['id']}")
        uncategorized = client.get("/wp-json/wp/v2/categories/1")
        me = client.get("/wp-json/wp/v2/users/me")
    assert gone.status_code == 404
    assert cat_gone.status_code == 404
    assert tag_gone.status_code == 404
    assert uncategorized.status_code == 200
    assert uncategorized.json()["slug"] == "uncategorized"
    assert me.status_code == 200, "the application password survives reset"
    assert httpx.get(post["link"], timeout=30.0).status_code == 404
    assert elapsed < 5.0, f"reset took {elapsed:.2f} s"


def test_uploaded_media_is_served(wordpress: LocalWordPress) -> None:
    png = _png()
    name = f"pixel-{uuid.uuid4().hex[:8]}.png"
    with _client(wordpress) as client:
        uploaded = client.post(
            "/wp-json/wp/v2/media",
            content=png,
            headers={
                "Content-Type": "image/png",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )
        assert uploaded.status_code == 201, uploaded.text
        media = uploaded.json()
        assert media["mime_type"] == "image/png"
        assert media["media_details"]["width"] == 3
        source_url: str = media["source_url"]
        assert source_url.startswith(f"{wordpress.url}/wp-content/uploads/")
        assert source_url.endswith(f"/{name}")

        served = httpx.get(source_url, timeout=30.0)
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("image/png")
        assert served.content == png

        wordpress.reset()
        assert client.get(f"/wp-json/wp/v2/media/{media['id']}").status_code == 404
    assert httpx.get(source_url, timeout=30.0).status_code == 404, "reset deletes the files"


def test_rest_route_query_parameter(wordpress: LocalWordPress) -> None:
    marker = uuid.uuid4().hex[:10]
    with _client(wordpress) as client:
        created = client.post(
            "/", params={"rest_route": "/wp/v2/posts"}, json={"title": marker, "status": "draft"}
        )
        assert created.status_code == 201, created.text
        post_id = created.json()["id"]
        listed = client.get(
            "/", params={"rest_route": "/wp/v2/posts", "status": "draft", "search": marker}
        )
        pretty = client.get(f"/wp-json/wp/v2/posts/{post_id}", params={"context": "edit"})
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()] == [post_id]
    assert pretty.status_code == 200
    assert pretty.json()["title"]["raw"] == marker
    assert pretty.json()["status"] == "draft"
