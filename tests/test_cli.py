"""The command line: help everywhere, check, preview, render, config discovery, exit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import CONFIG_ENV
from pipeline.core.blocks import WORDPRESS_6_1
from pipeline.core.output import render_post, styles_for
from pipeline.core.render import Site, series_index
from pipeline.loading import load_posts
from tests.corpus_cases import CORPUS, EXPECTED, GOOD, TIMEZONE, cases

REPO = Path(__file__).resolve().parents[1]
# Classic HTML, so that a rendering reads as one plain line (block markup has its own tests).
SITE_CONFIG = (
    f'timezone = "{TIMEZONE}"\n\n[wordpress]\nurl = "https://blog.example.com"\n'
    'format = "classic"\n'
)


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    environ: dict[str, str | None] = {CONFIG_ENV: None}  # the caller's shell must not leak in
    environ.update(env or {})
    return CliRunner().invoke(cli, list(args), prog_name="pipeline", env=environ)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The example site of the repo as a newcomer gets it: its config and posts, no state yet."""
    site = tmp_path / "example"
    shutil.copytree(REPO / "posts", site / "posts")
    shutil.copy(REPO / "pipeline.toml", site / "pipeline.toml")
    return site / "pipeline.toml"


def summary(stdout: str, posts: int, problems: int) -> bool:
    """The last line of `pipeline check`: how many posts are fine and how many problems."""
    return re.search(rf"\b{posts} posts\b\D*\b{problems} (with )?problems\b", stdout) is not None


def pipeline_script() -> str:
    """The installed console script, next to the running interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "pipeline"
    found = str(beside) if beside.exists() else shutil.which("pipeline")
    assert found, "the pipeline console script is not installed (pip install -e .)"
    return found


def run_script(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != CONFIG_ENV} | (env or {})
    return subprocess.run(
        [pipeline_script(), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_no_traceback(result: Result | subprocess.CompletedProcess[str]) -> None:
    text = result.output if isinstance(result, Result) else result.stdout + result.stderr
    assert "Traceback" not in text
    if isinstance(result, Result) and result.exception is not None:
        assert isinstance(result.exception, SystemExit), result.exception


# --- help -----------------------------------------------------------------------------------


def test_the_group_has_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Publish Markdown posts to WordPress" in result.output
    for name in cli.lazy:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(cli.lazy))
def test_the_group_knows_each_command_as_it_is(name: str) -> None:
    """The lazy group's name and summary of a command are the command's own: its name, and
    the first paragraph of its docstring (what click shortens for the group's help)."""
    lazy = cli.lazy[name]
    command = lazy.load()
    assert isinstance(command, click.Command)
    assert command.name == name
    assert command.help is not None
    assert lazy.summary == " ".join(command.help.split("\n\n")[0].split())
    assert not command.hidden
    assert not command.deprecated
    assert command.short_help is None


def test_the_group_help_is_what_the_commands_themselves_give() -> None:
    """`pipeline --help` from the summaries, at every width, is click's rendering of the group
    with every command loaded."""
    eager = click.Group(
        cli.name,
        params=cli.params,
        callback=cli.callback,
        help=cli.help,
        context_settings=cli.context_settings,
        commands=[lazy.load() for lazy in cli.lazy.values()],
    )
    for width in (50, 60, 80, 100, 200):
        with cli.make_context("pipeline", ["--help"], resilient_parsing=True) as ctx:
            ctx.terminal_width = width
            lazily = cli.get_help(ctx)
        with eager.make_context("pipeline", ["--help"], resilient_parsing=True) as ctx:
            ctx.terminal_width = width
            assert lazily == eager.get_help(ctx)


REGENERATE = "the kept help is stale: run `python -m pipeline.cli.prerendered`"


def test_the_kept_help_is_what_click_renders_now() -> None:
    """`pipeline --help` prints a kept text (pipeline.cli._help) only while it is click's
    rendering of the group and the digest of what that rendering read is the same."""
    from pipeline.cli import _help, prerendered

    assert prerendered.render() == _help.HELP, REGENERATE
    if prerendered.running() != _help.PYTHON:
        # Kept under another Python (CI's): here it is never printed, click renders the help.
        assert not prerendered.print_help()
        pytest.skip(f"the help is kept for Python {_help.PYTHON}; click renders it here")
    assert prerendered.digest() == _help.DIGEST, REGENERATE


def click_help(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`pipeline --help` as click itself prints it (the kept text left aside)."""
    code = "from pipeline.cli import group\ngroup()(['--help'], prog_name='pipeline')"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("columns", ["200", "80", "79", "60", ""])
def test_help_is_clicks_at_every_width(tmp_path: Path, columns: str) -> None:
    """The console script's `--help` and `-h` are what click prints, kept text or not (a
    terminal under 80 columns gets click's own narrower rendering)."""
    from pipeline.cli import _help

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    expected = click_help(env)
    assert expected.returncode == 0, expected.stderr
    for flag in ("--help", "-h"):
        result = run_script(flag, cwd=tmp_path, env=env)
        assert (result.returncode, result.stdout, result.stderr) == (0, expected.stdout, "")
    assert (expected.stdout == _help.HELP) == (not columns or int(columns) >= 80)


def test_shell_completion_is_not_answered_with_the_help(tmp_path: Path) -> None:
    env = dict(os.environ, _PIPELINE_COMPLETE="bash_complete", COMP_WORDS="pipeline st")
    env["COMP_CWORD"] = "1"
    result = run_script("--help", cwd=tmp_path, env=env)
    assert result.stdout == click_help(env).stdout
    assert "status" in result.stdout
    assert "Usage:" not in result.stdout


@pytest.mark.parametrize("columns", ["200", "80", "79", "1", "0", "-3", "wide", None])
def test_the_width_is_shutils(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    from pipeline.cli.prerendered import columns as width

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert width() == shutil.get_terminal_size().columns


@pytest.mark.parametrize("name", sorted(cli.lazy))
def test_every_command_has_help(name: str) -> None:
    command = cli.lazy[name].load()
    assert command.help, f"pipeline {name} has no docstring"
    assert command.get_short_help_str().strip()
    result = invoke(name, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: pipeline {name}" in result.output
    assert command.help.strip().splitlines()[0][:30] in " ".join(result.output.split())
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"pipeline {name} {param.opts[0]} has no help"


def test_help_through_the_real_console_script(tmp_path: Path) -> None:
    result = run_script("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage: pipeline" in result.stdout
    assert "check" in result.stdout


# --- check ----------------------------------------------------------------------------------


def test_check_passes_on_the_example_repo(example: Path) -> None:
    result = invoke("--config", str(example), "check")
    assert result.exit_code == 0, result.output
    assert "error:" not in result.output
    count = len(list((example.parent / "posts").glob("*.md")))
    assert summary(result.stdout, count, 0), result.stdout


def broken_site(tmp_path: Path) -> Path:
    """Every folder of the bad-input corpus side by side in one posts folder, plus a 50 MB post."""
    site = tmp_path / "site"
    for case in cases():
        shutil.copytree(CORPUS / case, site / "posts" / case)
    huge = site / "posts" / "huge" / "huge.md"
    huge.parent.mkdir()
    with huge.open("wb") as handle:
        handle.write(b"---\ntitle: Huge\n---\n")
        handle.truncate(50 * 1024 * 1024)
    (site / "pipeline.toml").write_text(SITE_CONFIG, encoding="utf-8")
    # X set up, so that announcement templates are measured against its limit
    keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    x_keys = "".join(f'{key} = "corpus-{key}-0123456789"\n' for key in keys)
    (site / "credentials.toml").write_text(f"[x]\n{x_keys}", encoding="utf-8")
    (site / "credentials.toml").chmod(0o600)
    return site


def expected_error_lines(site: Path, when: tuple[str, ...] = ("load", "announce")) -> list[str]:
    posts = site / "posts"
    lines = [f"error: {posts / e.case / e.file}:{e.line}: " for e in EXPECTED if e.when in when]
    return [*lines, f"error: {posts / 'huge' / 'huge.md'}:1: "]


def check_all_problems_listed(stdout: str, stderr: str, site: Path) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    expected = expected_error_lines(site)
    assert len(errors) == len(expected)
    for prefix in expected:
        (line,) = [e for e in errors if e.startswith(prefix)]
        assert "(fix: " in line
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1
    assert "'colour'" in warnings[0]
    good = sum(len(slugs) for slugs in GOOD.values())
    assert summary(stdout, good, len(expected)), stdout
    assert "Traceback" not in stdout + stderr


def test_check_lists_every_problem_at_once(tmp_path: Path) -> None:
    site = broken_site(tmp_path)
    result = invoke("--config", str(site / "pipeline.toml"), "check")

    assert result.exit_code == 2
    assert_no_traceback(result)
    check_all_problems_listed(result.stdout, result.stderr, site)


def test_check_through_the_real_console_script(tmp_path: Path) -> None:
    site = broken_site(tmp_path)
    result = run_script("check", cwd=site)

    assert result.returncode == 2
    check_all_problems_listed(result.stdout, result.stderr, site)


@pytest.mark.parametrize(
    ("case", "line"),
    [("unknown_key", 2), ("bad_timezone", 2), ("insecure_http", 4), ("invalid_toml", 4)],
)
def test_check_on_a_bad_config(tmp_path: Path, case: str, line: int) -> None:
    config = CORPUS / "config" / case / "pipeline.toml"
    result = invoke("--config", str(config), "check")

    assert result.exit_code == 2
    assert_no_traceback(result)
    (message,) = result.output.strip().splitlines()
    assert message.startswith(f"error: {config}:{line}: ")
    assert "(fix: " in message


def test_a_missing_config_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["check"], ["--config", str(tmp_path / "nope.toml"), "check"]):
        result = invoke(*args)
        assert result.exit_code == 2
        assert_no_traceback(result)
        assert "error: " in result.output
        assert "no config file" in result.output
        assert "--config" in result.output


def test_a_missing_config_through_the_real_console_script(tmp_path: Path) -> None:
    result = run_script("check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'pipeline.toml'}: no config file")
    assert "Traceback" not in result.stderr


def test_a_missing_posts_folder(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text('posts_dir = "nowhere"\n' + SITE_CONFIG, encoding="utf-8")
    result = invoke("--config", str(config), "check")
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert "nowhere" in result.output
    assert "does not exist" in result.output


# --- finding the config ---------------------------------------------------------------------


def small_site(folder: Path, title: str) -> Path:
    (folder / "posts").mkdir(parents=True)
    (folder / "posts" / "only.md").write_text(
        f"---\ntitle: {title}\n---\nWritten in {folder.name}.\n", encoding="utf-8"
    )
    config = folder / "pipeline.toml"
    config.write_text(SITE_CONFIG, encoding="utf-8")
    return config


def test_config_option_env_var_and_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = small_site(tmp_path / "here", "From the working folder")
    from_env = small_site(tmp_path / "env", "From the environment")
    explicit = small_site(tmp_path / "explicit", "From the option")
    monkeypatch.chdir(here.parent)

    assert invoke("render", "from-the-working-folder").stdout == "<p>Written in here.</p>\n"
    result = invoke("render", "from-the-environment", env={CONFIG_ENV: str(from_env)})
    assert result.stdout == "<p>Written in env.</p>\n"
    result = invoke(
        "--config", str(explicit), "render", "from-the-option", env={CONFIG_ENV: str(from_env)}
    )
    assert result.stdout == "<p>Written in explicit.</p>\n"
    assert str(explicit) in invoke("-c", str(explicit), "check").stdout


def test_env_var_through_the_real_console_script(tmp_path: Path) -> None:
    config = small_site(tmp_path / "site", "Env Only")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_script("check", cwd=elsewhere, env={CONFIG_ENV: str(config)})
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout, 1, 0), result.stdout
    assert str(config) in result.stdout


# --- render ---------------------------------------------------------------------------------


def test_render_prints_one_posts_html(example: Path) -> None:
    loaded = load_posts(example.parent / "posts", ZoneInfo(TIMEZONE))
    posts = loaded.by_slug()
    for slug, post in posts.items():
        result = invoke("--config", str(example), "render", slug)
        assert result.exit_code == 0, result.output
        # A new post is written as blocks, the site's default format.
        styles = styles_for(posts, {}, "blocks", WORDPRESS_6_1)
        site = Site(series=series_index(loaded.posts), styles=styles)
        expected = render_post(post, site).html
        assert result.stdout == expected


def test_render_by_path(example: Path) -> None:
    loaded = load_posts(example.parent / "posts", ZoneInfo(TIMEZONE))
    post = loaded.posts[0]
    relative = post.path.relative_to(example.parent).as_posix()
    by_path = invoke("--config", str(example), "render", str(post.path))
    by_slug = invoke("--config", str(example), "render", post.slug)
    assert by_path.exit_code == 0, by_path.output
    assert by_path.stdout == by_slug.stdout
    assert relative.startswith("posts/")


def test_render_an_unknown_post(example: Path) -> None:
    result = invoke("--config", str(example), "render", "no-such-post")
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert "no post 'no-such-post'" in result.output


def test_render_a_broken_post_shows_its_error(tmp_path: Path) -> None:
    site = broken_site(tmp_path)
    bad = site / "posts" / "bad_date" / "bad.md"
    result = invoke("--config", str(site / "pipeline.toml"), "render", str(bad))
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert f"{bad}:3: publish_at:" in result.output


# --- preview --------------------------------------------------------------------------------


def test_preview_writes_an_index_and_one_page_per_post(tmp_path: Path, example: Path) -> None:
    out = tmp_path / "preview"
    result = invoke("--config", str(example), "preview", "--out", str(out))
    assert result.exit_code == 0, result.output

    loaded = load_posts(example.parent / "posts", ZoneInfo(TIMEZONE))
    pages = {p.name for p in out.glob("*.html")}
    assert pages == {"index.html"} | {f"{post.slug}.html" for post in loaded.posts}
    index = (out / "index.html").read_text(encoding="utf-8")
    for post in loaded.posts:
        assert f'href="{post.slug}.html"' in index

    for post in loaded.posts:
        html = (out / f"{post.slug}.html").read_text(encoding="utf-8")
        assert html.startswith("<!doctype html>")
        for src in re.findall(r'<img src="([^"]+)"', html):
            assert not src.startswith(("/", "http")), src
            assert (out / src).is_file(), f"{src} was not copied"
        for image in post.images:
            copy = out / "media" / image.path.relative_to((example.parent / "posts").resolve())
            assert copy.read_bytes() == image.path.read_bytes()
            assert f'src="{copy.relative_to(out).as_posix()}"' in html


def test_preview_shows_part_1s_promised_parts_as_plain_text(tmp_path: Path, example: Path) -> None:
    out = tmp_path / "preview"
    assert invoke("--config", str(example), "preview", "-o", str(out)).exit_code == 0

    loaded = load_posts(example.parent / "posts", ZoneInfo(TIMEZONE))
    part_1 = next(p for p in loaded.posts if p.series is not None and p.part == 1)
    html = (out / f"{part_1.slug}.html").read_text(encoding="utf-8")
    assert re.findall(r'<a href="([^"]*)"', html) == ["index.html"]  # only the way back
    assert "post:" not in html
    assert "<figcaption" in html
    later = [p for p in loaded.posts if p.series == part_1.series and p.slug != part_1.slug]
    assert len(later) >= 2
    for part in later:
        assert f"<li>{part.title} <em>(coming soon)</em></li>" in html.replace("&#x27;", "'")


def test_preview_skips_broken_posts_and_renders_the_rest(tmp_path: Path) -> None:
    site = broken_site(tmp_path)
    out = tmp_path / "out"
    result = invoke("--config", str(site / "pipeline.toml"), "preview", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert_no_traceback(result)
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    # A preview renders what loads; announcements are not its business.
    assert len(skipped) == len(expected_error_lines(site, when=("load",)))
    written = {p.stem for p in out.glob("*.html")} - {"index"}
    bad_templates = {e.case for e in EXPECTED if e.when == "announce"}
    assert set().union(*GOOD.values()) <= written
    assert len(written) == len(set().union(*GOOD.values())) + len(bad_templates)
