"""Results of pure, slow functions (parsing a body, rendering a post), remembered by what they
were computed from, so that a new process need not parse 2,000 unchanged posts again.

Pure: a :class:`Memo` is a dictionary of namespaces. The edge (:mod:`pipeline.memofile`) fills
it from the state folder when a namespace is first asked for, and writes back what was added.
Values are plain JSON (str, int, None, lists, dicts), so a saved memo is data, never code.

A rendered post depends on more than its own text: on the permalinks of the posts it links, its
series, the uploaded media. :class:`Reads` records exactly what a render looked up in the
:class:`~pipeline.core.render.Site`; a remembered render is used only when every one of those
lookups gives the same answer now (as a build tool checks the inputs a step actually read).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from msgspec import Struct
from msgspec.structs import astuple

Loader = Callable[[str], dict[str, Any]]
WHOLE = "*"  # the key of a read of a whole mapping (iterated, measured)


class Memo:
    """Namespaces of remembered values; ``loader`` fills a namespace on first use."""

    def __init__(self, loader: Loader | None = None) -> None:
        self.loader = loader
        self._spaces: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()
        self.started = 0  # counts the starts (use): what callers learned of one is for it only

    def space(self, name: str) -> dict[str, Any]:
        found = self._spaces.get(name)
        if found is None:
            found = self._spaces[name] = self.loader(name) if self.loader is not None else {}
        return found

    def get(self, name: str, key: str) -> Any:
        return self.space(name).get(key)

    def remembered(self, name: str, key: str, compute: Callable[[], Any]) -> Any:
        """The value remembered under ``key``, or else ``compute()``'s, remembered from now on."""
        found = self.get(name, key)
        if found is None:
            found = compute()
            self.put(name, key, found)
        return found

    def put(self, name: str, key: str, value: Any) -> None:
        self.space(name)[key] = value
        self.changed.add(name)

    def keep(self, name: str, keys: Collection[str]) -> None:
        """Only ``keys`` of namespace ``name`` from now on: the rest is stale (a file gone, or
        what a file held before it was edited), and would be read by every command."""
        space = self.space(name)
        stale = [key for key in space if key not in keys]
        for key in stale:
            del space[key]
        if stale:
            self.changed.add(name)

    def use(self, loader: Loader | None) -> None:
        """Start again from ``loader`` (another state folder, or none): nothing is kept."""
        self.loader = loader
        self._spaces.clear()
        self.changed.clear()
        self.started += 1
        for kept in (_PLAIN, _ANSWERS, _WHOLE_DIGESTS):
            kept.clear()

    def loaded(self) -> dict[str, dict[str, Any]]:
        return self._spaces


# The process's memo: like render's cache of parsed bodies, shared by every caller.
MEMO = Memo()


def digest(*parts: str) -> str:
    """A key of ``parts``: the SHA-256 of them, each followed by a NUL, hashed as one text (half
    the time of feeding the hash part by part: a listing asks it of every post)."""
    joined = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined + b"\0").hexdigest()[:32]


def plain(value: object) -> object:
    """``value`` as JSON data, so that a read can be compared with one saved by another process."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    known = _PLAIN.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    result, frozen = _plain(value)
    if frozen:  # cannot change: its plain form is asked again by every render that reads it
        if len(_PLAIN) > _PLAIN_MAX:
            _PLAIN.clear()
        _PLAIN[id(value)] = (value, result)
    return result


def answer(value: object) -> object:
    """What a read records of ``value``: its plain form, or for a list or mapping (a series' 50
    parts, read by every render of each part) a digest of it, which is all a comparison needs."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    known = _ANSWERS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    shown = plain(value)
    if isinstance(shown, list):
        shown = _DIGEST + digest(json.dumps(shown))
    if id(value) in _PLAIN:  # cannot change: remembered as its plain form is
        if len(_ANSWERS) > _PLAIN_MAX:
            _ANSWERS.clear()
        _ANSWERS[id(value)] = (value, shown)
    return shown


_DIGEST = "\0digest:"
_ANSWERS: dict[int, tuple[object, object]] = {}


# The plain forms of values that cannot change (a series' parts: frozen structs in a tuple),
# by identity; each entry holds its value, so the identity is not reused while it is kept.
_PLAIN: dict[int, tuple[object, object]] = {}
_PLAIN_MAX = 4096


def _plain(value: object) -> tuple[object, bool]:
    """``value``'s plain form, and whether ``value`` is immutable all the way down."""
    if value is None or isinstance(value, str | int | float | bool):
        return value, True
    if isinstance(value, Path):
        return str(value), True
    if isinstance(value, Struct):
        parts = [_plain(part) for part in astuple(value)]
        frozen = value.__struct_config__.frozen
        return [part for part, _ in parts], frozen and all(fixed for _, fixed in parts)
    if isinstance(value, tuple | list):
        parts = [_plain(item) for item in value]
        frozen = isinstance(value, tuple) and all(fixed for _, fixed in parts)
        return [part for part, _ in parts], frozen
    if isinstance(value, Mapping):
        pairs = [[plain(key), plain(item)] for key, item in value.items()]
        return sorted(pairs), False
    return repr(value), False


_MISSING = object()
# A whole mapping read is compared by a digest of it, computed once per mapping object: a plan
# builds its views of the site once and renders every post against them. Only the media maps
# are read whole (the block renderer finds attachment ids by URL), and they are not changed
# once a view of the site is made.
_WHOLE_DIGESTS: dict[int, tuple[Mapping[Any, Any], str]] = {}


def whole_digest(mapping: Mapping[Any, Any]) -> str:
    known = _WHOLE_DIGESTS.get(id(mapping))
    if known is not None and known[0] is mapping:
        return known[1]
    if len(_WHOLE_DIGESTS) > 64:
        _WHOLE_DIGESTS.clear()
    value = digest(json.dumps(plain(mapping)))
    _WHOLE_DIGESTS[id(mapping)] = (mapping, value)
    return value


class Reads(Mapping[Any, Any]):
    """A read-only view of ``mapping`` that records each lookup in ``log`` as
    ``[name, key, answer]`` (the whole mapping's digest when it is iterated)."""

    def __init__(self, name: str, mapping: Mapping[Any, Any], log: list[list[Any]]) -> None:
        self.name, self.mapping, self.log = name, mapping, log

    def _whole(self) -> None:
        self.log.append([self.name, WHOLE, whole_digest(self.mapping)])

    def __getitem__(self, key: Any) -> Any:
        value = self.mapping.get(key, _MISSING)
        self.log.append([self.name, _key(key), None if value is _MISSING else answer(value)])
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __iter__(self) -> Iterator[Any]:
        self._whole()
        return iter(self.mapping)

    def __len__(self) -> int:
        self._whole()
        return len(self.mapping)

    def items(self) -> Any:
        self._whole()
        return self.mapping.items()

    def keys(self) -> Any:
        self._whole()
        return self.mapping.keys()

    def values(self) -> Any:
        self._whole()
        return self.mapping.values()


def compact(reads: Iterable[list[Any]]) -> dict[str, Any]:
    """``reads`` as :func:`still_true_compact` checks them fastest: the lookups of text keys by
    mapping (its keys, and their answers in the same order), and the other reads as they are."""
    by_name: dict[str, list[list[Any]]] = {}
    other: list[list[Any]] = []
    for read in reads:
        name, key, answered = read
        if type(key) is str and key != WHOLE and not key.startswith(_PATH):
            keys, answers = by_name.setdefault(name, [[], []])
            keys.append(key)
            answers.append(answered)
        else:
            other.append(read)
    return {"by_name": by_name, "other": other}


def still_true_compact(reads: Mapping[str, Any], mappings: Mapping[str, Mapping[Any, Any]]) -> bool:
    """:func:`still_true` of :func:`compact`'s reads. A render of a series part looks up the
    permalinks of all its parts, and a plan checks each render it remembers: the keys of a
    mapping are asked all at once and their answers compared as one list (text, a number or
    nothing is its own answer); only where that differs is each answer made and compared."""
    for name, (keys, answers) in reads["by_name"].items():
        get = mappings[name].get
        now = [get(key) for key in keys]
        if now != answers and any(
            value != answered and (None if value is None else answer(value)) != answered
            for value, answered in zip(now, answers, strict=True)
        ):
            return False
    return still_true(reads["other"], mappings)


def still_true(reads: Iterable[list[Any]], mappings: Mapping[str, Mapping[Any, Any]]) -> bool:
    """Whether every recorded lookup gives the same answer in ``mappings`` now."""
    for name, key, answered in reads:
        now: object
        if key == WHOLE:
            now = whole_digest(mappings[name])
        else:
            value = mappings[name].get(_unkey(key), _MISSING)
            # Most lookups are of a permalink: text is its own answer (asked of thousands).
            now = value if type(value) is str else None if value is _MISSING else answer(value)
        if now != answered:
            return False
    return True


_PATH = "\0path:"  # a key that was a Path (media are keyed by file), kept as text


def _key(key: Any) -> Any:
    return _PATH + str(key) if isinstance(key, Path) else plain(key)


def _unkey(key: Any) -> Any:
    """The key as it was asked (a mapping may be a live view of the state, whose answers change
    while it lives: it is asked again)."""
    return Path(key[len(_PATH) :]) if isinstance(key, str) and key.startswith(_PATH) else key
