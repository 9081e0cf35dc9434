"""Benchmark: `pipeline --help` cold start, and loading + checking + rendering 2,000 posts.

Run it with ``python bench/bench_load.py`` (no pytest). It prints a Markdown table and rewrites its
own section of ``docs/benchmarks.md`` (between the ``bench_load`` markers; the rest of the file is
kept). Targets (issue 2): ``pipeline --help`` median under 150 ms, 2,000 posts under 2 s.
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

from benchdoc import Figure, hand_in, machine, shown_doc, write_section

# Issue 15's targets.
HELP_TARGET_MS = 100.0
LOAD_TARGET_S = 1.5
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
    totals: list[float]  # seconds per run: load + check + render, as one command does it
    loads: list[float]  # of which load + check
    again: list[float]  # rendering every post a second time in the same process
    posts: int  # rendered per run


def time_load_render(folder: Path, runs: int) -> Timings:
    """Each run as a fresh command sees it: render's cache of parsed bodies is emptied first."""
    from pipeline.cli import GC_THRESHOLDS
    from pipeline.core import render as render_module
    from pipeline.core.render import Site, render, series_index
    from pipeline.loading import load_posts

    gc.set_threshold(*GC_THRESHOLDS)  # as the `pipeline` command sets it
    tz = ZoneInfo(TIMEZONE)
    timings = Timings([], [], [], 0)
    for _ in range(runs):
        render_module._PARSED.clear()  # a new process starts with none
        started = time.perf_counter()
        result = load_posts(folder, tz)
        loaded = time.perf_counter()
        if result.errors:
            sys.exit(f"generated posts have errors: {result.errors[0].render()}")
        live = {p.slug: f"https://blog.example.com/{p.slug}/" for p in result.posts[::2]}
        site = Site(live=live, series=series_index(result.posts))
        timings.posts = sum(1 for post in result.posts if render(post, site).html)
        rendered = time.perf_counter()
        timings.totals.append(rendered - started)
        timings.loads.append(loaded - started)
        for post in result.posts:  # as planning, publishing or the scheduler render again
            render(post, site)
        timings.again.append(time.perf_counter() - rendered)
    return timings


# --- report -----------------------------------------------------------------------------------


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def report(help_times: list[float], timings: Timings) -> str:
    totals, loads, again, posts = timings.totals, timings.loads, timings.again, timings.posts
    help_ms = median_ms(help_times)
    total_s = statistics.median(totals)
    load_s = statistics.median(loads)
    renders = [total - load for total, load in zip(totals, loads, strict=True)]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    rows = [
        "| measure | runs | median | min | max | target | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| `pipeline --help`, cold process | {len(help_times)} | {help_ms:.0f} ms | "
        f"{min(help_times) * 1000:.0f} ms | {max(help_times) * 1000:.0f} ms | "
        f"< {HELP_TARGET_MS:.0f} ms | {verdict(help_ms < HELP_TARGET_MS)} |",
        f"| load + check + render {posts:,} posts | {len(totals)} | {total_s:.2f} s | "
        f"{min(totals):.2f} s | {max(totals):.2f} s | < {LOAD_TARGET_S:g} s | "
        f"{verdict(total_s < LOAD_TARGET_S)} |",
        f"| of which load + check | {len(loads)} | {load_s:.2f} s | {min(loads):.2f} s | "
        f"{max(loads):.2f} s | | |",
        f"| of which render | {len(renders)} | {statistics.median(renders):.2f} s | "
        f"{min(renders):.2f} s | {max(renders):.2f} s | | |",
        f"| render all again, same process (parsed bodies cached) | {len(again)} | "
        f"{statistics.median(again):.2f} s | {min(again):.2f} s | {max(again):.2f} s | | |",
    ]
    return "\n".join(rows)


def figures(help_times: list[float], timings: Timings) -> list[Figure]:
    renders = [total - load for total, load in zip(timings.totals, timings.loads, strict=True)]
    return [
        Figure("`pipeline --help`, cold process", median_ms(help_times), "ms", HELP_TARGET_MS),
        Figure(
            f"load + check + render {timings.posts:,} posts",
            statistics.median(timings.totals),
            "s",
            LOAD_TARGET_S,
            f"load + check {statistics.median(timings.loads):.2f} s, "
            f"render {statistics.median(renders):.2f} s",
        ),
    ]


WHERE_THE_TIME_GOES = """\
Each run empties `render`'s cache of parsed bodies first, as a new `pipeline` process starts
with none; the last row renders every post a second time in the same process, as planning,
publishing and the scheduler do, from the cached tokens.

Where the time goes (cProfile, and timings with parts switched off): almost all of it is
markdown-it-py's pure-Python parser. `load_posts` (about 1.3 s) parses the block structure of
every body and the inline content only of the blocks that may hold an image or a `post:` link, and
reads front matter with libyaml (`CSafeLoader`). `render` parses every body in full and keeps the
tokens per body (about 50 KB of objects per 1.7 KB post), so a second render costs only the
rewrite and the HTML (about 0.2 ms a post). In a single pass that cache has a price: with ~100 MB
of tokens kept alive, Python's cyclic garbage collector walks the growing heap again and again,
and the first render of the 2,000 posts takes about 2.7-3.0 s where the same render without the
cache takes about 1.8 s (raising the collector's thresholds, `gc.set_threshold(50_000, 20, 100)`,
gave about 2.2 s). Even without that cost, one full parse per post shared by check and render
would come to about 2 s for 2,000 posts here: meeting the target needs parsing in a process pool
or a C CommonMark parser."""


def section(table: str) -> str:
    return (
        "## Loading and the command line (`bench/bench_load.py`)\n\n"
        "`pipeline --help` is timed as a fresh subprocess (median of the runs, after one warm-up "
        "run); the posts are generated in a temporary folder (4 in 5 are parts of 4-part series "
        "with a series marker and `post:` links to the other parts; every post has full front "
        "matter, a captioned image, a featured image, a list, code and raw HTML) and timed "
        "in-process: `load_posts` (read, parse, check the whole set) then `render` of every post "
        "with half of them live.\n\n"
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
    load_s = statistics.median(timings.totals)
    ok = median_ms(help_times) < HELP_TARGET_MS and load_s < LOAD_TARGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
