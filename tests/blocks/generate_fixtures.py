"""Ask the block editor of a running WordPress how it saves every block the renderer writes.

    scripts/wordpress.sh start
    .venv/bin/python -m tests.blocks.generate_fixtures            # -> fixtures/wordpress-X.Y.json

For another WordPress, point it at that site: ``--url``, ``--user`` and ``--password`` (a real
login of an editor or administrator, not an application password: wp-admin needs a session), or
``--env`` with an ``env.json`` written by ``scripts/wordpress.sh start``. ``--out`` names the file;
the default is ``fixtures/wordpress-<major.minor>.json``.

In headless Chromium it logs in to wp-admin, opens the block editor (post-new.php) and, in the page,
runs ``wp.blocks.serialize(wp.blocks.createBlock(name, attributes, inner))`` for every case of
``cases.py`` and for every distinct top-level block that ``pipeline.core.blocks`` makes of the
corpus (rendered against ``corpus.example_site``). It also parses each result back with
``wp.blocks.parse`` and records whether the editor finds it valid and serialises it back to the
same bytes. Nothing is saved on the site: the new post is never saved.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipeline.core.blocks import Block, post_blocks
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
  return cases.map((c) => {
    const serialized = wp.blocks.serialize([make(c)]);
    const parsed = wp.blocks.parse(serialized);
    return {
      serialized,
      valid: parsed.length === 1 && parsed[0].name === c.name && check(parsed[0]),
      reserialized: wp.blocks.serialize(parsed),
    };
  });
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


def serialise_in_editor(
    browser: Browser, url: str, blocks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    browser.open_editor(f"{url}/wp-admin/post-new.php")
    results: list[dict[str, Any]] = browser.evaluate(f"{SERIALISE_JS}({json.dumps(blocks)})")
    return results


def generate(url: str, user: str, password: str, version: str) -> dict[str, Any]:
    cases = [{"id": case_id, "block": block} for case_id, block in CASES]
    found = corpus_blocks()
    with Browser() as browser:
        browser.login(url, user, password)
        agent = str(browser.evaluate("navigator.userAgent"))
        results = serialise_in_editor(browser, url, [c["block"] for c in cases] + found)
    for entry, result in zip(cases + [{"block": b} for b in found], results, strict=True):
        entry.update(result)
    return {
        "wordpress": version,
        "browser": agent.split(") ")[-1],
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
    parser.add_argument("--version", help="the site's WordPress version (default: env.json's)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    env: dict[str, Any] = {}
    if args.env is not None:
        env = json.loads(args.env.read_text(encoding="utf-8"))
    elif not (args.url and args.user and args.password and args.version):
        env = site_env()
    url = str(args.url or env["url"]).rstrip("/")
    version = str(args.version or env["wp_version"])
    data = generate(url, args.user or env["user"], args.password or env["admin_password"], version)
    out = args.out or corpus.fixture_path(".".join(version.split(".")[:2]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    entries = data["cases"] + data["corpus"]
    bad = [e.get("id", e["block"]["name"]) for e in entries if not e["valid"]]
    changed = [
        e.get("id", e["block"]["name"]) for e in entries if e["reserialized"] != e["serialized"]
    ]
    print(f"{out}: {len(entries)} blocks from WordPress {version} ({data['browser']})")
    if bad or changed:
        print(f"invalid when parsed back: {bad}; changed when parsed back: {changed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
