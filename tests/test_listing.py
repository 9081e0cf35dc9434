"""A listing (`pipeline status`) goes by a post file's stamp (size, times, inode) when the memo
read the file long enough after its last change, and then neither reads nor hashes it again.
Every change the stamp can show is seen; a change it might not show (within the racy window) is
never trusted; and whatever needs the text (`check`, `render`, publishing) reads every file.

The memo's entries are put back as if the files had been read at another time (the only thing
a test cannot wait for without sleeping), and once as holding other content than the file has:
what a change invisible to the stamp would leave, so that trusting shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from pipeline import memofile
from pipeline.core.memo import MEMO
from pipeline.loading import LOADED, RACY_NS, READ_FILES, load_posts
from pipeline.wiring import services
from tests.images import png
from tests.nobody import as_nobody
from tests.test_cli import pipeline_script

NEW_YORK = ZoneInfo("America/New_York")
SECOND = 1_000_000_000
CONFIG = (
    'timezone = "America/New_York"\nposts_dir = "posts"\nstate_dir = "state"\n\n'
    '[wordpress]\nurl = "https://blog.example.com"\n'
)
VERSION_A = "---\ntitle: Version A\nslug: the-post\n---\nBody of A.\n"
VERSION_B = "---\ntitle: Version B\nslug: the-post\ncolour: blue\n---\nBody of B.\n"
OTHER = "---\ntitle: Another\n---\nText.\n"


@pytest.fixture(autouse=True)
def fresh_memo() -> Iterator[None]:
    MEMO.use(None)
    yield
    memofile._attached = None
    MEMO.use(None)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A site: the post (version A) and another, an empty state folder."""
    (tmp_path / "posts").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "pipeline.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "posts" / "post.md").write_text(VERSION_A, encoding="utf-8")
    (tmp_path / "posts" / "other.md").write_text(OTHER, encoding="utf-8")
    return tmp_path


def pipeline(
    root: Path, *args: str, user: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The console script, in the site's folder (optionally as another user)."""
    return subprocess.run(
        [*(user or []), pipeline_script(), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def listed(root: Path, user: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """`pipeline status --json`, by file."""
    done = pipeline(root, "status", "--json", user=user)
    assert done.returncode == 0, done.stdout + done.stderr
    return {row["source"]: row for row in json.loads(done.stdout)}


def title(root: Path) -> str:
    return str(listed(root)["post.md"]["title"])


def read_files(root: Path) -> dict[str, Any]:
    """The state folder's memo of post files as read: path -> [stamp, read_at, ...]."""
    saved = json.loads((root / "state" / "cache" / f"{READ_FILES}.json").read_text())
    entries: dict[str, Any] = saved["entries"]
    return entries


def as_read(root: Path, name: str) -> tuple[list[Any], Any]:
    """The memo's entry of posts/``name`` as read, and the front matter it points to (the memo
    keeps only that of each file as last read: held here to be put back)."""
    entry = read_files(root)[str(root / "posts" / name)]
    loaded = json.loads((root / "state" / "cache" / f"{LOADED}.json").read_text())
    return entry, loaded["entries"][entry[4]]


def remember_read(
    root: Path,
    name: str,
    *,
    after_ns: int,
    held: tuple[list[Any], Any] | None = None,
    inode_of: tuple[list[Any], Any] | None = None,
) -> None:
    """Put the memo's entry of posts/``name`` (its stamp as the pipeline took it) back as if the
    file had been read ``after_ns`` after its last change, holding what ``held`` (an earlier
    :func:`as_read`) says the file held then, and with the inode of ``inode_of``'s stamp."""
    file = root / "state" / "cache" / f"{READ_FILES}.json"
    saved = json.loads(file.read_text())
    entry = saved["entries"][str(root / "posts" / name)]
    stamp = entry[0]  # [size, mtime, ctime, inode, device]
    if held is not None:
        entry[2:] = held[0][2:]
        loaded_file = root / "state" / "cache" / f"{LOADED}.json"
        loaded = json.loads(loaded_file.read_text())
        loaded["entries"][held[0][4]] = held[1]
        loaded_file.write_text(json.dumps(loaded))
    if inode_of is not None:
        stamp[3] = inode_of[0][0][3]
    entry[1] = max(stamp[1], stamp[2]) + after_ns
    file.write_text(json.dumps(saved))


def test_a_listing_trusts_the_stamp_and_check_render_and_publish_read_the_text(
    root: Path,
) -> None:
    """The memo says the file held version A when it had the stamp it has now, read long after
    its last change: the listing believes it (it reads nothing), everything else reads B."""
    post = root / "posts" / "post.md"
    assert title(root) == "Version A"
    version_a = as_read(root, "post.md")
    post.write_text(VERSION_B, encoding="utf-8")
    assert title(root) == "Version B"

    def believed() -> str:
        remember_read(root, "post.md", after_ns=10 * SECOND, held=version_a)
        return title(root)

    assert believed() == "Version A", "an unchanged stamp read long after: not read again"
    rendered = pipeline(root, "render", "the-post")
    assert rendered.returncode == 0, rendered.stderr
    assert "Body of B." in rendered.stdout
    assert title(root) == "Version B", "what render read is remembered"

    assert believed() == "Version A"
    checked = pipeline(root, "check")
    assert checked.returncode == 0, checked.stderr
    assert f"{post}:4: unknown front-matter key 'colour' is ignored" in checked.stderr

    assert believed() == "Version A"
    with services(str(root / "pipeline.toml"), online=False) as found:  # publish and run
        (loaded,) = (p for p in found.workspace.posts if p.slug == "the-post")
    assert (loaded.title, loaded.body) == ("Version B", "Body of B.")


def test_an_edit_keeping_size_and_mtime_is_seen_by_its_change_time(root: Path) -> None:
    assert title(root) == "Version A"
    remember_read(root, "post.md", after_ns=10 * SECOND)  # read long after: trusted
    post = root / "posts" / "post.md"
    before = post.stat()
    post.write_text(VERSION_A.replace("A", "B"), encoding="utf-8")
    os.utime(post, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = post.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    assert title(root) == "Version B"


def test_a_stamp_read_within_the_racy_window_is_not_trusted(root: Path) -> None:
    """Read one second after its last change, a file may have changed again within the same
    tick of the file clock, leaving its stamp as it was: such a reading is never trusted."""
    post = root / "posts" / "post.md"
    assert title(root) == "Version A"
    version_a = as_read(root, "post.md")
    post.write_text(VERSION_B, encoding="utf-8")
    assert title(root) == "Version B"
    assert RACY_NS > SECOND
    remember_read(root, "post.md", after_ns=SECOND, held=version_a)  # its stamp, and A
    assert title(root) == "Version B"
    remember_read(root, "post.md", after_ns=10 * SECOND, held=version_a)
    assert title(root) == "Version A", "read long after: trusted (the test can tell)"


def test_a_file_replaced_by_another_is_seen(root: Path) -> None:
    """Another file renamed over the post: were its size and times the same, it is still
    another inode."""
    post = root / "posts" / "post.md"
    assert title(root) == "Version A"
    version_a = as_read(root, "post.md")
    replacement = root / "replacement.md"
    replacement.write_text(VERSION_B, encoding="utf-8")
    os.replace(replacement, post)
    assert post.stat().st_ino != version_a[0][0][3]
    assert title(root) == "Version B"
    remember_read(root, "post.md", after_ns=10 * SECOND, held=version_a, inode_of=version_a)
    assert title(root) == "Version B"


def test_a_removed_file_and_a_new_one_are_seen(root: Path) -> None:
    assert set(listed(root)) == {"post.md", "other.md"}
    remember_read(root, "post.md", after_ns=10 * SECOND)
    remember_read(root, "other.md", after_ns=10 * SECOND)
    (root / "posts" / "other.md").unlink()
    (root / "posts" / "new.md").write_text("---\ntitle: New\n---\nNew.\n", encoding="utf-8")
    rows = listed(root)
    assert set(rows) == {"post.md", "new.md"}
    assert rows["new.md"]["title"] == "New"


def test_a_file_made_unreadable_is_an_error_as_before(root: Path) -> None:
    """As nobody (root reads any file whatever its mode): the listing trusted the file, then its
    mode changed (its change time with it) and it cannot be read."""
    user = as_nobody()
    site = Path(tempfile.mkdtemp(prefix="unreadable-", dir="/tmp"))  # tmp_path: root's only
    try:
        shutil.copytree(root, site, dirs_exist_ok=True)
        site.chmod(0o755)
        for path in [site, *site.rglob("*")] if user else []:
            shutil.chown(path, "nobody", "nogroup")  # its state folder is written by nobody
        assert listed(site, user)["post.md"]["state"] == "ready"
        remember_read(site, "post.md", after_ns=10 * SECOND)
        post = site / "posts" / "post.md"
        post.chmod(0o000)
        row = listed(site, user)["post.md"]
        checked = pipeline(site, "check", user=user)
    finally:
        shutil.rmtree(site)
    message = f"{post}:1: cannot read: Permission denied (fix: check the file's permissions)"
    assert row["state"] == "invalid"
    assert row["notes"] == [message]
    assert checked.returncode == 2
    assert f"error: {message}\n" in checked.stderr
    assert "Traceback" not in checked.stderr


def test_a_listed_post_is_the_loaded_one_without_its_body(root: Path) -> None:
    """What a listing gives, trusted or read: the post as loading it whole gives it, without
    its body, images and links (load_posts says so); a listing that reads nothing new writes
    nothing."""
    posts_dir = root / "posts"
    (posts_dir / "pic.png").write_bytes(png())
    (posts_dir / "other.md").write_text(
        "---\ntitle: Another\nfeatured_image: pic.png\n---\n![A](pic.png) [A](post:the-post)\n",
        encoding="utf-8",
    )
    memofile.attach(root / "state")
    whole = {p.slug: p for p in load_posts(posts_dir, NEW_YORK).posts}
    first = {p.slug: p for p in load_posts(posts_dir, NEW_YORK, bodies=False).posts}
    memofile.save()
    remember_read(root, "post.md", after_ns=10 * SECOND)
    remember_read(root, "other.md", after_ns=10 * SECOND)
    MEMO.use(MEMO.loader)  # a new process
    trusted = {p.slug: p for p in load_posts(posts_dir, NEW_YORK, bodies=False).posts}
    assert not MEMO.changed & {READ_FILES, LOADED}, "nothing new: nothing to save"
    assert whole["another"].images
    assert whole["another"].links
    assert whole["another"].featured_image is not None
    for slug, post in whole.items():
        assert post.body
        expected = replace(post, body="", images=(), links=())
        assert first[slug] == expected
        assert trusted[slug] == expected


def test_a_listing_in_another_timezone_reads_the_file_in_it(root: Path) -> None:
    """A naive publish time is read in the configured timezone: what the front matter gave in
    one is never what a listing in another trusts."""
    post = root / "posts" / "post.md"
    post.write_text(VERSION_A.replace("slug:", "publish_at: 2036-12-01 09:00\nslug:"), "utf-8")
    assert listed(root)["post.md"]["publish_at"] == "2036-12-01T14:00:00Z"
    remember_read(root, "post.md", after_ns=10 * SECOND)
    config = root / "pipeline.toml"
    config.write_text(CONFIG.replace("America/New_York", "Europe/Berlin"), encoding="utf-8")
    assert listed(root)["post.md"]["publish_at"] == "2036-12-01T08:00:00Z"
