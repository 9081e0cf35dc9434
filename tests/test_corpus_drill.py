"""The bad-input drill: every case of the corpus through ``pipeline publish`` and through
``pipeline run --once``, the real console script against the real local WordPress.

For each case a fresh site folder gets the bad input (a posts folder of ``tests/corpus/``, or a
``pipeline.toml`` / ``credentials.toml`` of ``tests/corpus/settings/``) next to good posts that
are due now. Each case must give its exit code, exactly one line per bad input naming file, line
and fix, no traceback -- and the good posts beside it must be live on WordPress afterwards
(unless the case says why they cannot be: a configuration or credentials that cannot work).

Run it (about five minutes)::

    scripts/wordpress.sh start
    .venv/bin/python -m pytest tests/test_corpus_drill.py -q

All ``publish`` cases run first against an emptied WordPress, then all ``run --once`` cases
against an emptied WordPress again, so that each good post is created by the command under test.
The cases of one phase are independent (each its own site folder, fake X and good posts' slugs),
so they run ``WORKERS`` at a time when the phase's first test asks for its outcome; each test then
makes its checks on its own case's run. Cases whose folders share a file (the same image) run one
after another in the order of the tests, as they would alone: the second finds the first's upload.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.store import Store
from tests.corpus_cases import (
    CORPUS,
    EXPECTED,
    GOOD,
    SETTINGS,
    SETTINGS_CASES,
    SettingsCase,
    cases,
)
from tests.fakex import DEFAULT_KEYS, FakeX
from tests.sites import remote
from tests.wp_local import LocalWordPress

pytestmark = [pytest.mark.wordpress, pytest.mark.slow]

PIPELINE = str(Path(sys.executable).parent / "pipeline")
BASE_CONFIG = SETTINGS / "base.toml"
# Credentials in the corpus are templates (``*.toml.in``, placeholders only): a file named
# credentials.toml is never in the repository; the drill writes each site's from its template.
TEMPLATE = ".in"
BASE_CREDENTIALS = SETTINGS / f"base-credentials.toml{TEMPLATE}"
# One message: "KIND: FILE:LINE: what (fix: what to do)", or, for refused credentials (an
# AuthError, not a file's error), the file and line named inside the fix.
MESSAGE = re.compile(r"^(?P<kind>error|skipped|warning): (?P<text>.+)$")
HUGE_BYTES = 3 * 1024 * 1024  # over the 2 MiB limit for a post


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def messages(self) -> list[tuple[str, str]]:
        """(kind, text) of every error, skipped and warning line."""
        found = [MESSAGE.match(line) for line in self.output.splitlines()]
        return [(m["kind"], m["text"]) for m in found if m]


class NotWordPress(BaseHTTPRequestHandler):
    """A web server that is not WordPress: every page is a 404 in HTML."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass(frozen=True)
class Others:
    """The servers beside WordPress: a site that is not WordPress, and the fake X (posts are
    announced there, so that X's limit counts for their templates)."""

    not_wordpress: str
    x_url: str


@contextmanager
def others_running() -> Iterator[Others]:
    """Fresh for each case: the fake X must not remember another case's announcements."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotWordPress)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with FakeX() as fake:
            yield Others(f"http://127.0.0.1:{server.server_address[1]}", fake.url)
    finally:
        server.shutdown()
        server.server_close()


# Ten minutes ago: due now, well within the catch-up window. One time for the whole drill, so
# that a post given it twice (front matter and [[schedule]]) is not scheduled twice.
DUE = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def fill(text: str, wordpress: LocalWordPress, others: Others) -> str:
    return (
        text.replace("@X_URL@", others.x_url)
        .replace("@URL@", wordpress.url)
        .replace("@NOT_WORDPRESS@", others.not_wordpress)
        .replace("@USER@", wordpress.user)
        .replace("@PASSWORD@", wordpress.app_password)
        .replace("@DUE@", DUE)
    )


def write_site(
    root: Path, config: str, credentials: bytes, posts: Path | None = None, mode: int = 0o600
) -> Path:
    root.mkdir(parents=True)
    (root / "pipeline.toml").write_text(config, encoding="utf-8", newline="")
    (root / "credentials.toml").write_bytes(credentials)
    (root / "credentials.toml").chmod(mode)
    if posts is not None:
        shutil.copytree(posts, root / "posts")
    else:
        (root / "posts").mkdir()
    return root


def run(site: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_")}
    done = subprocess.run(
        [PIPELINE, *args],
        cwd=site,
        env=environ | (env or {}),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_clean(ran: Ran) -> None:
    assert "Traceback" not in ran.output, ran.output
    assert all(len(line) <= 1100 for line in ran.output.splitlines()), "a message is unbounded"


# --- the cases of a phase, several at a time ---------------------------------------------------

# A run mostly waits: on its own start-up (one core) and on WordPress (php -S with 4 workers).
# Four at once keep both cores busy without queueing at WordPress.
WORKERS = 4

# What a phase does with one case: (a fresh folder for its site, the case, WordPress, the other
# servers) -> (the site, what the command did).
Act = Callable[[Path, Any, LocalWordPress, Others], tuple[Path, Ran]]
Outcome = tuple[Path, Ran] | Exception


def shared_files(case: object) -> set[str]:
    """Hashes of the files of a case's corpus folder: cases that share one (the same image)
    share what WordPress keeps of it, so they must not run at once."""
    name = case if isinstance(case, str) else getattr(case, "name", "")
    folder = CORPUS / name if isinstance(case, str) else SETTINGS / name
    if not folder.is_dir():
        return set()
    return {hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.rglob("*") if f.is_file()}


def chains(items: list[pytest.Function]) -> list[list[pytest.Function]]:
    """The items in groups that share no file with each other, each group in the items' order."""
    groups: list[tuple[set[str], list[pytest.Function]]] = []
    for item in items:
        files = shared_files(item.callspec.params["case"])
        joined = [group for group in groups if group[0] & files]
        for group in joined:
            groups.remove(group)
            files |= group[0]
        members = sorted([*(m for g in joined for m in g[1]), item], key=items.index)
        groups.append((files, members))
    return sorted((members for _, members in groups), key=lambda m: items.index(m[0]))


class Phases:
    """Each phase (a test function) runs all its selected cases when its first test asks,
    against a WordPress emptied once before them; each test then checks its own case's run."""

    def __init__(self, wordpress: LocalWordPress, tmp: pytest.TempPathFactory) -> None:
        self.wordpress = wordpress
        self.tmp = tmp
        self.outcomes: dict[str, dict[str, Outcome]] = {}

    def outcome(self, request: pytest.FixtureRequest, act: Act) -> tuple[Path, Ran]:
        phase = request.function.__name__
        if phase not in self.outcomes:
            items = [
                item
                for item in request.session.items
                if isinstance(item, pytest.Function) and item.function is request.function
            ]
            self.outcomes[phase] = self.run_phase(act, items)
        found = self.outcomes[phase][request.node.callspec.id]
        if isinstance(found, Exception):
            raise found
        return found

    def run_phase(self, act: Act, items: list[pytest.Function]) -> dict[str, Outcome]:
        self.wordpress.reset()
        # Named as pytest names a test's tmp_path, so that paths in messages are as long.
        roots = {item.callspec.id: self.tmp.mktemp(safe_name(item.name)) for item in items}

        def run_chain(members: list[pytest.Function]) -> dict[str, Outcome]:
            done: dict[str, Outcome] = {}
            for item in members:
                key = item.callspec.id
                try:
                    with others_running() as others:
                        case = item.callspec.params["case"]
                        done[key] = act(roots[key] / "site", case, self.wordpress, others)
                except Exception as exc:  # the case's test raises it
                    done[key] = exc
            return done

        outcomes: dict[str, Outcome] = {}
        with ThreadPoolExecutor(WORKERS) as pool:
            for done in pool.map(run_chain, chains(items)):
                outcomes |= done
        return outcomes


def safe_name(name: str) -> str:
    return re.sub(r"[\W]", "_", name)[:30]


@pytest.fixture(scope="module")
def phases(wordpress_site: LocalWordPress, tmp_path_factory: pytest.TempPathFactory) -> Phases:
    return Phases(wordpress_site, tmp_path_factory)


@pytest.fixture
def drilled(phases: Phases, request: pytest.FixtureRequest) -> Callable[[Act], tuple[Path, Ran]]:
    """This test's case as its phase ran it: (the site folder, what the command did)."""
    return lambda act: phases.outcome(request, act)


# --- the posts corpus: a folder of bad posts beside good ones ---------------------------------


POST_CASES = [*cases(), "huge_post"]


def post_site(root: Path, case: str, wordpress: LocalWordPress, others: Others) -> Path:
    """A site with the corpus folder as its posts, its good posts scheduled for now."""
    config = fill(BASE_CONFIG.read_text(encoding="utf-8"), wordpress, others)
    for slug in sorted(GOOD.get(case, {"good-neighbour-of-huge-post"})):
        config += f'\n[[schedule]]\npost = "{slug}"\nat = "{DUE}"\n'
    credentials = fill(BASE_CREDENTIALS.read_text(encoding="utf-8"), wordpress, others)
    keys = {key: value for key, value in DEFAULT_KEYS.items() if key != "bearer_token"}
    credentials += "\n[x]\n" + "".join(f'{key} = "{value}"\n' for key, value in keys.items())
    folder = CORPUS / case if case != "huge_post" else None
    site = write_site(root, config, credentials.encode(), folder)
    if case == "huge_post":
        (site / "posts" / "good.md").write_text(
            "---\ntitle: Good neighbour of huge post\n---\nFine.\n", encoding="utf-8"
        )
        with (site / "posts" / "huge.md").open("wb") as handle:
            handle.write(b"---\ntitle: Huge\n---\n")
            handle.truncate(HUGE_BYTES)
    return site


def expected_lines(case: str, site: Path) -> dict[Path, int]:
    """The bad file -> line of each message the case must give."""
    if case == "huge_post":
        return {site / "posts" / "huge.md": 1}
    return {site / "posts" / e.file: e.line for e in EXPECTED if e.case == case}


def check_post_messages(ran: Ran, expected: dict[Path, int], kind: str) -> None:
    messages = [text for k, text in ran.messages() if k == kind]
    assert len(messages) == len(expected), ran.output
    for path, line in expected.items():
        (text,) = [m for m in messages if m.startswith(f"{path}:")]
        assert text.startswith(f"{path}:{line}: "), text
        assert re.search(r" \(fix: [^)]+.*\)$", text), text


def check_live(wordpress: LocalWordPress, slugs: set[str]) -> None:
    for slug in sorted(slugs):
        post = remote(wordpress, slug)
        assert post is not None, f"{slug} did not go out"
        assert post["status"] == "publish", f"{slug} is {post['status']}"


def publish_posts(
    root: Path, case: str, wordpress: LocalWordPress, others: Others
) -> tuple[Path, Ran]:
    site = post_site(root, case, wordpress, others)
    expected = expected_lines(case, site)
    good = GOOD.get(case, {"good-neighbour-of-huge-post"})
    return site, run(site, "publish", *sorted(good), *sorted(str(p) for p in expected))


@pytest.mark.parametrize("case", POST_CASES)
def test_publish_skips_bad_posts_and_publishes_the_rest(
    case: str, drilled: Callable[[Act], tuple[Path, Ran]], wordpress_site: LocalWordPress
) -> None:
    site, ran = drilled(publish_posts)
    expected = expected_lines(case, site)
    good = GOOD.get(case, {"good-neighbour-of-huge-post"})
    assert_clean(ran)
    if case == "unknown_key":  # a warning, not an error: everything goes out
        assert ran.code == 0, ran.output
        assert [kind for kind, _ in ran.messages()] == ["warning"], ran.output
    else:
        assert ran.code == 2, ran.output
        check_post_messages(ran, expected, "skipped")
    check_live(wordpress_site, set(good))


def run_posts_once(
    root: Path, case: str, wordpress: LocalWordPress, others: Others
) -> tuple[Path, Ran]:
    site = post_site(root, case, wordpress, others)
    return site, run(site, "run", "--once")


@pytest.mark.parametrize("case", POST_CASES)
def test_run_once_skips_bad_posts_and_publishes_the_rest(
    case: str, drilled: Callable[[Act], tuple[Path, Ran]], wordpress_site: LocalWordPress
) -> None:
    site, ran = drilled(run_posts_once)
    assert_clean(ran)
    good = GOOD.get(case, {"good-neighbour-of-huge-post"})
    if case == "unknown_key":
        assert ran.code == 0, ran.output
        assert [kind for kind, _ in ran.messages()] == ["warning"], ran.output
    else:
        assert ran.code == 2, ran.output
        check_post_messages(ran, expected_lines(case, site), "skipped")
    check_live(wordpress_site, set(good))


# --- pipeline.toml and credentials.toml --------------------------------------------------------


def settings_site(
    root: Path, case: SettingsCase, wordpress: LocalWordPress, others: Others
) -> Path:
    folder = SETTINGS / case.name
    config_file = folder / "pipeline.toml"
    config = (config_file if config_file.exists() else BASE_CONFIG).read_bytes()
    credentials_file = folder / f"credentials.toml{TEMPLATE}"
    credentials = (credentials_file if credentials_file.exists() else BASE_CREDENTIALS).read_bytes()

    def filled(raw: bytes) -> bytes:
        try:
            return fill(raw.decode("utf-8"), wordpress, others).encode("utf-8")
        except UnicodeDecodeError:  # the not-UTF-8 cases: placeholders are ASCII
            text = raw.decode("latin-1")
            return fill(text, wordpress, others).encode("latin-1")

    site = root
    site.mkdir(parents=True)
    (site / "pipeline.toml").write_bytes(filled(config))
    (site / "credentials.toml").write_bytes(filled(credentials))
    (site / "credentials.toml").chmod(case.credentials_mode)
    (site / "posts").mkdir()
    # A case made of the base files and its own environment or file mode needs no folder (git
    # keeps no empty one).
    for item in folder.iterdir() if folder.is_dir() else ():
        if item.name in ("pipeline.toml", credentials_file.name):
            continue
        target = site / item.name.removesuffix(TEMPLATE)
        if item.is_dir():
            shutil.copytree(item, target)
            for template in list(target.rglob(f"*{TEMPLATE}")):
                template.rename(template.with_name(template.name.removesuffix(TEMPLATE)))
        else:
            shutil.copy(item, target)
    (site / "posts" / "due.md").write_text(
        f"---\ntitle: Good beside {case.name.replace('_', ' ')}\npublish_at: {DUE}\n---\n"
        "This post is fine and must go out whenever the configuration lets it.\n",
        encoding="utf-8",
    )
    return site


def check_settings_messages(ran: Ran, case: SettingsCase, site: Path) -> None:
    messages = [(k, t) for k, t in ran.messages() if k == case.kind]
    assert len(messages) == 1, ran.output
    _, text = messages[0]
    path = site / case.file if case.file.startswith(("pipeline", "credentials")) else None
    if case.line is None:  # said why in the case: the message names no line
        where = f"{path}: " if path is not None else ""
        assert where in text, text
    elif text.startswith(f"{path}:"):
        assert text.startswith(f"{path}:{case.line}: "), text
    else:  # refused credentials: where the password is written, inside the fix
        assert f"{path} (line {case.line})" in text, text
    assert case.what in text, text
    assert "(fix: " in text, text
    assert case.fix in text, text


def good_slug(case: SettingsCase) -> str:
    return "good-beside-" + case.name.replace("_", "-")


def no_retries(site: Path) -> None:
    """A configuration error schedules no retries: nothing failed that time would fix."""
    state = site / "state" / "pipeline.sqlite3"
    if not state.exists():
        return
    store = Store.open(state)
    try:
        assert not [s for s in store.steps() if s.next_attempt_at], store.steps()
    finally:
        store.close()


def publish_settings(
    root: Path, case: SettingsCase, wordpress: LocalWordPress, others: Others
) -> tuple[Path, Ran]:
    site = settings_site(root, case, wordpress, others)
    return site, run(site, "publish", good_slug(case), env=case.environment(wordpress))


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=[c.name for c in SETTINGS_CASES])
def test_publish_with_bad_settings(
    case: SettingsCase,
    drilled: Callable[[Act], tuple[Path, Ran]],
    wordpress_site: LocalWordPress,
) -> None:
    site, ran = drilled(publish_settings)
    assert_clean(ran)
    assert ran.code == case.publish_exit, ran.output
    if case.publish_exit != 0 or case.kind == "warning":
        check_settings_messages(ran, case, site)
    check_live(wordpress_site, {good_slug(case)} if case.goes_out else set())
    if not case.goes_out:
        assert remote(wordpress_site, good_slug(case)) is None
    no_retries(site)


def run_settings_once(
    root: Path, case: SettingsCase, wordpress: LocalWordPress, others: Others
) -> tuple[Path, Ran]:
    site = settings_site(root, case, wordpress, others)
    return site, run(site, "run", "--once", env=case.environment(wordpress))


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=[c.name for c in SETTINGS_CASES])
def test_run_once_with_bad_settings(
    case: SettingsCase,
    drilled: Callable[[Act], tuple[Path, Ran]],
    wordpress_site: LocalWordPress,
) -> None:
    site, ran = drilled(run_settings_once)
    assert_clean(ran)
    assert ran.code == case.once_exit, ran.output
    check_settings_messages(ran, case, site)
    check_live(wordpress_site, {good_slug(case)} if case.goes_out else set())
    if not case.goes_out:
        assert remote(wordpress_site, good_slug(case)) is None
    no_retries(site)
