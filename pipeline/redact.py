"""The one redactor: every credential, in every encoding it can travel in, masked in every sink.

Built from the credentials (and the tokens of a login), a :class:`Redactor` is a function from
text to text. The CLI's output streams, its log handler (:mod:`pipeline.redactlog`), the job
log (``Store.log``), the error messages of the HTTP clients and ``--json`` output all go
through one, so a secret that a server echoes back (a proxy or a debugging plugin printing the
request's headers) is masked before anything shows or stores it — and before any message is cut
short, so that half a secret never survives a cut.

The rule, and why:

- A credential of at least ``MIN_SECRET_LENGTH`` (8) characters is masked. Shorter ones are
  never masked — they would garble ordinary words where they happen to appear (a password
  ``post`` would turn "post" into ``********`` everywhere) — and ``pipeline check`` warns about
  each one: such a credential cannot be kept out of output, and should be replaced.
- One of ``WHOLE_TOKEN_BELOW`` (12) or more characters is masked wherever it appears. A shorter
  one (8 to 11) only as a whole token: not glued to a letter or digit on either side (an escape
  such as ``%3A`` or ``\\n`` just before it counts as a separator).
- The encodings masked, each of the secret and of ``user:secret`` (HTTP Basic auth): as is;
  without its spaces (WordPress application passwords are shown in groups of four); base64
  (standard and URL-safe, with or without padding, and inside a longer base64 text at any
  alignment); percent-encoded (``quote``, ``quote_plus``, RFC 3986 as OAuth 1.0a signs header
  parameters, upper- and lower-case hex, and encoded twice as in a signature base string);
  JSON-escaped (ASCII or not, and with ``\\/`` as PHP writes it); HTML-escaped.
"""

from __future__ import annotations

import binascii
import functools
import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import msgspec

if TYPE_CHECKING:
    from pipeline.config import Credentials

MASK = "********"
MIN_SECRET_LENGTH = 8
WHOLE_TOKEN_BELOW = 12
ANCHOR_CHARS = 4
# Before a short secret: not a letter or digit, unless it is the end of an escape (%3A, \n, \u00e9).
_BEFORE = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrtbf])|(?<=\\u[0-9A-Fa-f]{4}))"
_AFTER = r"(?![A-Za-z0-9])"


class Redactor:
    """Masks the secrets it was built from: ``redactor(text)``, ``redactor.json(value)``."""

    def __init__(self, secrets: Iterable[str] = (), *, pairs: Iterable[tuple[str, str]] = ()):
        """``secrets``: credential values; ``pairs``: (user, secret) sent as HTTP Basic auth."""
        given = {s for s in secrets if s}
        self._pairs = frozenset((user, secret) for user, secret in pairs if user and secret)
        given |= {secret for _, secret in self._pairs}
        self.secrets = frozenset(given)
        self.too_short = frozenset(s for s in given if len(s.strip()) < MIN_SECRET_LENGTH)

    @functools.cached_property
    def _compiled(self) -> tuple[re.Pattern[str] | None, tuple[str, ...] | None]:
        return _compile(self.secrets - self.too_short, self._pairs)

    @classmethod
    def of(cls, credentials: Credentials, tokens: Iterable[str] = ()) -> Redactor:
        """The redactor for a workspace's credentials, and any tokens a login keeps."""
        wordpress = credentials.wordpress
        pairs = []
        if wordpress.user and wordpress.app_password is not None:
            pairs.append((wordpress.user, wordpress.app_password.reveal()))
        return cls([*credentials.secrets(), *tokens], pairs=pairs)

    def adding(self, secrets: Iterable[str]) -> Redactor:
        """A redactor for these secrets as well (a token obtained while running)."""
        return Redactor([*self.secrets, *secrets], pairs=self._pairs)

    def __call__(self, text: str) -> str:
        pattern, anchors = self._compiled
        if pattern is None or not text:
            return text
        if anchors is not None and not any(anchor in text for anchor in anchors):
            return text  # the fast path: no form of any secret can be in it
        return pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._compiled[0] is not None

    def cut(self, text: str, limit: int) -> str:
        """``text`` masked, then cut to ``limit`` characters (never the other way round)."""
        return cut(self(text), limit)

    def json(self, value: Any) -> str:
        """``value`` as one line of JSON with no secret in it, however JSON escapes it."""
        return self._json_of(value, _json_line(value))

    def json_lines(self, values: Iterable[Any]) -> list[str]:
        """Each value as :meth:`json` writes it, looked at once for them all (a line of JSON
        holds no newline, and none is part of any form of a secret). The values hold no float:
        they are written by msgspec, which writes every other JSON-able value as json does
        (five times faster) but floats its own way (``1e16``, not ``1e+16``)."""
        given = list(values)
        lines = [_plain_json_line(value) for value in given]
        joined = "\n".join(lines)
        if self(joined) == joined:
            return lines
        return [self._json_of(value, line) for value, line in zip(given, lines, strict=True)]

    def _json_of(self, value: Any, line: str) -> str:
        """``line`` (``value`` as JSON) if it holds no secret, else ``value`` written scrubbed."""
        if self(line) == line:
            return line  # the fast path: nothing to mask
        return self(_json_line(self.scrub(value)))

    def scrub(self, value: Any) -> Any:
        """Every string inside a JSON-able value masked (keys too)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self.scrub(key): self.scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(item) for item in value]
        return value


# A command makes several redactors of the same secrets (those of the environment, then with the
# credentials file's, then a login's tokens): each set's patterns are compiled once.
@functools.lru_cache(maxsize=16)
def _compile(
    secrets: frozenset[str], pairs: frozenset[tuple[str, str]]
) -> tuple[re.Pattern[str] | None, tuple[str, ...] | None]:
    """The pattern of every form, and anchors: a piece of each form (its longest run of letters
    and digits, which no encoding here changes) to look for before running the pattern, each
    with ``in`` (a substring search is some three times faster than a pattern of them all over
    a long listing). None when some form has no piece long enough to be worth it."""
    anywhere: set[str] = set()
    whole: set[str] = set()
    for secret in secrets:
        plain = {secret, secret.strip(), "".join(secret.split())}
        for value in plain:
            if len(value) < MIN_SECRET_LENGTH:
                continue
            target = anywhere if len(value) >= WHOLE_TOKEN_BELOW else whole
            target.update(_escaped(_percent(value)))
            anywhere.update(_escaped(_base64(value)))
    for user, secret in pairs:
        if len(secret.strip()) >= MIN_SECRET_LENGTH:
            anywhere.update(_escaped(_base64(f"{user}:{secret}")))
    whole -= anywhere
    if not anywhere and not whole:
        return None, None
    branches = [re.escape(form) for form in sorted(anywhere, key=len, reverse=True)]
    if whole:
        inner = "|".join(re.escape(form) for form in sorted(whole, key=len, reverse=True))
        branches.append(f"{_BEFORE}(?:{inner}){_AFTER}")
    runs = {max(re.findall(r"[A-Za-z0-9]+", form) or [""], key=len) for form in anywhere | whole}
    if not all(len(run) >= ANCHOR_CHARS for run in runs):
        return re.compile("|".join(branches)), None
    # A text that holds a run holds every run inside it: looking for those is enough.
    needed = {run for run in runs if not any(other in run for other in runs - {run})}
    return re.compile("|".join(branches)), tuple(sorted(needed))


def _percent(value: str) -> Iterator[str]:
    yield value
    for encoded in (quote(value, safe=""), quote(value), quote_plus(value)):
        yield encoded
        yield re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)
    yield quote(quote(value, safe=""), safe="")  # OAuth 1.0a's signature base string


def _base64(value: str) -> Iterator[str]:
    """The base64 of ``value`` on its own, and the part of it that is the same whatever comes
    before and after it in a longer text (three alignments)."""
    raw = value.encode()
    for urlsafe in (False, True):
        whole = _b64(raw, urlsafe)
        yield whole
        yield whole.rstrip("=")
        for shift in range(3):
            encoded = _b64(b"\0" * shift + raw, urlsafe)
            first = -(-8 * shift // 6)  # the first character made of value's bits only
            last = 8 * (shift + len(raw)) // 6  # one past the last such character
            if last - first >= MIN_SECRET_LENGTH:
                yield encoded[first:last]


# base64.b64encode and urlsafe_b64encode are these (binascii is loaded anyway; base64 is not).
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(raw: bytes, urlsafe: bool) -> str:
    encoded = binascii.b2a_base64(raw, newline=False)
    return (encoded.translate(_URLSAFE) if urlsafe else encoded).decode("ascii")


# html.escape(text) is this table (the html module and its entities cost more to load than
# every other form here to make).
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _escaped(forms: Iterable[str]) -> set[str]:
    """Each form as it is, and as JSON, PHP's JSON and HTML write it."""
    found: set[str] = set()
    for form in forms:
        found.add(form)
        found.add(json.dumps(form)[1:-1])
        found.add(json.dumps(form, ensure_ascii=False)[1:-1])
        found.add(json.dumps(form)[1:-1].replace("/", "\\/"))
        found.add(form.translate(_HTML))
    return {form for form in found if len(form) >= MIN_SECRET_LENGTH}


NO_SECRETS = Redactor()


def cut(masked: str, limit: int) -> str:
    """Text already masked, cut to ``limit`` characters."""
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


# json.dumps(value, ensure_ascii=False), with one encoder for every line (dumps makes a new one
# for each call given an argument: a tenth of the time of a status row's line).
_JSON_LINE = json.JSONEncoder(ensure_ascii=False)


def _json_line(value: Any) -> str:
    return _JSON_LINE.encode(value)


_MSGSPEC_JSON = msgspec.json.Encoder()


def _plain_json_line(value: Any) -> str:
    """``_json_line(value)`` for a value without floats: msgspec's compact JSON, spaced as json
    spaces it (", " and ": "); json writes what msgspec cannot (a lone surrogate)."""
    try:
        return msgspec.json.format(_MSGSPEC_JSON.encode(value), indent=0).decode()
    except (TypeError, ValueError, OverflowError):  # UnicodeEncodeError is a ValueError
        return _json_line(value)
