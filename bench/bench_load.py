"""Benchmark: `pipeline --help` cold start, and loading + checking + rendering 2,000 posts.

Run it with ``python bench/bench_load.py`` (no pytest). It prints a Markdown table and rewrites its
own section of ``docs/benchmarks.md`` (between the ``bench_load`` markers; the rest of the file is
kept). Targets (issue 15): ``pipeline --help`` median under 100 ms, load + check + render of
2,000 posts under 1.5 s, ``pipeline check`` over them under 1 s.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from benchdoc import Figure, as_a_new_process, hand_in, machine, shown_doc, write_section

# Issue 15's targets.
HELP_TARGET_MS = 100.0
LOAD_TARGET_S = 1.5
CHECK_TARGET_S = 1.0
TIMEZONE = "America/New_York"


# --- (a) cold start ---------------------------------------------------------------------------


def pipeline_command() -> list[str]:
    beside = Path(sys.executable).parent / "pipeline"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pipeline")
    if found is None:
        sys.exit("the pipeline console script is not installed: pip install -e .")
    return [found]


def time_help(runs: int) -> list[float]:
    """Wall time of ``pipeline --help`` in a fresh process, in seconds, one per run."""
    command = [*pipeline_command(), "--help"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm the disk cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return times


# --- (b) 2,000 posts --------------------------------------------------------------------------

PARAGRAPH = (
    "Lorem ipsum dolor sit amet, *consectetur* adipiscing elit, sed do eiusmod tempor incididunt "
    "ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis **nostrud** exercitation "
    "ullamco laboris nisi ut aliquip ex ea commodo consequat, with `inline code` and a "
    "[plain link](https://example.com/page-{n})."
)


def tiny_png(seed: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = bytes([0, seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixel))
        + chunk(b"IEND", b"")
    )


def body(rng: random.Random, n: int, extra: list[str]) -> str:
    blocks = [PARAGRAPH.format(n=n + i) for i in range(rng.randint(3, 6))]
    blocks.insert(1, "## A heading\n\n- one item\n- two items with *emphasis*\n- three")
    blocks.insert(2, "```python\nprint('hello')\n```")
    blocks.insert(2, '<div class="note">Raw <em>HTML</em> block.</div>')
    for block in extra:
        blocks.insert(rng.randint(1, len(blocks)), block)
    return "\n\n".join(blocks) + "\n"


def generate(folder: Path, total: int = 2000, parts_per_series: int = 4) -> None:
    """Posts like the real ones: series with markers and post: links, images, full front matter."""
    rng = random.Random(2026)
    images = folder / "images"
    images.mkdir(parents=True)
    for i in range(20):
        (images / f"img-{i:02d}.png").write_bytes(tiny_png(i))
    series_posts = total * 4 // 5 // parts_per_series * parts_per_series
    for n in range(total):
        image = f"images/img-{n % 20:02d}.png"
        front = [
            f'title: "Generated post number {n}: a title with some words"',
            "status: ready",
            f"publish_at: 2026-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}",
            f"categories: [Category {n % 7}, Film]",
            f"tags: [tag-{n % 11}, tag-{n % 13}, generated]",
            f"excerpt: The excerpt of post {n}.",
            f"featured_image: {image}",
        ]
        extra = [f'![Alt text {n}]({image} "The caption of post {n}")']
        if n < series_posts:
            series, part = n // parts_per_series, n % parts_per_series + 1
            first = n - part + 1
            front += [f"slug: series-{series}-part-{part}", f"series: Series {series}"]
            front.append(f"part: {part}")
            others = [first + i for i in range(parts_per_series) if first + i != n]
            links = " and ".join(
                f"[part {o - first + 1}](post:series-{series}-part-{o - first + 1})" for o in others
            )
            extra += ["<!-- series -->", f"See also {links}."]
        else:
            target = rng.randrange(series_posts // parts_per_series)
            extra.append(f"Related: [a series](post:series-{target}-part-1).")
            extra.append(f"![Remote](https://cdn.example.com/{n}.jpg)")
        text = "---\n" + "\n".join(front) + "\n---\n" + body(rng, n, extra)
        (folder / f"post-{n:04d}.md").write_text(text, encoding="utf-8")


@dataclass
class Timings:
    """Seconds per run, as one command does it: load + check + render of every post."""

    first: list[float]  # nothing remembered: a new site, or every post new or edited
    first_loads: list[float]  # of which load + check
    again: list[float]  # a new process, the posts unchanged since a command remembered them
    again_loads: list[float]
    checks_first: list[float]  # `pipeline check` as a whole process, nothing remembered
    checks_again: list[float]  # `pipeline check`, remembered
    posts: int  # rendered per run
    memo_bytes: int  # the memo files in the state folder


def one_pass(folder: Path, state: Path) -> tuple[float, float, int]:
    """(total, load, posts) of one load + check + render, as a new process starts it: nothing
    in memory, the memo of ``state`` (if any) read from disk."""
    from pipeline import memofile
    from pipeline.core.output import Style, render_post
    from pipeline.core.render import Site, series_index
    from pipeline.loading import load_posts

    memofile.attach(state)
    as_a_new_process()
    started = time.perf_counter()
    result = load_posts(folder, ZoneInfo(TIMEZONE))
    loaded = time.perf_counter()
    if result.errors:
        sys.exit(f"generated posts have errors: {result.errors[0].render()}")
    live = {p.slug: f"https://blog.example.com/{p.slug}/" for p in result.posts[::2]}
    blocks = {p.slug: Style(blocks=True) for p in result.posts}  # new posts' default format
    site = Site(live=live, series=series_index(result.posts), styles=blocks)
    posts = sum(1 for post in result.posts if render_post(post, site).html)
    done = time.perf_counter()
    memofile.save()  # as the command does on its way out (not timed: after the output)
    return done - started, loaded - started, posts


def time_load_render(folder: Path, runs: int) -> Timings:
    from pipeline.cli import GC_THRESHOLDS

    gc.set_threshold(*GC_THRESHOLDS)  # as the `pipeline` command sets it
    timings = Timings([], [], [], [], [], [], 0, 0)
    site = folder.parent
    (site / "pipeline.toml").write_text(
        f'timezone = "{TIMEZONE}"\nposts_dir = "posts"\nstate_dir = "state"\n\n'
        '[wordpress]\nurl = "https://blog.example.com"\n',
        encoding="utf-8",
    )
    state = site / "state"
    for _ in range(runs):
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        total, load, timings.posts = one_pass(folder, state)
        timings.first.append(total)
        timings.first_loads.append(load)
        total, load, _ = one_pass(folder, state)
        timings.again.append(total)
        timings.again_loads.append(load)
    timings.memo_bytes = sum(f.stat().st_size for f in (state / "cache").iterdir())
    for _ in range(runs):
        shutil.rmtree(state / "cache", ignore_errors=True)
        timings.checks_first.append(time_check(site))
        timings.checks_again.append(time_check(site))
    return timings


def time_check(site: Path) -> float:
    """Wall time of ``pipeline check`` in a fresh process (the posts are all good)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    started = time.perf_counter()
    subprocess.run(
        [*pipeline_command(), "check"], check=True, capture_output=True, cwd=site, env=env
    )
    return time.perf_counter() - started


# --- report -----------------------------------------------------------------------------------


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _row(name: str, times: list[float], target: float | None, unit: str = "s") -> str:
    scale = 1000 if unit == "ms" else 1
    fmt = "{:.0f}" if unit == "ms" else "{:.2f}"
    median = statistics.median(times) * scale

    def shown(value: float) -> str:
        return f"{fmt.format(value)} {unit}"

    goal, verdict = "", ""
    if target is not None:
        goal = f"< {target:g} {unit}"
        verdict = "met" if median < target else "**missed**"
    return (
        f"| {name} | {len(times)} | {shown(median)} | {shown(min(times) * scale)} | "
        f"{shown(max(times) * scale)} | {goal} | {verdict} |"
    )


def report(help_times: list[float], timings: Timings) -> str:
    t, n = timings, f"{timings.posts:,}"

    def renders(totals: list[float], loads: list[float]) -> list[float]:
        return [total - load for total, load in zip(totals, loads, strict=True)]

    rows = [
        "| measure | runs | median | min | max | target | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        _row("`pipeline --help`, cold process", help_times, HELP_TARGET_MS, "ms"),
        _row(
            f"load + check + render {n} posts, remembered by an earlier command",
            t.again,
            LOAD_TARGET_S,
        ),
        _row("of which load + check", t.again_loads, None),
        _row("of which render", renders(t.again, t.again_loads), None),
        _row(f"load + check + render {n} posts, nothing remembered (all new)", t.first, None),
        _row("of which load + check", t.first_loads, None),
        _row("of which render", renders(t.first, t.first_loads), None),
        _row(f"`pipeline check`, {n} posts, remembered", t.checks_again, CHECK_TARGET_S),
        _row(f"`pipeline check`, {n} posts, nothing remembered", t.checks_first, None),
    ]
    return (
        "\n".join(rows) + f"\n\nThe memo files in the state folder: {t.memo_bytes / 2**20:.1f} MiB."
    )


def figures(help_times: list[float], timings: Timings) -> list[Figure]:
    t = timings
    again_render = statistics.median(t.again) - statistics.median(t.again_loads)
    first_render = statistics.median(t.first) - statistics.median(t.first_loads)
    return [
        Figure("`pipeline --help`, cold process", median_ms(help_times), "ms", HELP_TARGET_MS),
        Figure(
            f"load + check + render {t.posts:,} posts, unchanged since the last command",
            statistics.median(t.again),
            "s",
            LOAD_TARGET_S,
            f"load + check {statistics.median(t.again_loads):.2f} s, render {again_render:.2f} s",
        ),
        Figure(
            f"load + check + render {t.posts:,} posts, all new (nothing remembered)",
            statistics.median(t.first),
            "s",
            None,
            f"load + check {statistics.median(t.first_loads):.2f} s, render {first_render:.2f} s",
        ),
        Figure(
            f"`pipeline check`, {t.posts:,} posts, unchanged",
            statistics.median(t.checks_again),
            "s",
            CHECK_TARGET_S,
        ),
        Figure(
            f"`pipeline check`, {t.posts:,} posts, all new",
            statistics.median(t.checks_first),
            "s",
            None,
        ),
    ]


WHERE_THE_TIME_GOES = """\
Each run is timed as a new `pipeline` process would do it: nothing in memory, then the memo of
the state folder read from disk (`pipeline/memofile.py`). "Nothing remembered" is a new site or
a catalogue where every post is new or edited: the whole cost of markdown-it-py's pure-Python
parser (front matter with libyaml's `CSafeLoader`; the block structure of every body and the
inline content only of the blocks that may hold an image or a `post:` link; then a full parse
per render). "Remembered" is the common case of a big back catalogue: the posts have not
changed since an earlier command, which left in `state/cache/` what each file's front matter
gave (by the digest of the file's bytes, so no YAML is parsed), the images and `post:` links of
each body (by the digest of its text), and each post's rendered markup with the
lookups the render made in the site (permalinks of the posts it links, its series, media); a
remembered render is used only while every one of those lookups still gives the same answer,
so a part going live re-renders exactly the posts that link it. The memo is stamped with a
digest of the parsing and rendering code and the versions of the parser and Pillow; any other
stamp is ignored. What is left is reading and hashing the files (a post is remembered by its
bytes, never by its size and times), looking each image up on disk (one `stat`; what its content
showed is remembered by its size, times and inode, and trusted only if it had not changed in the
two seconds before it was read: git's racy-timestamp rule) and reading the memo's JSON; `check`
imports no YAML, Markdown or image library when nothing changed.

Renders use the default format of new posts (block-editor content). Measured and not chosen: a
compiled CommonMark parser (markdown-it-pyrs has no token stream our rewriting can use; cmarkgfm
gives only HTML) and a memo of pickled token lists (unpickling takes about 40 % of a parse)."""


def section(table: str) -> str:
    return (
        "## Loading and the command line (`bench/bench_load.py`)\n\n"
        "`pipeline --help` is timed as a fresh subprocess (median of the runs, after one warm-up "
        "run): it prints the group's help as click rendered it, kept in `pipeline/cli/_help.py` "
        "with a digest of what the rendering read (the cli modules, click's source, the Python "
        "version) and printed only while that digest, a terminal of 80 or more columns and no "
        "translation hold, so it imports no click (`python -c 'import click'` alone is about "
        "as long as the target); otherwise click renders it. The posts are generated in a "
        "temporary folder (4 in 5 are parts of 4-part series with a series marker and `post:` "
        "links to the other parts; every post has full front matter, a captioned image, a "
        "featured image, a list, code and raw HTML) and timed "
        "in-process: `load_posts` (read, parse, check the whole set) then `render_post` of every "
        "post with half of them live; `pipeline check` over the same posts as a whole process.\n\n"
        f"{table}\n\nMachine: {machine()}.\n\n{WHERE_THE_TIME_GOES}"
    )


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--help-runs", type=int, default=15)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 posts, 3 + 1 runs: a smoke check")
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    args = parser.parse_args(argv)
    if args.quick:
        args.help_runs, args.runs, args.posts = 3, 1, 200

    progress(f"timing `pipeline --help` x{args.help_runs} ...")
    help_times = time_help(args.help_runs)
    with tempfile.TemporaryDirectory(prefix="bench-posts-") as tmp:
        folder = Path(tmp) / "posts"
        progress(f"generating {args.posts} posts in {folder} ...")
        generate(folder, args.posts)
        progress(f"loading, checking and rendering them x{args.runs} ...")
        timings = time_load_render(folder, args.runs)
    table = report(help_times, timings)
    hand_in("bench_load", figures(help_times, timings))
    print(table)
    print(f"\n{machine()}")
    if not args.no_write:
        write_section("bench_load", section(table))
        print(f"\nupdated {shown_doc()}")
    load_s = statistics.median(timings.again)
    check_s = statistics.median(timings.checks_again)
    ok = median_ms(help_times) < HELP_TARGET_MS and load_s < LOAD_TARGET_S
    ok = ok and check_s < CHECK_TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
