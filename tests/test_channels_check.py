"""`pipeline check` with Bluesky and Mastodon: every template measured against every channel that
is set up, as that network counts (the count and the limit in the message, exit 2); `--online`
logs in to each and says which one refused, without the secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.store import Store
from tests.fakebsky import FakeBluesky
from tests.fakemastodon import FakeMastodon
from tests.sites import add_channels, make_site
from tests.wp_local import LocalWordPress

CLEAN_ENV = {
    name: None
    for name in os.environ
    if name.startswith("PIPELINE_")  # the caller's shell must not leak in
}
WORDS = "many words " * 14  # 154 characters; twice is over Bluesky's 300, not Mastodon's 500


def site(tmp_path: Path, tables: str = "", credentials: str = "", post: str = "") -> Path:
    (tmp_path / "posts").mkdir(parents=True)
    (tmp_path / "posts" / "one.md").write_text(
        f"---\ntitle: One\nslug: one\n{post}---\nBody.\n", encoding="utf-8"
    )
    creds = tmp_path / "credentials.toml"
    creds.write_text(credentials, encoding="utf-8")
    creds.chmod(0o600)
    config = tmp_path / "pipeline.toml"
    config.write_text(
        'state_dir = "state"\n\n[wordpress]\nurl = "https://blog.example.com"\n' + tables,
        encoding="utf-8",
    )
    return config


BOTH = (
    '[bluesky]\nhandle = "writer.bsky.social"\napp_password = "abcd-efgh-ijkl-mnop"\n'
    '[mastodon]\naccess_token = "mastodon-token-value"\n'
)


def check(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), "check", *args], prog_name="pipeline", env=CLEAN_ENV
    )


def test_a_channel_template_over_its_limit_names_the_channel_the_count_and_the_limit(
    tmp_path: Path,
) -> None:
    template = f"New: {WORDS}{WORDS}{{title}} {{url}}"
    config = site(tmp_path, f'\n[bluesky]\ntemplate = "{template}"\n', BOTH)

    result = check(config)

    assert result.exit_code == 2, result.output
    [line] = [line for line in result.stderr.splitlines() if "bluesky.template" in line]
    assert f"{config}:7:" in line, "the file and the line of the key"
    assert "the announcement is 343 characters (as Bluesky counts them)" in line
    assert "Bluesky allows 300" in line
    assert "fix:" in line
    assert "mastodon" not in result.stderr, "Mastodon's own template is the default"
    assert "abcd-efgh" not in result.output


def test_a_post_template_is_measured_on_every_channel_set_up(tmp_path: Path) -> None:
    config = site(tmp_path, credentials=BOTH, post=f'announce: "{WORDS}{WORDS}{{url}}"\n')

    result = check(config)

    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    [bluesky] = errors  # not X's 280 either: X has no credentials here, nothing goes there
    assert f"{tmp_path / 'posts' / 'one.md'}:4:" in bluesky
    assert "announce (Bluesky): the announcement is 337 characters" in bluesky
    assert "Bluesky allows 300" in bluesky
    assert "Mastodon" not in result.stderr, "331 (links count 23) fits Mastodon's 500"


def test_only_channels_with_credentials_are_measured(tmp_path: Path) -> None:
    config = site(tmp_path, post=f'announce: "{WORDS}{{url}}"\n')  # 177: over nothing
    assert check(config).exit_code == 0
    long = site(tmp_path / "other", post=f'announce: {{bluesky: "{WORDS}{WORDS}{{url}}"}}\n')

    result = check(long)

    assert result.exit_code == 0, result.output  # no Bluesky credentials: never sent there


def test_a_table_by_channel_is_measured_against_its_own_channel(tmp_path: Path) -> None:
    over_500 = WORDS * 4
    table = f'announce: {{x: false, mastodon: "{over_500}{{url}}", bluesky: "Short {{url}}"}}\n'
    config = site(tmp_path, credentials=BOTH, post=table)

    result = check(config)

    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    [mastodon] = errors
    assert "announce (Mastodon): the announcement is 639 characters" in mastodon
    assert "Mastodon allows 500" in mastodon


def test_mastodon_is_measured_with_the_instances_limit_once_read(tmp_path: Path) -> None:
    over_500 = WORDS * 4
    config = site(tmp_path, credentials=BOTH, post=f'announce: {{mastodon: "{over_500}{{url}}"}}\n')
    assert check(config).exit_code == 2
    store = Store.open(tmp_path / "state" / "pipeline.sqlite3")
    try:  # what a publish remembers after reading a larger instance's limits
        key = "limits:mastodon:https://mastodon.social"
        store.set_meta(key, '{"max_length": 5000, "url_length": 23}')
    finally:
        store.close()

    assert check(config).exit_code == 0


def test_an_unknown_placeholder_is_reported_once(tmp_path: Path) -> None:
    config = site(tmp_path, credentials=BOTH, post='announce: "New: {titel} {url}"\n')

    result = check(config)

    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors
    assert "{titel}" in errors[0]


# --- --online --------------------------------------------------------------------------------


def check_online(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), "check", "--online"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.wordpress
def test_online_logs_in_to_each_channel(
    wordpress: LocalWordPress, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon, tmp_path: Path
) -> None:
    config = add_channels(
        make_site(tmp_path, wordpress), bluesky=fake_bsky.url, mastodon=fake_mastodon.url
    )

    done = check_online(config)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"WordPress {wordpress.url}: logged in as admin" in done.stdout
    assert f"Bluesky {fake_bsky.url}: logged in as {fake_bsky.handle}" in done.stdout
    host = fake_mastodon.url.removeprefix("http://")
    assert f"Mastodon {fake_mastodon.url}: logged in as writer@{host}" in done.stdout
    assert "X: no credentials; announcements will be recorded as skipped" in done.stdout


@pytest.mark.wordpress
def test_online_says_which_channel_refused_without_the_secret(
    wordpress: LocalWordPress, fake_bsky: FakeBluesky, fake_mastodon: FakeMastodon, tmp_path: Path
) -> None:
    config = add_channels(
        make_site(tmp_path, wordpress), bluesky=fake_bsky.url, mastodon=fake_mastodon.url
    )
    wrong = "wrong-mastodon-token-4321"

    done = check_online(config, PIPELINE_MASTODON_ACCESS_TOKEN=wrong)

    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"Bluesky {fake_bsky.url}: logged in as" in done.stdout
    assert f"Mastodon {fake_mastodon.url}: Mastodon refused the access token" in done.stdout
    assert wrong not in output
    assert "Traceback" not in output
