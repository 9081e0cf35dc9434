"""The Bluesky channel (XRPC over httpx) against the fake PDS on loopback."""

from __future__ import annotations

import io
import os
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from pipeline.channels.base import Outgoing, Sent
from pipeline.channels.bluesky import (
    TID_EPOCH_US,
    TID_SPAN_BITS,
    BlueskyChannel,
    BlueskySession,
    record_key,
)
from pipeline.channels.settings import BlueskyCredentials, BlueskySettings
from pipeline.config import Secret
from pipeline.errors import AmbiguousOutcome, AuthError, ChannelError, ConfigError, RateLimited
from pipeline.retrying import RetryPolicy
from tests.fakebsky import DEFAULT_APP_PASSWORD, POST, THUMB_MAX_SIZE, TID, FakeBluesky
from tests.fakehttp import standalone

NO_WAIT = RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)
NOW = datetime(2026, 12, 1, 14, 30, 5, 123456, tzinfo=UTC)
LINK = "https://blog.example.com/2026/12/fond-memories-part-2/"
CREATE = "com.atproto.repo.createRecord"
GET = "com.atproto.repo.getRecord"


def connect(fake: FakeBluesky, **options: object) -> BlueskyChannel:
    settings: dict[str, object] = {"timeout": 5, "retry": NO_WAIT, "clock": lambda: NOW, **options}
    return BlueskyChannel.connect(
        BlueskySettings(service=fake.url),
        fake.credentials(),
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def channel(fake_bsky: FakeBluesky) -> Iterator[BlueskyChannel]:
    with connect(fake_bsky) as bluesky:
        yield bluesky


def outgoing(
    key: str = "fond-memories-part-2/bluesky",
    text: str = f"New on the blog: Fond Memories, Part 2 {LINK}",
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
        image_alt="A chemistry set",
        reply_to=reply_to,
    )


def covered(text: str, facet: dict[str, object]) -> str:
    index = facet["index"]
    assert isinstance(index, dict)
    return text.encode()[index["byteStart"] : index["byteEnd"]].decode()


def noise_png(path: Path, size: tuple[int, int], grain: int = 1) -> Path:
    """A PNG that compresses badly: random pixels, in blocks of ``grain`` (smoothed) pixels."""
    small = (max(1, size[0] // grain), max(1, size[1] // grain))
    data = random.Random(13).randbytes(small[0] * small[1] * 3)
    Image.frombytes("RGB", small, data).resize(size, Image.Resampling.BICUBIC).save(
        path, "PNG", compress_level=1
    )
    return path


# ---- record keys -----------------------------------------------------------------------------


def test_record_key_is_a_valid_tid_that_the_key_alone_decides() -> None:
    keys = [f"post-{n}/bluesky" for n in range(200)]
    tids = [record_key(key) for key in keys]
    assert all(TID.fullmatch(tid) for tid in tids)
    assert tids == [record_key(key) for key in keys]
    assert len(set(tids)) == len(tids)
    for tid in tids:  # the timestamp part is in the past, within its window
        value = 0
        for char in tid:
            value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
        micros = value >> 10
        assert TID_EPOCH_US <= micros < TID_EPOCH_US + (1 << TID_SPAN_BITS)


# ---- the happy paths -------------------------------------------------------------------------


def test_whoami_is_the_handle(channel: BlueskyChannel) -> None:
    assert channel.whoami() == "writer.bsky.social"


def test_limits_are_300_graphemes(channel: BlueskyChannel) -> None:
    limits = channel.limits()
    assert (limits.max_length, limits.counting, limits.url_length) == (300, "graphemes", None)


def test_post_is_one_record_with_facets_and_a_link_card(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    text = f"New on the blog: Fond Memories, Part 2 {LINK} #FondMemories"
    sent = channel.post(outgoing(text=text))

    [record] = fake_bsky.posts()
    rkey = record_key("fond-memories-part-2/bluesky")
    assert record["rkey"] == rkey
    assert record["value"] == {
        "$type": POST,
        "text": text,
        "createdAt": "2026-12-01T14:30:05.123Z",
        "embed": {
            "$type": "app.bsky.embed.external",
            "external": {
                "uri": LINK,
                "title": "Fond Memories, Part 2",
                "description": "The stink bomb, at last.",
            },
        },
        "facets": [
            {
                "index": {"byteStart": 39, "byteEnd": 39 + len(LINK)},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}],
            },
            {
                "index": {"byteStart": 40 + len(LINK), "byteEnd": 53 + len(LINK)},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "FondMemories"}],
            },
        ],
    }
    assert sent.id == f"at://{fake_bsky.did}/{POST}/{rkey}"
    assert sent.url == f"https://bsky.app/profile/{fake_bsky.did}/post/{rkey}"
    assert sent.extra == {
        "cid": record["cid"],
        "rkey": rkey,
        "root_uri": sent.id,
        "root_cid": record["cid"],
    }


def test_facets_cover_links_and_hashtags_after_emoji_and_cjk(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    text = (
        "新しい記事 👨‍👩‍👧‍👦🇯🇵 «Fond Memories» — Part 2: "
        f"{LINK}. #思い出 #Fond_Memories (see https://blog.example.com/p1/)"
    )
    channel.post(outgoing(text=text))  # the strict fake refuses a misplaced range

    [record] = fake_bsky.posts()
    found = [(covered(text, f), f["features"][0]) for f in record["value"]["facets"]]
    assert found == [
        (LINK, {"$type": "app.bsky.richtext.facet#link", "uri": LINK}),
        ("#思い出", {"$type": "app.bsky.richtext.facet#tag", "tag": "思い出"}),
        ("#Fond_Memories", {"$type": "app.bsky.richtext.facet#tag", "tag": "Fond_Memories"}),
        (
            "https://blog.example.com/p1/",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://blog.example.com/p1/"},
        ),
    ]
    first = record["value"]["facets"][0]["index"]
    assert first["byteStart"] == len(text[: text.index(LINK)].encode()) != text.index(LINK)


def test_a_thread_of_three_replies_to_the_root_and_the_parent(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    part1 = channel.post(outgoing("part-1", "Part 1 https://blog.example.com/p1/"))
    part2 = channel.post(outgoing("part-2", "Part 2 https://blog.example.com/p2/", reply_to=part1))
    part3 = channel.post(outgoing("part-3", "Part 3 https://blog.example.com/p3/", reply_to=part2))

    by_uri = {r["uri"]: r for r in fake_bsky.posts()}
    assert len(by_uri) == 3
    root = {"uri": part1.id, "cid": part1.extra["cid"]}
    assert "reply" not in by_uri[part1.id]["value"]
    assert by_uri[part2.id]["value"]["reply"] == {"root": root, "parent": root}
    assert by_uri[part3.id]["value"]["reply"] == {
        "root": root,
        "parent": {"uri": part2.id, "cid": part2.extra["cid"]},
    }
    assert part3.extra["root_uri"] == part1.id


def test_a_reply_to_a_part_recorded_without_its_cid_looks_it_up(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    part1 = channel.post(outgoing("part-1", "Part 1 https://blog.example.com/p1/"))
    bare = Sent(id=part1.id, url=part1.url)  # as an older state might have kept it
    part2 = channel.post(outgoing("part-2", "Part 2 https://blog.example.com/p2/", reply_to=bare))
    assert part2.extra["root_uri"] == part1.id
    assert fake_bsky.calls(GET) == [200]


def test_the_card_thumbnail_is_downscaled_under_the_limit(
    fake_bsky: FakeBluesky, channel: BlueskyChannel, tmp_path: Path
) -> None:
    image = noise_png(tmp_path / "featured.png", (2400, 1500), grain=10)  # photo-like
    assert image.stat().st_size > THUMB_MAX_SIZE

    channel.post(outgoing(image=image))

    [record] = fake_bsky.posts()
    thumb = record["value"]["embed"]["external"]["thumb"]
    blob = fake_bsky.blobs[thumb["ref"]["$link"]]
    assert thumb["mimeType"] == blob["mimeType"] == "image/jpeg"
    assert thumb["size"] == blob["size"] <= THUMB_MAX_SIZE
    with Image.open(io.BytesIO(blob["content"])) as picture:
        assert max(picture.size) <= 2000
        assert picture.size[0] / picture.size[1] == pytest.approx(2400 / 1500, rel=0.01)


def test_a_small_image_is_uploaded_as_it_is(
    fake_bsky: FakeBluesky, channel: BlueskyChannel, tmp_path: Path
) -> None:
    image = noise_png(tmp_path / "small.png", (64, 40))
    channel.post(outgoing(image=image))
    [blob] = fake_bsky.blobs.values()
    assert (blob["mimeType"], blob["content"]) == ("image/png", image.read_bytes())


def test_delete_removes_the_post_and_a_second_delete_is_fine(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    sent = channel.post(outgoing())
    channel.delete(sent)
    channel.delete(sent)
    assert fake_bsky.posts() == []
    assert channel.find(outgoing()) is None


# ---- exactly once ----------------------------------------------------------------------------


def test_find_is_none_before_and_the_post_after(channel: BlueskyChannel) -> None:
    assert channel.find(outgoing()) is None
    sent = channel.post(outgoing())
    assert channel.find(outgoing()) == sent


def test_an_answer_dropped_after_the_create_adopts_the_record(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    fake_bsky.drop_next(executed=True)
    sent = channel.post(outgoing())
    assert [r["uri"] for r in fake_bsky.posts()] == [sent.id]
    assert fake_bsky.calls(CREATE) == [None]
    assert fake_bsky.calls(GET) == [200]


def test_a_repeated_create_meets_the_bare_500_and_adopts(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    first = channel.post(outgoing())
    with connect(fake_bsky) as later:  # another run that did not record the first outcome
        again = later.post(outgoing())
    assert again == first
    assert len(fake_bsky.posts()) == 1
    assert fake_bsky.calls(CREATE) == [200, 500]


def test_a_server_error_before_the_create_is_sent_again_once(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    fake_bsky.fail_next(503)
    sent = channel.post(outgoing())
    assert fake_bsky.calls(CREATE) == [503, 200]
    assert [r["uri"] for r in fake_bsky.posts()] == [sent.id]


def test_a_server_error_after_the_create_adopts_the_record(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    fake_bsky.fail_next(502, executed=True)
    sent = channel.post(outgoing())
    assert fake_bsky.calls(CREATE) == [502]
    assert [r["uri"] for r in fake_bsky.posts()] == [sent.id]


def test_server_errors_that_never_create_fail_and_say_it_is_safe(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    fake_bsky.fail_next(503, times=3)
    with pytest.raises(ChannelError, match="no record exists under its key") as failure:
        channel.post(outgoing())
    assert not isinstance(failure.value, AmbiguousOutcome)
    assert fake_bsky.posts() == []


def test_no_answer_and_no_lookup_is_ambiguous_until_find_settles_it(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    channel.whoami()  # log in first: the lookups below are what fails
    fake_bsky.drop_next(executed=True)
    for _ in range(9):  # three lookups of three tries each
        fake_bsky.drop_next(executed=False, endpoint=GET)
    with pytest.raises(AmbiguousOutcome, match="may or may not exist"):
        channel.post(outgoing())

    [record] = fake_bsky.posts()
    assert channel.find(outgoing()) == Sent(
        id=record["uri"],
        url=f"https://bsky.app/profile/{fake_bsky.did}/post/{record['rkey']}",
        extra={
            "cid": record["cid"],
            "rkey": record["rkey"],
            "root_uri": record["uri"],
            "root_cid": record["cid"],
        },
    )


# ---- what the PDS refuses --------------------------------------------------------------------


def test_text_over_300_graphemes_is_refused_as_the_pds_refuses_it(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    text = "é" * (300 - len(LINK)) + " " + LINK  # 301 graphemes, far under 3000 bytes
    with pytest.raises(ChannelError) as failure:
        channel.post(outgoing(text=text))
    assert failure.value.status == 400
    assert "grapheme too big (maximum 300, got 301) at $.record.text" in str(failure.value)
    assert fake_bsky.posts() == []


def test_text_over_3000_bytes_is_refused_even_within_300_graphemes(
    channel: BlueskyChannel,
) -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # one grapheme, 25 bytes
    with pytest.raises(ChannelError, match=r"string too big \(maximum 3000, got 3775\)"):
        channel.post(outgoing(text=family * 150 + " " + LINK[:24]))


def test_a_wrong_app_password_is_an_auth_error_that_hides_it(fake_bsky: FakeBluesky) -> None:
    credentials = BlueskyCredentials(handle="writer.bsky.social", app_password=Secret("zzzz-yyyy"))
    channel = BlueskyChannel.connect(
        BlueskySettings(service=fake_bsky.url), credentials, retry=NO_WAIT
    )
    with channel, pytest.raises(AuthError) as failure:
        channel.post(outgoing())
    message = str(failure.value)
    assert "Invalid identifier or password" in message
    assert "zzzz-yyyy" not in message
    assert "app_password" in message  # the fix names the key
    assert fake_bsky.calls(CREATE) == []


def test_missing_credentials_are_refused_before_any_request(fake_bsky: FakeBluesky) -> None:
    with pytest.raises(AuthError, match="no Bluesky credentials"):
        BlueskyChannel.connect(BlueskySettings(service=fake_bsky.url), BlueskyCredentials())
    assert fake_bsky.requests == []


def test_a_rate_limit_is_rate_limited_with_the_reset_time(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    reset = int(time.time()) + 1800
    fake_bsky.rate_limit(remaining=0, reset_at=reset)
    with pytest.raises(RateLimited) as failure:
        channel.post(outgoing())
    assert failure.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert fake_bsky.calls(CREATE) == [429]
    assert fake_bsky.posts() == []


def test_an_expired_access_token_is_refreshed(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    channel.post(outgoing("part-1", "Part 1 https://blog.example.com/p1/"))
    fake_bsky.now = time.time() + 3 * 60 * 60  # past the two hours of the access token
    channel.post(outgoing("part-2", "Part 2 https://blog.example.com/p2/"))
    assert (fake_bsky.sessions_created, fake_bsky.refreshes) == (1, 1)
    assert fake_bsky.calls(CREATE) == [200, 400, 200]
    assert len(fake_bsky.posts()) == 2


def test_a_spent_refresh_token_logs_in_again(
    fake_bsky: FakeBluesky, channel: BlueskyChannel
) -> None:
    channel.whoami()
    fake_bsky.revoke_sessions()
    fake_bsky.now = time.time() + 3 * 60 * 60
    channel.post(outgoing())
    assert (fake_bsky.sessions_created, fake_bsky.refreshes) == (2, 0)
    assert len(fake_bsky.posts()) == 1


def test_a_kept_session_is_used_without_logging_in(fake_bsky: FakeBluesky) -> None:
    with connect(fake_bsky) as first:
        first.whoami()
        session = first.session
    assert isinstance(session, BlueskySession)
    assert "eyJ" not in repr(session)  # the JWTs stay secret
    with BlueskyChannel(
        httpx.Client(timeout=5),
        BlueskySettings(service=fake_bsky.url),
        fake_bsky.credentials(),
        retry=NO_WAIT,
        session=session,
    ) as second:
        second.post(outgoing())
    assert fake_bsky.sessions_created == 1


def test_plain_http_to_a_remote_pds_is_refused() -> None:
    credentials = BlueskyCredentials(handle="w.bsky.social", app_password=Secret("abcd-efgh"))
    with pytest.raises(ConfigError, match="plain http://"):
        BlueskyChannel.connect(BlueskySettings(service="http://pds.example.com"), credentials)


# ---- the fake refuses what a broken client would send ----------------------------------------


@pytest.fixture
def token(fake_bsky: FakeBluesky) -> str:
    answer = httpx.post(
        f"{fake_bsky.url}/xrpc/com.atproto.server.createSession",
        json={"identifier": fake_bsky.handle, "password": DEFAULT_APP_PASSWORD},
    )
    return str(answer.json()["accessJwt"])


def create(fake: FakeBluesky, token: str, record: dict[str, object], rkey: str) -> httpx.Response:
    body = {"repo": fake.did, "collection": POST, "rkey": rkey, "record": record}
    return httpx.post(
        f"{fake.url}/xrpc/{CREATE}", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def post_record(text: str, **fields: object) -> dict[str, object]:
    return {"$type": POST, "text": text, "createdAt": "2026-12-01T14:00:00.000Z", **fields}


def test_fake_refuses_a_record_key_that_is_not_a_tid(fake_bsky: FakeBluesky, token: str) -> None:
    answer = create(fake_bsky, token, post_record("hello"), "fond-memories")
    assert answer.status_code == 400
    assert answer.json()["error"] == "InvalidRequest"
    assert "Invalid record key for app.bsky.feed.post" in answer.json()["message"]


def test_fake_refuses_a_facet_counted_in_characters(fake_bsky: FakeBluesky, token: str) -> None:
    text = f"日本 {LINK}"
    start = text.index(LINK)  # a character index, not a byte offset
    facet = {
        "index": {"byteStart": start, "byteEnd": start + len(LINK)},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}],
    }
    answer = create(fake_bsky, token, post_record(text, facets=[facet]), record_key("x"))
    assert answer.status_code == 400
    assert "link facet covers" in answer.json()["message"]


def test_fake_refuses_a_reply_to_a_post_that_is_not_there(
    fake_bsky: FakeBluesky, token: str
) -> None:
    ghost = {"uri": f"at://{fake_bsky.did}/{POST}/{record_key('ghost')}", "cid": "b" + "a" * 58}
    reply = {"root": ghost, "parent": ghost}
    answer = create(fake_bsky, token, post_record("hi", reply=reply), record_key("r"))
    assert answer.status_code == 400
    assert "reply root" in answer.json()["message"]


def test_fake_refuses_a_thumb_over_its_lexicon_size(
    fake_bsky: FakeBluesky, token: str, tmp_path: Path
) -> None:
    content = noise_png(tmp_path / "big.png", (800, 600)).read_bytes()
    assert len(content) > THUMB_MAX_SIZE
    upload = httpx.post(
        f"{fake_bsky.url}/xrpc/com.atproto.repo.uploadBlob",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/png"},
    )
    external = {"uri": LINK, "title": "t", "description": "d", "thumb": upload.json()["blob"]}
    embed = {"$type": "app.bsky.embed.external", "external": external}
    answer = create(fake_bsky, token, post_record("hi", embed=embed), record_key("t"))
    assert answer.status_code == 400
    assert f"blob too big (maximum 1000000, got {len(content)})" in answer.json()["message"]


def test_fake_refuses_an_upload_over_the_pds_limit(fake_bsky: FakeBluesky, token: str) -> None:
    fake_bsky.blob_limit = 1000
    answer = httpx.post(
        f"{fake_bsky.url}/xrpc/com.atproto.repo.uploadBlob",
        content=b"\xff\xd8\xff" + b"\0" * 2000,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
    )
    assert answer.status_code == 413
    assert answer.json() == {"error": "PayloadTooLarge", "message": "request entity too large"}


def test_fake_answers_an_expired_token_as_the_pds(fake_bsky: FakeBluesky, token: str) -> None:
    fake_bsky.now = time.time() + 3 * 60 * 60
    answer = httpx.get(
        f"{fake_bsky.url}/xrpc/com.atproto.server.getSession",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "ExpiredToken", "message": "Token has expired"},
    )


def test_standalone_fake_runs_as_a_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_BLUESKY_")}
    env["PIPELINE_BLUESKY_APP_PASSWORD"] = "from-the-environment"
    with standalone("tests.fakebsky", env) as url:
        httpx.post(f"{url}/_fake/drop_next", json={}).raise_for_status()
        credentials = BlueskyCredentials(
            handle="writer.bsky.social", app_password=Secret("from-the-environment")
        )
        with BlueskyChannel.connect(
            BlueskySettings(service=url), credentials, retry=NO_WAIT
        ) as channel:
            sent = channel.post(outgoing())  # the answer is dropped; the lookup adopts
        state = httpx.get(f"{url}/_fake/state").json()
    assert [r["uri"] for r in state["records"]] == [sent.id]
