"""Benchmark: the two HTML-to-Markdown libraries on the import corpus (issue 11).

Run it with ``python bench/bench_import.py`` (no pytest). For each of ``html-to-markdown`` and
``markdownify``, alone on the stored content and behind our WordPress pass
(``pipeline.core.wpmarkdown``), it counts the corpus posts whose import renders to the original's
text, images and elements (the round-trip property of tests/test_wpmarkdown.py), times a
conversion, and times importing the library in a fresh interpreter. It prints a Markdown table and
rewrites its own section of ``docs/benchmarks.md``. html-to-markdown is needed only here, to
compare: ``pip install -e '.[bench]'`` first.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from benchdoc import REPO, Figure, hand_in, load_average, machine, write_section

sys.path.insert(0, str(REPO))

import html_to_markdown
from bs4 import BeautifulSoup
from markdownify import markdownify

from pipeline.core import wpmarkdown
from tests.import_roundtrip import corpus, rendered, seen

Convert = Callable[[str], str]
ROUNDS = 20


H2M_OPTIONS = html_to_markdown.ConversionOptions(
    heading_style="atx",
    bullets="-",
    escape_asterisks=True,
    escape_underscores=True,
    escape_misc=True,
    autolinks=False,
    extract_metadata=False,
    newline_style="backslash",
)


def h2m_behind_our_pass(fragment: str, pieces: wpmarkdown._Pieces) -> str:
    """Our WordPress pass, then html-to-markdown on the tree written out again as HTML."""
    soup = BeautifulSoup(fragment, "html.parser")
    wpmarkdown._Preparer(pieces).walk(soup)
    html = soup.decode(formatter=wpmarkdown._AS_WRITTEN)
    markdown = str(html_to_markdown.convert(html, H2M_OPTIONS).content).strip("\n")
    return "\n".join(wpmarkdown._tidy_escapes(line) for line in markdown.split("\n"))


def h2m_alone(content: str) -> str:
    return str(html_to_markdown.convert(content).content)


def markdownify_alone(content: str) -> str:
    return str(markdownify(content, heading_style="ATX"))


def with_fragment_converter(convert_fragment: Callable[[str, wpmarkdown._Pieces], str]) -> Convert:
    def convert(content: str) -> str:
        shipped = wpmarkdown._convert
        wpmarkdown._convert = convert_fragment
        try:
            return wpmarkdown.to_markdown(content)
        finally:
            wpmarkdown._convert = shipped

    return convert


def fidelity(convert: Convert, posts: list[tuple[str, str]]) -> tuple[int, int, int, list[str]]:
    """Posts whose import shows the original's text, images, and elements; the failing names."""
    text = images = elements = 0
    failing = []
    for name, content in posts:
        try:
            got = seen(rendered(convert(content)))
        except Exception:  # a library that crashes on a post fails that post
            failing.append(name)
            continue
        want = seen(content)
        text += got.text == want.text
        images += got.images == want.images
        elements += got.elements == want.elements
        if (got.text, got.images, got.elements) != (want.text, want.images, want.elements):
            failing.append(name)
    return text, images, elements, failing


def per_post_ms(convert: Convert, posts: list[tuple[str, str]]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _, content in posts:
            convert(content)
        times.append((time.perf_counter() - started) / len(posts))
    return statistics.median(times) * 1000


def import_ms(module: str) -> float:
    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    base = statistics.median(run("pass") for _ in range(7))
    return max(0.0, statistics.median(run(f"import {module}") for _ in range(7)) - base) * 1000


def main() -> None:
    posts = [(p.stem, p.read_text(encoding="utf-8")) for p in corpus()]
    variants: list[tuple[str, Convert, str]] = [
        ("html-to-markdown, alone", h2m_alone, "html_to_markdown"),
        ("markdownify, alone", markdownify_alone, "markdownify"),
        (
            "markdownify behind our WordPress pass, on its tree (shipped)",
            wpmarkdown.to_markdown,
            "pipeline.core.wpmarkdown",
        ),
        (
            "html-to-markdown behind our WordPress pass (tree written out, parsed again)",
            with_fragment_converter(h2m_behind_our_pass),
            "",
        ),
    ]
    lines = [
        f"Corpus: {len(posts)} posts under tests/import_corpus/. A post passes when the rendered "
        "import shows the original's text, its image sources in order, and as many of each "
        "meaningful element (strong, em, a, li, headings, tables, ...).",
        "",
        "| converter | text | images | elements | all three | ms per post | import ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    failures = []
    shipped: list[Figure] = []
    for name, convert, module in variants:
        text, images, elements, failing = fidelity(convert, posts)
        speed = per_post_ms(convert, posts)
        cost = f"{import_ms(module):.0f}" if module else "bs4 + its own"
        total = len(posts)
        lines.append(
            f"| {name} | {text}/{total} | {images}/{total} | {elements}/{total} | "
            f"{total - len(failing)}/{total} | {speed:.2f} | {cost} |"
        )
        failures.append(f"- {name}: fails {', '.join(failing) or 'none'}")
        if "(shipped)" in name:
            passed = "import corpus: posts whose import keeps text, images and elements"
            shipped.append(Figure(passed, total - len(failing), "posts", total, higher=True))
            shipped.append(Figure("import: converting one post", speed, "ms"))
    body = "\n".join(
        [
            "## Import: HTML to Markdown (`bench_import`)",
            "",
            machine(f"load {load_average()}"),
            "",
            *lines,
            "",
            *failures,
        ]
    )
    print(body)
    hand_in("bench_import", shipped)
    write_section("bench_import", body)


if __name__ == "__main__":
    main()
