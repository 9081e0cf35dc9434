"""X as it is in 2026 and WordPress.com logins, end to end: through the real CLI (`python -m
pipeline` in a subprocess) against the real local WordPress, the fake X (402, credits, OAuth 2.0
that expires) and the fake WordPress.com; and at library level where time must be simulated
(the publisher's and the scheduler's clock, passed in)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.auth.oauth2 import login
from pipeline.auth.tokens import TokenStore
from pipeline.config import load_settings
from pipeline.scheduler.service import Runtime
from pipeline.status import apply_retry, plan_retry
from pipeline.store import Store
from pipeline.wiring import x_login
from pipeline.workspace import load_workspace
from tests.fakewpcom import FakeWordPressCom
from tests.fakex import FakeX
from tests.sites import EXAMPLE_POSTS, SERIES, make_site, open_site, remote
from tests.test_twittertext import without_pkg_resources
from tests.wp_local import LocalWordPress, _state_dir

pytestmark = pytest.mark.wordpress

P1, P2, P3 = SERIES
TWEETS = "POST /2/tweets"
# The local WordPress's permalinks are on 127.0.0.1, which X (twitter-text) does not count as a
# link; a real blog's do. The domain in the template makes these cost what a real one does.
TEMPLATE = "New on the blog: {title} {url} (more at blog.example.com)"


# --- helpers ---------------------------------------------------------------------------------


def cli(
    config: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), *args],
        env=_env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env() -> dict[str, str]:
    # No PIPELINE_* from the outside; "true" as the browser, so that none is ever started.
    base = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return base | {"BROWSER": "true"}


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def x_calls(fake: FakeX, endpoint: str = TWEETS) -> list[int | None]:
    return [r["status"] for r in fake.requests if r["endpoint"] == endpoint]


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def x_site(tmp_path: Path, wordpress: LocalWordPress, fake: FakeX, *, keys: bool = True) -> Path:
    """A site announcing on the fake X: with its OAuth 1.0a keys, or set up for a login."""
    config = make_site(
        tmp_path,
        wordpress,
        x_url=fake.url,
        x_credentials=fake.credentials() if keys else None,
        template=TEMPLATE,
    )
    append(config, f'auth_url = "{fake.url}/i/oauth2/authorize"\n')
    append(config, f'token_url = "{fake.url}/2/oauth2/token"\n')
    if not keys:
        append(
            tmp_path / "credentials.toml",
            f'\n[x]\nclient_id = "{fake.oauth.client_id}"\n'
            f'client_secret = "{fake.oauth.client_secret}"\n',
        )
    return config


def play_browser(command: list[str], *, follow: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `pipeline login ...`, open the address it prints as a browser would, and wait.

    With ``follow`` the browser follows the service's redirect to the login's listener; without
    it (``--no-browser``) the address it was sent to is pasted back on stdin."""
    with subprocess.Popen(
        command,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert process.stdin is not None
        assert process.stderr is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("  http"):
                break
        else:
            raise AssertionError("no address printed:\n" + "".join(seen) + process.stderr.read())
        url = seen[-1].strip()
        if follow:
            page = httpx.get(url, follow_redirects=True, timeout=10)
            assert page.status_code == 200, page.text
            assert "Logged in" in page.text
        else:
            answer = httpx.get(url, follow_redirects=False, timeout=10)
            assert answer.status_code == 302, answer.text
            process.stdin.write(answer.headers["Location"] + "\n")
            process.stdin.flush()
        process.stdin.close()
        # Not communicate(): with several pipes it reads the raw descriptors, and what the
        # line reader above has buffered already would be lost.
        rest = process.stdout.read()
        errors = process.stderr.read()
        process.wait(60)
    return subprocess.CompletedProcess(command, process.returncode, "".join(seen) + rest, errors)


def login_x(config: Path, fake: FakeX, *extra: str) -> subprocess.CompletedProcess[str]:
    port = free_port()
    fake.oauth.register_redirect(f"http://127.0.0.1:{port}/callback")
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "login", "x"]
    return play_browser([*command, "--port", str(port), *extra], follow="--no-browser" not in extra)


def pending(config: Path, slug: str) -> str:
    """What `pipeline status --json` says is pending for one post."""
    rows = json.loads(cli(config, "status", "--json").stdout)
    row = next(row for row in rows if row["slug"] == slug)
    return "\n".join(item["text"] for item in row["pending"])


def tokens_in(config: Path, name: str) -> TokenStore:
    return TokenStore(load_settings(config).state_dir, name)


# --- twitter-text without setuptools --------------------------------------------------------


def test_announcing_on_x_needs_no_setuptools(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    """setuptools 82 removed pkg_resources, which twitter-text-parser imports to read its emoji
    list (and Python 3.12+ venvs have no setuptools): plan and publish still measure and send."""
    config = x_site(tmp_path, wordpress, fake_x)
    blocked = {"PYTHONPATH": without_pkg_resources(tmp_path)["PYTHONPATH"]}

    plan = cli(config, "plan", P1, env=blocked)
    assert plan.returncode == 0, output(plan)
    assert "[x, $0.200]" in plan.stdout
    published = cli(config, "publish", P1, env=blocked)
    assert published.returncode == 0, output(published)
    assert "pkg_resources" not in output(published)
    assert x_calls(fake_x) == [201]


# --- 402: credits exhausted mid-series -------------------------------------------------------


def test_credits_run_out_mid_series_the_rest_goes_on_and_x_waits_for_retry(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x)
    fake_x.set_credits("0.20")  # one post with a link

    published = cli(config, "publish", *SERIES)

    assert published.returncode == 1, output(published)
    assert x_calls(fake_x) == [201, 402], "part 3 was not sent to X once X said 402"
    for slug in SERIES:  # WordPress went on, and so did the backfills
        post = remote(wordpress, slug)
        assert post is not None
        assert post["status"] == "publish"
    part1 = remote(wordpress, P1)
    assert part1 is not None
    assert "Last Letters</a>" in part1["content"]["raw"], "part 1 links part 3"
    assert f"held: {P2}: " in published.stderr
    assert "credits are exhausted" in published.stderr
    assert f"`pipeline retry {P2} --channel x`" in published.stderr
    assert f"`pipeline retry {P3} --channel x`" in published.stderr
    assert "credits are exhausted" in pending(config, P2)
    assert f"`pipeline retry {P2} --channel x`" in pending(config, P2)
    assert "not sent, after this: X's pay-per-use credits are exhausted" in pending(config, P3)
    status = cli(config, "status")
    assert re.search(r"X in \d{4}-\d\d: 1 post, \$0\.200", status.stdout), status.stdout
    held = cli(config, "log", "--status", "held")
    assert "CreditsDepleted" in held.stdout or "credits" in held.stdout

    again = cli(config, "run", "--once")
    assert again.returncode == 0, output(again)
    assert x_calls(fake_x) == [201, 402], "held announcements wait for `pipeline retry`"

    fake_x.set_credits("5")
    for slug in (P2, P3):
        retried = cli(config, "retry", slug, "--channel", "x")
        assert retried.returncode == 0, output(retried)
    sent = cli(config, "run", "--once")

    assert sent.returncode == 0, output(sent)
    assert x_calls(fake_x) == [201, 402, 201, 201]
    first, second, third = (t for t in fake_x.tweets if not t["deleted"])
    assert (second["reply_to"], third["reply_to"]) == (first["id"], second["id"])
    assert fake_x.credits == Decimal("4.60")


# --- the monthly budget ----------------------------------------------------------------------


def test_the_budget_is_shown_and_holds_the_post_over_it_until_raised(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x)
    append(config, "monthly_budget = 0.4\n")

    first = cli(config, "publish", P1)
    assert first.returncode == 0, output(first)
    assert "[x, $0.200]" in first.stdout, "what it costs is printed before it is sent"

    plan = cli(config, "plan", P2, P3)
    assert plan.returncode == 0, output(plan)
    lines = plan.stdout.splitlines()
    part2 = next(line for line in lines if line.startswith(f"announce  {P2}"))
    part3 = next(line for line in lines if line.startswith(f"announce  {P3}"))
    assert "held" not in part2
    assert "[x, $0.200]" in part2
    assert "held: posting would cost about $0.200" in part3
    assert "over [x] monthly_budget = 0.4" in part3

    second = cli(config, "publish", P2, P3)
    assert second.returncode == 1, output(second)
    assert x_calls(fake_x) == [201, 201], "the third post of the month was not sent"
    assert "monthly_budget = 0.4" in second.stderr
    assert f"`pipeline retry {P3} --channel x`" in second.stderr
    status = cli(config, "status")
    assert re.search(
        r"X in \d{4}-\d\d: 2 posts, \$0\.400 of the \$0\.4 monthly budget \(\$0\.000 left\)",
        status.stdout,
    ), status.stdout

    config.write_text(config.read_text().replace("monthly_budget = 0.4", "monthly_budget = 1"))
    assert cli(config, "retry", P3, "--channel", "x").returncode == 0
    third = cli(config, "run", "--once")
    assert third.returncode == 0, output(third)
    assert x_calls(fake_x) == [201, 201, 201]
    assert "3 posts, $0.600 of the $1 monthly budget" in cli(config, "status").stdout


class Clock:
    """The pipeline's time (aware datetimes) and the fake X's (epoch seconds), one value."""

    def __init__(self, when: datetime) -> None:
        self.now = when

    def __call__(self) -> datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_budget_counts_this_calendar_month_and_resets_in_the_next(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x)
    append(config, "monthly_budget = 0.4\n")
    clock = Clock(at("2026-11-02T14:00:00"))

    def publish(slug: str, when: str) -> tuple[str, str | None]:
        clock.now = at(when)
        with open_site(config, clock=clock) as site:
            site.publisher().publish(site.targets([slug]))
            step = site.store.step(slug, "announce", "x")
            assert step is not None
            return step.status, step.error

    assert publish(P1, "2026-11-02T14:00:00")[0] == "done"  # run 1
    assert publish(P2, "2026-11-09T14:00:00")[0] == "done"  # run 2: $0.40, the whole budget
    status, why = publish(P3, "2026-11-20T14:00:00")
    assert status == "held"
    assert why is not None
    assert "X's spend for 2026-11 from $0.400 to $0.600" in why
    assert x_calls(fake_x) == [201, 201]

    def retry_and_run(when: str) -> str:
        clock.now = at(when)
        with open_site(config, clock=clock) as site:
            journal = site.journal()
            plan = plan_retry(P3, site.store.steps(post=P3), channel="x")
            apply_retry(journal, plan, now=clock.now)
            site.publisher().publish([], owed=True)
            step = site.store.step(P3, "announce", "x")
            assert step is not None
            return step.status

    # 23:59 on November 30th in New York is still November: held again.
    assert retry_and_run("2026-12-01T04:59:00") == "held"
    assert x_calls(fake_x) == [201, 201]
    # December (midnight in New York is 05:00 UTC) starts from nothing spent.
    assert retry_and_run("2026-12-01T05:00:00") == "done"
    assert x_calls(fake_x) == [201, 201, 201]
    with open_site(config, clock=clock) as site:
        sent = site.store.step(P3, "announce", "x")
        assert sent is not None
        assert (sent.detail["cost"], sent.detail["sent_at"]) == ("0.200", "2026-12-01T05:00:00Z")


# --- pipeline login x ------------------------------------------------------------------------


def test_login_x_in_the_browser_then_announce_with_it(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x, keys=False)
    before = cli(config, "plan", P1)
    assert "(no X credentials: recorded as skipped)" in before.stdout

    done = login_x(config, fake_x)

    assert done.returncode == 0, output(done)
    assert "Logged in to X as @writer." in done.stdout
    store = tokens_in(config, "x")
    saved = store.load()
    assert saved is not None
    assert saved.refresh_token is not None, "offline.access was asked for"
    assert set(saved.scope) >= {"tweet.write", "media.write", "offline.access"}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    for secret in (*saved.secrets(), fake_x.oauth.client_secret or "?"):
        assert secret not in output(done)
    # A static bearer token left over from before (dead after two hours): the login wins.
    append(tmp_path / "credentials.toml", 'bearer_token = "an-expired-user-token"\n')

    published = cli(config, "publish", P1)

    assert published.returncode == 0, output(published)
    posted = [r for r in fake_x.requests if r["endpoint"] == TWEETS]
    assert [(r["auth"], r["status"]) for r in posted] == [("oauth2", 201)]
    online = cli(config, "check", "--online")
    assert f"X {fake_x.url}: logged in as @writer" in online.stdout
    for secret in saved.secrets():
        assert secret not in output(published) + output(online)
        assert secret not in cli(config, "log", "--json").stdout


def test_login_x_without_a_browser_reads_the_pasted_address(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x, keys=False)

    done = login_x(config, fake_x, "--no-browser")

    assert done.returncode == 0, output(done)
    assert "paste it here" in done.stdout
    assert tokens_in(config, "x").load() is not None


def test_login_x_without_an_app_says_what_to_set(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = make_site(tmp_path, wordpress, x_url=fake_x.url)

    done = cli(config, "login", "x", "--port", "8765")

    assert done.returncode == 2, output(done)
    assert "no X app to log in with" in done.stderr
    assert "http://127.0.0.1:8765/callback" in done.stderr
    assert "client_id" in done.stderr
    assert "Traceback" not in output(done)


def test_a_revoked_login_holds_the_announcement_and_says_to_log_in_again(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x, keys=False)
    assert login_x(config, fake_x).returncode == 0
    fake_x.oauth.revoke_everything()  # the writer removed the app on x.com

    published = cli(config, "publish", P1, P2)

    assert published.returncode == 1, output(published)
    post = remote(wordpress, P2)
    assert post is not None
    assert post["status"] == "publish", "WordPress went on"
    assert "X no longer accepts the saved login" in published.stderr
    assert "run `pipeline login x` again" in published.stderr
    assert f"`pipeline retry {P1} --channel x`" in published.stderr
    refreshes = [r for r in fake_x.oauth.token_requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1, "one refused renewal; part 2 was not sent to X after it"
    assert "run `pipeline login x` again" in pending(config, P1)

    assert login_x(config, fake_x).returncode == 0
    for slug in (P1, P2):
        assert cli(config, "retry", slug, "--channel", "x").returncode == 0
    sent = cli(config, "run", "--once")
    assert sent.returncode == 0, output(sent)
    assert len(fake_x.live_texts()) == 2


# --- a running scheduler and a token that expires between two posts --------------------------


def test_the_scheduler_renews_the_login_between_posts_three_hours_apart(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    config = x_site(tmp_path, wordpress, fake_x, keys=False)
    append(
        config,
        f'\n[[schedule]]\npost = "{P1}"\nat = "2030-03-04 09:00"\n'
        f'\n[[schedule]]\npost = "{P2}"\nat = "2030-03-04 12:00"\n',
    )
    clock = Clock(at("2030-03-04T13:59:00"))  # a minute before part 1 (09:00 EST)
    fake_x.clock = clock.epoch
    settings = load_settings(config)
    port = free_port()
    fake_x.oauth.register_redirect(f"http://127.0.0.1:{port}/callback")
    provider = x_login(load_workspace(settings))
    with httpx.Client() as http:
        tokens = login(
            provider,
            http,
            open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=10),
            clock=clock,
            port=port,
            timeout=10,
        )
    TokenStore(settings.state_dir, "x").save(tokens)

    store = Store.open(settings.db_path, clock)
    runtime = Runtime(settings, store, clock=clock)
    try:
        clock.now = at("2030-03-04T14:00:00")
        first = runtime.run()
        clock.now = at("2030-03-04T17:00:00")  # the access token died an hour ago
        second = runtime.run()
        failed = store.entries(outcome="failed")
        done = [(e.post, e.step) for e in reversed(store.entries(outcome="done"))]
    finally:
        runtime.close()
        store.close()

    assert (first.published, second.published) == ([P1], [P2])
    assert first.result.ok
    assert second.result.ok
    assert x_calls(fake_x) == [201, 201], "renewed before the call, not after a 401"
    grants = [(r["grant_type"], r["status"]) for r in fake_x.oauth.token_requests]
    assert grants == [("authorization_code", 200), ("refresh_token", 200)]
    assert failed == []
    assert (P1, "announce:x") in done
    assert (P2, "announce:x") in done
    saved = TokenStore(settings.state_dir, "x").load()
    assert saved is not None
    assert saved.refresh_token != tokens.refresh_token, "the rotated refresh token was saved"


# --- WordPress.com ---------------------------------------------------------------------------


JETPACK_PLUGIN = """<?php
// A stand-in for Jetpack Social (automattic/jetpack-publicize, Connections_Controller): its
// route, its permission (a user who may publish) and the shape of its connections.
add_action('rest_api_init', function () {
    register_rest_route('wpcom/v2', '/publicize/connections', array(
        'methods' => 'GET',
        'permission_callback' => function () { return current_user_can('publish_posts'); },
        'callback' => function () {
            return rest_ensure_response(array(array(
                'connection_id' => '26547180',
                'display_name' => 'A Writer',
                'external_handle' => 'writer',
                'external_id' => '1234567890',
                'service_label' => 'X',
                'service_name' => 'x',
                'shared' => true,
                'status' => 'ok',
            )));
        },
    ));
});
"""


@pytest.fixture
def jetpack_social(wordpress: LocalWordPress) -> Iterator[Path]:
    """The local WordPress with a Jetpack Social that shares to X as @writer."""

    env = json.loads((_state_dir() / "env.json").read_text(encoding="utf-8"))
    folder = Path(env["wp_content_dir"]) / "mu-plugins"
    folder.mkdir(exist_ok=True)
    plugin = folder / "pipeline-test-jetpack-social.php"
    plugin.write_text(JETPACK_PLUGIN, encoding="utf-8")
    yield plugin
    plugin.unlink()


def test_check_online_warns_when_jetpack_social_shares_to_x_too(
    wordpress: LocalWordPress, fake_x: FakeX, jetpack_social: Path, tmp_path: Path
) -> None:
    config = x_site(tmp_path / "with-x", wordpress, fake_x)
    checked = cli(config, "check", "--online")

    assert checked.returncode == 0, output(checked)
    assert "warning: Jetpack Social on this site also shares new posts to X (@writer)" in (
        checked.stdout
    )
    assert "Jetpack > Social" in checked.stdout

    without_x = cli(make_site(tmp_path / "no-x", wordpress), "check", "--online")
    assert without_x.returncode == 0, output(without_x)
    assert "Jetpack" not in without_x.stdout, "no double announcement without the pipeline's X"


def test_check_online_is_quiet_without_jetpack_social(
    wordpress: LocalWordPress, fake_x: FakeX, tmp_path: Path
) -> None:
    checked = cli(x_site(tmp_path, wordpress, fake_x), "check", "--online")
    assert checked.returncode == 0, output(checked)
    assert "Jetpack" not in checked.stdout


@pytest.fixture
def wpcom(wordpress: LocalWordPress) -> Iterator[FakeWordPressCom]:
    with FakeWordPressCom(upstream=wordpress) as fake:
        yield fake


def wpcom_site(root: Path, fake: FakeWordPressCom, x: FakeX | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_POSTS, root / "posts")
    config = root / "pipeline.toml"
    x_table = f'api_url = "{x.url}"\n' if x else ""
    config.write_text(
        'timezone = "America/New_York"\nstate_dir = "state"\n'
        f'[wordpress]\nurl = "https://{fake.site}"\napi_root = "{fake.api_root}"\n'
        f'oauth_url = "{fake.url}/oauth2"\n[x]\n{x_table}',
        encoding="utf-8",
    )
    creds = root / "credentials.toml"
    creds.write_text(
        f'[wordpress]\nclient_id = "{fake.client_id}"\nclient_secret = "{fake.client_secret}"\n'
        + ("".join(["[x]\n"] + [f'{k} = "{v.reveal()}"\n' for k, v in _keys(x)]) if x else ""),
        encoding="utf-8",
    )
    creds.chmod(0o600)
    return config


def _keys(fake: FakeX) -> list[tuple[str, Any]]:
    creds = fake.credentials()
    names = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    return [(name, getattr(creds, name)) for name in names]


def login_wpcom(config: Path, fake: FakeWordPressCom) -> subprocess.CompletedProcess[str]:
    port = free_port()
    fake.register_redirect(f"http://127.0.0.1:{port}/callback")
    command = [sys.executable, "-m", "pipeline", "--config", str(config)]
    return play_browser([*command, "login", "wordpress.com", "--port", str(port)])


def test_login_wordpress_com_then_publish_through_the_bearer_route(
    wordpress: LocalWordPress, wpcom: FakeWordPressCom, tmp_path: Path
) -> None:
    config = wpcom_site(tmp_path, wpcom)
    before = cli(config, "publish", P1)
    assert before.returncode == 2, output(before)
    assert "pipeline login wordpress.com" in before.stderr

    done = login_wpcom(config, wpcom)

    assert done.returncode == 0, output(done)
    assert f"Logged in to WordPress.com as {wordpress.user}" in done.stdout
    assert f"{wpcom.url}/wp/v2/sites/{wpcom.site}" in done.stdout
    saved = tokens_in(config, "wordpress.com").load()
    assert saved is not None
    assert saved.access_token.reveal() not in output(done)
    assert wpcom.client_secret not in output(done)

    published = cli(config, "publish", P1, P2)

    assert published.returncode == 0, output(published)
    for slug in (P1, P2):
        post = remote(wordpress, slug)
        assert post is not None
        assert post["status"] == "publish"
    through = [(r["method"], r["path"], r["status"]) for r in wpcom.requests]
    assert ("POST", f"/wp/v2/sites/{wpcom.site}/posts", 201) in through
    assert ("POST", f"/wp/v2/sites/{wpcom.site}/media", 201) in through
    assert all(status < 400 for _, path, status in through if "/sites/" in path)
    checked = cli(config, "check", "--online")
    assert f"WordPress https://{wpcom.site}: logged in as" in checked.stdout


def test_a_wordpress_com_site_with_jetpack_social_gets_the_warning(
    wordpress: LocalWordPress,
    wpcom: FakeWordPressCom,
    fake_x: FakeX,
    jetpack_social: Path,
    tmp_path: Path,
) -> None:
    config = wpcom_site(tmp_path, wpcom, fake_x)
    assert login_wpcom(config, wpcom).returncode == 0

    checked = cli(config, "check", "--online")

    assert checked.returncode == 0, output(checked)
    assert "Jetpack Social on this site also shares new posts to X (@writer)" in checked.stdout
    paths = [r["path"] for r in wpcom.requests]
    assert f"/wpcom/v2/sites/{wpcom.site}/publicize/connections" in paths
