"""pipeline.toml and credentials.toml: typed settings, absolute paths, errors with key/line/fix."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.config import (
    CONFIG_ENV,
    DEFAULT_TEMPLATE,
    DEFAULT_X_API,
    Credentials,
    Secret,
    WordPressCredentials,
    XCredentials,
    find_config,
    is_loopback,
    load_credentials,
    load_settings,
)
from pipeline.errors import ConfigError
from tests.corpus_cases import CORPUS

CONFIGS = CORPUS / "config"
MINIMAL = '[wordpress]\nurl = "https://blog.example.com"\n'


def write_config(folder: Path, text: str, name: str = "pipeline.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value


# --- every key ------------------------------------------------------------------------------


def test_every_key_of_the_contract_is_parsed() -> None:
    path = CONFIGS / "full" / "pipeline.toml"
    settings = load_settings(path)

    assert settings.path == path
    assert settings.timezone.key == "America/New_York"
    assert settings.posts_dir == CONFIGS / "full" / "content" / "posts"
    assert settings.state_dir == CONFIGS / "state"  # ../ is resolved
    assert settings.credentials_path == CONFIGS / "full" / "secrets" / "credentials.toml"
    assert settings.db_path == CONFIGS / "state" / "pipeline.sqlite3"
    assert settings.catch_up == timedelta(hours=2)
    assert settings.max_attempts == 3

    wordpress = settings.wordpress
    assert wordpress.url == "https://blog.example.com"  # no trailing slash
    assert wordpress.api_root == "https://public-api.wordpress.com/wp/v2/sites/blog.example.com"
    assert wordpress.allow_insecure_http is False
    assert wordpress.concurrency == 2
    assert wordpress.timeout == 12.5

    x = settings.x
    assert x.template == "Fresh: {title} {url}"
    assert x.api_url == "http://127.0.0.1:8765"
    assert x.image is True
    assert x.thread_series is True

    first, second = settings.schedule
    assert first.post == "fond-memories-part-2"
    assert first.at == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert first.line == 22
    assert second.post == "posts/part-3.md"
    assert second.at == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert second.line == 26


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, MINIMAL))

    assert settings.timezone.key == "UTC"
    assert settings.posts_dir == tmp_path / "posts"
    assert settings.state_dir == tmp_path / ".pipeline"
    assert settings.credentials_path == tmp_path / "credentials.toml"
    assert settings.x.template == DEFAULT_TEMPLATE
    assert settings.x.api_url == DEFAULT_X_API
    assert (settings.x.image, settings.x.thread_series) == (False, False)
    assert settings.wordpress.api_root is None
    assert settings.wordpress.concurrency == 4
    assert settings.schedule == ()
    assert settings.catch_up == timedelta(hours=24)


def test_paths_are_absolute_relative_to_the_config_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path / "site", 'posts_dir = "writing"\n' + MINIMAL)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    settings = load_settings(path)
    assert settings.posts_dir.is_absolute()
    assert settings.posts_dir == tmp_path / "site" / "writing"


def test_absolute_paths_stay_as_they_are(tmp_path: Path) -> None:
    target = tmp_path / "somewhere" / "state"
    path = write_config(tmp_path / "site", f'state_dir = "{target}"\n' + MINIMAL)
    assert load_settings(path).state_dir == target


def test_naive_schedule_times_use_the_configured_zone_on_both_sides_of_dst(tmp_path: Path) -> None:
    text = (
        'timezone = "Europe/Paris"\n'
        + MINIMAL
        + '[[schedule]]\npost = "a"\nat = "2026-03-28 12:00"\n'
        + '[[schedule]]\npost = "b"\nat = "2026-03-30 12:00"\n'
        + '[[schedule]]\npost = "c"\nat = 2026-10-25T02:30:00\n'  # a TOML local datetime, fold
    )
    entries = load_settings(write_config(tmp_path, text)).schedule
    assert [e.at for e in entries] == [
        datetime(2026, 3, 28, 11, 0, tzinfo=UTC),  # CET, UTC+1
        datetime(2026, 3, 30, 10, 0, tzinfo=UTC),  # CEST, UTC+2
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # the first 02:30 (CEST)
    ]


# --- errors name the key, the line and the fix ----------------------------------------------


@pytest.mark.parametrize(
    ("case", "line", "what", "fix"),
    [
        ("unknown_key", 2, "colour: unknown key", "remove it, or use one of"),
        ("unknown_section_key", 7, "x.tempalte: unknown key", "template"),
        ("bad_timezone", 2, "unknown timezone 'America/New_Yrok'", "IANA name"),
        ("insecure_http", 4, "wordpress.url: plain http://", "allow_insecure_http = true"),
        ("invalid_toml", 4, "invalid TOML", "correct the TOML syntax"),
        ("schedule_dst_gap", 10, "2026-03-08 02:30 does not exist in America/New_York", "09:00"),
    ],
)
def test_config_errors_from_the_corpus(case: str, line: int, what: str, fix: str) -> None:
    path = CONFIGS / case / "pipeline.toml"
    error = config_error(path)

    assert error.path == path
    assert error.line == line
    assert what in error.message
    assert error.fix is not None
    assert fix in error.fix
    assert error.render().startswith(f"{path}:{line}: ")
    assert "\n" not in error.render()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("max_attempts = 0\n" + MINIMAL, 1, "max_attempts: must be a whole number"),
        ('catch_up = "soon"\n' + MINIMAL, 1, "catch_up: 'soon' is not a duration"),
        ("posts_dir = 3\n" + MINIMAL, 1, "posts_dir: must be a path"),
        ("timezone = 5\n" + MINIMAL, 1, "timezone: must be a string"),
        (MINIMAL + "concurrency = true\n", 3, "wordpress.concurrency: must be a whole number"),
        (MINIMAL + 'timeout = "slow"\n', 3, "wordpress.timeout: must be a number of seconds"),
        (MINIMAL + 'allow_insecure_http = "yes"\n', 3, "must be true or false"),
        (MINIMAL + '[x]\nimage = "yes"\n', 4, "x.image: must be true or false"),
        (MINIMAL + '[x]\ntemplate = ""\n', 4, "x.template: must be a non-empty string"),
        (MINIMAL + '[x]\napi_url = "ftp://x.example"\n', 4, "x.api_url: must be an http(s) URL"),
        (MINIMAL + '[x]\napi_url = "http://x.example"\n', 4, "plain http://"),
        (MINIMAL + '[x]\nmonthly_budget = "ten"\n', 4, "x.monthly_budget: must be an amount"),
        (MINIMAL + "[x]\nmonthly_budget = -1\n", 4, "x.monthly_budget: must be an amount"),
        (MINIMAL + "[x]\nprice_per_post = true\n", 4, "x.price_per_post: must be an amount"),
        (MINIMAL + '[x]\ntoken_url = "http://x.example/t"\n', 4, "plain http://"),
        (MINIMAL + 'oauth_url = "wordpress.com"\n', 3, "wordpress.oauth_url: must be an http"),
        ('[wordpress]\nurl = "blog.example.com"\n', 2, "wordpress.url: must be an http(s) URL"),
        (MINIMAL + '[[schedule]]\npost = "a"\n', 3, "[[schedule]] needs post and at"),
        (MINIMAL + '[[schedule]]\npost = "a"\nat = "2026-02-30 09:00"\n', 3, "not a valid date"),
    ],
)
def test_bad_values_name_key_line_and_fix(tmp_path: Path, text: str, line: int, what: str) -> None:
    path = write_config(tmp_path, text)
    error = config_error(path)

    assert (error.path, error.line) == (path, line)
    assert what in error.message
    assert error.fix


def test_x_costs_budget_and_login_endpoints(tmp_path: Path) -> None:
    text = MINIMAL.replace("\n", '\noauth_url = "http://127.0.0.1:9000/oauth2"\n', 1) + (
        "[x]\nmonthly_budget = 10\nprice_per_post = 0.02\nprice_per_link_post = 0.25\n"
        'auth_url = "http://127.0.0.1:9001/i/oauth2/authorize"\n'
        'token_url = "https://api.x.com/2/oauth2/token/"\n'
    )
    settings = load_settings(write_config(tmp_path, text))

    x = settings.x
    assert x.monthly_budget == Decimal("10")
    assert (x.prices.price_per_post, x.prices.price_per_link_post) == (
        Decimal("0.02"),
        Decimal("0.25"),
    )
    assert x.auth_url == "http://127.0.0.1:9001/i/oauth2/authorize"
    assert x.token_url == "https://api.x.com/2/oauth2/token"
    assert settings.wordpress.oauth_url == "http://127.0.0.1:9000/oauth2"


def test_x_defaults_are_the_published_prices_and_no_budget(tmp_path: Path) -> None:
    x = load_settings(write_config(tmp_path, MINIMAL)).x
    assert x.monthly_budget is None
    assert (x.price_per_post, x.price_per_link_post) == (Decimal("0.015"), Decimal("0.200"))
    assert (x.auth_url, x.token_url) == (None, None)


def test_missing_wordpress_table(tmp_path: Path) -> None:
    error = config_error(write_config(tmp_path, 'timezone = "UTC"\n'))
    assert "[wordpress]" in error.message
    assert error.fix is not None
    assert "url" in error.fix


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.toml"
    path.write_bytes(b'timezone = "Europe/Z\xfcrich"\n')
    error = config_error(path)
    assert "not UTF-8" in error.message
    assert error.path == path


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8089",
        "http://localhost:8080/",
        "http://[::1]:8080",
        "http://127.10.0.1",
        "https://blog.example.com",
    ],
)
def test_https_and_loopback_http_are_allowed(tmp_path: Path, url: str) -> None:
    settings = load_settings(write_config(tmp_path, f'[wordpress]\nurl = "{url}"\n'))
    assert settings.wordpress.url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://blog.example.com", "http://127.evil.example", "http://10.0.0.5"]
)
def test_plain_http_to_other_hosts_is_refused_unless_allowed(tmp_path: Path, url: str) -> None:
    refused = write_config(tmp_path / "a", f'[wordpress]\nurl = "{url}"\n')
    error = config_error(refused)
    assert "plain http://" in error.message
    assert error.line == 2

    allowed = write_config(
        tmp_path / "b", f'[wordpress]\nurl = "{url}"\nallow_insecure_http = true\n'
    )
    settings = load_settings(allowed)
    assert settings.wordpress.url == url
    assert settings.wordpress.allow_insecure_http is True


def test_api_root_is_checked_like_the_url(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + 'api_root = "http://api.example.com/wp-json"\n')
    error = config_error(path)
    assert "wordpress.api_root: plain http://" in error.message
    assert error.line == 3


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("127.example.com", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("::2", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- finding the config ---------------------------------------------------------------------


def test_find_config_prefers_option_then_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = write_config(tmp_path / "here", MINIMAL)
    from_env = write_config(tmp_path / "env", MINIMAL)
    explicit = write_config(tmp_path / "explicit", MINIMAL, name="site.toml")
    monkeypatch.chdir(tmp_path / "here")

    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert find_config(None) == here
    monkeypatch.setenv(CONFIG_ENV, str(from_env))
    assert find_config(None) == from_env
    assert find_config(str(explicit)) == explicit


def test_missing_config_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    with pytest.raises(ConfigError) as info:
        find_config(None)
    assert info.value.path == tmp_path / "pipeline.toml"
    assert info.value.fix is not None
    assert "--config" in info.value.fix
    assert CONFIG_ENV in info.value.fix


# --- credentials ----------------------------------------------------------------------------

CREDENTIALS = """\
[wordpress]
user = "editor"
app_password = "abcd efgh ijkl mnop"

[x]
consumer_key = "ck-file"
consumer_secret = "cs-file"
access_token = "at-file"
access_token_secret = "ats-file"
"""


def write_credentials(folder: Path, text: str = CREDENTIALS, mode: int = 0o600) -> Path:
    path = folder / "credentials.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def test_credentials_from_the_file(tmp_path: Path) -> None:
    credentials = load_credentials(write_credentials(tmp_path), env={})

    assert credentials.wordpress.user == "editor"
    assert credentials.wordpress.app_password == Secret("abcd efgh ijkl mnop")
    assert credentials.wordpress.configured
    assert credentials.x.oauth1
    assert credentials.x.configured
    assert credentials.warnings == ()
    assert sorted(credentials.secrets()) == sorted(
        ["abcd efgh ijkl mnop", "ck-file", "cs-file", "at-file", "ats-file"]
    )


def test_environment_variables_override_file_keys(tmp_path: Path) -> None:
    env = {
        "PIPELINE_WORDPRESS_APP_PASSWORD": "from-env",
        "PIPELINE_X_ACCESS_TOKEN": "at-env",
        "PIPELINE_X_BEARER_TOKEN": "bearer-env",
        "UNRELATED": "x",
    }
    credentials = load_credentials(write_credentials(tmp_path), env=env)

    assert credentials.wordpress.user == "editor"  # not overridden: from the file
    assert credentials.wordpress.app_password == Secret("from-env")
    assert credentials.x.access_token == Secret("at-env")
    assert credentials.x.consumer_key == Secret("ck-file")
    assert credentials.x.bearer_token == Secret("bearer-env")


def test_environment_alone_is_enough(tmp_path: Path) -> None:
    env = {"PIPELINE_WORDPRESS_TOKEN": "wpcom-token", "PIPELINE_X_BEARER_TOKEN": "b"}
    credentials = load_credentials(tmp_path / "absent.toml", env=env)

    assert credentials.wordpress.token == Secret("wpcom-token")
    assert credentials.wordpress.configured
    assert credentials.x.configured
    assert not credentials.x.oauth1


def test_oauth_apps_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = write_credentials(
        tmp_path,
        '[wordpress]\nclient_id = "81234"\nclient_secret = "wpcom-secret"\n'
        '[x]\nclient_id = "x-client"\nclient_secret = "x-secret-file"\n',
    )
    env = {"PIPELINE_X_CLIENT_SECRET": "x-secret-env", "PIPELINE_WORDPRESS_CLIENT_ID": "99"}
    credentials = load_credentials(path, env=env)

    assert credentials.x.client_id == "x-client"  # a name, shown in the login's address
    assert credentials.x.client_secret == Secret("x-secret-env")
    assert not credentials.x.configured, "an app alone is no login: `pipeline login x` is"
    assert credentials.x.missing() == []
    assert credentials.wordpress.client_id == "99"
    assert credentials.wordpress.client_secret == Secret("wpcom-secret")
    assert not credentials.wordpress.configured
    assert sorted(credentials.secrets()) == ["wpcom-secret", "x-secret-env"]


def test_no_credentials_at_all(tmp_path: Path) -> None:
    credentials = load_credentials(tmp_path / "absent.toml", env={})
    assert credentials == Credentials()
    assert not credentials.wordpress.configured
    assert not credentials.x.configured


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_group_or_world_readable_file_gets_a_warning(tmp_path: Path, mode: int) -> None:
    path = write_credentials(tmp_path, mode=mode)
    credentials = load_credentials(path, env={})

    (warning,) = credentials.warnings
    assert str(path) in warning
    assert f"chmod 600 {path}" in warning
    assert "abcd" not in warning


def test_a_private_file_gets_no_warning(tmp_path: Path) -> None:
    assert load_credentials(write_credentials(tmp_path, mode=0o600), env={}).warnings == ()


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ('[wordpress]\nuser = "u"\npassword = "hunter2"\n', 3, "wordpress.password: unknown key"),
        ('[threads]\ntoken = "hunter2"\n', None, "threads: unknown key"),
        ('[mastodon]\ntoken = "hunter2"\n', 2, "mastodon.token: unknown key"),
        ("[bluesky]\napp_password = 12345678\n", 2, "bluesky.app_password: must be a string"),
        ("[wordpress]\napp_password = 12345678\n", 2, "wordpress.app_password: must be a string"),
        ('wordpress = "hunter2"\n', 1, "wordpress: must be a table"),
        ('[x]\nbearer_token = "hunter2\n', 2, "invalid TOML"),
    ],
)
def test_bad_credentials_files_never_show_the_secret(
    tmp_path: Path, text: str, line: int | None, what: str
) -> None:
    path = write_credentials(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_credentials(path, env={})

    assert info.value.path == path
    assert info.value.line == line
    assert what in info.value.message
    assert info.value.fix
    assert "hunter2" not in info.value.render()
    assert "12345678" not in info.value.render()


def test_secrets_never_show_in_reprs() -> None:
    secret = Secret("s3cr3t-value")
    credentials = Credentials(
        wordpress=WordPressCredentials(user="editor", app_password=Secret("wp-pass-value")),
        x=XCredentials(bearer_token=Secret("x-bearer-value")),
    )

    assert secret.reveal() == "s3cr3t-value"
    for text in (repr(secret), str(secret), f"{secret}", repr(credentials), str(credentials)):
        assert "s3cr3t" not in text
        assert "wp-pass" not in text
        assert "x-bearer" not in text
    assert "********" in repr(secret)
    assert "editor" in repr(credentials)  # the user name is not a secret


def test_secrets_compare_by_value() -> None:
    assert Secret("a") == Secret("a")
    assert Secret("a") != Secret("b")
    assert Secret("a") != "a"
    assert len({Secret("a"), Secret("a")}) == 1
