"""WordPress's text helpers, ported from WordPress 6.1 (wp-includes/formatting.php and friends).

The in-memory WordPress (tests/memwp.py) stores and compares slugs, term names, alt texts and file
names exactly as WordPress does, so the pipeline's matching is tested against the real rules.
Each function names the PHP function it follows and says where it is simplified.
"""

from __future__ import annotations

import html
import re
import unicodedata

MAX_SLUG = 200
# remove_accents(): letters that do not decompose into ASCII plus combining marks.
SPECIAL_LETTERS = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "OE",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "Þ": "TH",
    "ħ": "h",
    "Ħ": "H",
    "ı": "i",
    "ŉ": "n",
    "ŋ": "n",
    "Ŋ": "N",
    "ſ": "s",
    "ĸ": "k",
}
# sanitize_title_with_dashes($context='save'): %-encoded characters dropped or made dashes.
SAVE_DROPPED = [
    "%c2%ad",
    "%c2%a1",
    "%c2%bf",
    "%c2%ab",
    "%c2%bb",
    "%e2%80%b9",
    "%e2%80%ba",
    "%e2%80%98",
    "%e2%80%99",
    "%e2%80%9c",
    "%e2%80%9d",
    "%e2%80%9a",
    "%e2%80%9b",
    "%e2%80%9e",
    "%e2%80%9f",
    "%e2%80%a2",
    "%c2%a9",
    "%c2%ae",
    "%c2%b0",
    "%e2%80%a6",
    "%e2%84%a2",
    "%c2%b4",
    "%cb%8a",
    "%cc%81",
    "%cd%81",
    "%cc%80",
    "%cc%84",
    "%cc%8c",
    "%e2%80%8b",
    "%e2%80%8c",
    "%e2%80%8d",
    "%e2%80%8e",
    "%e2%80%8f",
    "%e2%80%aa",
    "%e2%80%ab",
    "%e2%80%ac",
    "%e2%80%ad",
    "%e2%80%ae",
    "%ef%bb%bf",
    "%ef%bf%bc",
]
SAVE_DASHED = [
    "%c2%a0",
    "%e2%80%93",
    "%e2%80%94",
    "%e2%80%80",
    "%e2%80%81",
    "%e2%80%82",
    "%e2%80%83",
    "%e2%80%84",
    "%e2%80%85",
    "%e2%80%86",
    "%e2%80%87",
    "%e2%80%88",
    "%e2%80%89",
    "%e2%80%8a",
    "%e2%80%a8",
    "%e2%80%a9",
    "%e2%80%af",
]
ENTITY_DASHES = ("&nbsp;", "&#160;", "&ndash;", "&#8211;", "&mdash;", "&#8212;")
# sanitize_file_name(): characters removed from uploaded file names.
FILE_NAME_SPECIALS = set("?[]/\\=<>:;,'\"&$#*()|~`!{}%+’«»”“\x00")


def remove_accents(text: str) -> str:
    """remove_accents(): Latin letters with diacritics become plain ASCII; others stay.

    WordPress uses a fixed table of Latin letters; NFD decomposition gives the same answer for
    those and leaves other scripts alone, as the table does.
    """
    if text.isascii():
        return text
    out = []
    for char in unicodedata.normalize("NFC", text):
        if char in SPECIAL_LETTERS:
            out.append(SPECIAL_LETTERS[char])
            continue
        base = unicodedata.normalize("NFD", char)
        if len(base) > 1 and base[0].isascii() and is_latin(char):
            out.append(base[0])
        else:
            out.append(char)
    return "".join(out)


def is_latin(char: str) -> bool:
    code = ord(char)
    return 0xC0 <= code <= 0x24F or 0x1E00 <= code <= 0x1EFF


def strip_tags(text: str) -> str:
    """PHP's strip_tags(), for the plain text of names and titles."""
    return re.sub(r"<[^>]*>?", "", text)


def sanitize_title(title: str, fallback: str = "") -> str:
    """sanitize_title($title, $fallback, 'save'): what WordPress makes a slug of."""
    slug = sanitize_title_with_dashes(remove_accents(title), save=True)
    return slug or fallback


def sanitize_title_for_query(title: str) -> str:
    """sanitize_title($title, '', 'query'): how WP_Query reads a slug; accents stay."""
    return sanitize_title_with_dashes(title, save=False)


def sanitize_title_with_dashes(title: str, *, save: bool) -> str:
    text = strip_tags(title)
    text = re.sub(r"%([a-fA-F0-9]{2})", r"---\1---", text)
    text = text.replace("%", "")
    text = re.sub(r"---([a-fA-F0-9]{2})---", r"%\1", text)
    text = utf8_uri_encode(text.lower(), MAX_SLUG)
    text = text.lower()
    if save:
        text = _save_context(text)
    text = re.sub(r"&.+?;", "", text)
    text = text.replace(".", "-")
    text = re.sub(r"[^%a-z0-9 _-]", "", text)
    text = re.sub(r"\s+", "-", text)
    text = re.sub(r"-+", "-", text)
    return text.strip("-")


def _save_context(text: str) -> str:
    for encoded in SAVE_DASHED:
        text = text.replace(encoded, "-")
    for entity in ENTITY_DASHES:
        text = text.replace(entity, "-")
    text = text.replace("/", "-")
    for encoded in SAVE_DROPPED:
        text = text.replace(encoded, "")
    return text.replace("%c3%97", "x")


def utf8_uri_encode(text: str, length: int = 0) -> str:
    """utf8_uri_encode(): non-ASCII characters as lower-case %xx octets, cut at ``length``."""
    out: list[str] = []
    used = 0
    for char in text:
        piece = char if char.isascii() else "".join(f"%{b:x}" for b in char.encode("utf-8"))
        if length and used + len(piece) > length:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out)


def truncate_slug(slug: str, length: int) -> str:
    """_truncate_post_slug(): cut to ``length`` bytes without splitting a %xx octet."""
    if len(slug) > length:
        decoded = re.sub(r"%([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), slug)
        if decoded == slug:
            slug = slug[:length]
        else:
            slug = utf8_uri_encode(decoded.encode("latin-1").decode("utf-8", "ignore"), length)
    return slug.rstrip("-")


def sanitize_text_field(text: str) -> str:
    """sanitize_text_field(): one line of plain text, tags and %xx octets removed."""
    filtered = text
    if "<" in filtered:
        filtered = re.sub(r"<(?=[^a-zA-Z/!?])", "&lt;", filtered)
        filtered = strip_tags(re.sub(r"<(script|style)[^>]*?>.*?</\1>", "", filtered, flags=re.S))
    filtered = re.sub(r"[\r\n\t ]+", " ", filtered).strip()
    found = False
    while match := re.search(r"%[a-f0-9]{2}", filtered, flags=re.I):
        filtered = filtered.replace(match.group(0), "")
        found = True
    if found:
        filtered = re.sub(r" +", " ", filtered).strip()
    return filtered


def specialchars(text: str) -> str:
    """_wp_specialchars($text) as the term name filter calls it: no double encoding, no quotes."""
    escaped = re.sub(r"&(?!#?\w+;)", "&amp;", text)
    return escaped.replace("<", "&lt;").replace(">", "&gt;")


def esc_attr(text: str) -> str:
    """esc_attr(): _wp_specialchars() with quotes, no double encoding."""
    escaped = specialchars(text)
    return escaped.replace('"', "&quot;").replace("'", "&#039;")


def sanitize_term_name(name: str) -> str:
    """The pre_term_name filters: sanitize_text_field, kses (no tags left), _wp_specialchars."""
    return specialchars(sanitize_text_field(name))


def sanitize_file_name(name: str) -> str:
    """sanitize_file_name(), simplified: specials removed, whitespace runs made dashes."""
    cleaned = "".join(c for c in name if c not in FILE_NAME_SPECIALS)
    cleaned = cleaned.replace("%20", "-")
    cleaned = re.sub(r"[\r\n\t -]+", "-", cleaned)
    cleaned = cleaned.strip(".-_")
    return cleaned or "unnamed-file"


def texturize_title(title: str) -> str:
    """get_the_title() for display, reduced to what changes plain titles: a bare & is escaped."""
    return re.sub(r"&(?!#?\w+;)", "&#038;", title)


def autop(text: str) -> str:
    """A reduced wpautop(): blank-line paragraphs, single newlines as <br />.

    Not WordPress's full filter chain (the_content also texturizes and runs shortcodes); tests
    compare ``raw`` fields, never ``rendered`` ones.
    """
    if not text.strip():
        return ""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    out = []
    for block in blocks:
        if re.match(r"\s*<(p|div|h[1-6]|ul|ol|li|pre|blockquote|figure|table|hr|!--)", block):
            out.append(block)
        else:
            out.append("<p>" + block.strip().replace("\n", "<br />\n") + "</p>")
    return "\n".join(out) + "\n"


def trim_excerpt(content: str, words: int = 55) -> str:
    """wp_trim_excerpt(): the first 55 words of the text, then " [&hellip;]"."""
    plain = html.unescape(strip_tags(content))
    parts = plain.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]) + " [&hellip;]"
