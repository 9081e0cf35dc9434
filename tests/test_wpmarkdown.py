"""WordPress content to Markdown: the round trip over the import corpus, and the forms it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.wpmarkdown import to_markdown
from tests.import_roundtrip import CORPUS, corpus, rendered, seen


def test_the_corpus_is_big_and_varied() -> None:
    names = [path.name for path in corpus()]
    assert len(names) >= 20
    assert sum("classic" in name for name in names) >= 5
    assert sum("blocks" in name for name in names) >= 10


@pytest.mark.parametrize("path", corpus(), ids=lambda path: path.stem)
def test_rendering_the_import_shows_the_original_text_and_images(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    markdown = to_markdown(original)

    got, want = seen(rendered(markdown)), seen(original)
    assert got.text == want.text
    assert got.images == want.images
    assert got.elements == want.elements


def test_a_captioned_image_becomes_our_figure_form() -> None:
    content = (
        '[caption id="attachment_41" align="alignnone" width="840"]<img class="size-large '
        'wp-image-41" src="http://blog.example.com/a.jpg" alt="Miguel" width="840" height="473" />'
        " Miguel (left) Heintz (right)[/caption]"
    )
    markdown = to_markdown(content)

    assert markdown == '![Miguel](http://blog.example.com/a.jpg "Miguel (left) Heintz (right)")\n'
    assert "<figcaption>Miguel (left) Heintz (right)</figcaption>" in rendered(markdown)


def test_code_keeps_its_language_from_block_class_or_shortcode() -> None:
    block = (
        '<!-- wp:code -->\n<pre class="wp-block-code"><code lang="rust" class="language-rust">'
        "fn main() {}</code></pre>\n<!-- /wp:code -->"
    )
    assert to_markdown(block) == "```rust\nfn main() {}\n```\n"
    assert to_markdown('[code language="python"]\nx = 1 < 2\n[/code]') == (
        "```python\nx = 1 < 2\n```\n"
    )


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        (
            '<p><img class="alignleft wp-image-5" src="http://x/a.jpg" alt="a" /> text</p>',
            '<img class="alignleft wp-image-5" src="http://x/a.jpg" alt="a"/>',
        ),
        (
            '<p><a href="https://example.org/" target="_blank" rel="noopener">new tab</a></p>',
            '<a href="https://example.org/" target="_blank" rel="noopener">new tab</a>',
        ),
        (
            '<!-- wp:paragraph {"align":"center"} -->\n<p class="has-text-align-center">c</p>\n'
            "<!-- /wp:paragraph -->",
            '<!-- wp:paragraph {"align":"center"} -->\n<p class="has-text-align-center">c</p>',
        ),
        ("<!-- wp:latest-posts /-->", "<!-- wp:latest-posts /-->"),
    ],
)
def test_what_markdown_cannot_say_is_kept_as_html(content: str, kept: str) -> None:
    assert kept in to_markdown(content)


def test_a_shortcode_alone_on_its_line_goes_out_verbatim() -> None:
    html = rendered(to_markdown('Before.\n\n[gallery ids="1,2" link="file"]\n\nAfter.'))
    assert '[gallery ids="1,2" link="file"]' in html  # not &quot;, which WordPress cannot read


def test_nothing_of_a_block_inside_a_layout_block_is_lost() -> None:
    columns = (CORPUS / "19-blocks-layout.html").read_text(encoding="utf-8")
    markdown = to_markdown(columns)
    for delimiter in ("<!-- wp:columns -->", "<!-- wp:column -->", "<!-- /wp:group -->"):
        assert delimiter in markdown
