"""Media never twice, against the real WordPress: an image is looked up in the media library by
the key its upload carries before it is uploaded, so neither a lost state, a second site folder
nor an upload whose answer was lost leaves a second copy; and `pipeline status --rebuild` puts
the media table back.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import CONFIG_ENV
from tests.sites import make_site, open_site
from tests.test_wordpress_live import png
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress


def site_with_post(root: Path, wordpress: LocalWordPress, slug: str) -> Path:
    config = make_site(root, wordpress)
    posts = config.parent / "posts"
    shutil.rmtree(posts)
    (posts / "images").mkdir(parents=True)
    (posts / "images" / "same.png").write_bytes(png(6, 5))
    (posts / f"{slug}.md").write_text(
        f"---\ntitle: {slug}\nslug: {slug}\nfeatured_image: images/same.png\n---\n"
        '![The same picture](images/same.png "Its caption")\n',
        encoding="utf-8",
    )
    return config


def media(wordpress: LocalWordPress) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{wordpress.url}/wp-json/wp/v2/media",
        params={"per_page": 100, "context": "edit"},
        auth=wordpress.auth,
        timeout=10,
    )
    answer.raise_for_status()
    return list(answer.json())


def publish(config: Path, slug: str, transport: httpx.BaseTransport | None = None) -> None:
    with open_site(config, transport=transport) as site:
        publisher = site.publisher()
        result = publisher.execute(publisher.plan(site.targets([slug]), refresh=True))
    assert result.ok, result.failed


class LoseAnswer(httpx.BaseTransport):
    """The real transport, except that the answer to the first upload is lost after
    WordPress saved it (the connection drops)."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        uploading = request.method == "POST" and request.url.path.endswith("/wp/v2/media")
        if uploading and not self.lost:
            self.lost += 1
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_lost_state_and_a_second_site_folder_upload_nothing_again(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    first = site_with_post(tmp_path / "first", wordpress, "first")
    publish(first, "first")
    (uploaded,) = media(wordpress)
    assert uploaded["slug"].startswith("pipeline-sha256-")

    shutil.rmtree(first.parent / "state")  # the state is lost
    publish(first, "first")
    second = site_with_post(tmp_path / "second", wordpress, "second")
    publish(second, "second")

    assert [m["id"] for m in media(wordpress)] == [uploaded["id"]]


def test_an_upload_whose_answer_was_lost_is_found_not_sent_again(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = site_with_post(tmp_path / "site", wordpress, "lost")
    lose = LoseAnswer()

    publish(config, "lost", lose)

    assert lose.lost == 1
    (found,) = media(wordpress)
    with open_site(config) as site:
        log = [e.details for e in site.store.entries(post="lost") if e.step == "upload"]
    assert "the upload's answer was lost; found it in the media library" in log[0]
    assert found["caption"]["raw"] == "Its caption"


def test_rebuild_puts_the_media_table_back(wordpress: LocalWordPress, tmp_path: Path) -> None:
    config = site_with_post(tmp_path / "site", wordpress, "kept")
    publish(config, "kept")
    shutil.rmtree(config.parent / "state")

    rebuilt = CliRunner().invoke(
        cli, ["--config", str(config), "status", "--rebuild"], env={CONFIG_ENV: None}
    )

    assert rebuilt.exit_code == 0, rebuilt.output
    assert "images/same.png: media" in rebuilt.output
    assert "(found by its key)" in rebuilt.output
    publish(config, "kept")  # compared again after a rebuild: updated, nothing uploaded
    assert len(media(wordpress)) == 1
