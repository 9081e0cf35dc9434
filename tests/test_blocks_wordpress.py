"""The block corpus on the real WordPress: its own parser, and its block editor in Chromium.

Every corpus post is rendered to blocks against the real site (its images uploaded first, so the
blocks name real attachment ids; the markup in the dialect its block registry gives) and published
over REST. Then:

- WordPress's PHP ``parse_blocks`` (``tests/blocks/parse_blocks.php``, run with php-cli on the test
  site) finds the blocks the renderer wrote and no classic (freeform) content;
- the block editor, opened on each post in headless Chromium, finds every block (at every depth)
  valid, none of them classic or missing, and every block is what the editor's current ``save``
  writes for its attributes (``wp.blocks.validateBlock`` against the post's own HTML, so that a
  block accepted only through a deprecation fails too); and the editor would save the post back
  byte for byte as it is.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.core.blocks import WORDPRESS_6_1, Block, Node, dialect_of, post_blocks, serialize
from tests.blocks import corpus
from tests.blocks.browser import CHROMIUM, INSTALL_HINT, Browser
from tests.wp_local import LocalWordPress, in_ci, site_env

pytestmark = pytest.mark.wordpress

PARSE_BLOCKS = Path(__file__).parent / "blocks" / "parse_blocks.php"
SLUGS = sorted(corpus.load())

# Runs in the editor page of one post: the editor's own verdict on each of its blocks.
EDITOR_VERDICT_JS = """
(() => {
  const problems = [];
  const visit = (block, path) => {
    const where = `${path} ${block.name}`;
    if (block.name === 'core/freeform' || block.name === 'core/missing') {
      problems.push(`${where}: not a block the editor knows as such`);
    }
    if (!block.isValid) {
      problems.push(`${where}: invalid (${JSON.stringify(block.validationIssues || [])})`);
    }
    const [current] = wp.blocks.validateBlock(block);
    if (!current) {
      problems.push(`${where}: not what the current save writes: ` +
        `${JSON.stringify(wp.blocks.getSaveContent(block.name, block.attributes))} ` +
        `vs ${JSON.stringify(block.originalContent)}`);
    }
    block.innerBlocks.forEach((inner, index) => visit(inner, `${path}.${index}`));
  };
  const blocks = wp.data.select('core/block-editor').getBlocks();
  blocks.forEach((block, index) => visit(block, String(index)));
  return {
    problems,
    names: blocks.map(function tree(block) { return [block.name, block.innerBlocks.map(tree)]; }),
    serialized: wp.blocks.serialize(blocks),
  };
})()
"""


@dataclass(frozen=True)
class Published:
    id: int
    nodes: list[Node]
    content: str


@pytest.fixture(scope="module")
def published(wordpress_site: LocalWordPress) -> dict[str, Published]:
    """The corpus on the emptied site: images uploaded, every post rendered and published."""
    wordpress_site.reset()
    posts = corpus.load()
    with httpx.Client(base_url=f"{wordpress_site.url}/wp-json", auth=wordpress_site.auth) as api:
        media = {path: upload(api, path) for path in corpus.images(posts)}
        site = corpus.site(posts, wordpress_site.url, media)
        dialect = dialect_of(api.get("/wp/v2/block-types", timeout=30).raise_for_status().json())
        assert dialect == WORDPRESS_6_1, "the tests' site is Debian 12's WordPress 6.1"
        found = {}
        for slug, post in posts.items():
            nodes = post_blocks(post, site)[0]
            content = serialize(nodes, dialect)
            answer = api.post(
                "/wp/v2/posts",
                json={"title": post.title, "slug": slug, "status": "publish", "content": content},
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            found[slug] = Published(int(answer.json()["id"]), nodes, content)
    return found


def upload(api: httpx.Client, path: Path) -> tuple[int, str]:
    answer = api.post(
        "/wp/v2/media",
        content=path.read_bytes(),
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": f'attachment; filename="{path.name}"',
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"]), str(answer.json()["source_url"])


def test_wordpress_keeps_the_content_as_sent(
    wordpress_site: LocalWordPress, published: dict[str, Published]
) -> None:
    with httpx.Client(base_url=f"{wordpress_site.url}/wp-json", auth=wordpress_site.auth) as api:
        for slug, post in published.items():
            answer = api.get(f"/wp/v2/posts/{post.id}", params={"context": "edit"}, timeout=30)
            assert answer.json()["content"]["raw"] == post.content, slug


# --- WordPress's PHP parser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def parsed(published: dict[str, Published]) -> dict[str, list[dict[str, Any]]]:
    """``parse_blocks`` of every published post, by slug."""
    env = site_env()
    done = subprocess.run(
        ["php", str(PARSE_BLOCKS), *(str(post.id) for post in published.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "WP_HOSTPORT": str(env["url"]).removeprefix("http://"),
            "WORDPRESS_CONFIG": Path(env["wp_config"]).stem.removeprefix("config-"),
        },
    )
    assert done.returncode == 0, done.stderr
    by_id = json.loads(done.stdout)
    return {slug: by_id[str(post.id)] for slug, post in published.items()}


DELIMITER = re.compile(
    r"<!--\s+(?P<closer>/)?wp:(?P<name>(?:[a-z][a-z0-9_-]*/)?[a-z][a-z0-9_-]*)"
    r"\s+(?:\{(?:(?!\}\s+/?-->).)*?\}\s+)?(?P<void>/)?-->",
    re.DOTALL,
)


def expected_tree(nodes: list[Node]) -> list[Any]:
    """[name, [inner...]] for each block, as the parser should find them."""
    tree: list[Any] = []
    for node in nodes:
        if isinstance(node, Block):
            tree.append([node.name, expected_tree(list(node.inner))])
        else:  # markup kept verbatim: its own delimiters say which blocks it holds
            tree.extend(markup_tree(node.markup))
    return tree


def markup_tree(markup: str) -> list[Any]:
    root: list[Any] = []
    stack = [root]
    for match in DELIMITER.finditer(markup):
        name = match["name"] if "/" in match["name"] else "core/" + match["name"]
        if match["closer"]:
            stack.pop()
        else:
            entry: list[Any] = [name, []]
            stack[-1].append(entry)
            if not match["void"]:
                stack.append(entry[1])
    return root


def parsed_tree(blocks: list[dict[str, Any]], slug: str) -> list[Any]:
    tree: list[Any] = []
    for block in blocks:
        if block["name"] is None:
            assert not block["html"].strip(), f"{slug}: classic content {block['html']!r}"
            continue
        tree.append([block["name"], parsed_tree(block["inner"], slug)])
    return tree


@pytest.mark.parametrize("slug", SLUGS)
def test_wordpress_parses_the_blocks_written(
    slug: str, published: dict[str, Published], parsed: dict[str, list[dict[str, Any]]]
) -> None:
    assert parsed_tree(parsed[slug], slug) == expected_tree(published[slug].nodes)


# --- the block editor ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def editor(wordpress_site: LocalWordPress) -> Iterator[Browser]:
    """Headless Chromium logged in to wp-admin as the site's administrator."""
    if not CHROMIUM.exists():
        if in_ci():
            pytest.fail(f"{CHROMIUM} is required in CI: {INSTALL_HINT}", pytrace=False)
        pytest.skip(f"{CHROMIUM} is missing: {INSTALL_HINT}")
    with Browser() as browser:
        browser.login(wordpress_site.url, wordpress_site.user, str(site_env()["admin_password"]))
        yield browser


@pytest.mark.parametrize("slug", SLUGS)
def test_the_block_editor_finds_every_block_valid_and_current(
    slug: str, wordpress_site: LocalWordPress, published: dict[str, Published], editor: Browser
) -> None:
    post = published[slug]
    editor.open_editor(f"{wordpress_site.url}/wp-admin/post.php?post={post.id}&action=edit")
    editor.wait_for(
        f"wp.data.select('core/editor').getCurrentPostId() === {post.id}"
        " && wp.data.select('core/block-editor').getBlocks().length > 0"
    )
    verdict = editor.evaluate(EDITOR_VERDICT_JS)
    assert verdict["problems"] == []
    assert verdict["names"] == expected_tree(post.nodes)
    assert verdict["serialized"] == post.content


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (  # the image block before WordPress 6.1: accepted through a deprecation, then rewritten
            '<!-- wp:image {"sizeSlug":"large"} -->\n<figure class="wp-block-image size-large">'
            '<img src="https://example.com/a.png" alt=""/><figcaption>Old caption</figcaption>'
            "</figure>\n<!-- /wp:image -->",
            "0 core/image: not what the current save writes",
        ),
        ("<p>Classic <em>HTML</em>.</p>", "0 core/freeform: not a block the editor knows"),
        ('<!-- wp:spacer {"height":"20px"} /-->', "0 core/spacer: invalid"),
    ],
)
def test_the_editor_checks_catch_old_invalid_and_classic_content(
    content: str, problem: str, wordpress_site: LocalWordPress, editor: Browser
) -> None:
    """The verdict above is not vacuous: it fails the content the issue says must fail."""
    with httpx.Client(base_url=f"{wordpress_site.url}/wp-json", auth=wordpress_site.auth) as api:
        answer = api.post("/wp/v2/posts", json={"title": "Bad", "content": content}, timeout=30)
    assert answer.status_code == 201, answer.text
    post_id = int(answer.json()["id"])
    editor.open_editor(f"{wordpress_site.url}/wp-admin/post.php?post={post_id}&action=edit")
    editor.wait_for(
        f"wp.data.select('core/editor').getCurrentPostId() === {post_id}"
        " && wp.data.select('core/block-editor').getBlocks().length > 0"
    )
    problems = editor.evaluate(EDITOR_VERDICT_JS)["problems"]
    assert any(found.startswith(problem) for found in problems), problems
