"""An HTML fragment as a browser reads it and writes it back (``element.innerHTML``).

The block editor reads a block's HTML through the browser's parser and compares what its ``save``
function writes from the result with what the post holds. HTML a browser would restructure (a
``<div>`` inside a ``<p>``, an unclosed ``<span>``) therefore makes an invalid block, and HTML it
would only respell (``<br/>``, single quotes) makes a block the editor rewrites on the first save.
Writing HTML the way the browser would, after parsing it as the browser does (WHATWG HTML, here by
``justhtml``), avoids both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # justhtml is imported on first use: `pipeline check` never parses HTML
    from justhtml.dom import Node

# The HTML standard's serialisation of fragments ("serializing HTML fragments").
_VOID = frozenset(
    {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img", "input",
     "keygen", "link", "meta", "param", "source", "track", "wbr"}
)  # fmt: skip
_RAW_TEXT = frozenset(
    {"style", "script", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript"}
)


def parse_fragment(html: str) -> list[Node]:
    """The nodes a browser makes of ``html`` set as the ``innerHTML`` of a ``<div>``."""
    from justhtml import JustHTML

    return list(JustHTML(html, fragment=True, sanitize=False).root.children or [])


def normal_html(html: str) -> str:
    """``html`` as a browser writes it back after reading it."""
    return serialize_nodes(parse_fragment(html))


def serialize_nodes(nodes: list[Node], parent: str = "") -> str:
    return "".join(_serialize(node, parent) for node in nodes)


def _serialize(node: Node, parent: str) -> str:
    from justhtml.dom import Comment, Element, Text

    if isinstance(node, Text):
        data = node.data or ""
        return data if parent in _RAW_TEXT else escape_text(data)
    if isinstance(node, Comment):
        return f"<!--{node.data or ''}-->"
    if not isinstance(node, Element):
        return ""  # no doctype or processing instruction survives a fragment parse
    name = node.name
    attrs = "".join(
        f' {key}="{escape_attribute(value or "")}"' for key, value in node.attrs.items()
    )
    if name in _VOID and node.namespace == "html":
        return f"<{name}{attrs}>"
    content = node.template_content if name == "template" else None
    children = (content.children if content is not None else node.children) or []
    return f"<{name}{attrs}>{serialize_nodes(list(children), name)}</{name}>"


def escape_text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("\xa0", "&nbsp;")
    return value.replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(value: str) -> str:
    return escape_text(value).replace('"', "&quot;")
