"""`pipeline login wordpress.com` as a library, and publishing through the bearer route.

The fake WordPress.com (tests/fakewpcom.py) plays public-api.wordpress.com; behind its
``/wp/v2/sites/SITE`` route is the real local WordPress when one runs (scripts/wordpress.sh).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pipeline.auth.bearer import BearerAuth
from pipeline.auth.oauth2 import Provider, login, wordpress_com_api_root, wordpress_com_provider
from pipeline.auth.tokens import TokenManager, TokenStore
from pipeline.config import Secret, WordPressCredentials, WordPressSettings
from pipeline.errors import AuthError
from pipeline.wordpress import PostFields, WordPressClient, make_http_client
from tests.fakewpcom import FakeWordPressCom
from tests.wp_local import LocalWordPress

EPOCH = 2_000_000_000.0
TWO_WEEKS = 14 * 24 * 3600
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


class Clock:
    def __init__(self) -> None:
        self.t = EPOCH

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def browser(url: str) -> None:
    httpx.get(url, follow_redirects=True, timeout=5)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def started(fake: FakeWordPressCom, clock: Clock) -> tuple[FakeWordPressCom, int]:
    fake.clock = lambda: clock.t
    port = free_port()
    fake.register_redirect(f"http://127.0.0.1:{port}/callback")
    return fake.start(), port


@pytest.fixture
def wpcom(clock: Clock) -> Iterator[tuple[FakeWordPressCom, int]]:
    fake, port = started(FakeWordPressCom(), clock)
    yield fake, port
    fake.stop()


def provider_for(fake: FakeWordPressCom, secret: str | None = None) -> Provider:
    return wordpress_com_provider(
        fake.client_id,
        Secret(secret or fake.client_secret),
        site=f"https://{fake.site}",
        authorize_url=f"{fake.url}/oauth2/authorize",
        token_url=f"{fake.url}/oauth2/token",
    )


def test_login_end_to_end_gives_a_token_for_the_blog(
    wpcom: tuple[FakeWordPressCom, int], http: httpx.Client, clock: Clock, tmp_path: Path
) -> None:
    fake, port = wpcom
    seen: list[httpx.Request] = []
    spy = httpx.Client(event_hooks={"request": [seen.append]})
    opened: list[str] = []

    def open_url(url: str) -> None:
        opened.append(url)
        browser(url)

    tokens = login(provider_for(fake), spy, open_url=open_url, clock=clock, port=port, timeout=5)
    spy.close()

    query = parse_qs(urlsplit(opened[0]).query)
    assert query["blog"] == ["https://blog.example.com"]
    assert query["response_type"] == ["code"]
    assert "scope" not in query  # full access to the one blog
    form = parse_qs(seen[0].content.decode())
    assert form["client_id"] == [fake.client_id]
    assert form["client_secret"] == [fake.client_secret]  # WordPress.com takes it in the form
    assert form["grant_type"] == ["authorization_code"]
    assert dict(tokens.extra) == {"blog_id": fake.blog_id, "blog_url": "https://blog.example.com"}
    assert tokens.expires_at is None  # code-flow tokens do not expire
    assert tokens.refresh_token is None

    store = TokenStore(tmp_path / ".pipeline", "wordpress.com")
    store.save(tokens)
    assert store.load() == tokens
    assert store.path.name == "wordpress.com.json"


def test_the_rest_root_comes_from_the_site() -> None:
    assert (
        wordpress_com_api_root("https://blog.example.com/")
        == "https://public-api.wordpress.com/wp/v2/sites/blog.example.com"
    )
    assert wordpress_com_api_root("123456789").endswith("/wp/v2/sites/123456789")


def test_a_wrong_client_secret_is_refused(
    wpcom: tuple[FakeWordPressCom, int], http: httpx.Client, clock: Clock
) -> None:
    fake, port = wpcom
    with pytest.raises(AuthError, match="invalid_client") as caught:
        login(
            provider_for(fake, secret="not-the-secret"),
            http,
            open_url=browser,
            clock=clock,
            port=port,
            timeout=5,
        )
    assert "pipeline login wordpress.com" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


def test_the_site_route_wants_a_token_for_that_blog(
    wpcom: tuple[FakeWordPressCom, int], http: httpx.Client, clock: Clock
) -> None:
    fake, port = wpcom
    tokens = login(provider_for(fake), http, open_url=browser, clock=clock, port=port, timeout=5)
    bearer = {"Authorization": f"Bearer {tokens.access_token.reveal()}"}
    refused = http.get(f"{fake.api_root}/users/me", headers={"Authorization": "Bearer nope"})
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    other = http.get(f"{fake.url}/wp/v2/sites/other.example.com/users/me", headers=bearer)
    assert other.status_code == 403
    by_id = http.get(f"{fake.url}/wp/v2/sites/{fake.blog_id}/users/me", headers=bearer)
    assert by_id.status_code == 502  # accepted; no WordPress behind this fake


def test_an_expiring_login_is_renewed(http: httpx.Client, clock: Clock, tmp_path: Path) -> None:
    # The /oauth2-1/ server: two-week tokens and a rotating refresh token.
    fake, port = started(FakeWordPressCom(token_lifetime=TWO_WEEKS), clock)
    try:
        provider = provider_for(fake)
        store = TokenStore(tmp_path, "wordpress.com")
        store.save(login(provider, http, open_url=browser, clock=clock, port=port, timeout=5))
        manager = TokenManager(provider, store, http)
        first = manager.access_token(clock())
        clock.t += TWO_WEEKS + 60
        with httpx.Client(auth=BearerAuth(manager, clock)) as site:
            answer = site.get(f"{fake.api_root}/users/me")
        assert answer.status_code == 502  # the renewed token was accepted
        assert manager.refreshes == 1
        saved = store.load()
        assert saved is not None
        assert saved.access_token != first
    finally:
        fake.stop()


@pytest.mark.wordpress
def test_login_then_publish_through_the_bearer_route(
    wordpress: LocalWordPress, http: httpx.Client, clock: Clock
) -> None:
    fake, port = started(FakeWordPressCom(upstream=wordpress), clock)
    try:
        tokens = login(
            provider_for(fake), http, open_url=browser, clock=clock, port=port, timeout=5
        )
        settings = WordPressSettings(url=f"https://{fake.site}", api_root=fake.api_root)
        creds = WordPressCredentials(token=tokens.access_token)
        with WordPressClient.connect(make_http_client(settings, creds), settings, creds) as site:
            assert site.me()["slug"] == wordpress.user
            cover = site.upload_media("cover.png", PNG, "image/png", "A cover", "Part 2's cover")
            post = site.create_post(
                PostFields(
                    title="Fond Memories, Part 2",
                    slug="fond-memories-part-2",
                    content="<p>Stink bombs.</p>",
                    status="publish",
                    featured_media=cover.id,
                )
            )
    finally:
        fake.stop()

    # The post is on the real WordPress, written by the admin the app password belongs to.
    found = httpx.get(
        f"{wordpress.url}/",
        params={"rest_route": "/wp/v2/posts", "slug": "fond-memories-part-2", "context": "edit"},
        auth=wordpress.auth,
    ).json()
    assert [(p["id"], p["status"], p["featured_media"]) for p in found] == [
        (post.id, "publish", cover.id)
    ]
    through = [(r["method"], r["path"], r["status"]) for r in fake.requests]
    assert ("POST", "/wp/v2/sites/blog.example.com/media", 201) in through
    assert ("POST", "/wp/v2/sites/blog.example.com/posts", 201) in through
    assert all(status < 400 for _, path, status in through if path.startswith("/wp/v2/"))
