"""Two local WordPress sites at once (scripts/wordpress.sh, issue 10 item 7).

A second site (its own port and WP_STATE_DIR under tmp) runs beside the one the suite uses: each
answers from its own database and uploads, `reset`/`stop` of one leaves the other alone, and no
configuration file that is not the script's own is ever written.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_wordpress_live import png
from tests.wp_local import SCRIPT, LocalWordPress

pytestmark = pytest.mark.wordpress

# What Debian's wp-config.php reads for any site on 127.0.0.1 (a writer's own WordPress).
HOST_CONFIG = Path("/etc/wordpress/config-127.0.0.1.php")
FOREIGN = b"<?php\n// A writer's own WordPress on 127.0.0.1.\ndefine('DB_NAME', 'writers_blog');\n"


@dataclass(frozen=True)
class Second:
    """The second site: how to run the script for it, and its env.json."""

    env: dict[str, str]
    info: dict[str, Any]

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    @property
    def site(self) -> LocalWordPress:
        return LocalWordPress(self.info["url"], self.info["user"], self.info["app_password"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(second: Second) -> Second:
    done = second.run("start")
    assert done.returncode == 0, done.stderr
    info = json.loads((Path(second.env["WP_STATE_DIR"]) / "env.json").read_text(encoding="utf-8"))
    return Second(second.env, info)


@pytest.fixture
def host_config() -> Iterator[bytes]:
    """config-127.0.0.1.php as found, or a writer's one put there for the test (then removed)."""
    created = not HOST_CONFIG.exists()
    if created:
        HOST_CONFIG.write_bytes(FOREIGN)
    try:
        yield HOST_CONFIG.read_bytes()
    finally:
        if created:
            HOST_CONFIG.unlink()


@pytest.fixture
def second(wordpress_site: LocalWordPress, tmp_path: Path, host_config: bytes) -> Iterator[Second]:
    """A second site beside the suite's (so it is skipped, or fails in CI, the same way)."""
    env = os.environ | {"WP_PORT": str(free_port()), "WP_STATE_DIR": str(tmp_path / "wp")}
    stopped = Second(env, {})
    try:
        yield start(stopped)
    finally:
        stopped.run("stop")


def titles(site: LocalWordPress) -> set[str]:
    response = httpx.get(
        f"{site.url}/wp-json/wp/v2/posts",
        params={"status": "any", "context": "edit"},
        auth=site.auth,
        timeout=30,
    )
    response.raise_for_status()
    return {post["title"]["raw"] for post in response.json()}


def create_post(site: LocalWordPress, title: str) -> None:
    body = {"title": title, "status": "draft"}
    response = httpx.post(f"{site.url}/wp-json/wp/v2/posts", json=body, auth=site.auth, timeout=30)
    assert response.status_code == 201, response.text


def upload(site: LocalWordPress) -> str:
    """Uploads an image; returns its public URL."""
    response = httpx.post(
        f"{site.url}/wp-json/wp/v2/media",
        content=png(),
        headers={"Content-Type": "image/png", "Content-Disposition": "attachment; filename=a.png"},
        auth=site.auth,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    url: str = response.json()["source_url"]
    return url


def test_two_sites_answer_from_their_own_database(
    wordpress: LocalWordPress, second: Second, host_config: bytes
) -> None:
    other = second.site
    assert other.url != wordpress.url
    create_post(wordpress, "In the suite's site")
    create_post(other, "In the second site")

    assert titles(wordpress) == {"In the suite's site"}
    assert titles(other) == {"In the second site"}
    assert HOST_CONFIG.read_bytes() == host_config


def test_reset_and_stop_of_one_site_leave_the_other_alone(
    wordpress: LocalWordPress, second: Second, host_config: bytes
) -> None:
    create_post(wordpress, "Kept")
    image = upload(wordpress)

    assert second.run("reset").returncode == 0
    assert second.run("stop").returncode == 0

    assert titles(wordpress) == {"Kept"}
    assert httpx.get(image, timeout=30).content == png()
    assert HOST_CONFIG.read_bytes() == host_config


def test_a_config_file_that_is_not_ours_is_left_alone(second: Second) -> None:
    config = Path(second.info["wp_config"])
    assert second.run("stop").returncode == 0
    assert not config.exists()
    config.write_bytes(FOREIGN)
    try:
        refused = second.run("start")
        assert config.read_bytes() == FOREIGN
    finally:
        config.unlink()

    assert (refused.returncode, refused.stderr) == (
        1,
        f"[wordpress.sh] ERROR: {config} was not written by this script; "
        "move it away or set WP_STATE_DIR\n",
    )
