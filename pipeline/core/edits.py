"""Writers' edits in WordPress, pure: which fields the pipeline writes changed since it wrote them.

After each write the pipeline records a hash of every field it writes as WordPress has them then
(title, body, excerpt, categories, tags, featured image, status). Before it overwrites the post
it compares them with what WordPress has now: a field that differs from what was recorded, from
what was being sent when a run died, and from what is about to be sent, was edited by a person.

Records written before this kept only the body's hash (a bare hex digest): for those the body
alone is compared until the next write records every field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Protocol

from msgspec import Struct

FIELDS = ("title", "content", "excerpt", "categories", "tags", "featured_media", "status")
LABELS = {
    "title": "title",
    "content": "body",
    "excerpt": "excerpt",
    "categories": "categories",
    "tags": "tags",
    "featured_media": "featured image",
    "status": "status",
}
PREFIX = "fields:"  # marks a record of every field, as against the old body-only hash


class Written(Struct, frozen=True):
    """A post's fields as the pipeline writes them. ``None``: the field is not written (left
    as WordPress has it), so a writer's change to it is no conflict."""

    title: str | None = None
    content: str | None = None
    excerpt: str | None = None
    categories: tuple[int, ...] | None = None
    tags: tuple[int, ...] | None = None
    featured_media: int | None = None
    status: str | None = None

    def hashes(self) -> dict[str, str]:
        return {
            name: _hash(value)
            for name in FIELDS
            if (value := _normal(name, getattr(self, name))) is not None
        }


class Remote(Protocol):
    """A post as WordPress answers it (pipeline.wordpress.RemotePost)."""

    @property
    def title_raw(self) -> str: ...
    @property
    def content_raw(self) -> str: ...
    @property
    def excerpt_raw(self) -> str: ...
    @property
    def categories(self) -> tuple[int, ...]: ...
    @property
    def tags(self) -> tuple[int, ...]: ...
    @property
    def featured_media(self) -> int: ...
    @property
    def status(self) -> str: ...


def as_written(remote: Remote) -> Written:
    """The fields the pipeline writes, as WordPress has them."""
    return Written(
        title=remote.title_raw,
        content=remote.content_raw,
        excerpt=remote.excerpt_raw,
        categories=remote.categories,
        tags=remote.tags,
        featured_media=remote.featured_media,
        status=remote.status,
    )


def record(written: Written) -> str:
    """What the state keeps of the fields: one hash each, as one string."""
    return PREFIX + json.dumps(written.hashes(), sort_keys=True, separators=(",", ":"))


def edited(
    now: Written,
    *,
    recorded: str | None,
    sending: str | None,
    wanted: Written,
    ignore: Collection[str] = (),
) -> list[str]:
    """The fields (their names for people) a writer changed: WordPress has them ``now``
    differently from the ``recorded`` write, from what was being ``sent`` when a run died, and
    from what is ``wanted`` now. Only fields that ``wanted`` writes are compared."""
    current = now.hashes()
    before = [_decode(recorded, current), _decode(sending, current)]
    wants = wanted.hashes()
    changed = []
    for name in wants:
        known = {found[name] for found in before if name in found}
        if name in ignore or name not in current or not known:
            continue  # not written now, or nothing recorded to compare with (an old record)
        if current[name] not in known | {wants[name]}:
            changed.append(LABELS[name])
    return changed


def _decode(text: str | None, current: Mapping[str, str]) -> dict[str, str]:
    if not text:
        return {}
    if text.startswith(PREFIX):
        found = json.loads(text[len(PREFIX) :])
        return {str(k): str(v) for k, v in found.items()}
    # A record from before every field was kept: the body's hash. The body alone is compared.
    return {"content": text} if "content" in current else {}


def _normal(name: str, value: object) -> object:
    if value is None:
        return None
    if name == "content" and isinstance(value, str):
        return value.strip()  # as the old body hash did: WordPress may trim the ends
    if name in ("categories", "tags") and isinstance(value, tuple):
        return sorted(value)
    return value


def _hash(value: object) -> str:
    # Text is hashed as it is, so the body's hash is the old record's (body_hash).
    data = value if isinstance(value, str) else json.dumps(value)
    return hashlib.sha256(data.encode()).hexdigest()
