"""Pytest plugin: the real local WordPress started by ``scripts/wordpress.sh start``.

The fixtures never start WordPress themselves. ``start`` writes ``.wordpress/env.json``
(or ``$WP_STATE_DIR/env.json``); when that file is missing or the site does not answer, tests
using these fixtures are skipped locally and FAIL when the ``CI`` environment variable is set.

- ``wordpress_site`` (session): the site, checked once per session.
- ``wordpress`` (function): the same site, emptied by ``scripts/wordpress.sh reset`` first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "wordpress.sh"
SKIP_MESSAGE = "local WordPress not running: start it with scripts/wordpress.sh start"


def _state_dir() -> Path:
    return Path(os.environ.get("WP_STATE_DIR") or REPO_ROOT / ".wordpress")


@dataclass(frozen=True)
class LocalWordPress:
    """Where the local WordPress answers, and the admin's application password."""

    url: str
    user: str
    app_password: str

    @property
    def auth(self) -> tuple[str, str]:
        """Basic-auth pair for httpx (``auth=site.auth``)."""
        return (self.user, self.app_password)

    def reset(self) -> None:
        """Delete all posts, media, categories (but Uncategorized) and tags; keep admin."""
        done = subprocess.run(
            ["bash", str(SCRIPT), "reset"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"scripts/wordpress.sh reset failed ({done.returncode}): {done.stderr.strip()}"
            )


def site_env() -> dict[str, Any]:
    """All of ``env.json`` (admin password, WordPress version, config file...) for the tests that
    need more than the REST credentials, e.g. a wp-admin login in a browser."""
    env: dict[str, Any] = json.loads((_state_dir() / "env.json").read_text(encoding="utf-8"))
    return env


def set_option(name: str, value: str) -> None:
    """Set a WordPress option in the site's database, for what the REST API cannot set (such as
    ``permalink_structure``: its rewrite rules are then built again on the next request)."""
    env = site_env()

    if not re.fullmatch(r"[a-z_]+", name):
        raise ValueError(f"not an option name: {name!r}")
    # The value as hex digits: nothing in it can end the string.
    value_sql = f"CONVERT(X'{value.encode().hex()}' USING utf8mb4)"
    sql = f"UPDATE wp_options SET option_value = {value_sql} WHERE option_name = '{name}';"  # noqa: S608
    if name == "permalink_structure":
        sql += " DELETE FROM wp_options WHERE option_name = 'rewrite_rules';"
    done = subprocess.run(
        ["mariadb", f"--socket={env['db_socket']}", "-u", str(env["db_user"]), str(env["db_name"])],
        input=sql,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MYSQL_PWD": str(env["db_password"])},  # not on the command line
    )
    if done.returncode != 0:
        raise RuntimeError(f"setting the option {name} failed: {done.stderr.strip()}")


def _load_site() -> tuple[LocalWordPress | None, str]:
    """The site described by env.json if it answers, else (None, why not)."""
    env_json = _state_dir() / "env.json"
    try:
        env = json.loads(env_json.read_text(encoding="utf-8"))
        site = LocalWordPress(
            url=str(env["url"]).rstrip("/"),
            user=str(env["user"]),
            app_password=str(env["app_password"]),
        )
    except FileNotFoundError:
        return None, f"{env_json} does not exist"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{env_json} is unreadable: {exc!r}"
    try:
        response = httpx.get(f"{site.url}/wp-json/", timeout=5.0)
    except httpx.HTTPError as exc:
        return None, f"GET {site.url}/wp-json/ failed: {exc!r}"
    if response.status_code != 200:
        return None, f"GET {site.url}/wp-json/ answered HTTP {response.status_code}"
    return site, ""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def wordpress_site() -> LocalWordPress:
    """The running local WordPress; skipped (or failed when CI is set) if it is not up."""
    site, why = _load_site()
    if site is None:
        if in_ci():
            pytest.fail(
                f"local WordPress is required in CI but is not available ({why}); "
                "run scripts/wordpress.sh install && scripts/wordpress.sh start first",
                pytrace=False,
            )
        pytest.skip(SKIP_MESSAGE)
    return site


@pytest.fixture
def wordpress(wordpress_site: LocalWordPress) -> LocalWordPress:
    """The local WordPress, reset to a freshly-installed (empty) state before the test."""
    wordpress_site.reset()
    return wordpress_site
