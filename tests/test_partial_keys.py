"""Three of X's four OAuth 1.0a keys (issue 10.3): `check` fails naming the missing key and where
to put it; `publish` holds the announcement (never drops it) until the key is added and the
writer runs `pipeline retry`; then it goes out exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import ENV_KEYS
from tests.fakex import FakeX
from tests.sites import SERIES, make_site
from tests.wp_local import LocalWordPress

CLEAN_ENV: dict[str, str | None] = {
    "PIPELINE_CONFIG": None,
    "COLUMNS": "200",
    **{var: None for var in ENV_KEYS.values()},
}
P1 = SERIES[0]


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), *args], prog_name="pipeline", env=CLEAN_ENV
    )


def drop_key(config: Path, key: str) -> str:
    """Remove one line from credentials.toml; returns it, to put back later."""
    creds = config.parent / "credentials.toml"
    lines = creds.read_text().splitlines(keepends=True)
    line = next(line for line in lines if line.startswith(f"{key} ="))
    creds.write_text("".join(other for other in lines if other is not line))
    return line


@pytest.fixture
def three_keys(tmp_path: Path, fake_x: FakeX) -> tuple[Path, str]:
    from tests.memwp import MemoryWordPress

    config = make_site(
        tmp_path, MemoryWordPress(), x_url=fake_x.url, x_credentials=fake_x.credentials()
    )
    return config, drop_key(config, "access_token_secret")


def test_check_fails_naming_the_missing_key_and_where(three_keys: tuple[Path, str]) -> None:
    config, _ = three_keys
    result = invoke(config, "check")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if "access_token_secret" in line]
    assert len(lines) == 1, result.output
    line = lines[0]
    creds = config.parent / "credentials.toml"
    header = creds.read_text().splitlines().index("[x]") + 1
    assert f"{creds}:{header}:" in line  # the file and line of its [x] table
    assert 'access_token_secret = "..."' in line
    assert "PIPELINE_X_ACCESS_TOKEN_SECRET" in line
    assert "Traceback" not in result.output


def test_check_passes_with_all_four(tmp_path: Path, fake_x: FakeX) -> None:
    from tests.memwp import MemoryWordPress

    config = make_site(
        tmp_path, MemoryWordPress(), x_url=fake_x.url, x_credentials=fake_x.credentials()
    )
    result = invoke(config, "check")
    assert result.exit_code == 0, result.output
    assert "incomplete" not in result.output


@pytest.mark.wordpress
def test_held_until_the_key_is_added_then_sent_once(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())
    missing = drop_key(config, "access_token_secret")

    published = invoke(config, "publish", P1)
    assert published.exit_code == 1, published.output  # a step is held: not a clean success
    assert "held" in published.output
    assert "access_token_secret" in published.output
    assert fake_x.tweets == []
    status = invoke(config, "status", "--json")
    assert "held" in status.output

    again = invoke(config, "run", "--once")  # still held: nothing sent, nothing dropped
    assert fake_x.tweets == []
    assert "Traceback" not in again.output

    creds = config.parent / "credentials.toml"
    creds.write_text(creds.read_text() + missing)
    retried = invoke(config, "retry", P1)
    assert retried.exit_code == 0, retried.output
    ran = invoke(config, "run", "--once")
    assert ran.exit_code == 0, ran.output
    assert [t["text"] for t in fake_x.tweets if not t["deleted"]] == fake_x.live_texts()
    assert len(fake_x.tweets) == 1, "sent exactly once"
    assert invoke(config, "run", "--once").exit_code == 0
    assert len(fake_x.tweets) == 1, "and not again"
