"""WordPress's objects as the pipeline reads and writes them, and the pure rules about them."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote

from msgspec import Struct
from msgspec.structs import replace

Status = Literal["publish", "future", "draft"]
Taxonomy = Literal["categories", "tags"]
Action = Literal["created", "updated", "adopted"]
TERM_NOUNS: dict[str, str] = {"categories": "category", "tags": "tag"}
WP_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


class RemotePost(Struct, frozen=True):
    id: int
    slug: str
    status: str
    link: str
    date_gmt: datetime | None  # aware, UTC
    modified_gmt: datetime | None  # aware, UTC
    title_raw: str
    content_raw: str
    excerpt_raw: str
    featured_media: int
    categories: tuple[int, ...]
    tags: tuple[int, ...]


class RemoteMedia(Struct, frozen=True):
    id: int
    source_url: str
    alt_text: str = ""
    caption_raw: str = ""


class PostFields(Struct, frozen=True):
    """What the pipeline wants a post to look like. ``None`` means "leave as it is"."""

    title: str
    slug: str
    content: str
    status: Status
    date_gmt: datetime | None = None  # aware
    excerpt: str | None = None
    categories: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()
    featured_media: int | None = None

    def __post_init__(self) -> None:
        if not self.slug:
            raise ValueError("PostFields.slug must not be empty")
        if self.date_gmt is not None and self.date_gmt.tzinfo is None:
            raise ValueError("PostFields.date_gmt must be timezone-aware")
        if self.status == "future" and self.date_gmt is None:
            raise ValueError("a post with status 'future' needs date_gmt")

    def to_json(self) -> dict[str, Any]:
        # The slug is always sent: it is how the pipeline finds the post again after a crash.
        # Tags are always sent, so removing one from the front matter removes it online.
        # An empty category list is not sent: WordPress would then leave the post in no
        # category at all rather than in its default one ("Uncategorized").
        body: dict[str, Any] = {
            "title": self.title,
            "slug": self.slug,
            "content": self.content,
            "status": self.status,
            "tags": list(self.tags),
        }
        if self.categories:
            body["categories"] = list(self.categories)
        if self.date_gmt is not None:
            body["date_gmt"] = wp_date(self.date_gmt)
        if self.excerpt is not None:
            body["excerpt"] = self.excerpt
        if self.featured_media is not None:
            body["featured_media"] = self.featured_media
        return body


def wp_date(when: datetime) -> str:
    """WordPress's date format: ``YYYY-MM-DDTHH:MM:SS`` in UTC, no offset."""
    return when.astimezone(UTC).strftime(WP_DATE_FORMAT)


def parse_wp_date(value: object) -> datetime | None:
    """A ``*_gmt`` field: naive ISO text meaning UTC (or null/empty for "no date")."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def live_fields(fields: PostFields, existing: RemotePost | None, now: datetime) -> PostFields:
    """The fields to send so that a wanted ``publish`` really goes live now.

    WordPress turns ``publish`` with a date a minute or more ahead of its clock into ``future``
    (scheduled by its own cron, which the pipeline does not rely on). So a future date is never
    sent with ``publish``: it is left out, and WordPress stamps the post with its own clock; a post
    that is already scheduled online gets ``now`` explicitly, since leaving the date out would
    keep its future date.
    """
    if fields.status != "publish":
        return fields
    wanted = fields.date_gmt
    if wanted is not None and wanted <= now:
        return fields
    if existing is not None and _is_scheduled(existing, now):
        return replace(fields, date_gmt=now.replace(microsecond=0))
    return replace(fields, date_gmt=None)


def _is_scheduled(post: RemotePost, now: datetime) -> bool:
    return post.status == "future" or (post.date_gmt is not None and post.date_gmt > now)


def content_disposition(filename: str) -> str:
    """``attachment; filename="..."`` safe for WordPress's simple parser, plus RFC 5987.

    WordPress reads only ``filename=`` and splits on ``;`` and ``,`` without honouring quotes, so
    that part is reduced to plain ASCII without quotes, separators or backslashes. The exact name
    goes in ``filename*`` for servers that read it.
    """
    name = re.split(r"[\\/]", filename)[-1]
    fallback = ascii_filename(name)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def ascii_filename(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = _ascii_part(stem) or "upload"
    extension = _ascii_part(extension)
    return f"{stem}.{extension}" if extension else stem


def _ascii_part(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._ -]+", "_", plain).strip(" ._")


def same_slug(a: str, b: str) -> bool:
    """Slugs as WordPress compares them: it stores non-ASCII ones %-encoded, in lower case."""
    return unquote(a).casefold() == unquote(b).casefold()


def _name_key(name: str) -> str:
    """How term names are compared: WordPress escapes ``&`` as ``&amp;`` and ignores case."""
    return " ".join(html.unescape(name).split()).casefold()


# Reading answers


def _post_from(data: Mapping[str, Any]) -> RemotePost:
    return RemotePost(
        id=int(data["id"]),
        slug=str(data.get("slug", "")),
        status=str(data.get("status", "")),
        link=str(data.get("link", "")),
        date_gmt=parse_wp_date(data.get("date_gmt")),
        modified_gmt=parse_wp_date(data.get("modified_gmt")),
        title_raw=_raw(data.get("title")),
        content_raw=_raw(data.get("content")),
        excerpt_raw=_raw(data.get("excerpt")),
        featured_media=int(data.get("featured_media") or 0),
        categories=tuple(int(i) for i in data.get("categories") or ()),
        tags=tuple(int(i) for i in data.get("tags") or ()),
    )


def _media_from(data: Mapping[str, Any]) -> RemoteMedia:
    return RemoteMedia(
        id=int(data["id"]),
        source_url=str(data.get("source_url", "")),
        alt_text=str(data.get("alt_text") or ""),
        caption_raw=_raw(data.get("caption")),
    )


def _raw(field: object) -> str:
    """``{"raw": ..., "rendered": ...}`` (raw needs context=edit), or a plain string."""
    if isinstance(field, dict):
        return str(field.get("raw", field.get("rendered", "")))
    return "" if field is None else str(field)
