"""XClient through the real tweepy client against the fake X API on loopback."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import tweepy

from pipeline.channels.x import XClient
from pipeline.config import Secret, XCredentials
from pipeline.core.announce import MAX_LENGTH, weighted_length
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    DuplicatePost,
    InputError,
    RateLimited,
    XError,
)
from pipeline.retrying import RetryPolicy
from tests.fakex import DEFAULT_KEYS, FakeX

ROOT = Path(__file__).resolve().parent.parent
NO_WAIT = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
EPOCH = 2_000_000_000  # the fake's frozen clock, far from real time on purpose


@pytest.fixture
def client(fake_x: FakeX) -> Iterator[XClient]:
    with XClient(fake_x.credentials(), fake_x.url, timeout=5, retries=NO_WAIT) as x:
        yield x


def connect(fake: FakeX, credentials: XCredentials, **options: object) -> XClient:
    settings: dict[str, object] = {"timeout": 5, "retries": NO_WAIT, **options}
    return XClient(credentials, fake.url, **settings)  # type: ignore[arg-type]


def posts(fake: FakeX) -> list[int | None]:
    """The status of each create-post request the fake saw, in order."""
    return [r["status"] for r in fake.requests if r["endpoint"] == "POST /2/tweets"]


# ---- the happy paths -------------------------------------------------------------------------


def test_me_is_the_username(client: XClient) -> None:
    assert client.me() == "writer"


def test_post_creates_one_tweet_through_the_rewritten_url(fake_x: FakeX, client: XClient) -> None:
    tweet = client.post("New on the blog: Part 2 https://blog.example.com/part-2/")
    assert tweet.id.isdigit()
    assert tweet.url == f"https://x.com/i/status/{tweet.id}"
    assert fake_x.tweets == [
        {
            "id": tweet.id,
            "text": "New on the blog: Part 2 https://blog.example.com/part-2/",
            "reply_to": None,
            "media_ids": [],
            "deleted": False,
            "created_at": fake_x.tweets[0]["created_at"],
        }
    ]
    assert fake_x.requests[-1]["auth"] == "oauth1"


def test_url_names_the_user_once_known(client: XClient) -> None:
    client.me()
    tweet = client.post("hello")
    assert tweet.url == f"https://x.com/writer/status/{tweet.id}"


def test_three_parts_thread_as_replies(fake_x: FakeX, client: XClient) -> None:
    first = client.post("Part 1")
    second = client.post("Part 2", reply_to=first.id)
    third = client.post("Part 3", reply_to=second.id)
    chain = [(t["id"], t["reply_to"]) for t in fake_x.tweets]
    assert chain == [(first.id, None), (second.id, first.id), (third.id, second.id)]


def test_image_is_uploaded_and_attached(fake_x: FakeX, client: XClient, tmp_path: Path) -> None:
    image = tmp_path / "cover.png"
    image.write_bytes(PNG)
    client.post("With a picture", image=image)
    [media] = fake_x.media
    assert media["content"] == PNG
    assert media["category"] == "tweet_image"
    assert media["filename"] == "cover.png"
    assert fake_x.tweets[0]["media_ids"] == [media["id"]]
    upload = next(r for r in fake_x.requests if r["endpoint"] == "POST /2/media/upload")
    assert upload["auth"] == "oauth1"  # the multipart upload was signed and verified


def test_unreadable_image_is_an_input_error_and_nothing_is_posted(
    fake_x: FakeX, client: XClient, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="cannot read the image"):
        client.post("With a picture", image=tmp_path / "missing.png")
    assert fake_x.requests == []


def test_delete_marks_the_tweet_and_is_idempotent(fake_x: FakeX, client: XClient) -> None:
    tweet = client.post("Oops")
    client.delete(tweet.id)
    client.delete(tweet.id)  # already gone: fine
    assert fake_x.tweets[0]["deleted"] is True
    assert client.post("Oops").id != tweet.id  # a deleted text is no longer a duplicate


def test_bearer_user_token_works(fake_x: FakeX) -> None:
    with connect(fake_x, fake_x.bearer_credentials()) as x:
        assert x.me() == "writer"
        x.post("Posted with an OAuth 2.0 user token")
    assert {r["auth"] for r in fake_x.requests} == {"bearer"}
    assert fake_x.live_texts() == ["Posted with an OAuth 2.0 user token"]


def test_bearer_user_token_uploads_images(fake_x: FakeX, tmp_path: Path) -> None:
    image = tmp_path / "cover.png"
    image.write_bytes(PNG)
    with connect(fake_x, fake_x.bearer_credentials()) as x:
        x.post("Picture", image=image)
    assert fake_x.tweets[0]["media_ids"] == [fake_x.media[0]["id"]]


# ---- X says no -------------------------------------------------------------------------------


def test_duplicate_text_is_duplicate_tweet(fake_x: FakeX, client: XClient) -> None:
    client.post("Same words")
    with pytest.raises(DuplicatePost) as caught:
        client.post("Same words")
    assert caught.value.status == 403
    assert "duplicate" in str(caught.value)
    assert len(fake_x.tweets) == 1


def test_reply_to_a_missing_tweet_is_an_x_error(client: XClient) -> None:
    with pytest.raises(XError) as caught:
        client.post("Part 2", reply_to="1")
    assert caught.value.status == 403
    assert not isinstance(caught.value, DuplicatePost)
    assert "deleted or not visible" in str(caught.value)


def test_rate_limit_gives_reset_time_then_succeeds_after_it(fake_x: FakeX, client: XClient) -> None:
    fake_x.now = EPOCH
    fake_x.rate_limit(remaining=0, reset_at=EPOCH + 600)
    with pytest.raises(RateLimited) as caught:
        client.post("Too soon")
    assert caught.value.reset_at == datetime.fromtimestamp(EPOCH + 600, UTC)
    assert caught.value.status == 429
    assert fake_x.tweets == []
    fake_x.now = EPOCH + 600
    client.post("On time")
    assert fake_x.live_texts() == ["On time"]
    assert posts(fake_x) == [429, 201]


# ---- failures on the way ---------------------------------------------------------------------


def test_503_is_retried_and_then_posts_once(fake_x: FakeX, client: XClient) -> None:
    fake_x.fail_next(status=503)
    tweet = client.post("Second time lucky")
    assert posts(fake_x) == [503, 201]
    assert [t["id"] for t in fake_x.tweets] == [tweet.id]


def test_503_every_time_is_an_x_error_and_nothing_posted(fake_x: FakeX, client: XClient) -> None:
    fake_x.fail_next(status=503, times=NO_WAIT.attempts)
    with pytest.raises(XError) as caught:
        client.post("Never")
    assert caught.value.status == 503
    assert not isinstance(caught.value, AmbiguousOutcome)
    assert posts(fake_x) == [503] * NO_WAIT.attempts
    assert fake_x.tweets == []


def test_503_after_posting_then_duplicate_is_ambiguous(fake_x: FakeX, client: XClient) -> None:
    fake_x.fail_next(status=503, executed=True)  # X posted it, but said it failed
    with pytest.raises(AmbiguousOutcome, match="probably did post"):
        client.post("Did it go out?")
    assert posts(fake_x) == [503, 403]
    assert fake_x.live_texts() == ["Did it go out?"]


def test_dropped_connection_is_ambiguous_and_not_retried(fake_x: FakeX, client: XClient) -> None:
    fake_x.drop_next()
    with pytest.raises(AmbiguousOutcome, match="may or may not exist"):
        client.post("Posted but never heard back")
    assert fake_x.live_texts() == ["Posted but never heard back"]
    assert posts(fake_x) == [None]


def test_timeout_after_sending_is_ambiguous(fake_x: FakeX) -> None:
    fake_x.delay_next(2.0)
    with (
        connect(fake_x, fake_x.credentials(), timeout=0.3) as x,
        pytest.raises(AmbiguousOutcome, match="no answer in time"),
    ):
        x.post("Slow")
    assert fake_x.live_texts() == ["Slow"]
    assert len(posts(fake_x)) == 1


def test_unreachable_server_is_an_x_error_not_ambiguous() -> None:
    with FakeX() as fake:
        credentials, url = fake.credentials(), fake.url
    with (
        XClient(credentials, url, timeout=5, retries=NO_WAIT) as x,
        pytest.raises(XError, match="could not reach X") as caught,
    ):
        x.post("Nobody home")
    assert not isinstance(caught.value, AmbiguousOutcome)


def test_a_dropped_read_is_retried(fake_x: FakeX, client: XClient) -> None:
    fake_x.drop_next(endpoint="GET /2/users/me")
    assert client.me() == "writer"


# ---- credentials -----------------------------------------------------------------------------


def test_wrong_consumer_secret_is_auth_error_without_secrets(fake_x: FakeX) -> None:
    keys = {**fake_x.keys, "consumer_secret": "wrongConsumerSecret-0123456789abcdefghijklmnopq"}
    credentials = XCredentials(**{k: Secret(v) for k, v in keys.items()})
    with connect(fake_x, credentials) as x, pytest.raises(AuthError) as caught:
        x.post("Hello")
    text = str(caught.value) + repr(caught.value) + repr(x)
    for secret in [*keys.values(), *fake_x.keys.values()]:
        assert secret not in text
    assert "Read and Write permission" in text
    assert "regenerate the access token" in text
    assert fake_x.tweets == []


def test_wrong_bearer_token_is_auth_error(fake_x: FakeX) -> None:
    credentials = XCredentials(bearer_token=Secret("not-the-right-token-0123456789"))
    with connect(fake_x, credentials) as x, pytest.raises(AuthError) as caught:
        x.me()
    assert "not-the-right-token" not in str(caught.value)
    assert "OAuth 2.0 user access token" in str(caught.value)


def test_app_only_bearer_token_is_auth_error() -> None:
    with FakeX(app_bearer_token="appOnlyBearerToken-0123456789") as fake:
        credentials = XCredentials(bearer_token=Secret("appOnlyBearerToken-0123456789"))
        with connect(fake, credentials) as x, pytest.raises(AuthError, match="not the app's"):
            x.post("Hello")


def test_no_credentials_is_auth_error(fake_x: FakeX) -> None:
    with pytest.raises(AuthError, match="no X credentials"):
        XClient(XCredentials(), fake_x.url)


def test_secrets_stay_out_of_debug_logs(
    fake_x: FakeX, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    image = tmp_path / "cover.png"
    image.write_bytes(PNG)
    with connect(fake_x, fake_x.credentials()) as x:
        x.post("OAuth 1.0a", image=image)
    with connect(fake_x, fake_x.bearer_credentials()) as x:
        x.post("OAuth 2.0")
    assert "Bearer" in caplog.text  # tweepy did log its headers...
    for secret in [*fake_x.keys.values(), fake_x.bearer_token or ""]:
        assert secret not in caplog.text  # ...but not the credentials


# ---- the fake itself -------------------------------------------------------------------------


def signed(
    fake: FakeX, method: str, public_url: str, send_to: str | None = None, **kwargs: object
) -> requests.PreparedRequest:
    """A request signed for the public X URL, then pointed at the fake, as XClient does."""
    keys = [
        fake.keys[k]
        for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    ]
    auth = tweepy.OAuth1UserHandler(*keys).apply_auth()
    prepared = requests.Request(method, public_url, auth=auth, **kwargs).prepare()
    prepared.url = fake.url + (send_to or urlsplit(public_url).path)
    return prepared


def send(prepared: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as session:
        return session.send(prepared, timeout=5)


def test_fake_verifies_signatures_for_real(fake_x: FakeX) -> None:
    good = signed(fake_x, "POST", "https://api.twitter.com/2/tweets", json={"text": "ok"})
    assert send(good).status_code == 201  # the control: signing this way is accepted

    tampered = signed(fake_x, "POST", "https://api.twitter.com/2/tweets", json={"text": "a"})
    header = str(tampered.headers["Authorization"])
    signature = re.search(r'oauth_signature="([^"]+)"', header)
    assert signature is not None
    forged = ("B" if signature[1][0] == "A" else "A") + signature[1][1:]
    tampered.headers["Authorization"] = header.replace(signature[1], forged)
    answer = send(tampered)
    assert answer.status_code == 401
    assert answer.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }

    elsewhere = signed(
        fake_x, "POST", "https://api.twitter.com/2/users/me", "/2/tweets", json={"text": "b"}
    )
    assert send(elsewhere).status_code == 401  # signed for another URL

    replayed = signed(fake_x, "POST", "https://api.twitter.com/2/tweets", json={"text": "c"})
    assert send(replayed).status_code == 201
    assert send(replayed).status_code == 401  # the same nonce twice
    assert fake_x.live_texts() == ["ok", "c"]


def test_fake_refuses_missing_auth_with_rate_limit_headers(fake_x: FakeX) -> None:
    answer = requests.post(fake_x.url + "/2/tweets", json={"text": "x"}, timeout=5)
    assert answer.status_code == 401
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= {
        name.lower() for name in answer.headers
    }


def test_fake_answers_in_x_shapes(fake_x: FakeX) -> None:
    created = send(
        signed(fake_x, "POST", "https://api.twitter.com/2/tweets", json={"text": "shape"})
    )
    data = created.json()["data"]
    assert created.status_code == 201
    assert data == {"id": data["id"], "text": "shape", "edit_history_tweet_ids": [data["id"]]}
    duplicate = send(
        signed(fake_x, "POST", "https://api.twitter.com/2/tweets", json={"text": "shape"})
    )
    assert duplicate.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    deleted = send(signed(fake_x, "DELETE", f"https://api.twitter.com/2/tweets/{data['id']}"))
    assert deleted.json() == {"data": {"deleted": True}}
    upload = send(
        signed(
            fake_x,
            "POST",
            "https://api.twitter.com/2/media/upload",
            files={"media": ("a.png", PNG, "image/png")},
            data={"media_category": "tweet_image"},
        )
    )
    media = upload.json()["data"]
    assert media["media_key"] == f"3_{media['id']}"
    assert media["size"] == len(PNG)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 280,
        "a" * 281,
        "界" * 140,
        "界" * 141,
        "😀" * 140,
        "😀" * 141,
        "👨‍👩‍👧" * 140,
        "👨‍👩‍👧" * 141,
        "e\u0301" * 280,
        "e\u0301" * 281,
        "x" * 256 + " https://blog.example.com/" + "long/" * 60,
        "x" * 257 + " https://blog.example.com/" + "long/" * 60,
        "日本語 text with 😀 and https://example.com " + "y" * 232,
        "日本語 text with 😀 and https://example.com " + "y" * 233,
    ],
)
def test_fake_length_check_agrees_with_weighted_length(
    fake_x: FakeX, client: XClient, text: str
) -> None:
    fits = weighted_length(text) <= MAX_LENGTH
    if fits:
        client.post(text)
        assert len(fake_x.tweets) == 1
    else:
        with pytest.raises(XError) as caught:
            client.post(text)
        assert caught.value.status == 400
        assert "too long" in str(caught.value)


def test_length_cases_straddle_the_limit() -> None:
    # The parametrised texts above come in pairs: one at the limit, one just over.
    assert weighted_length("x" * 256 + " https://blog.example.com/" + "long/" * 60) == 280
    assert weighted_length("日本語 text with 😀 and https://example.com " + "y" * 232) == 280


def test_standalone_fake_runs_as_a_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_X_")}
    env["PIPELINE_X_CONSUMER_SECRET"] = "fromTheEnvironment-0123456789abcdefghijklmnopqrstu"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakex", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        keys = {**DEFAULT_KEYS, "consumer_secret": env["PIPELINE_X_CONSUMER_SECRET"]}
        keys.pop("bearer_token")
        credentials = XCredentials(**{k: Secret(v) for k, v in keys.items()})
        requests.post(url + "/_fake/drop_next", json={}, timeout=5).raise_for_status()
        with XClient(credentials, url, timeout=5, retries=NO_WAIT) as x:
            with pytest.raises(AmbiguousOutcome):
                x.post("From another process")
            assert x.me() == "writer"
        state = requests.get(url + "/_fake/state", timeout=5).json()
        assert [t["text"] for t in state["tweets"]] == ["From another process"]
        assert json.dumps(state)  # the state is plain JSON for other tools
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0
