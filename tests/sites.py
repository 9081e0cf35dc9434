"""Helpers for end-to-end tests: a site folder (pipeline.toml, credentials, posts) in tmp_path,
wired to the local WordPress and, optionally, the fake X API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from pipeline.config import XCredentials
from pipeline.timeutil import utc_now
from pipeline.wiring import Services, services
from tests import fakebsky, fakemastodon
from tests.wp_local import LocalWordPress

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_POSTS = REPO / "posts"
SERIES = ("paper-lanterns-part-1", "paper-lanterns-part-2", "paper-lanterns-part-3")


class WordPressSite(Protocol):
    """What a site folder needs of a WordPress: the real local one, or the in-memory one."""

    url: str
    user: str
    app_password: str


def make_site(
    root: Path,
    wordpress: WordPressSite,
    *,
    x_url: str | None = None,
    x_credentials: XCredentials | None = None,
    extra: str = "",
    template: str = "New on the blog: {title} {url}",
) -> Path:
    """A site folder with the example posts; returns the path of its pipeline.toml."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_POSTS, root / "posts", dirs_exist_ok=True)
    x_table = f'api_url = "{x_url}"\nthread_series = true\n' if x_url else ""
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "America/New_York"\nposts_dir = "posts"\nstate_dir = "state"\n'
        f'{extra}\n[wordpress]\nurl = "{wordpress.url}"\n\n'
        f'[x]\ntemplate = "{template}"\n{x_table}',
        encoding="utf-8",
    )
    creds = f'[wordpress]\nuser = "{wordpress.user}"\napp_password = "{wordpress.app_password}"\n'
    if x_credentials is not None:
        creds += "\n[x]\n" + "".join(
            f'{name} = "{value.reveal()}"\n'
            for name in (
                "consumer_key",
                "consumer_secret",
                "access_token",
                "access_token_secret",
                "bearer_token",
            )
            if (value := getattr(x_credentials, name)) is not None
        )
    path = root / "credentials.toml"
    path.write_text(creds, encoding="utf-8")
    path.chmod(0o600)
    return config


@contextmanager
def open_site(
    config: Path, clock: Any = utc_now, transport: httpx.BaseTransport | None = None
) -> Iterator[Services]:
    with services(str(config), clock=clock, transport=transport) as found:
        yield found


def remote(wordpress: LocalWordPress, slug: str) -> dict[str, Any] | None:
    """The post as WordPress has it (any status), read straight from the REST API."""
    answer = httpx.get(
        f"{wordpress.url}/wp-json/wp/v2/posts",
        params={"slug": slug, "status": "any", "context": "edit"},
        auth=(wordpress.user, wordpress.app_password),
        timeout=10,
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    assert len(found) <= 1, f"{len(found)} posts with slug {slug}"
    return found[0] if found else None


def count_posts(wordpress: LocalWordPress) -> int:
    answer = httpx.get(
        f"{wordpress.url}/wp-json/wp/v2/posts",
        params={"status": "any", "per_page": 100, "context": "edit"},
        auth=(wordpress.user, wordpress.app_password),
        timeout=10,
    )
    answer.raise_for_status()
    return len(answer.json())


def update_remote(wordpress: LocalWordPress, post_id: int, **fields: str) -> None:
    """A change made by a person in wp-admin (content, status, ...)."""
    answer = httpx.post(
        f"{wordpress.url}/wp-json/wp/v2/posts/{post_id}",
        json=fields,
        auth=(wordpress.user, wordpress.app_password),
        timeout=10,
    )
    answer.raise_for_status()


def trash_remote(wordpress: LocalWordPress, post_id: int) -> None:
    """A post moved to the trash in wp-admin."""
    answer = httpx.delete(
        f"{wordpress.url}/wp-json/wp/v2/posts/{post_id}",
        auth=(wordpress.user, wordpress.app_password),
        timeout=10,
    )
    answer.raise_for_status()


def delete_remote(wordpress: LocalWordPress, post_id: int) -> None:
    """A post deleted for good in wp-admin (not just trashed)."""
    answer = httpx.delete(
        f"{wordpress.url}/wp-json/wp/v2/posts/{post_id}",
        params={"force": "true"},
        auth=(wordpress.user, wordpress.app_password),
        timeout=10,
    )
    answer.raise_for_status()


def fixed(when: str) -> Any:
    moment = datetime.fromisoformat(when)
    return lambda: moment


def add_channels(
    config: Path,
    *,
    bluesky: str | None = None,
    mastodon: str | None = None,
    handle: str = fakebsky.DEFAULT_HANDLE,
    app_password: str | None = fakebsky.DEFAULT_APP_PASSWORD,
    access_token: str | None = fakemastodon.DEFAULT_TOKEN,
    template: str = "New on the blog: {title} {url}",
    thread_series: bool = True,
    image: bool = True,
) -> Path:
    """Add [bluesky] (at the PDS ``bluesky``) and [mastodon] (at the instance ``mastodon``) to
    a site made by make_site, with their credentials; returns the config's path."""
    flags = f"thread_series = {str(thread_series).lower()}\nimage = {str(image).lower()}\n"
    tables, creds = "", ""
    if bluesky is not None:
        tables += f'\n[bluesky]\nservice = "{bluesky}"\ntemplate = "{template}"\n{flags}'
        creds += f'\n[bluesky]\nhandle = "{handle}"\n'
        creds += f'app_password = "{app_password}"\n' if app_password else ""
    if mastodon is not None:
        tables += f'\n[mastodon]\ninstance = "{mastodon}"\ntemplate = "{template}"\n{flags}'
        creds += f'\n[mastodon]\naccess_token = "{access_token}"\n' if access_token else ""
    with config.open("a", encoding="utf-8") as out:
        out.write(tables)
    with (config.parent / "credentials.toml").open("a", encoding="utf-8") as out:
        out.write(creds)
    return config
