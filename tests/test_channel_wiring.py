"""[bluesky] and [mastodon] in the config files, and how the wiring builds their channels: active
with credentials, held when they are half there, skipped when absent; Mastodon's limits read from
the instance once and remembered in the state for the offline commands."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import stamina

from pipeline.channels.bluesky import BlueskyChannel
from pipeline.channels.mastodon import MastodonChannel
from pipeline.channels.settings import (
    BLUESKY_LIMITS,
    MASTODON_DEFAULT_LIMITS,
    BlueskySettings,
    MastodonSettings,
)
from pipeline.config import load_credentials, load_settings
from pipeline.errors import ConfigError
from pipeline.publisher import ChannelSetup
from pipeline.store import Store
from pipeline.wiring import channel_setups, close_channels, remembered_limits
from pipeline.workspace import load_workspace
from tests.fakebsky import FakeBluesky
from tests.fakemastodon import FakeMastodon

MINIMAL = '[wordpress]\nurl = "https://blog.example.com"\n'


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value


# --- pipeline.toml ----------------------------------------------------------------------------


def test_every_key_of_both_tables_is_parsed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pipeline.toml",
        MINIMAL + '\n[bluesky]\nservice = "https://pds.example.org/"\n'
        'template = "New: {title} {url}"\nthread_series = true\nimage = true\n'
        '\n[mastodon]\ninstance = "https://social.example.org"\n'
        'template = "New: {title} {url} {hashtags}"\nvisibility = "unlisted"\n'
        "thread_series = true\nimage = true\n",
    )
    settings = load_settings(path)

    assert settings.bluesky == BlueskySettings(
        template="New: {title} {url}",
        image=True,
        thread_series=True,
        service="https://pds.example.org",
    )
    assert settings.mastodon == MastodonSettings(
        template="New: {title} {url} {hashtags}",
        image=True,
        thread_series=True,
        instance="https://social.example.org",
        visibility="unlisted",
    )


def test_defaults_without_the_tables(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "pipeline.toml", MINIMAL))
    assert settings.bluesky == BlueskySettings()
    assert settings.bluesky.service == "https://bsky.social"
    assert settings.mastodon.instance == "https://mastodon.social"
    assert settings.mastodon.visibility == "public"
    assert settings.mastodon.template == settings.x.template


@pytest.mark.parametrize(
    ("table", "line", "what"),
    [
        ('[bluesky]\nservice = "http://bsky.example.org"\n', 6, "bluesky.service: plain http://"),
        ('[mastodon]\ninstance = "http://social.example"\n', 6, "mastodon.instance: plain http"),
        ('[mastodon]\ninstance = "mastodon.social"\n', 6, "mastodon.instance: must be an http"),
        ('[mastodon]\nvisibility = "friends"\n', 6, "mastodon.visibility: must be one of"),
        ('[bluesky]\nthread_series = "yes"\n', 6, "bluesky.thread_series: must be true or false"),
        ("[mastodon]\nimage = 1\n", 6, "mastodon.image: must be true or false"),
        ('[bluesky]\ntemplate = ""\n', 6, "bluesky.template: must be a non-empty string"),
        ('[bluesky]\nhandle = "me.bsky.social"\n', 6, "bluesky.handle: unknown key"),
        ("[mastodon]\nmax_characters = 1000\n", 6, "mastodon.max_characters: unknown key"),
    ],
)
def test_bad_values_name_the_key_its_line_and_the_fix(
    tmp_path: Path, table: str, line: int, what: str
) -> None:
    error = config_error(write(tmp_path, "pipeline.toml", MINIMAL + "\n# channels\n" + table))
    assert what in error.message
    assert error.line == line
    assert error.fix


@pytest.mark.parametrize("url", ["http://127.0.0.1:8091", "http://localhost:3000/", "http://[::1]"])
def test_plain_http_is_allowed_on_loopback(tmp_path: Path, url: str) -> None:
    path = write(
        tmp_path,
        "pipeline.toml",
        MINIMAL + f'[bluesky]\nservice = "{url}"\n[mastodon]\ninstance = "{url}"\n',
    )
    settings = load_settings(path)
    assert settings.bluesky.service == url.rstrip("/")
    assert settings.mastodon.instance == url.rstrip("/")


# --- credentials.toml -------------------------------------------------------------------------

CREDENTIALS = (
    '[bluesky]\nhandle = "writer.bsky.social"\napp_password = "abcd-efgh-ijkl-mnop"\n\n'
    '[mastodon]\naccess_token = "mastodon-token-value"\n'
)
TOKEN = "mastodon-token-value"


def test_credentials_from_the_file_and_their_secrets(tmp_path: Path) -> None:
    credentials = load_credentials(write(tmp_path, "credentials.toml", CREDENTIALS), env={})

    assert credentials.bluesky.configured
    assert credentials.bluesky.handle == "writer.bsky.social"
    assert credentials.mastodon.configured
    secrets = credentials.secrets()
    assert "abcd-efgh-ijkl-mnop" in secrets
    assert "mastodon-token-value" in secrets
    assert "writer.bsky.social" not in secrets  # a name, not a secret
    assert "abcd-efgh" not in repr(credentials)
    assert "mastodon-token" not in repr(credentials)


def test_environment_variables_override_each_key(tmp_path: Path) -> None:
    path = write(tmp_path, "credentials.toml", CREDENTIALS)
    env = {
        "PIPELINE_BLUESKY_HANDLE": "other.bsky.social",
        "PIPELINE_BLUESKY_APP_PASSWORD": "wxyz-wxyz-wxyz-wxyz",
        "PIPELINE_MASTODON_ACCESS_TOKEN": "token-from-env",
    }
    credentials = load_credentials(path, env=env)

    assert credentials.bluesky.handle == "other.bsky.social"
    assert credentials.bluesky.app_password is not None
    assert credentials.bluesky.app_password.reveal() == "wxyz-wxyz-wxyz-wxyz"
    assert credentials.mastodon.access_token is not None
    assert credentials.mastodon.access_token.reveal() == "token-from-env"


def test_environment_alone_is_enough(tmp_path: Path) -> None:
    env = {"PIPELINE_MASTODON_ACCESS_TOKEN": "token-from-env"}
    credentials = load_credentials(tmp_path / "absent.toml", env=env)
    assert credentials.mastodon.configured
    assert not credentials.bluesky.configured


# --- the wiring -------------------------------------------------------------------------------


def site(tmp_path: Path, tables: str = "", credentials: str = "") -> Path:
    (tmp_path / "posts").mkdir(exist_ok=True)
    write(tmp_path, "credentials.toml", credentials)
    return write(tmp_path, "pipeline.toml", 'state_dir = "state"\n' + MINIMAL + tables)


def setups(config: Path, *, online: bool, store: Store | None = None) -> dict[str, ChannelSetup]:
    workspace = load_workspace(load_settings(config))
    return {setup.name: setup for setup in channel_setups(workspace, online=online, store=store)}


def test_every_channel_is_there_and_skipped_without_credentials(tmp_path: Path) -> None:
    found = setups(site(tmp_path), online=True)

    assert list(found) == ["x", "bluesky", "mastodon"]
    for name in ("bluesky", "mastodon"):
        assert found[name].client is None
        assert found[name].inactive is not None
        assert "recorded as skipped" in found[name].inactive
        assert found[name].incomplete is None


@pytest.mark.parametrize(
    ("credentials", "missing"),
    [
        ('[bluesky]\nhandle = "writer.bsky.social"\n', "app_password"),
        ('[bluesky]\napp_password = "abcd-efgh-ijkl-mnop"\n', "handle"),
    ],
)
def test_half_of_the_bluesky_credentials_hold_it(
    tmp_path: Path, credentials: str, missing: str
) -> None:
    found = setups(site(tmp_path, credentials=credentials), online=True)["bluesky"]

    assert found.client is None
    assert found.inactive is None
    assert found.incomplete is not None
    assert f"{missing} missing" in found.incomplete
    assert "--channel bluesky" in found.incomplete
    assert "abcd-efgh" not in found.incomplete


def test_with_credentials_both_are_active_online(
    tmp_path: Path, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon
) -> None:
    tables = (
        f'[bluesky]\nservice = "{fake_bsky.url}"\n[mastodon]\ninstance = "{fake_mastodon.url}"\n'
    )
    found = setups(site(tmp_path, tables, CREDENTIALS), online=True)
    try:
        assert isinstance(found["bluesky"].client, BlueskyChannel)
        assert isinstance(found["mastodon"].client, MastodonChannel)
        assert found["bluesky"].known_limits() == BLUESKY_LIMITS
        assert found["bluesky"].where == fake_bsky.url
    finally:
        close_channels(list(found.values()))
    assert fake_bsky.requests == [], "building the channels asks nothing"
    assert fake_mastodon.requests == []


def test_offline_there_are_no_clients_but_the_limits_are_known(tmp_path: Path) -> None:
    found = setups(site(tmp_path, credentials=CREDENTIALS), online=False)

    assert found["bluesky"].client is None
    assert found["bluesky"].inactive is None
    assert found["bluesky"].known_limits() == BLUESKY_LIMITS
    assert found["mastodon"].client is None
    assert found["mastodon"].known_limits() == MASTODON_DEFAULT_LIMITS
    assert (MASTODON_DEFAULT_LIMITS.max_length, MASTODON_DEFAULT_LIMITS.url_length) == (500, 23)


def test_mastodon_limits_are_read_once_and_remembered_for_offline(tmp_path: Path) -> None:
    with FakeMastodon(access_token=TOKEN, max_characters=1000, url_length=30) as fake:
        config = site(tmp_path, f'[mastodon]\ninstance = "{fake.url}"\n', CREDENTIALS)
        store = Store.open(tmp_path / "state" / "pipeline.sqlite3")
        try:
            online = setups(config, online=True, store=store)["mastodon"]
            try:
                limits = online.known_limits()
                assert (limits.max_length, limits.url_length) == (1000, 30)
                online.known_limits()
                assert fake.calls("GET /api/v2/instance") == [200], "asked once"
            finally:
                close_channels([online])

            offline = setups(config, online=False, store=store)["mastodon"]
            assert offline.known_limits() == limits, "the plan counts as the publish will"
        finally:
            store.close()


def test_limits_of_an_unreachable_instance_are_the_last_read(tmp_path: Path) -> None:
    with FakeMastodon(access_token=TOKEN, max_characters=800) as fake:
        url = fake.url
        config = site(tmp_path, f'[mastodon]\ninstance = "{url}"\n', CREDENTIALS)
        store = Store.open(tmp_path / "state" / "pipeline.sqlite3")
        first = setups(config, online=True, store=store)["mastodon"]
        assert first.known_limits().max_length == 800
        close_channels([first])
    # The fake is stopped: nothing answers at its address any more.
    try:
        with stamina.set_testing(True, attempts=2):
            later = setups(config, online=True, store=store)["mastodon"]
            assert later.known_limits().max_length == 800
            close_channels([later])
    finally:
        store.close()


def test_remembered_limits_are_per_instance_and_survive_bad_values(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state.sqlite3")
    try:
        assert remembered_limits(store, "https://a.example") == MASTODON_DEFAULT_LIMITS
        key = "limits:mastodon:https://a.example"
        store.set_meta(key, '{"max_length": 5000, "url_length": 23}')
        assert remembered_limits(store, "https://a.example").max_length == 5000
        assert remembered_limits(store, "https://b.example") == MASTODON_DEFAULT_LIMITS
        store.set_meta(key, "[not, json")
        assert remembered_limits(store, "https://a.example") == MASTODON_DEFAULT_LIMITS
        assert remembered_limits(None, "https://a.example") == MASTODON_DEFAULT_LIMITS
    finally:
        store.close()


def test_the_scheduler_rebuilds_the_channels_when_their_settings_change(
    tmp_path: Path, fake_bsky: FakeBluesky
) -> None:
    from pipeline.scheduler.service import Runtime

    config = site(tmp_path, f'[bluesky]\nservice = "{fake_bsky.url}"\n')
    store = Store.open(tmp_path / "state" / "pipeline.sqlite3")
    runtime = Runtime(load_settings(config), store)
    try:
        before = {s.name: s for s in runtime.current().channels}
        assert before["bluesky"].client is None

        (tmp_path / "posts" / "new.md").write_text("---\ntitle: New\n---\nBody.\n")
        time.sleep(0.01)  # a new mtime
        unchanged = {s.name: s for s in runtime.current().channels}
        assert unchanged["bluesky"] is before["bluesky"], "a post changed: channels kept"

        write(tmp_path, "credentials.toml", CREDENTIALS)
        after = {s.name: s for s in runtime.current().channels}
        assert isinstance(after["bluesky"].client, BlueskyChannel), "credentials added"
        assert isinstance(after["mastodon"].client, MastodonChannel)

        config.write_text(config.read_text() + '[mastodon]\nvisibility = "unlisted"\n')
        later = {s.name: s for s in runtime.current().channels}
        assert later["mastodon"] is not after["mastodon"]
        assert later["mastodon"].settings.visibility == "unlisted"  # type: ignore[attr-defined]
    finally:
        runtime.close()
        store.close()


def test_the_scheduler_keeps_its_wordpress_client_when_only_lines_of_the_config_move(
    tmp_path: Path,
) -> None:
    from pipeline.scheduler.service import Runtime

    wordpress = '[wordpress]\nuser = "editor"\napp_password = "abcd efgh ijkl mnop qrst uvwx"\n'
    config = site(tmp_path, credentials=wordpress)
    store = Store.open(tmp_path / "state" / "pipeline.sqlite3")
    runtime = Runtime(load_settings(config), store)
    try:
        before = runtime.current()
        assert before.wordpress is not None
        time.sleep(0.01)  # a new mtime
        config.write_text("# the site's settings\n\n" + config.read_text())
        moved = runtime.current()
        where = moved.workspace.settings.wordpress.key_lines
        assert where != before.workspace.settings.wordpress.key_lines, "the url moved down"
        assert moved.wordpress is before.wordpress, "same site, same login: same client"

        time.sleep(0.01)
        config.write_text(config.read_text().replace("blog.example.com", "other.example.com"))
        assert runtime.current().wordpress is not before.wordpress, "another site"
    finally:
        runtime.close()
        store.close()


# --- pipeline retry for Bluesky and Mastodon ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "channel", "sent_id"),
    [
        ("https://x.com/me/status/1870000000000000001", "x", "1870000000000000001"),
        ("https://mastodon.social/@writer/113000000000000042", "mastodon", "113000000000000042"),
        ("https://social.example/users/writer/statuses/42/", "mastodon", "42"),
        ("113000000000000042", "mastodon", "113000000000000042"),
        ("https://mastodon.social/@writer", "mastodon", None),
        (
            "https://bsky.app/profile/did:plc:abc234/post/3kabcdefghij2",
            "bluesky",
            "at://did:plc:abc234/app.bsky.feed.post/3kabcdefghij2",
        ),
        (
            "at://did:plc:abc234/app.bsky.feed.post/3kabcdefghij2",
            "bluesky",
            "at://did:plc:abc234/app.bsky.feed.post/3kabcdefghij2",
        ),
        ("https://bsky.app/profile/writer.bsky.social/post/3kabcdefghij2", "bluesky", None),
    ],
)
def test_the_id_of_a_post_from_its_url(url: str, channel: str, sent_id: str | None) -> None:
    from pipeline.status import sent_id_from

    assert sent_id_from(url, channel) == sent_id


def test_retry_settles_the_channel_whose_outcome_is_unknown(tmp_path: Path) -> None:
    from pipeline.status import channel_to_settle, plan_retry

    store = Store.open(tmp_path / "state.sqlite3")
    try:
        store.set_step("p", "announce", "x", status="done")
        store.set_step("p", "announce", "mastodon", status="unknown", error="lost")
        store.set_step("p", "announce", "bluesky", status="held", error="refused")
        steps = store.steps(post="p")
    finally:
        store.close()

    assert channel_to_settle(steps) == "mastodon"
    sent = plan_retry("p", steps, mode="mark-sent", tweet_url="https://m.example/@me/77")
    [mark] = [c for c in sent.changes if c.new == "done"]
    assert (mark.target, mark.detail["id"]) == ("mastodon", "77")
    only = plan_retry("p", steps, channel="bluesky")
    assert [(c.target, c.old, c.new) for c in only.changes] == [("bluesky", "held", "pending")]
    assert only.unsettled == (), "the unknown Mastodon one is not this retry's business"
