"""``pipeline status``, ``pipeline log`` and ``pipeline retry`` on a site folder in tmp_path;
``--follow`` in a real subprocess; ``status --rebuild`` against the real local WordPress."""

from __future__ import annotations

import functools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from pipeline import memofile
from pipeline.cli import cli
from pipeline.config import ENV_KEYS
from pipeline.core.memo import MEMO
from pipeline.store import Store
from tests.wp_local import LocalWordPress

SECRET = "abcd efgh ijkl mnop qrst uvwx"
CLEAN_ENV: dict[str, str | None] = {
    "PIPELINE_CONFIG": None,
    "COLUMNS": "200",
    **{var: None for var in ENV_KEYS.values()},
}
FUTURE = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d 09:00")

POSTS = {
    "ready.md": "---\ntitle: Ready One\nslug: ready-one\n---\nBody.\n",
    "draft.md": "---\ntitle: Draft One\nslug: draft-one\nstatus: draft\n---\nBody.\n",
    "later.md": "---\ntitle: Later One\nslug: later-one\n---\nBody.\n",
    "live.md": "---\ntitle: Live One\nslug: live-one\n---\nBody.\n",
    "broken.md": "---\ntitle: [unclosed\n---\nBody.\n",
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site folder: five posts (one broken), a schedule, credentials with an app password."""
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    for name, text in POSTS.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "America/New_York"\nstate_dir = "state"\n\n'
        '[wordpress]\nurl = "https://blog.example.com"\n\n'
        f'[[schedule]]\npost = "later-one"\nat = "{FUTURE}"\n',
        encoding="utf-8",
    )
    creds = root / "credentials.toml"
    creds.write_text(f'[wordpress]\nuser = "editor"\napp_password = "{SECRET}"\n')
    creds.chmod(0o600)
    return config


@pytest.fixture
def store(site: Path) -> Iterator[Store]:
    opened = Store.open(site.parent / "state" / "pipeline.sqlite3")
    yield opened
    opened.close()


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--config", str(config), *args], prog_name="pipeline", env=CLEAN_ENV
    )


def make_live(store: Store, slug: str, wp_id: int = 41) -> None:
    store.update_post(
        slug,
        source_path="live.md",
        wp_id=wp_id,
        permalink=f"https://blog.example.com/{slug}/",
        wp_status="publish",
        live_at="2026-11-02T14:00:00Z",
        tweet_url="https://x.com/me/status/1870000000000000001",
    )
    store.set_step(slug, "publish", status="done")
    store.set_step(slug, "announce", "x", status="done")


# ---------------------------------------------------------------------------------------------
# status


def test_status_table_lists_every_post(site: Path, store: Store) -> None:
    make_live(store, "live-one")
    store.set_step("gone", "publish", status="failed", error=f"login {SECRET} refused")
    result = invoke(site, "status")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for slug, state_name in (
        ("ready-one", "ready"),
        ("draft-one", "draft"),
        ("later-one", "scheduled"),
        ("live-one", "live"),
        ("gone", "failed"),
        ("broken.md", "invalid"),
    ):
        line = next((line for line in out.splitlines() if f" {slug} " in line), "")
        assert f" {state_name} " in line, (slug, out)
    assert "https://blog.example.com/live-one/" in out
    assert "https://x.com/me/status/1870000000000000001" in out
    assert "2026-11-02 09:00 EST" in out  # when it went live, in the site's timezone
    assert f"{FUTURE} E" in out  # the scheduled time (EST or EDT)
    assert "Times in America/New_York" in out
    assert "6 posts: 1 draft, 1 ready, 1 scheduled, 1 live, 1 failed, 1 invalid" in out
    assert SECRET not in result.output
    assert "********" in out


def edit_keeping_size_and_times(path: Path, old: str, new: str) -> None:
    """An edit within the same tick of the clock: same size, times put back as they were."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def as_a_new_process() -> None:
    """What the command remembered is in the state folder, not in memory."""
    memofile.save()
    MEMO.use(MEMO.loader)


def test_status_and_check_see_an_edit_that_keeps_size_and_times(site: Path) -> None:
    """The posts remembered by an earlier command are remembered by their content: an edit
    made in the same second, of the same size, is always seen."""
    post = site.parent / "posts" / "ready.md"
    first = invoke(site, "status", "--json")
    assert first.exit_code == 0, first.output
    assert "Ready One" in first.stdout
    as_a_new_process()
    edit_keeping_size_and_times(post, "title: Ready One", "title: Ready Two")
    again = invoke(site, "status", "--json")
    assert again.exit_code == 0, again.output
    titles = {row["slug"]: row["title"] for row in json.loads(again.stdout)}
    assert titles["ready-one"] == "Ready Two"  # the slug is written in the file

    checked = invoke(site, "check")
    assert checked.exit_code == 2, checked.output  # broken.md
    as_a_new_process()
    edit_keeping_size_and_times(post, "title: Ready Two", "title: [eady Two")
    broken = invoke(site, "check")
    assert f"{post}:3: invalid YAML in front matter" in broken.stderr, broken.stderr
    listing = invoke(site, "status", "--json")
    states = {row["source"]: row["state"] for row in json.loads(listing.stdout)}
    assert states["ready.md"] == "invalid"


def test_status_json_is_one_document(site: Path, store: Store) -> None:
    make_live(store, "live-one")
    store.set_step(
        "live-one",
        "backfill",
        "ready-one",
        status="failed",
        error=f"HTTP 500 with {SECRET}",
        count_attempt=True,
    )
    result = invoke(site, "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    by_slug = {row["slug"] or row["source"]: row for row in data}
    assert set(by_slug) == {"ready-one", "draft-one", "later-one", "live-one", "broken.md"}
    live = by_slug["live-one"]
    assert live["state"] == "failed"
    assert live["live"] is True
    assert live["publish_at"] == "2026-11-02T14:00:00Z"
    assert live["wordpress_url"] == "https://blog.example.com/live-one/"
    [pending] = live["pending"]
    assert pending["step"] == "backfill:ready-one"
    assert pending["error"] == "HTTP 500 with ********"
    later = by_slug["later-one"]
    assert later["state"] == "scheduled"
    assert later["publish_at"].endswith("Z")
    assert later["next_run"] == later["publish_at"]
    assert by_slug["broken.md"]["state"] == "invalid"
    assert by_slug["broken.md"]["notes"][0].startswith(str(site.parent / "posts" / "broken.md"))
    assert SECRET not in result.output


def test_status_of_many_posts_is_plain_columns(site: Path, store: Store) -> None:
    for number in range(150):
        store.update_post(
            f"old-{number:03}",
            wp_id=1000 + number,
            permalink=f"https://blog.example.com/old-{number:03}/",
            wp_status="publish",
            live_at="2026-01-01T12:00:00Z",
        )
    store.set_step("old-007", "announce", "x", status="unknown")
    bsky = "https://bsky.app/profile/did:plc:abc/post/3kabcdefghij2"
    store.set_step(
        "old-008",
        "announce",
        "bluesky",
        status="done",
        detail={"id": "at://did:plc:abc/app.bsky.feed.post/3kabcdefghij2", "url": bsky},
    )
    result = invoke(site, "status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "Post",
        "State",
        "Publish",
        "time",
        "(America/New_York)",
        "WordPress",
        "Bluesky",  # something went out there (no channel is set up in this site)
        "Pending",
    ]
    assert "┃" not in result.stdout  # no frame
    row = next(line for line in lines if line.startswith("old-007 "))
    assert row.split()[1] == "unknown"
    assert "outcome unknown" in row
    assert bsky in next(line for line in lines if line.startswith("old-008 ")).split()
    assert "155 posts:" in lines[-1]


def test_status_pauses_the_collector_while_listing_and_turns_it_back_on(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from pipeline.cli import state as cli_state
    from pipeline.collector import collector_paused

    seen: list[bool] = []
    listing = cli_state.load_posts

    def load_and_look(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return listing(*args, **kwargs)

    monkeypatch.setattr(cli_state, "load_posts", load_and_look)  # a probe, not a stand-in
    assert invoke(site, "status").exit_code == 0
    assert seen == [False], "off while the rows are built"
    assert gc.isenabled(), "and on again after"

    gc.disable()  # a caller that had it off keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

    passes: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    try:
        with collector_paused():
            kept = [[] for _ in range(100_000)]  # containers the block made and keeps
            gc.callbacks.append(seen)
        more = [[] for _ in range(100)]
    finally:
        gc.callbacks.remove(seen)
    assert passes == [], "what the pause made is not passed over as young right after it"
    assert len(kept) + len(more) == 100_100


def test_status_with_no_posts(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    config = tmp_path / "pipeline.toml"
    config.write_text('[wordpress]\nurl = "https://blog.example.com"\n')
    result = invoke(config, "status")
    assert result.exit_code == 0, result.output
    assert "No posts yet" in result.stdout
    assert json.loads(invoke(config, "status", "--json").stdout) == []


def test_rebuild_without_wordpress_credentials_is_bad_input(site: Path) -> None:
    (site.parent / "credentials.toml").unlink()
    result = invoke(site, "status", "--rebuild")
    assert result.exit_code == 2
    assert "no WordPress credentials" in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# log


def at_(moment: datetime) -> datetime:
    return moment


def fill_log(site: Path) -> None:
    """Entries at known times: 3 days ago, 30 h ago, 1 h ago (times in UTC)."""
    now = datetime.now(UTC)
    for hours_ago, slug, step, outcome, details in (
        (72, "ready-one", "publish", "done", "created https://blog.example.com/ready-one/"),
        (30, "live-one", "announce", "deferred", "rate limited"),
        (30, "live-one", "backfill:ready-one", "failed", f"HTTP 500 with {SECRET}"),
        (1, "live-one", "announce", "done", "posted https://x.com/me/status/5"),
    ):
        at = now - timedelta(hours=hours_ago)
        clocked = Store.open(site.parent / "state" / "pipeline.sqlite3", functools.partial(at_, at))
        clocked.log(slug, step, outcome, details, 120)
        clocked.close()


def test_log_newest_first_in_local_time(site: Path) -> None:
    fill_log(site)
    result = invoke(site, "log")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert "posted https://x.com/me/status/5 (120 ms)" in lines[0]
    assert "created https://blog.example.com/ready-one/" in lines[-1]
    assert lines[0].split()[2] in ("EST", "EDT")
    assert SECRET not in result.output
    assert "HTTP 500 with ********" in result.stdout


def test_log_filters(site: Path) -> None:
    fill_log(site)

    def details(*args: str) -> list[str]:
        result = invoke(site, "log", "--json", *args)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["details"] for line in result.stdout.splitlines()]

    assert details("--post", "ready-one") == ["created https://blog.example.com/ready-one/"]
    assert details("--post", "ready.md") == ["created https://blog.example.com/ready-one/"]
    in_posts = str(site.parent / "posts" / "ready.md")
    assert details("--post", in_posts) == ["created https://blog.example.com/ready-one/"]
    assert details("--status", "failed") == ["HTTP 500 with ********"]
    assert details("--status", "FAILED", "--post", "ready-one") == []
    assert details("--since", "2d") == [
        "posted https://x.com/me/status/5",
        "HTTP 500 with ********",
        "rate limited",
    ]
    assert details("--since", "2h") == ["posted https://x.com/me/status/5"]
    since = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert details("--since", since) == ["posted https://x.com/me/status/5"]
    assert len(details("--since", "2000-01-01")) == 4
    assert len(details("--limit", "2")) == 2
    assert len(details("--limit", "0")) == 4


def test_log_json_is_one_object_per_line(site: Path) -> None:
    fill_log(site)
    result = invoke(site, "log", "--json")
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == 4
    for entry in objects:
        assert set(entry) == {"id", "at", "post", "step", "outcome", "details", "duration_ms"}
        assert entry["at"].endswith("Z")
    assert [entry["id"] for entry in objects] == sorted((e["id"] for e in objects), reverse=True)
    assert SECRET not in result.output


def test_log_bad_input(site: Path) -> None:
    result = invoke(site, "log", "--since", "last tuesday")
    assert result.exit_code == 2
    assert "neither a duration" in result.output
    assert "Traceback" not in result.output
    nothing = invoke(site, "log", "--status", "faild")
    assert nothing.exit_code == 0
    assert "No job log entries match" in nothing.stderr
    assert "outcomes are: done, failed" in nothing.stderr
    missing = invoke(site, "log", "--post", "posts/nope.md")
    assert missing.exit_code == 2
    assert "no post 'posts/nope.md'" in missing.output


def test_log_follow_tails_new_entries(site: Path) -> None:
    fill_log(site)
    script = shutil.which("pipeline", path=str(Path(sys.executable).parent)) or "pipeline"
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    # Ctrl-C as from a terminal: where these tests run as a background job of a shell without
    # job control, SIGINT is ignored, and the command inherits that (and rightly keeps it).
    as_at_a_terminal = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    command = [script, "--config", str(site), "log", "--follow", "--json", "--limit", "2"]
    process = subprocess.Popen(
        [sys.executable, "-c", as_at_a_terminal, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()

    def read_line(timeout: float) -> str:
        try:
            return lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line from pipeline log --follow in time") from None

    try:
        backlog = [json.loads(read_line(15)) for _ in range(2)]
        assert [e["details"] for e in backlog] == [  # the latest two, oldest first
            "HTTP 500 with ********",
            "posted https://x.com/me/status/5",
        ]
        writer = Store.open(site.parent / "state" / "pipeline.sqlite3")
        writer.log("later-one", "publish", "done", "created https://blog.example.com/later-one/")
        writer.log("later-one", "announce", "skipped", f"no X credentials ({SECRET})")
        writer.close()
        fresh = [json.loads(read_line(10)) for _ in range(2)]
        assert [(e["step"], e["outcome"]) for e in fresh] == [
            ("publish", "done"),
            ("announce", "skipped"),
        ]
        assert fresh[1]["details"] == "no X credentials (********)"
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# ---------------------------------------------------------------------------------------------
# retry


def test_retry_a_failed_step(site: Path, store: Store) -> None:
    for _ in range(5):
        store.set_step(
            "ready-one", "publish", status="failed", error="HTTP 503", count_attempt=True
        )
    result = invoke(site, "retry", "ready-one")
    assert result.exit_code == 0, result.output
    assert "publish: failed -> pending, attempts reset, due now" in result.stdout
    assert "pipeline run --once" in result.stdout
    step = store.step("ready-one", "publish")
    assert step is not None
    assert (step.status, step.attempts, step.error) == ("pending", 0, None)
    [entry] = store.entries(outcome="requeued")
    assert (entry.post, entry.step) == ("ready-one", "publish")
    again = invoke(site, "retry", "ready.md")  # by path; now there is nothing to do
    assert again.exit_code == 0, again.output
    assert "nothing to retry" in again.stdout


def test_retry_a_held_post(site: Path, store: Store) -> None:
    store.set_step(
        "later-one", "publish", status="held", due_at="2026-01-01T14:00:00Z", error="missed"
    )
    result = invoke(site, "retry", "later-one")
    assert result.exit_code == 0, result.output
    assert "held -> pending" in result.stdout
    step = store.step("later-one", "publish")
    assert step is not None
    assert step.status == "pending"
    assert step.next_attempt_at is not None
    status = json.loads(invoke(site, "status", "--json").stdout)
    row = next(r for r in status if r["slug"] == "later-one")
    assert row["pending"][0]["text"] == "publish queued for the next run"


def test_retry_an_unknown_announcement(site: Path, store: Store) -> None:
    make_live(store, "live-one")
    store.set_step("live-one", "announce", "x", status="unknown", error="interrupted")
    undecided = invoke(site, "retry", "live-one")
    assert undecided.exit_code == 2
    assert "--mark-sent" in undecided.stderr
    assert "needs your choice" in undecided.stderr
    both = invoke(site, "retry", "live-one", "--resend", "--mark-sent")
    assert both.exit_code == 2
    assert "choose one of --resend and --mark-sent" in both.output
    assert (
        invoke(site, "retry", "live-one", "--tweet-url", "https://x.com/a/status/1").exit_code == 2
    )
    bad_url = invoke(site, "retry", "live-one", "--mark-sent", "--tweet-url", "https://x.com/a")
    assert bad_url.exit_code == 2
    step = store.step("live-one", "announce", "x")
    assert step is not None
    assert step.status == "unknown"  # none of the above changed anything

    resend = invoke(site, "retry", "live-one", "--resend")
    assert resend.exit_code == 0, resend.output
    step = store.step("live-one", "announce", "x")
    assert step is not None
    assert (step.status, step.detail.get("text")) == ("pending", None)

    store.set_step("live-one", "announce", "x", status="unknown")
    url = "https://x.com/me/status/1870000000000000077"
    sent = invoke(site, "retry", "live-one", "--mark-sent", "--tweet-url", url)
    assert sent.exit_code == 0, sent.output
    assert "marked as sent by hand" in sent.stdout
    step = store.step("live-one", "announce", "x")
    record = store.post("live-one")
    assert step is not None
    assert record is not None
    assert step.status == "done"
    assert (record.tweet_url, record.tweet_id) == (url, "1870000000000000077")
    assert [e.outcome for e in store.entries(post="live-one")] == ["done", "requeued"]


def test_retry_of_an_unknown_post(site: Path) -> None:
    result = invoke(site, "retry", "no-such-post")
    assert result.exit_code == 2
    assert "no post 'no-such-post'" in result.output


# ---------------------------------------------------------------------------------------------
# against the real local WordPress


def run(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = shutil.which("pipeline", path=str(Path(sys.executable).parent)) or "pipeline"
    return subprocess.run(
        [script, "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class WpSite:
    config: Path
    env: dict[str, str]
    token: str  # in every slug and title, so other users of the shared site do not interfere

    @property
    def slugs(self) -> tuple[str, str, str]:
        return (f"rebuild-{self.token}-1", f"rebuild-{self.token}-2", f"rebuild-{self.token}-3")

    @property
    def db(self) -> Path:
        return self.config.parent / "state" / "pipeline.sqlite3"


def ours(wordpress: LocalWordPress, token: str) -> list[dict[str, Any]]:
    """Every post (any status) whose title has the token: a second copy would show here."""
    answer = httpx.get(
        f"{wordpress.url}/wp-json/wp/v2/posts",
        params={"search": token, "status": "any", "per_page": 100, "context": "edit"},
        auth=wordpress.auth,
        timeout=10,
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


@pytest.fixture
def wp_site(wordpress: LocalWordPress, tmp_path: Path) -> WpSite:
    """A three-part series wired to the local WordPress; credentials only in the environment."""
    token = uuid.uuid4().hex[:10]
    root = tmp_path / "wp"
    (root / "posts").mkdir(parents=True)
    for part in (1, 2, 3):
        following = f"[the next part](post:rebuild-{token}-{part + 1})" if part < 3 else "The end."
        (root / "posts" / f"part-{part}.md").write_text(
            f"---\ntitle: Rebuild {token} part {part}\nslug: rebuild-{token}-{part}\n"
            f"series: Rebuild {token}\npart: {part}\n---\nPart {part}. {following}\n\n"
            "<!-- series -->\n",
            encoding="utf-8",
        )
    config = root / "pipeline.toml"
    config.write_text(
        'timezone = "America/New_York"\nstate_dir = "state"\n\n'
        f'[wordpress]\nurl = "{wordpress.url}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV} | {
        "PIPELINE_WORDPRESS_USER": wordpress.user,
        "PIPELINE_WORDPRESS_APP_PASSWORD": wordpress.app_password,
        "COLUMNS": "200",
    }
    return WpSite(config, env, token)


@pytest.mark.wordpress
def test_rebuild_from_wordpress_after_the_state_is_lost(
    wordpress: LocalWordPress, wp_site: WpSite
) -> None:
    config, env = wp_site.config, wp_site.env
    one, two, three = wp_site.slugs
    published = run(config, "publish", one, two, env=env)
    assert published.returncode == 0, published.stdout + published.stderr
    before = Store.open(wp_site.db)
    original = {slug: before.post(slug) for slug in (one, two)}
    before.close()
    assert all(record is not None and record.live for record in original.values())
    assert len(ours(wordpress, wp_site.token)) == 2

    shutil.rmtree(wp_site.db.parent)  # the state file is lost
    rebuilt = run(config, "status", "--rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    out = rebuilt.stdout
    assert f"{three}: not on WordPress" in out
    assert "Rebuilt 2 of 3 posts from WordPress" in out
    assert "Tweets cannot be rebuilt" in out
    assert "pipeline retry SLUG --mark-sent" in out

    after = Store.open(wp_site.db)
    try:
        for slug, old in original.items():
            assert old is not None
            new = after.post(slug)
            assert new is not None
            assert (new.wp_id, new.permalink, new.wp_status, new.source_path) == (
                old.wp_id,
                old.permalink,
                "publish",
                old.source_path,
            )
            assert new.title == old.title
            assert new.live_at is not None
            assert new.sent_hash is None
            assert new.remote_hash == old.remote_hash  # what WordPress has is what we wrote
            announce = after.step(slug, "announce", "x")
            assert announce is not None
            assert announce.status == "unknown"
        assert after.post(three) is None
        assert {e.post for e in after.entries(outcome="rebuilt")} == {one, two}
    finally:
        after.close()
    status = json.loads(run(config, "status", "--json", env=env).stdout)
    states = {row["slug"]: row["state"] for row in status}
    assert states == {one: "unknown", two: "unknown", three: "ready"}

    again = run(config, "publish", one, two, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    found = ours(wordpress, wp_site.token)
    ids = {old.wp_id for old in original.values() if old is not None}
    assert {post["id"] for post in found} == ids  # the same two posts: no second copy
    assert len(found) == 2
    settled = run(config, "retry", one, "--mark-sent", env=env)
    assert settled.returncode == 0, settled.stdout + settled.stderr
    final = json.loads(run(config, "status", "--json", env=env).stdout)
    assert {row["slug"]: row["state"] for row in final}[one] == "live"
    for result in (published, rebuilt, again, settled):
        assert wordpress.app_password not in result.stdout + result.stderr


@pytest.mark.wordpress
def test_the_app_password_never_reaches_the_job_log_or_status(
    wordpress: LocalWordPress, wp_site: WpSite
) -> None:
    config, env = wp_site.config, wp_site.env
    one, two, _ = wp_site.slugs
    refused = run(config, "publish", one, env=env | {"PIPELINE_WORDPRESS_USER": "nobody"})
    assert refused.returncode != 0
    assert wordpress.app_password not in refused.stdout + refused.stderr
    published = run(config, "publish", one, two, env=env)
    assert published.returncode == 0, published.stdout + published.stderr
    raw = b"".join(path.read_bytes() for path in wp_site.db.parent.glob("pipeline.sqlite3*"))
    assert wordpress.app_password.encode() not in raw
    store = Store.open(wp_site.db)
    try:
        entries = store.entries()
        assert {e.outcome for e in entries} >= {"done"}
        for entry in entries:
            assert wordpress.app_password not in entry.details
        for step in store.steps():
            assert wordpress.app_password not in (step.error or "") + json.dumps(step.detail)
    finally:
        store.close()
    for args in (("status",), ("status", "--json"), ("log",), ("log", "--json")):
        result = run(config, *args, env=env)
        assert result.returncode == 0, result.stderr
        assert one in result.stdout
        assert wordpress.app_password not in result.stdout + result.stderr
