"""The leak drill: distinctive secrets in every credential, every command and failure path --
including servers that echo the request's headers in their error pages -- then a search of all
output, the job log, the state database's bytes, the previews and the scheduler's log for each
secret in every encoding it could travel in, and for any 12 characters of one: zero hits.

The encodings searched are built here, independently of ``pipeline.redact``: a drill that asked
the redactor what to look for would only find what the redactor already masks.

Run it (about two minutes)::

    scripts/wordpress.sh start
    .venv/bin/python -m pytest tests/test_leak_drill.py -q
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.fakebsky import FakeBluesky
from tests.fakemastodon import FakeMastodon
from tests.fakex import FakeX
from tests.sites import EXAMPLE_POSTS, add_channels
from tests.wp_local import LocalWordPress

pytestmark = [pytest.mark.wordpress, pytest.mark.slow]

PIPELINE = str(Path(sys.executable).parent / "pipeline")
WINDOW = 12  # any this many characters in a row of an encoded secret count as a leak


def distinctive(name: str) -> str:
    """A secret no other text could contain by chance."""
    return f"LeakDrill-{name}-{secrets.token_urlsafe(18)}"


# --- what to search for ------------------------------------------------------------------------


def encodings(secret: str, user: str | None = None) -> set[str]:
    """Every form ``secret`` could be written in, and with ``user`` the HTTP Basic value."""
    plain = {secret, "".join(secret.split())}
    forms: set[str] = set()
    for value in plain:
        forms |= {value, quote(value, safe=""), quote(value), quote_plus(value)}
        forms.add(quote(quote(value, safe=""), safe=""))
        forms |= {form.lower() for form in forms if "%" in form}
        raw = value.encode()
        for shift in range(3):  # inside a longer base64 text, at each alignment
            first, last = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6  # value's bits only
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                forms.add(encode(b"\0" * shift + raw).decode()[first:last])
    if user is not None:
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(f"{user}:{secret}".encode()).decode())
    escaped = set()
    for form in forms:
        escaped |= {json.dumps(form)[1:-1], json.dumps(form)[1:-1].replace("/", "\\/")}
        escaped.add(html.escape(form))
    return {form for form in forms | escaped if len(form) >= WINDOW}


def windows(forms: set[str]) -> set[str]:
    return {form[i : i + WINDOW] for form in forms for i in range(len(form) - WINDOW + 1)}


@dataclass
class Evidence:
    """Everything the pipeline wrote that a person or another program could see."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, text: str) -> None:
        self.texts[f"{len(self.texts):03d} {name}"] = text

    def add_files(self, name: str, folder: Path) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            self.add(f"{name}/{path.relative_to(folder)}", path.read_bytes().decode("latin-1"))

    def hits(self, needles: dict[str, set[str]]) -> list[str]:
        found = []
        for secret, pieces in needles.items():
            for name, text in self.texts.items():
                for piece in pieces:
                    if piece in text:
                        found.append(f"{name}: {piece!r} (of {secret})")
                        break
        return found


# --- servers that echo what they were sent -------------------------------------------------


def dump(handler: BaseHTTPRequestHandler) -> str:
    """The request's headers as a debugging page shows them, in several encodings at once."""
    lines = "\n".join(f"{key}: {value}" for key, value in handler.headers.items())
    return f"{lines}\n{quote(lines)}\n{html.escape(lines)}"


class Echo(BaseHTTPRequestHandler):
    """WordPress's REST index (so discovery succeeds), then an error page that prints the
    request's headers: the path's first part picks how (``/html500/...``, ``/json500``...)."""

    def handle_any(self) -> None:
        mode = self.path.strip("/").split("/")[0].split("?")[0]
        if "/wp-json/" in self.path and "wp/v2" not in self.path:
            self.answer(200, "application/json", json.dumps({"namespaces": ["wp/v2"]}))
        elif mode == "html500":
            page = "<html><pre>" + "x" * 150 + dump(self) + "</pre></html>"
            self.answer(500, "text/html", page)
        elif mode == "json500":
            error = {"code": "debug", "message": dump(self), "data": {"status": 500}}
            self.answer(500, "application/json", json.dumps(error).replace("/", "\\/"))
        elif mode == "json401":
            error = {"code": "rest_not_logged_in", "message": dump(self), "data": {"status": 401}}
            self.answer(401, "application/json", json.dumps(error))
        elif mode == "text200":
            self.answer(200, "text/plain", "Notice: headers " + dump(self))
        elif mode == "gateway":  # retried, then reported
            self.answer(502, "text/html", "<h1>Bad gateway</h1>" + dump(self), retry_after="0")
        else:  # X: its error shape, the headers in the detail
            problem = {"title": "Forbidden", "detail": dump(self), "type": "about:blank"}
            self.answer(403, "application/json", json.dumps({**problem, "status": 403}))

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def answer(self, status: int, kind: str, body: str, retry_after: str | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- the drill -----------------------------------------------------------------------------------


@dataclass
class Site:
    root: Path
    env: dict[str, str]

    @property
    def config(self) -> Path:
        return self.root / "pipeline.toml"


def make_site(
    root: Path,
    url: str,
    user: str,
    password: str,
    x_url: str,
    x_keys: dict[str, str],
    *,
    env: dict[str, str] | None = None,
) -> Site:
    due = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shutil.copytree(EXAMPLE_POSTS, root / "posts")
    (root / "pipeline.toml").write_text(
        'timezone = "America/New_York"\nposts_dir = "posts"\nstate_dir = "state"\n'
        f'\n[wordpress]\nurl = "{url}"\n\n[x]\napi_url = "{x_url}"\nthread_series = true\n'
        f'\n[[schedule]]\npost = "paper-lanterns-part-1"\nat = "{due}"\n',
        encoding="utf-8",
    )
    keys = "".join(f'{name} = "{value}"\n' for name, value in x_keys.items())
    credentials = root / "credentials.toml"
    credentials.write_text(
        f'[wordpress]\nuser = "{user}"\napp_password = "{password}"\n\n[x]\n{keys}',
        encoding="utf-8",
    )
    credentials.chmod(0o600)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    return Site(root, environ | (env or {}))


class Drill:
    def __init__(self) -> None:
        self.evidence = Evidence()
        self.exits: list[tuple[str, int]] = []

    def run(self, site: Site, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [PIPELINE, "--config", str(site.config), *args],
            cwd=site.root,
            env=site.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        name = f"{site.root.name}: pipeline {' '.join(args)}"
        self.evidence.add(name, done.stdout + done.stderr)
        self.exits.append((name, done.returncode))
        assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
        return done

    def scheduler(self, site: Site, seconds: float) -> None:
        """``pipeline run`` for a while (its log on stderr), then SIGTERM."""
        out, err = site.root / "run.out", site.root / "run.err"
        with out.open("w") as stdout, err.open("w") as stderr:
            process = subprocess.Popen(
                [PIPELINE, "--config", str(site.config), "run", "--check-every", "1"],
                cwd=site.root,
                env=site.env,
                stdout=stdout,
                stderr=stderr,
            )
            try:
                time.sleep(seconds)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        self.evidence.add(f"{site.root.name}: pipeline run (stdout)", out.read_text())
        self.evidence.add(f"{site.root.name}: pipeline run (stderr)", err.read_text())

    def collect(self, site: Site) -> None:
        self.evidence.add_files(f"{site.root.name}/state", site.root / "state")

    def take(self, other: Drill) -> None:
        """What another drill ran and gathered, after what this one has."""
        for name, text in other.evidence.texts.items():
            self.evidence.add(name.split(" ", 1)[1], text)
        self.exits.extend(other.exits)


def test_no_secret_leaks_in_any_encoding(
    wordpress: LocalWordPress, echo: str, tmp_path: Path
) -> None:
    x_keys = {
        "consumer_key": distinctive("ConsumerKey"),
        "consumer_secret": distinctive("ConsumerSecret"),
        "access_token": "1234567890-" + distinctive("AccessToken"),
        "access_token_secret": distinctive("AccessTokenSecret"),
    }
    bearer = distinctive("Bearer")
    wrong_password = "LeakDrill wrong " + secrets.token_hex(8)
    wrong_secret = distinctive("WrongConsumerSecret")
    bsky_password = "-".join(secrets.token_hex(2) for _ in range(4))  # xxxx-xxxx-xxxx-xxxx
    mastodon_token = distinctive("MastodonToken")
    wrong_token = distinctive("WrongMastodonToken")
    with (
        FakeX(**x_keys, bearer_token=bearer) as fake,
        FakeBluesky(app_password=bsky_password) as bsky,
        FakeMastodon(access_token=mastodon_token) as mastodon,
    ):
        drill = Drill()
        user, password = wordpress.user, wordpress.app_password

        # Everything working: real WordPress, the fake X, Bluesky and Mastodon, each with
        # distinctive secrets.
        good = make_site(tmp_path / "good", wordpress.url, user, password, fake.url, x_keys)
        channels = {"bluesky": bsky.url, "mastodon": mastodon.url}
        add_channels(
            good.config, **channels, app_password=bsky_password, access_token=mastodon_token
        )
        for args in (
            ["check"],
            ["check", "--online"],
            ["plan", "paper-lanterns-part-2"],
            ["publish", "paper-lanterns-part-2", "--dry-run"],
            ["publish", "paper-lanterns-part-2"],
            ["run", "--once"],
            ["status"],
            ["status", "--json"],
            ["log"],
            ["log", "--json"],
            ["render", "paper-lanterns-part-1"],
            ["preview"],
            ["retry", "paper-lanterns-part-2"],
        ):
            drill.run(good, *args)
        drill.scheduler(good, 4)
        drill.collect(good)

        # The WordPress password from the environment, and wrong.
        env = {"PIPELINE_WORDPRESS_APP_PASSWORD": wrong_password}
        refused = make_site(
            tmp_path / "refused", wordpress.url, user, password, fake.url, x_keys, env=env
        )
        for args in (
            ["check", "--online"],
            ["publish", "paper-lanterns-part-1"],
            ["run", "--once"],
        ):
            drill.run(refused, *args)
        drill.collect(refused)

        # X refusing a wrong consumer secret, and an OAuth 2.0 bearer token.
        bad_x = {**x_keys, "consumer_secret": wrong_secret}
        x_refused = make_site(tmp_path / "xrefused", wordpress.url, user, password, fake.url, bad_x)
        for args in (["check", "--online"], ["publish", "physical-media.md"], ["log"]):
            drill.run(x_refused, *args)
        drill.collect(x_refused)

        # Mastodon refusing a wrong token given in the environment.
        env = {"PIPELINE_MASTODON_ACCESS_TOKEN": wrong_token}
        m_refused = make_site(
            tmp_path / "mrefused", wordpress.url, user, password, fake.url, x_keys, env=env
        )
        add_channels(m_refused.config, **channels, app_password=bsky_password)
        for args in (["check", "--online"], ["publish", "physical-media.md"]):
            drill.run(m_refused, *args)
        drill.collect(m_refused)

        # Servers that print the request's headers in their error pages: as WordPress ...
        def echo_site(mode: str) -> tuple[Drill, Site]:
            part = Drill()
            site = make_site(
                tmp_path / f"echo-{mode}", f"{echo}/{mode}", user, password, fake.url, x_keys
            )
            for args in (
                ["check", "--online"],
                ["publish", "paper-lanterns-part-1"],
                ["run", "--once"],
                ["status", "--rebuild"],
                ["log", "--json"],
            ):
                part.run(site, *args)
            part.collect(site)
            return part, site

        # These sites never reach the real WordPress (nor one another's folders), so they run at
        # once; what they gave is taken in the order they are listed, as if one after another.
        modes = ("html500", "json500", "json401", "text200", "gateway")
        with ThreadPoolExecutor(len(modes)) as pool:
            echoed = list(pool.map(echo_site, modes))
        for part, _ in echoed:
            drill.take(part)
        drill.scheduler(echoed[-1][1], 4)  # the gateway's site, retried then reported
        # ... and as X, with OAuth 1.0a and with a bearer token.
        for name, keys in (("oauth1", x_keys), ("bearer", {"bearer_token": bearer})):
            site = make_site(
                tmp_path / f"xecho-{name}", wordpress.url, user, password, f"{echo}/x", keys
            )
            for args in (["check", "--online"], ["publish", "physical-media.md"], ["log"]):
                drill.run(site, *args)
            drill.collect(site)

    all_secrets = {
        "the WordPress application password": encodings(password, user),
        "the wrong WordPress password": encodings(wrong_password, user),
        "the wrong consumer secret": encodings(wrong_secret),
        "the bearer token": encodings(bearer),
        "the Bluesky app password": encodings(bsky_password),
        "the Mastodon access token": encodings(mastodon_token),
        "the wrong Mastodon token": encodings(wrong_token),
        **{f"the X {name}": encodings(value) for name, value in x_keys.items()},
    }
    needles = {secret: windows(forms) for secret, forms in all_secrets.items()}
    hits = drill.evidence.hits(needles)
    report = (
        f"{len(drill.exits)} commands, {len(drill.evidence.texts)} outputs and files, "
        f"{sum(len(t) for t in drill.evidence.texts.values()):,} characters searched for "
        f"{sum(len(v) for v in needles.values()):,} pieces of {len(needles)} secrets"
    )
    print(report)
    assert not hits, "\n".join(hits[:40])
    # The drill went where it meant to: the echoes reached the messages, masked, and the
    # failure paths failed and said so.
    everything = "\n".join(drill.evidence.texts.values())
    assert "Basic ********" in everything  # WordPress's Authorization header, echoed
    assert 'oauth_consumer_key="********"' in everything  # X's OAuth 1.0a header, echoed
    assert "Bearer ********" in everything
    assert any(code == 2 for name, code in drill.exits if name.startswith("refused"))


def test_the_search_finds_half_a_secret() -> None:
    """What the drill would have found before the fix: an error page cut to 200 characters,
    then masked, left the first half of ``Basic <base64 of user:password>`` in the message."""
    password = "abcd efgh ijkl mnop qrst uvwx"
    value = base64.b64encode(f"editor:{password}".encode()).decode()
    cut = ("x" * 150 + "Authorization: Basic " + value)[:200].replace(value, "********")
    evidence = Evidence()
    evidence.add("message", cut)
    assert evidence.hits({"password": windows(encodings(password, "editor"))})
    percent = Evidence()
    percent.add("message", f"key={quote_plus('ck-' + password)}")  # percent-encoded, unmasked
    assert percent.hits({"key": windows(encodings("ck-" + password))})
