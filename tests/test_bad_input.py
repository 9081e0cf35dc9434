"""Bad input that used to crash, block others or fail the wrong way (issue 10, items 1 and 2),
each reproduced where it is read. The whole corpus through the CLI and a real WordPress is the
drill in test_corpus_drill.py; these are the classes underneath."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_credentials, load_settings
from pipeline.errors import ConfigError, PipelineError
from pipeline.store import Store
from pipeline.timeutil import MAX_YEAR, MIN_YEAR, BadTime, parse_duration, to_utc
from pipeline.workspace import load_workspace
from tests.sites import remote
from tests.wp_local import LocalWordPress

NEW_YORK = ZoneInfo("America/New_York")
PIPELINE = str(Path(sys.executable).parent / "pipeline")
SITE = '[wordpress]\nurl = "https://blog.example.com"\n'


def site(root: Path, config: str = SITE, posts: dict[str, str] | None = None) -> Path:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    for name, text in (posts or {}).items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    path = root / "pipeline.toml"
    path.write_text(config, encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"PIPELINE_CONFIG": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# --- every time a person writes is bounded, in one place --------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31 23:00",  # past datetime.max once moved from New York to UTC
        "9999-12-31T23:00:00-05:00",
        "0001-01-01 00:00",
        datetime(9999, 12, 31, 23, 0),  # as TOML gives it
        datetime(9999, 12, 31, 23, 0, tzinfo=UTC),
        date(9999, 12, 31),
        f"{MAX_YEAR + 1}-01-01 00:00",
        f"{MIN_YEAR - 1}-12-31 23:00",
    ],
)
def test_times_out_of_range_are_refused_not_overflowed(value: object) -> None:
    with pytest.raises(BadTime, match="out of range"):
        to_utc(value, NEW_YORK)


def test_the_edges_of_the_range_are_fine() -> None:
    assert to_utc(f"{MAX_YEAR}-12-31 23:59", NEW_YORK).year == MAX_YEAR + 1  # UTC is ahead
    assert to_utc(f"{MIN_YEAR}-01-01 00:00", NEW_YORK).year == MIN_YEAR


@pytest.mark.parametrize("text", ["99999999999w", "999999999999999999999999s", "3651d"])
def test_spans_are_bounded(text: str) -> None:
    with pytest.raises(BadTime, match="longer than"):
        parse_duration(text)


def test_log_since_a_huge_span_is_a_usage_error(tmp_path: Path) -> None:
    config = site(tmp_path)
    code, output = invoke("--config", str(config), "log", "--since", "99999999999d")
    assert code == 2
    assert "--since" in output


def test_a_long_value_is_cut_in_the_message(tmp_path: Path) -> None:
    config = site(tmp_path, SITE + 'timezone = "' + "A" * 100_000 + '"\n')
    code, output = invoke("--config", str(config), "check")
    assert code == 2
    assert len(output) < 400, output


# --- paths of the wrong kind ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "make", "what"),
    [
        ('state_dir = "taken"\n', "file", "is a file, not a folder"),
        ('state_dir = "taken/state"\n', "file", "cannot be created"),
        ('posts_dir = "taken"\n', "file", "is a file, not a folder"),
        ('credentials = "taken"\n', "folder", "is a folder, not a file"),
    ],
)
def test_a_path_of_the_wrong_kind_is_named_with_its_line(
    tmp_path: Path, line: str, make: str, what: str
) -> None:
    taken = tmp_path / "taken"
    if make == "file":
        taken.write_text("not a folder\n")
    else:
        taken.mkdir()
    config = site(tmp_path, line + SITE)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert (caught.value.path, caught.value.line) == (config, 1)
    assert what in caught.value.message
    assert caught.value.fix


def test_check_fails_when_credentials_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "credentials").mkdir()
    config = site(tmp_path, 'credentials = "credentials"\n' + SITE)
    code, output = invoke("--config", str(config), "check")
    assert code == 2
    assert f"error: {config}:1: credentials: " in output


def test_a_credentials_folder_given_directly_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a file"):
        load_credentials(tmp_path, env={})


def test_a_state_file_that_cannot_be_opened_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "state.sqlite3").mkdir()
    with pytest.raises(PipelineError, match="cannot open the state file"):
        Store.open(tmp_path / "state.sqlite3")


# --- where each credential came from -----------------------------------------------------------


def test_each_password_knows_where_it_came_from(tmp_path: Path) -> None:
    path = tmp_path / "credentials.toml"
    path.write_text('[wordpress]\nuser = "editor"\napp_password = "abcd efgh ijkl mnop"\n')
    path.chmod(0o600)
    assert load_credentials(path, env={}).wordpress.origin == f"app_password in {path} (line 3)"
    from_env = load_credentials(path, env={"PIPELINE_WORDPRESS_APP_PASSWORD": "qrst uvwx yzab"})
    assert from_env.wordpress.origin == "the environment variable PIPELINE_WORDPRESS_APP_PASSWORD"


# --- announcement templates fail where they are written, before anything is published -------


POST = "---\ntitle: {title}\n{extra}---\nBody.\n"


X_KEYS = "".join(
    f'{key} = "drill-{key}-0123456789"\n'
    for key in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
)


def with_x(root: Path) -> None:
    """X set up (its keys), so that its limit counts: a template is measured where it is used."""
    path = root / "credentials.toml"
    path.write_text(
        f'[wordpress]\nuser = "editor"\napp_password = "abcd efgh ijkl mnop"\n\n[x]\n{X_KEYS}'
    )
    path.chmod(0o600)


def test_a_template_that_can_never_fit_is_bad_config_with_its_line(tmp_path: Path) -> None:
    config = site(
        tmp_path,
        SITE + '\n[x]\ntemplate = "' + "Read this! " * 30 + '{url}"\n',
        {"a.md": POST.format(title="A", extra="")},
    )
    with_x(tmp_path)
    code, output = invoke("--config", str(config), "check")
    assert code == 2
    assert f"error: {config}:5: x.template: the announcement is " in output


def test_a_series_too_long_for_the_template_holds_back_that_post_only(tmp_path: Path) -> None:
    from pipeline.wiring import announceable, channel_setups

    config = site(
        tmp_path,
        SITE + '\n[x]\ntemplate = "{series}, part {part}: {title} {url}"\n',
        {
            "long.md": POST.format(title="Long", extra=f"series: {'Long ' * 60}\npart: 1\n"),
            "fine.md": POST.format(title="Fine", extra="series: Short\npart: 1\n"),
        },
    )
    with_x(tmp_path)
    loaded = load_workspace(load_settings(config))
    workspace = announceable(loaded, channel_setups(loaded, online=False))
    assert [p.slug for p in workspace.posts] == ["fine"]
    (error,) = workspace.loaded.errors
    assert (error.path, error.line) == (tmp_path / "posts" / "long.md", 3)
    assert "with the [x] template" in error.message
    assert error.fix is not None
    assert "shorten the series name" in error.fix


# --- the running scheduler goes on past a post it cannot read --------------------------------


@pytest.mark.wordpress
def test_the_scheduler_reports_a_bad_post_and_publishes_the_others(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = site(
        tmp_path,
        'state_dir = "state"\n'
        f'[wordpress]\nurl = "{wordpress.url}"\n\n'
        f'[[schedule]]\npost = "on-time"\nat = "{soon}"\n'
        '\n[[schedule]]\npost = "someday"\nat = "9999-12-31 23:00"\n',
        {
            "on-time.md": POST.format(title="On time", extra=""),
            "far.md": POST.format(title="Far", extra="publish_at: 9999-12-31 23:00\n"),
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    env |= {"PIPELINE_WORDPRESS_USER": wordpress.user}
    env |= {"PIPELINE_WORDPRESS_APP_PASSWORD": wordpress.app_password}
    err = tmp_path / "run.err"
    with err.open("w") as stderr:
        process = subprocess.Popen(
            [PIPELINE, "--config", str(config), "run", "--watch-every", "0.2"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while remote(wordpress, "on-time") is None and time.monotonic() < deadline:
            assert process.poll() is None, err.read_text()
            time.sleep(0.2)
        # A post edited to an impossible time while running: reported, the scheduler goes on.
        (tmp_path / "posts" / "later.md").write_text(
            POST.format(title="Later", extra="publish_at: 9999-12-31 23:00\n")
        )
        time.sleep(2)
        assert process.poll() is None, err.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    log = err.read_text()
    assert code == 0, log
    assert remote(wordpress, "on-time") is not None
    assert "Traceback" not in log
    assert f"skipped: {tmp_path / 'posts' / 'far.md'}:3: publish_at: 9999-12-31 23:00" in log
    assert f"skipped: {config}:" in log  # the [[schedule]] entry
    assert f"skipped: {tmp_path / 'posts' / 'later.md'}:3:" in log


def test_an_unreadable_image_fails_check_with_its_line(tmp_path: Path) -> None:
    """An image the pipeline may not read: found by `check`, not half-way through a publish.
    Root reads any file whatever its mode, so as root the check runs as nobody."""
    import shutil
    import tempfile

    from tests.images import png
    from tests.nobody import as_nobody

    user = as_nobody()
    root = Path(tempfile.mkdtemp(prefix="unreadable-", dir="/tmp"))
    try:
        root.chmod(0o755)
        config = site(root, SITE, {"pic.md": "---\ntitle: Pic\n---\n![a](secret.png)\n"})
        (root / "posts").chmod(0o755)
        (root / "posts" / "pic.md").chmod(0o644)
        config.chmod(0o644)
        image = root / "posts" / "secret.png"
        image.write_bytes(png())
        image.chmod(0o000)
        command = [PIPELINE, "--config", str(config), "check"]
        if user is not None:
            command = [*user, *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    finally:
        shutil.rmtree(root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    expected = f"error: {root / 'posts' / 'pic.md'}:4: image 'secret.png' cannot be read: "
    assert expected + "Permission denied (fix: " in done.stderr
