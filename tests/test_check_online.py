"""`pipeline check --online`, run as a user runs it: logs in to the real local WordPress and to
the fake X API, and says clearly (without the secret) when a login is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import XCredentials
from tests.fakex import FakeX
from tests.sites import make_site
from tests.wp_local import LocalWordPress

pytestmark = pytest.mark.wordpress


def check_online(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), "check", "--online"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_logs_in_to_wordpress_and_x(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=fake_x.credentials())
    done = check_online(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"WordPress {wordpress.url}: logged in as admin" in done.stdout
    assert f"X {fake_x.url}: logged in as @" in done.stdout


def test_a_refused_login_says_why_without_the_secret(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    good = fake_x.credentials()
    assert good.consumer_key is not None
    assert good.access_token is not None
    bad_x = XCredentials(
        consumer_key=good.consumer_key,
        consumer_secret=type(good.consumer_key)("not-the-consumer-secret"),
        access_token=good.access_token,
        access_token_secret=good.access_token_secret,
    )
    config = make_site(tmp_path, wordpress, x_url=fake_x.url, x_credentials=bad_x)
    wrong = "wrong-app-password-1234"
    done = check_online(config, PIPELINE_WORDPRESS_APP_PASSWORD=wrong)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output  # refused credentials are bad input, as for publish
    assert "did not accept the login of user 'admin'" in output
    assert "Application Passwords" in output  # says what to do
    # ... and where: the password came from the environment, not from credentials.toml
    assert "put it in the environment variable PIPELINE_WORDPRESS_APP_PASSWORD" in output
    assert "X " in output
    assert "credentials" in output.lower()
    assert wrong not in output
    assert "not-the-consumer-secret" not in output
    assert "Traceback" not in output


def test_a_refused_password_from_the_file_names_the_file(
    wordpress: LocalWordPress, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress)
    credentials = config.parent / "credentials.toml"
    credentials.write_text(
        f'[wordpress]\nuser = "{wordpress.user}"\napp_password = "wrong-app-password-1234"\n'
    )
    done = check_online(config)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert f"put it in app_password in {credentials} (line 3)" in output
    assert "wrong-app-password-1234" not in output
