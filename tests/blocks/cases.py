"""Every block and attribute combination the block renderer writes, with awkward content.

``generate_fixtures`` asks the block editor to serialise each of these (and every block the renderer
makes of the corpus); ``test_blocks`` checks that ``pipeline.core.blocks.serialize`` writes the same
bytes. A case is ``(id, block)``, the block as ``wp.blocks.createBlock`` takes it.
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, dict[str, Any]]


def block(
    name: str, attributes: dict[str, Any] | None = None, *inner: dict[str, Any]
) -> dict[str, Any]:
    return {"name": name, "attributes": attributes or {}, "innerBlocks": list(inner)}


def item(content: str, *inner: dict[str, Any]) -> dict[str, Any]:
    return block("core/list-item", {"content": content}, *inner)


def cell(content: str, tag: str = "td", align: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"content": content, "tag": tag}
    if align is not None:
        found["align"] = align
    return found


RICH = (
    "a <em>b</em> <strong>c <em>d</em></strong> <s>e</s> <code>f &lt; g &amp;&amp; h &gt; i</code>"
    ' <a href="https://example.com/?a=1&amp;b=2#x" title="t &lt;x&gt; &quot;q&quot; -- \'s\'">l</a>'
    "<br>j &amp; \"k\" 'l' &nbsp;m <kbd>Ctrl</kbd>+<kbd>C</kbd> <sup>2</sup>"
    ' <img src="https://example.com/i.png?a=1&amp;b=2" alt="an &quot;image&quot;"> é 日本 🎉'
    ' <!-- note --> <span class="x" data-y="&lt;z&gt;">s</span>'
)

IMAGE_URL = "https://blog.example/wp-content/uploads/2026/12/photo.png"

CASES: tuple[Case, ...] = (
    ("paragraph", block("core/paragraph", {"content": "Hello"})),
    ("paragraph-rich", block("core/paragraph", {"content": RICH})),
    ("paragraph-dashes", block("core/paragraph", {"content": "a -- b --&gt; c &lt;!-- d"})),
    *(
        (
            f"heading-{level}",
            block("core/heading", {"content": f"Level <em>{level}</em>", "level": level}),
        )
        for level in range(1, 7)
    ),
    ("list", block("core/list", {}, item("one"), item("two <strong>2</strong>"))),
    ("list-ordered", block("core/list", {"ordered": True}, item("one"), item("two"))),
    ("list-start-3", block("core/list", {"ordered": True, "start": 3}, item("three"))),
    ("list-start-0", block("core/list", {"ordered": True, "start": 0}, item("zero"))),
    (
        "list-nested",
        block(
            "core/list",
            {},
            item(
                "outer",
                block(
                    "core/list",
                    {"ordered": True, "start": 2},
                    item("inner", block("core/list", {}, item("deepest"))),
                ),
            ),
            item("", block("core/list", {}, item("under an empty item"))),
            item(""),
        ),
    ),
    ("quote", block("core/quote", {}, block("core/paragraph", {"content": "Said."}))),
    (
        "quote-nested",
        block(
            "core/quote",
            {},
            block("core/heading", {"content": "H", "level": 3}),
            block("core/quote", {}, block("core/paragraph", {"content": "inner"})),
            block("core/list", {}, item("a")),
            block("core/code", {"content": "x = 1"}),
        ),
    ),
    ("code", block("core/code", {"content": "plain"})),
    (
        "code-language",
        block(
            "core/code",
            {
                "content": (
                    'if a &lt; b &amp;&amp; c[0] &gt; 1:\n\tprint("[x]")\n'
                    "  https://example.com/a\nhttps://example.com/b\n&lt;!-- --&gt;"
                ),
                "className": "language-python",
            },
        ),
    ),
    ("code-language-odd", block("core/code", {"content": "x", "className": "language-c++"})),
    (
        "preformatted",
        block("core/preformatted", {"content": "  two  spaces\n&lt;tag&gt; &amp; [x]\n\ttab"}),
    ),
    (
        "table",
        block(
            "core/table",
            {
                "head": [
                    {
                        "cells": [
                            cell("A", "th"),
                            cell("<em>B</em>", "th", "left"),
                            cell("C", "th", "center"),
                            cell("D", "th", "right"),
                        ]
                    }
                ],
                "body": [
                    {
                        "cells": [
                            cell("1"),
                            cell("2", align="left"),
                            cell("3", align="center"),
                            cell("", align="right"),
                        ]
                    },
                    {"cells": [cell("<code>a|b</code>"), cell("&amp;"), cell("x<br>y"), cell("z")]},
                ],
            },
        ),
    ),
    ("table-body-only", block("core/table", {"body": [{"cells": [cell("x"), cell("y")]}]})),
    ("table-head-only", block("core/table", {"head": [{"cells": [cell("x", "th")]}]})),
    ("separator", block("core/separator")),
    (
        "image-remote",
        block(
            "core/image",
            {"url": "https://example.com/a.png?x=1&y=2", "alt": "", "linkDestination": "none"},
        ),
    ),
    (
        "image-upload",
        block(
            "core/image",
            {
                "id": 42,
                "url": IMAGE_URL,
                "alt": 'A "photo" & more',
                "sizeSlug": "full",
                "linkDestination": "none",
            },
        ),
    ),
    (
        "image-caption",
        block(
            "core/image",
            {
                "id": 43,
                "url": IMAGE_URL,
                "alt": "x",
                "caption": "Cap &amp; <em>tion</em> &lt;3",
                "sizeSlug": "full",
                "linkDestination": "none",
            },
        ),
    ),
    (
        "image-link",
        block(
            "core/image",
            {
                "id": 44,
                "url": IMAGE_URL,
                "alt": "x",
                "caption": "c",
                "href": "https://example.com/?a=1&b=2",
                "sizeSlug": "full",
                "linkDestination": "custom",
            },
        ),
    ),
    (
        "image-link-remote",
        block(
            "core/image",
            {
                "url": "https://example.com/a.png",
                "alt": "y",
                "href": "https://example.com/",
                "linkDestination": "custom",
            },
        ),
    ),
    (
        "gallery",
        block(
            "core/gallery",
            {"linkTo": "none"},
            block(
                "core/image",
                {
                    "id": 45,
                    "url": IMAGE_URL,
                    "alt": "one",
                    "sizeSlug": "full",
                    "linkDestination": "none",
                },
            ),
            block(
                "core/image",
                {
                    "id": 46,
                    "url": IMAGE_URL,
                    "alt": "two",
                    "caption": "second",
                    "href": "https://example.com/",
                    "sizeSlug": "full",
                    "linkDestination": "custom",
                },
            ),
            block(
                "core/image",
                {"url": "https://example.com/b.png", "alt": "", "linkDestination": "none"},
            ),
        ),
    ),
    (
        "embed-youtube",
        block(
            "core/embed",
            {
                "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
                "type": "video",
                "providerNameSlug": "youtube",
                "responsive": True,
                "className": "wp-embed-aspect-16-9 wp-has-aspect-ratio",
            },
        ),
    ),
    (
        "embed-youtu-be",
        block(
            "core/embed",
            {
                "url": "https://youtu.be/dQw4w9WgXcQ",
                "type": "video",
                "providerNameSlug": "youtube",
                "responsive": True,
                "className": "wp-embed-aspect-16-9 wp-has-aspect-ratio",
            },
        ),
    ),
    (
        "embed-vimeo",
        block(
            "core/embed",
            {
                "url": "https://vimeo.com/76979871",
                "type": "video",
                "providerNameSlug": "vimeo",
                "responsive": True,
                "className": "wp-embed-aspect-16-9 wp-has-aspect-ratio",
            },
        ),
    ),
    (
        "embed-twitter",
        block(
            "core/embed",
            {
                "url": "https://twitter.com/WordPress/status/1856736309605249213",
                "type": "rich",
                "providerNameSlug": "twitter",
                "responsive": True,
            },
        ),
    ),
    (
        "html",
        block(
            "core/html", {"content": '<div class="box">\n  <p>raw &amp; <b>bold</b></p>\n</div>'}
        ),
    ),
    ("html-comment", block("core/html", {"content": "<!-- series -->"})),
    ("more", block("core/more")),
)
