"""The Mastodon channel, through the real Mastodon.py, against the fake instance on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pipeline.channels.base import Outgoing, Sent
from pipeline.channels.mastodon import MastodonChannel, idempotency_key
from pipeline.channels.settings import MastodonCredentials, MastodonSettings
from pipeline.config import Secret
from pipeline.errors import (
    AmbiguousOutcome,
    AuthError,
    CannotTell,
    ChannelError,
    ConfigError,
    RateLimited,
)
from pipeline.retrying import RetryPolicy
from tests.fakehttp import standalone
from tests.fakemastodon import DEFAULT_TOKEN, FakeMastodon

ROOT = Path(__file__).resolve().parent.parent
NO_WAIT = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
LINK = "https://blog.example.com/2026/12/fond-memories-part-2/"
STATUSES = "POST /api/v1/statuses"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def connect(
    fake: FakeMastodon,
    credentials: MastodonCredentials | None = None,
    *,
    visibility: str = "public",
) -> MastodonChannel:
    return MastodonChannel(
        MastodonSettings(instance=fake.url, visibility=visibility),
        credentials or fake.credentials(),
        timeout=30,  # generous: a shared machine can be slow; no test waits for it
        retry=NO_WAIT,
        media_wait=RetryPolicy(attempts=5, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
    )


@pytest.fixture
def channel(fake_mastodon: FakeMastodon) -> Iterator[MastodonChannel]:
    with connect(fake_mastodon) as mastodon:
        yield mastodon


def outgoing(
    key: str = "fond-memories-part-2/mastodon",
    text: str = f"New on the blog: Fond Memories, Part 2 {LINK} #FondMemories",
    *,
    link: str = LINK,
    reply_to: Sent | None = None,
    image: Path | None = None,
) -> Outgoing:
    return Outgoing(
        key=key,
        text=text,
        link=link,
        title="Fond Memories, Part 2",
        excerpt="The stink bomb, at last.",
        image=image,
        image_alt="A chemistry set on a kitchen table",
        reply_to=reply_to,
    )


def posted(fake: FakeMastodon) -> list[str]:
    return [s["text"] for s in fake.live_statuses()]


# ---- the happy paths -------------------------------------------------------------------------


def test_limits_are_the_instances_own() -> None:
    with FakeMastodon(max_characters=1000, url_length=30) as fake, connect(fake) as channel:
        limits = channel.limits()
        assert (limits.max_length, limits.counting, limits.url_length) == (1000, "mastodon", 30)
        channel.limits()
        assert fake.calls("GET /api/v2/instance") == [200]  # read once
        assert fake.calls("GET /api/v1/instance") == []  # the deprecated one is never asked


def test_whoami_is_the_account_at_its_instance(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    assert channel.whoami() == f"writer@127.0.0.1:{fake_mastodon.port}"


def test_post_is_one_status_with_the_key_and_the_visibility(fake_mastodon: FakeMastodon) -> None:
    with connect(fake_mastodon, visibility="unlisted") as channel:
        sent = channel.post(outgoing())

    [status] = fake_mastodon.live_statuses()
    assert status["text"] == f"New on the blog: Fond Memories, Part 2 {LINK} #FondMemories"
    assert status["visibility"] == "unlisted"
    assert sent == Sent(id=status["id"], url=f"{fake_mastodon.url}/@writer/{status['id']}")
    [request] = [r for r in fake_mastodon.requests if r["endpoint"] == STATUSES]
    assert request["headers"]["Idempotency-Key"] == idempotency_key(outgoing().key)


def test_the_idempotency_key_is_stable_and_differs_per_item() -> None:
    assert idempotency_key("a/mastodon") == idempotency_key("a/mastodon")
    assert idempotency_key("a/mastodon") != idempotency_key("b/mastodon")


def test_a_thread_of_three_uses_in_reply_to_id(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    part1 = channel.post(outgoing("p1", "Part 1 https://blog.example.com/p1/"))
    part2 = channel.post(outgoing("p2", "Part 2 https://blog.example.com/p2/", reply_to=part1))
    part3 = channel.post(outgoing("p3", "Part 3 https://blog.example.com/p3/", reply_to=part2))
    replies = {s["id"]: s["in_reply_to_id"] for s in fake_mastodon.live_statuses()}
    assert replies == {part1.id: None, part2.id: part1.id, part3.id: part2.id}


def test_a_reply_to_a_deleted_part_is_refused(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    part1 = channel.post(outgoing("p1", "Part 1 https://blog.example.com/p1/"))
    channel.delete(part1)
    with pytest.raises(ChannelError, match="does not appear to exist") as failure:
        channel.post(outgoing("p2", "Part 2 https://blog.example.com/p2/", reply_to=part1))
    assert failure.value.status == 404


def test_the_image_is_uploaded_with_alt_text_and_waited_for(tmp_path: Path) -> None:
    image = tmp_path / "featured.png"
    image.write_bytes(PNG)
    with FakeMastodon(processing_polls=3) as fake, connect(fake) as channel:
        channel.post(outgoing(image=image))

        assert fake.calls("POST /api/v2/media") == [202]
        assert fake.calls("GET /api/v1/media/:id") == [206, 206, 200]
        [status] = fake.live_statuses()
        [media] = fake.media.values()
        assert status["media_ids"] == [media["id"]]
        assert media["description"] == "A chemistry set on a kitchen table"
        assert (media["content"], media["filename"]) == (PNG, "featured.png")


def test_an_image_processed_at_once_is_not_polled(
    fake_mastodon: FakeMastodon, channel: MastodonChannel, tmp_path: Path
) -> None:
    image = tmp_path / "featured.png"
    image.write_bytes(PNG)
    channel.post(outgoing(image=image))
    assert fake_mastodon.calls("POST /api/v2/media") == [200]
    assert fake_mastodon.calls("GET /api/v1/media/:id") == []


def test_an_image_never_processed_fails_without_a_status(tmp_path: Path) -> None:
    image = tmp_path / "featured.png"
    image.write_bytes(PNG)
    with FakeMastodon(processing_polls=50) as fake, connect(fake) as channel:
        with pytest.raises(ChannelError, match="had not finished processing"):
            channel.post(outgoing(image=image))
        assert fake.live_statuses() == []


def test_delete_removes_the_status_and_a_second_delete_is_fine(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    sent = channel.post(outgoing())
    channel.delete(sent)
    channel.delete(sent)
    assert fake_mastodon.live_statuses() == []


# ---- exactly once ----------------------------------------------------------------------------


def test_a_repeated_create_returns_the_same_status(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    first = channel.post(outgoing())
    with connect(fake_mastodon) as later:
        assert later.post(outgoing()) == first
    assert len(fake_mastodon.live_statuses()) == 1


def test_the_key_is_forgotten_after_an_hour_as_mastodon_forgets_it(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    """Why find() looks at the account instead of posting again with the key."""
    first = channel.post(outgoing())
    fake_mastodon.now = time.time() + 3601
    assert channel.post(outgoing()) != first
    assert len(fake_mastodon.live_statuses()) == 2


def test_an_answer_dropped_after_the_create_is_settled_by_the_key(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    fake_mastodon.drop_next(executed=True)
    sent = channel.post(outgoing())
    assert fake_mastodon.calls(STATUSES) == [None, 200]
    assert [s["id"] for s in fake_mastodon.live_statuses()] == [sent.id]


def test_a_server_error_after_the_create_is_settled_by_the_key(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    fake_mastodon.fail_next(503, executed=True)
    sent = channel.post(outgoing())
    assert fake_mastodon.calls(STATUSES) == [503, 200]
    assert [s["id"] for s in fake_mastodon.live_statuses()] == [sent.id]


def test_no_answer_at_all_is_ambiguous_and_find_settles_it(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    for _ in range(3):
        fake_mastodon.drop_next(executed=True)
    with pytest.raises(AmbiguousOutcome, match="may or may not exist"):
        channel.post(outgoing())
    [status] = fake_mastodon.live_statuses()
    assert channel.find(outgoing()) == Sent(
        id=status["id"], url=f"{fake_mastodon.url}/@writer/{status['id']}"
    )


def test_find_is_none_on_an_account_without_the_post(channel: MastodonChannel) -> None:
    channel.post(outgoing("other", "Something else https://blog.example.com/other/"))
    assert channel.find(outgoing()) is None


def test_find_knows_a_link_mastodon_left_as_plain_text(channel: MastodonChannel) -> None:
    """An IP address is no domain to Mastodon's linkifier: the URL stays text in the post."""
    link = "http://127.0.0.1:8100/fond-memories-part-2/"
    sent = channel.post(outgoing(text=f"New on the blog: Part 2 {link}", link=link))
    assert channel.find(outgoing(link=link)) == sent
    assert channel.find(outgoing(link="http://127.0.0.1:8100/fond-memories-part-3/")) is None
    assert channel.find(outgoing(link="http://127.0.0.1:8100/fond-memories-part")) is None


def test_find_matches_the_reply_of_a_thread(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    part1 = channel.post(outgoing("p1", "Part 1 https://blog.example.com/p1/"))
    alone = channel.post(outgoing("p2-alone", f"Part 2 {LINK}"))
    assert channel.find(outgoing(reply_to=part1)) is None
    assert channel.find(outgoing()) == alone


def test_find_in_a_long_history_cannot_tell_unless_it_knows_when_it_tried(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    fake_mastodon.seed_statuses(250, at=time.time() - 2 * 24 * 3600)  # two days ago
    with pytest.raises(CannotTell, match="newest 200 posts"):
        channel.find(outgoing())
    scans = len(fake_mastodon.calls("GET /api/v1/accounts/:id/statuses"))
    assert scans == 5

    tried = datetime.now(UTC) - timedelta(minutes=1)
    assert channel.find(outgoing(), attempted_at=tried) is None
    # The first page reached back past the attempt: nothing newer can be missing.
    assert len(fake_mastodon.calls("GET /api/v1/accounts/:id/statuses")) == scans + 1

    sent = channel.post(outgoing())
    fake_mastodon.seed_statuses(30)  # posts written after the announcement
    assert channel.find(outgoing()) == sent


# ---- what the instance refuses ---------------------------------------------------------------


def test_text_over_the_limit_is_refused_as_mastodon_refuses_it(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    with pytest.raises(ChannelError) as failure:
        channel.post(outgoing(text="é" * 501))
    assert failure.value.status == 422
    assert "Validation failed: Text character limit of 500 exceeded" in str(failure.value)
    assert fake_mastodon.live_statuses() == []


def test_a_long_url_counts_as_23_characters(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    url = "https://blog.example.com/" + "a" * 300
    text = "👨\u200d👩\u200d👧\u200d👦" * 476 + " " + url  # 476 + 1 + 23 = 500
    channel.post(outgoing(text=text))
    assert posted(fake_mastodon) == [text]


def test_a_bad_token_is_an_auth_error_that_hides_it() -> None:
    with FakeMastodon() as fake:
        credentials = MastodonCredentials(access_token=Secret("wrong-token-1234567890"))
        with connect(fake, credentials) as channel, pytest.raises(AuthError) as failure:
            channel.post(outgoing())
        message = str(failure.value)
        assert "The access token is invalid" in message
        assert "wrong-token-1234567890" not in message
        assert DEFAULT_TOKEN not in message
        assert "access_token" in message  # the fix names the key
        assert fake.live_statuses() == []


def test_a_token_without_the_write_scope_is_an_auth_error() -> None:
    with (
        FakeMastodon(scopes=("read",)) as fake,
        connect(fake) as channel,
        pytest.raises(AuthError, match="outside the authorized scopes"),
    ):
        channel.post(outgoing())


def test_a_rate_limit_is_rate_limited_with_the_reset_time(
    fake_mastodon: FakeMastodon, channel: MastodonChannel
) -> None:
    reset = int(time.time()) + 1800
    fake_mastodon.rate_limit(remaining=0, reset_at=reset)
    with pytest.raises(RateLimited) as failure:
        channel.post(outgoing())
    # Mastodon.py moves the reset by the server's clock offset, read from Date (whole seconds).
    offset = failure.value.reset_at - datetime.fromtimestamp(reset, UTC)
    assert abs(offset) <= timedelta(seconds=2)
    assert fake_mastodon.calls(STATUSES) == [429]
    assert fake_mastodon.live_statuses() == []


def test_missing_token_and_bad_settings_are_refused_before_any_request(
    fake_mastodon: FakeMastodon,
) -> None:
    with pytest.raises(AuthError, match="no Mastodon access token"):
        MastodonChannel(MastodonSettings(instance=fake_mastodon.url), MastodonCredentials())
    with pytest.raises(ConfigError, match="visibility"):
        MastodonChannel(
            MastodonSettings(instance=fake_mastodon.url, visibility="everyone"),
            fake_mastodon.credentials(),
        )
    with pytest.raises(ConfigError, match="plain http://"):
        MastodonChannel(
            MastodonSettings(instance="http://mastodon.example.com"), fake_mastodon.credentials()
        )
    assert fake_mastodon.requests == []


def test_importing_the_channel_does_not_import_mastodon_py() -> None:
    code = "import sys, pipeline.channels.mastodon; print('mastodon' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_standalone_fake_runs_as_a_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_MASTODON_")}
    env["PIPELINE_MASTODON_ACCESS_TOKEN"] = "fromTheEnvironment-0123456789"
    with standalone("tests.fakemastodon", env) as url:
        httpx.post(f"{url}/_fake/drop_next", json={}).raise_for_status()
        credentials = MastodonCredentials(
            access_token=Secret(env["PIPELINE_MASTODON_ACCESS_TOKEN"])
        )
        with MastodonChannel(
            MastodonSettings(instance=url), credentials, timeout=5, retry=NO_WAIT
        ) as channel:
            sent = channel.post(outgoing())  # the answer is dropped; the key replays it
        state = httpx.get(f"{url}/_fake/state").json()
    assert [s["id"] for s in state["statuses"]] == [sent.id]
