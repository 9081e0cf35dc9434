"""Ask a block editor how it saves every block the renderer writes.

    scripts/wordpress.sh start
    .venv/bin/python -m tests.blocks.generate_fixtures            # -> fixtures/wordpress-X.Y.json

From a WordPress site (the default: the local one, per ``WP_STATE_DIR``; or ``--url``, ``--user``,
``--password`` and ``--version`` for any other, with a real wp-admin login: the editor needs a
session) it logs in in headless Chromium and uses the block editor of ``post-new.php``, which is
never saved. With ``--bundle DIR`` it uses instead a page built from the block editor's npm
packages for a WordPress version no local site runs (``tests/blocks/editor-bundle/README.md``).

In the editor page it runs ``wp.blocks.serialize(wp.blocks.createBlock(name, attributes, inner))``
for every case of ``cases.py`` and every distinct top-level block that ``pipeline.core.blocks``
makes of the corpus (against ``corpus.example_site``), then parses each result back as the editor
does when it opens a post: ``valid`` says whether every block of it is valid and what the current
``save`` writes (no deprecation), ``reserialized`` is what the editor would save after opening it,
``fixed`` whether that form survives another round unchanged. It also records the editor's
``dialect`` (``pipeline.core.blocks.dialect_of`` of its block types).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import stamina
from msgspec.structs import asdict

from pipeline.core.blocks import Block, dialect_of, post_blocks
from tests.blocks import corpus
from tests.blocks.browser import Browser
from tests.blocks.cases import CASES
from tests.wp_local import site_env

# Runs in the editor page: serialise each block, then parse it back as the editor would on open.
SERIALISE_JS = """
((cases) => {
  const make = (c) => wp.blocks.createBlock(c.name, c.attributes, c.innerBlocks.map(make));
  const check = (block) => block.isValid && wp.blocks.validateBlock(block)[0]
      && block.innerBlocks.every(check);
  const again = (html) => wp.blocks.serialize(wp.blocks.parse(html));
  return cases.map((c) => {
    const serialized = wp.blocks.serialize([make(c)]);
    const parsed = wp.blocks.parse(serialized);
    const reserialized = wp.blocks.serialize(parsed);
    return {
      serialized,
      valid: parsed.length === 1 && parsed[0].name === c.name && check(parsed[0]),
      reserialized,
      fixed: again(reserialized) === reserialized,
    };
  });
})
"""

# The block types' metadata that dialect_of reads, from the editor's own registry.
BLOCK_TYPES_JS = """
['core/heading', 'core/list', 'core/table', 'core/preformatted'].map((name) => {
  const type = wp.blocks.getBlockType(name);
  return {name, supports: type.supports, attributes: type.attributes};
})
"""


def corpus_blocks() -> list[dict[str, Any]]:
    """Every distinct top-level block of the corpus, as ``createBlock`` takes it."""
    posts = corpus.load()
    site = corpus.example_site(posts)
    seen: dict[str, dict[str, Any]] = {}
    for slug in sorted(posts):
        nodes, _ = post_blocks(posts[slug], site)
        for node in nodes:
            if isinstance(node, Block):
                data = corpus.to_json(node)
                seen.setdefault(json.dumps(data, sort_keys=True), data)
    return list(seen.values())


def open_site_editor(browser: Browser, url: str, user: str, password: str) -> None:
    browser.login(url, user, password)
    browser.open_editor(f"{url}/wp-admin/post-new.php")


def open_bundle(browser: Browser, bundle: Path) -> None:
    page = bundle / "page.html"
    page.write_text('<!doctype html><html><body><script src="bundle.js"></script></body></html>\n')
    browser.goto(page.resolve().as_uri())
    browser.wait_for("window.__ready === true")


def bundle_source(bundle: Path) -> str:
    def version(package: str) -> str:
        manifest = bundle / "node_modules" / "@wordpress" / package / "package.json"
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])

    return f"npm: @wordpress/block-library {version('block-library')}, blocks {version('blocks')}"


def generate(browser: Browser, version: str, source: str) -> dict[str, Any]:
    """The fixtures from the editor open in ``browser``."""
    cases = [{"id": case_id, "block": block} for case_id, block in CASES]
    found = corpus_blocks()
    blocks = [c["block"] for c in cases] + found
    results = browser.evaluate(f"{SERIALISE_JS}({json.dumps(blocks)})")
    dialect = dialect_of(browser.evaluate(BLOCK_TYPES_JS))
    agent = str(browser.evaluate("navigator.userAgent"))
    for entry, result in zip(cases, results, strict=False):
        entry.update(result)
    return {
        "wordpress": version,
        "source": source,
        "browser": agent.split(") ")[-1],
        "dialect": asdict(dialect),
        "regenerate": "python -m tests.blocks.generate_fixtures (see its docstring)",
        "cases": cases,
        "corpus": [{"block": b, **r} for b, r in zip(found, results[len(cases) :], strict=True)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", type=Path, help="default: the local site's (WP_STATE_DIR)")
    parser.add_argument("--url")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--bundle", type=Path, help="a folder with an editor bundle.js")
    parser.add_argument("--version", help="the editor's WordPress version (default: env.json's)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    stamina.instrumentation.set_on_retry_hooks([])  # waiting for the page is not worth a log line
    with Browser(timeout=120) as browser:
        if args.bundle is not None:
            if not args.version:
                parser.error("--bundle needs --version")
            version, source = str(args.version), bundle_source(args.bundle)
            open_bundle(browser, args.bundle)
        else:
            env: dict[str, Any] = {}
            if args.env is not None:
                env = json.loads(args.env.read_text(encoding="utf-8"))
            elif not (args.url and args.user and args.password and args.version):
                env = site_env()
            url = str(args.url or env["url"]).rstrip("/")
            version, source = str(args.version or env["wp_version"]), "site"
            open_site_editor(
                browser, url, args.user or env["user"], args.password or env["admin_password"]
            )
        data = generate(browser, version, source)
    out = args.out or corpus.fixture_path(".".join(version.split(".")[:2]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    entries = data["cases"] + data["corpus"]
    print(f"{out}: {len(entries)} blocks from WordPress {version} ({data['browser']})")
    for what in ("valid", "fixed"):
        bad = [e.get("id", e["block"]["name"]) for e in entries if not e[what]]
        if bad:
            print(f"not {what}: {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
