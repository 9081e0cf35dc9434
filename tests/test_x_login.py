"""`pipeline login x` as a library: the browser flow, the token file, renewal, and X's 402.

Everything runs against the fake X on loopback (tests/fakex.py, tests/fakex_oauth.py); the
"browser" is httpx following X's redirect back to the redirect listener, as a browser would.
"""

from __future__ import annotations

import base64
import logging
import socket
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec.structs
import pytest

from pipeline.auth.bearer import BearerAuth
from pipeline.auth.oauth2 import (
    Provider,
    TokenSet,
    exchange_code,
    login,
    parse_callback,
    start,
    x_provider,
)
from pipeline.auth.tokens import TokenManager, TokenStore
from pipeline.channels.x import XClient
from pipeline.config import Secret, XCredentials
from pipeline.errors import AuthError, CreditsExhausted, PipelineError
from pipeline.retrying import RetryPolicy
from tests.fakex import FakeX

EPOCH = 2_000_000_000.0
NO_WAIT = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
LINK_POST = "New on the blog: Part 2 https://blog.example.com/part-2/"
HOURS = 3600.0


class Clock:
    """One simulated time for the fake X (epoch seconds) and the pipeline (aware datetimes)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Browser:
    """Opens an address and follows redirects, keeping the pages it ended on."""

    def __init__(self) -> None:
        self.pages: list[httpx.Response] = []

    def __call__(self, url: str) -> None:
        self.pages.append(httpx.get(url, follow_redirects=True, timeout=5))


@pytest.fixture
def clock() -> Clock:
    return Clock(EPOCH)


@pytest.fixture
def fake(fake_x: FakeX, clock: Clock) -> FakeX:
    fake_x.clock = lambda: clock.t
    return fake_x


@pytest.fixture
def port(fake: FakeX) -> int:
    """The port of the callback URL registered with the app."""
    chosen = free_port()
    fake.oauth.register_redirect(f"http://127.0.0.1:{chosen}/callback")
    return chosen


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def provider_for(fake: FakeX, *, secret: bool = True) -> Provider:
    client_secret = fake.oauth.client_secret if secret else None
    return x_provider(
        fake.oauth.client_id,
        Secret(client_secret) if client_secret else None,
        authorize_url=f"{fake.url}/i/oauth2/authorize",
        token_url=f"{fake.url}/2/oauth2/token",
        revoke_url=f"{fake.url}/2/oauth2/revoke",
    )


def log_in(fake: FakeX, http: httpx.Client, clock: Clock, port: int, store: TokenStore) -> None:
    tokens = login(provider_for(fake), http, open_url=Browser(), clock=clock, port=port, timeout=5)
    store.save(tokens)


def client_for(fake: FakeX, manager: TokenManager, clock: Callable[[], datetime]) -> XClient:
    return XClient(
        XCredentials(), fake.url, timeout=5, retries=NO_WAIT, tokens=manager, clock=clock
    )


def statuses(fake: FakeX, endpoint: str) -> list[int | None]:
    return [r["status"] for r in fake.requests if r["endpoint"] == endpoint]


def grants(fake: FakeX) -> list[tuple[str, int]]:
    return [(r["grant_type"], r["status"]) for r in fake.oauth.token_requests]


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / ".pipeline", "x")


@pytest.fixture
def manager(fake: FakeX, http: httpx.Client, store: TokenStore) -> TokenManager:
    return TokenManager(provider_for(fake), store, http)


# ---- the login ---------------------------------------------------------------------------------


def test_login_then_post_end_to_end(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    browser = Browser()
    tokens = login(provider_for(fake), http, open_url=browser, clock=clock, port=port, timeout=5)
    store.save(tokens)

    # The browser went to X's consent page and was sent back to the listener, which said so.
    assert browser.pages[0].status_code == 200
    assert "Logged in to X" in browser.pages[0].text
    assert str(browser.pages[0].url).startswith(f"http://127.0.0.1:{port}/callback?")
    authorize = urlsplit(str(browser.pages[0].history[0].url))
    query = parse_qs(authorize.query)
    assert query["scope"] == ["tweet.read tweet.write users.read media.write offline.access"]
    assert query["code_challenge_method"] == ["S256"]
    assert tokens.expires_at == datetime.fromtimestamp(EPOCH + 2 * HOURS, UTC)
    assert tokens.refresh_token is not None

    with client_for(fake, manager, clock) as x:
        tweet = x.post(LINK_POST)
    assert fake.live_texts() == [LINK_POST]
    assert [r["auth"] for r in fake.requests if r["endpoint"] == "POST /2/tweets"] == ["oauth2"]
    assert tweet.id == fake.tweets[0]["id"]


def test_a_confidential_client_authenticates_with_basic(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    seen: list[httpx.Request] = []
    spy = httpx.Client(event_hooks={"request": [seen.append]})
    login(provider_for(fake), spy, open_url=Browser(), clock=clock, port=port, timeout=5)
    spy.close()
    (request,) = seen
    pair = f"{fake.oauth.client_id}:{fake.oauth.client_secret}".encode()
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(pair).decode()
    assert b"client_secret" not in request.content


def test_a_public_client_sends_its_client_id(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    fake.oauth.client_secret = None  # a Native App: X issues no secret
    seen: list[httpx.Request] = []
    spy = httpx.Client(event_hooks={"request": [seen.append]})
    tokens = login(
        provider_for(fake, secret=False), spy, open_url=Browser(), clock=clock, port=port, timeout=5
    )
    spy.close()
    (request,) = seen
    assert "Authorization" not in request.headers
    assert parse_qs(request.content.decode())["client_id"] == [fake.oauth.client_id]
    assert tokens.access_token.reveal()


def test_a_confidential_client_without_basic_is_refused(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    with pytest.raises(AuthError, match="Missing valid authorization header") as caught:
        login(
            provider_for(fake, secret=False),
            http,
            open_url=Browser(),
            clock=clock,
            port=port,
            timeout=5,
        )
    assert "pipeline login x" in str(caught.value)


def test_a_denied_consent_is_an_auth_error(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    fake.oauth.consent = False
    browser = Browser()
    with pytest.raises(AuthError, match="access_denied"):
        login(provider_for(fake), http, open_url=browser, clock=clock, port=port, timeout=5)
    assert browser.pages[0].status_code == 400
    assert grants(fake) == []


def test_a_redirect_with_another_state_is_refused(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    def forged(url: str) -> None:
        httpx.get(f"http://127.0.0.1:{port}/callback?state=forged&code=stolen", timeout=5)

    with pytest.raises(AuthError, match="did not carry this login's state"):
        login(provider_for(fake), http, open_url=forged, clock=clock, port=port, timeout=5)
    assert grants(fake) == []  # the code was never exchanged


def test_no_answer_from_the_browser_times_out(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    with pytest.raises(AuthError, match="no answer from the browser"):
        login(
            provider_for(fake), http, open_url=lambda url: None, clock=clock, port=port, timeout=0.2
        )


def test_a_headless_login_reads_the_pasted_address(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    provider = provider_for(fake)
    request = start(provider, f"http://127.0.0.1:{port}/callback")
    # On another machine the browser ends on an address nobody listens to; the writer pastes it.
    consent = httpx.get(request.url, follow_redirects=False, timeout=5)
    pasted = consent.headers["Location"]
    code = parse_callback(provider, pasted, request.state)
    tokens = exchange_code(provider, http, code, request, clock())
    assert tokens.refresh_token is not None


def test_a_code_is_good_for_thirty_seconds_and_once(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    provider = provider_for(fake)
    request = start(provider, f"http://127.0.0.1:{port}/callback")
    code = parse_callback(provider, httpx.get(request.url).headers["Location"], request.state)
    clock.advance(31)
    with pytest.raises(AuthError, match="authorization code was invalid"):
        exchange_code(provider, http, code, request, clock())

    request = start(provider, f"http://127.0.0.1:{port}/callback")
    code = parse_callback(provider, httpx.get(request.url).headers["Location"], request.state)
    exchange_code(provider, http, code, request, clock())
    with pytest.raises(AuthError, match="authorization code was invalid"):
        exchange_code(provider, http, code, request, clock())


def test_the_code_needs_the_verifier_of_its_challenge(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int
) -> None:
    provider = provider_for(fake)
    request = start(provider, f"http://127.0.0.1:{port}/callback")
    code = parse_callback(provider, httpx.get(request.url).headers["Location"], request.state)
    other = start(provider, request.redirect_uri)  # same address, another verifier
    with pytest.raises(AuthError, match="authorization code was invalid"):
        exchange_code(provider, http, code, other, clock())


# ---- renewal -----------------------------------------------------------------------------------


def test_two_posts_three_hours_apart_renew_once_without_a_failed_post(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    log_in(fake, http, clock, port, store)
    first_refresh = store.load()
    assert first_refresh is not None
    assert first_refresh.refresh_token is not None

    with client_for(fake, manager, clock) as x:
        x.post("Part 1 is out https://blog.example.com/part-1/")
        clock.advance(3 * HOURS)  # the access token died an hour ago
        x.post(LINK_POST)

    assert statuses(fake, "POST /2/tweets") == [201, 201]  # renewed before, not after a 401
    assert grants(fake) == [("authorization_code", 200), ("refresh_token", 200)]
    assert manager.refreshes == 1
    saved = store.load()
    assert saved is not None
    assert saved.refresh_token is not None
    assert saved.refresh_token != first_refresh.refresh_token  # rotated and saved
    assert saved.expires_at == datetime.fromtimestamp(EPOCH + 5 * HOURS, UTC)

    # The old refresh token is spent: X refuses it (and would end the whole login for it).
    reuse = http.post(
        f"{fake.url}/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": first_refresh.refresh_token.reveal()},
        auth=(fake.oauth.client_id, fake.oauth.client_secret or ""),
    )
    assert reuse.status_code == 400
    assert reuse.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }


def test_renewal_happens_within_the_margin_before_expiry(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    log_in(fake, http, clock, port, store)
    clock.advance(2 * HOURS - 6 * 60)
    manager.access_token(clock())
    assert manager.refreshes == 0
    clock.advance(2 * 60)  # four minutes left: inside the five-minute margin
    manager.access_token(clock())
    assert manager.refreshes == 1


def test_a_401_before_expiry_is_renewed_once_and_the_post_is_sent_again(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    log_in(fake, http, clock, port, store)
    saved = store.load()
    assert saved is not None
    # X revoked the access token early (not the login): the next call is refused with a 401.
    http.post(
        f"{fake.url}/2/oauth2/revoke",
        data={"token": saved.access_token.reveal()},
        auth=(fake.oauth.client_id, fake.oauth.client_secret or ""),
    )
    with client_for(fake, manager, clock) as x:
        x.post(LINK_POST)
    assert statuses(fake, "POST /2/tweets") == [401, 201]
    assert fake.live_texts() == [LINK_POST]
    assert manager.refreshes == 1


def test_bearer_auth_gives_any_httpx_client_the_same_renewal(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    log_in(fake, http, clock, port, store)
    saved = store.load()
    assert saved is not None
    http.post(
        f"{fake.url}/2/oauth2/revoke",
        data={"token": saved.access_token.reveal()},
        auth=(fake.oauth.client_id, fake.oauth.client_secret or ""),
    )
    with httpx.Client(auth=BearerAuth(manager, clock)) as api:
        me = api.get(f"{fake.url}/2/users/me")
    assert me.json()["data"]["username"] == "writer"
    assert statuses(fake, "GET /2/users/me") == [401, 200]


def test_a_revoked_login_is_an_auth_error_that_says_to_log_in_again(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
) -> None:
    log_in(fake, http, clock, port, store)
    fake.oauth.revoke_everything()  # the writer removed the app in X's settings
    with client_for(fake, manager, clock) as x, pytest.raises(AuthError) as caught:
        x.post(LINK_POST)
    assert "run `pipeline login x` again" in str(caught.value)
    assert "Value passed for the token was invalid" in str(caught.value)
    assert statuses(fake, "POST /2/tweets") == [401]  # one try, then the refresh was refused
    assert fake.tweets == []


def test_an_expired_login_without_refresh_token_says_to_log_in_again(
    fake: FakeX, http: httpx.Client, clock: Clock, store: TokenStore, manager: TokenManager
) -> None:
    fake.oauth.register_redirect("http://127.0.0.1:1/callback")
    provider = provider_for(fake)
    # A login without offline.access gets no refresh token.
    short = msgspec.structs.replace(provider, scopes=("tweet.read", "tweet.write", "users.read"))
    request = start(short, "http://127.0.0.1:1/callback")
    code = parse_callback(short, httpx.get(request.url).headers["Location"], request.state)
    store.save(exchange_code(short, http, code, request, clock()))
    clock.advance(2 * HOURS)
    with client_for(fake, manager, clock) as x, pytest.raises(AuthError, match="cannot be renewed"):
        x.post(LINK_POST)
    assert statuses(fake, "POST /2/tweets") == []


def test_not_logged_in_says_how_to(fake: FakeX, clock: Clock, manager: TokenManager) -> None:
    with (
        client_for(fake, manager, clock) as x,
        pytest.raises(AuthError, match="`pipeline login x`"),
    ):
        x.me()


def test_two_processes_spend_the_refresh_token_once(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int, store: TokenStore
) -> None:
    log_in(fake, http, clock, port, store)
    scheduler = TokenManager(provider_for(fake), TokenStore(store.folder.parent, "x"), http)
    publish = TokenManager(provider_for(fake), TokenStore(store.folder.parent, "x"), http)
    scheduler.access_token(clock())
    publish.access_token(clock())  # both hold the same token in memory
    clock.advance(2 * HOURS)
    renewed = scheduler.access_token(clock())
    assert publish.access_token(clock()) == renewed  # read from the file, not refreshed again
    assert grants(fake).count(("refresh_token", 200)) == 1
    assert fake.oauth.live_refresh_tokens() == 1


class _UnwritableStore(TokenStore):
    def save(self, tokens: TokenSet) -> None:
        raise PipelineError("disk full")


def test_a_renewed_token_is_saved_before_it_is_used(
    fake: FakeX, http: httpx.Client, clock: Clock, port: int, store: TokenStore
) -> None:
    log_in(fake, http, clock, port, store)
    broken = TokenManager(provider_for(fake), _UnwritableStore(store.folder.parent, "x"), http)
    clock.advance(3 * HOURS)
    with client_for(fake, broken, clock) as x, pytest.raises(PipelineError, match="disk full"):
        x.post(LINK_POST)
    assert statuses(fake, "POST /2/tweets") == []  # the unsaved token never left


# ---- secrets -----------------------------------------------------------------------------------


def test_the_token_file_is_private_and_no_token_reaches_any_log(
    fake: FakeX,
    http: httpx.Client,
    clock: Clock,
    port: int,
    store: TokenStore,
    manager: TokenManager,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # tweepy, requests, httpx and urllib3 at their chattiest
    log_in(fake, http, clock, port, store)
    first = store.load()
    with client_for(fake, manager, clock) as x:
        x.post("Part 1 https://blog.example.com/part-1/")
        clock.advance(3 * HOURS)
        x.post(LINK_POST)
    last = store.load()
    assert first is not None
    assert last is not None

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in store.folder.iterdir()) == ["x.json", "x.lock"]  # no temp files

    captured = capfd.readouterr()
    output = caplog.text + captured.out + captured.err
    secrets = [*first.secrets(), *last.secrets(), fake.oauth.client_secret or ""]
    assert all(secret and secret not in output for secret in secrets)
    # The chatty loggers were heard: tweepy logs each request's headers, with the bearer masked.
    assert "Making API request" in caplog.text
    assert "Bearer ********" in caplog.text


# ---- X's 402 -----------------------------------------------------------------------------------


def test_402_is_credits_exhausted_with_xs_body_and_no_retry(fake: FakeX) -> None:
    fake.set_credits(0)
    x = XClient(fake.credentials(), fake.url, timeout=5, retries=NO_WAIT)
    with x, pytest.raises(CreditsExhausted) as caught:
        x.post(LINK_POST)
    message = str(caught.value)
    assert "does not have any credits to fulfill this request" in message
    assert "console.x.com" in message
    assert "pipeline retry" in message
    assert caught.value.status == 402
    assert statuses(fake, "POST /2/tweets") == [402]  # not retried on a backoff
    assert fake.tweets == []


def test_the_402_body_is_xs(fake: FakeX) -> None:
    fake.set_credits(0)
    answer = httpx.post(
        f"{fake.url}/2/tweets",
        json={"text": "hello"},
        headers={"Authorization": f"Bearer {fake.bearer_token}"},
    )
    assert answer.status_code == 402
    assert answer.json() == {
        "title": "CreditsDepleted",
        "detail": f"Your enrolled account [{fake.account_id}] does not have any credits to "
        "fulfill this request.",
        "type": "https://api.twitter.com/2/problems/credits",
    }
    assert len(answer.content.replace(b", ", b",").replace(b": ", b":")) == 185


def test_credits_are_charged_per_post_and_may_go_slightly_negative(fake: FakeX) -> None:
    fake.set_credits("0.30")
    with XClient(fake.credentials(), fake.url, timeout=5, retries=NO_WAIT) as x:
        x.post("Part 1 https://blog.example.com/part-1/")  # 0.20: 0.10 left
        x.post("Part 2 https://blog.example.com/part-2/")  # 0.20: -0.10, still allowed
        with pytest.raises(CreditsExhausted):
            x.post("Part 3 https://blog.example.com/part-3/")
    assert [str(c["cost"]) for c in fake.charges] == ["0.200", "0.200"]
    assert str(fake.credits) == "-0.100"
    assert statuses(fake, "POST /2/tweets") == [201, 201, 402]


def test_an_upload_refused_for_credits_sends_no_post(fake: FakeX, tmp_path: Path) -> None:
    image = tmp_path / "cover.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    fake.set_credits(0)
    x = XClient(fake.credentials(), fake.url, timeout=5, retries=NO_WAIT)
    with x, pytest.raises(CreditsExhausted):
        x.post(LINK_POST, image=image)
    assert statuses(fake, "POST /2/media/upload") == [402]
    assert statuses(fake, "POST /2/tweets") == []
