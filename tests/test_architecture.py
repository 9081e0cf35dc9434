"""The design, checked: the pure core imports nothing outside itself, and the publisher knows no
network by name."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"
CORE_MAY_USE = ("pipeline.core", "pipeline.errors", "pipeline.timeutil")
EDGES = ("httpx", "requests", "tweepy", "sqlite3", "apscheduler", "click", "rich", "mastodon")


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


CORE = sorted((PACKAGE / "core").rglob("*.py"))


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_imports_only_core_errors_and_time(path: Path) -> None:
    outside = [
        f"{path.name}:{line}: {name}"
        for line, name in imports(path)
        if name.startswith("pipeline") and not name.startswith(CORE_MAY_USE)
    ]
    assert outside == []


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_touches_no_network_disk_or_clock_library(path: Path) -> None:
    edges = [f"{path.name}:{line}: {name}" for line, name in imports(path) if name in EDGES]
    assert edges == []


def test_the_core_is_all_there() -> None:
    names = {p.stem for p in CORE}
    assert {"posts", "records", "steps", "render", "plan", "schedule", "announce"} <= names


def test_the_publisher_knows_no_network_by_name() -> None:
    source = PACKAGE / "publisher.py"
    named = [n for _, n in imports(source) if n.startswith("pipeline.channels.")]
    assert named == ["pipeline.channels.base"]


def test_only_the_journal_and_the_store_write_steps() -> None:
    writers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if ".set_step(" in path.read_text(encoding="utf-8")
    )
    assert writers == ["journal.py"]


def imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_commands_do_not_load_what_they_never_use() -> None:
    """Start-up cost is paid for what runs: httpx's own command line (click, rich, pygments;
    encode/httpx#3547) never; the HTML parser and the Markdown parser only when a body is
    parsed; for `--help` neither the HTTP stack nor the standard library's paths, logging, time
    zones or JSON (a twentieth of a second on a slow machine)."""
    client = imported_by("import pipeline.wordpress.client")
    assert "pygments" not in client
    assert "httpx" in client
    listing = imported_by(
        "import pipeline.cli, pipeline.checks, pipeline.workspace, pipeline.status"
    )
    assert {"justhtml", "markdown_it", "httpx"}.isdisjoint(listing)
    help_only = imported_by("import pipeline.cli")
    assert {"httpx", "pathlib", "logging", "zoneinfo", "json", "click"}.isdisjoint(help_only)


COMMAND_MODULES = {f"pipeline.cli.{name}" for name in ("posts", "run", "state", "login")}
COMMAND_MODULES.add("pipeline.cli.importing")


def test_the_group_help_loads_no_command() -> None:
    """`pipeline --help` as click renders it (a narrow terminal, or click or the cli modules
    changed since the kept text was made) loads no command's module; the kept text (a wide
    terminal, the pipe here) not even click, nor typing, re or shutil."""
    rendered = imported_by(
        "from pipeline.cli import group\ncli = group()\n"
        "with cli.make_context('pipeline', ['--help'], resilient_parsing=True) as ctx:\n"
        "    cli.get_help(ctx)"
    )
    assert "click" in rendered
    assert COMMAND_MODULES.isdisjoint(rendered), sorted(COMMAND_MODULES & rendered)
    kept = imported_by(
        "import sys\nsys.argv = ['pipeline', '--help']\nfrom pipeline.cli import main\nmain()"
    )
    assert {"click", "typing", "re", "shutil", "pathlib"}.isdisjoint(kept), sorted(kept)


SITE_POST = (
    "---\ntitle: Post {n}\nslug: post-{n}\nseries: A Series\npart: {n}\n"
    "featured_image: pic.png\n---\nIntro ![A picture](pic.png) and [the other](post:post-{m}).\n"
)


def loaded_by_command(config: Path, *args: str) -> set[str]:
    """The modules a fresh `pipeline` process has loaded after running a command."""
    code = (
        "import contextlib, io, sys\nfrom pipeline.cli import main\n"
        f"sys.argv = ['pipeline', '--config', {str(config)!r}, *{list(args)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):"
        "\n    try:\n        main()\n    except SystemExit:\n        pass"
    )
    return imported_by(code)


def test_status_check_and_log_load_only_what_they_use(tmp_path: Path) -> None:
    """Once an earlier command remembered the posts: no YAML parser, no Markdown parser, no image
    library (each image's check is remembered while its file stays as it was), no HTTP, no
    publisher or network client; `status` and `log` no grapheme counting either, and `log`
    (the state alone) neither the posts' loader nor rich."""
    from tests.images import png

    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "pic.png").write_bytes(png())
    for n in (1, 2):
        (posts / f"post-{n}.md").write_text(SITE_POST.format(n=n, m=3 - n), encoding="utf-8")
    config = tmp_path / "pipeline.toml"
    config.write_text(
        'posts_dir = "posts"\nstate_dir = "state"\n\n[wordpress]\nurl = "https://blog.example"\n',
        encoding="utf-8",
    )
    (tmp_path / "state").mkdir()
    # An image changed less than two seconds before it is read is read again by the next
    # command (pipeline.loading.RACY_NS): this one is older than that when first read.
    time.sleep(max(0.0, (posts / "pic.png").stat().st_ctime + 2.1 - time.time()))
    never = {"markdown_it", "yaml", "frontmatter", "PIL", "httpx", "pipeline.publisher"}
    never |= {"tweepy", "mastodon", "twitter_text", "http.server"}
    loaded_by_command(config, "check")  # the first: reads and remembers the posts and images
    checked = loaded_by_command(config, "check")
    assert never.isdisjoint(checked), sorted(never & checked)
    listing = loaded_by_command(config, "status")
    # Nor the other commands' modules, logging (pipeline.redactlog), the journal or the
    # HTTP stack's helpers: `status` only reads; nor html and base64 (the redactor makes those
    # forms itself).
    unused = never | COMMAND_MODULES - {"pipeline.cli.state"}
    unused |= {"regex", "logging", "pipeline.redactlog", "pipeline.journal", "pipeline.media"}
    unused |= {"html", "base64"}
    assert unused.isdisjoint(listing), sorted(unused & listing)
    logged = loaded_by_command(config, "log", "--post", "post-1")
    quiet = never | {"regex", "rich", "pipeline.loading", "pipeline.memofile"}
    assert quiet.isdisjoint(logged), sorted(quiet & logged)
