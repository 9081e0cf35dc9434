"""WordPress content to Markdown: the round trip over the import corpus, and the forms it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.wpmarkdown import to_markdown
from tests.import_roundtrip import corpus, rendered, seen


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
