"""The one interface every social network is announced through (X, Bluesky, Mastodon).

Errors a channel raises (``pipeline.errors``): ``AuthError`` (credentials refused: this channel is
held), ``RateLimited`` (defer until ``reset_at``), ``AmbiguousOutcome`` (the post may or may not
exist), ``DuplicatePost`` and ``CreditsExhausted`` (X), ``ChannelError`` for other failures, and
``CannotTell`` from ``find`` when the network gives no way to know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Limits:
    max_length: int  # X 280 (weighted), Bluesky 300 graphemes, Mastodon instance's
    counting: str  # "x-weighted" | "graphemes" | "mastodon"
    url_length: int | None = None  # Mastodon: characters_reserved_per_url (23)


@dataclass(frozen=True)
class Sent:
    id: str  # tweet id / at:// uri / Mastodon status id
    url: str | None  # public URL of the post
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. Bluesky cid, root uri/cid


@dataclass(frozen=True)
class Outgoing:
    key: str  # stable per (article, channel): idempotency key / TID seed
    text: str  # already composed within limits()
    link: str  # the article's permalink
    title: str
    excerpt: str
    image: Path | None  # featured image (attach, or card thumbnail), when enabled
    image_alt: str
    reply_to: Sent | None  # previous part's post on this channel (thread_series)


class Channel(Protocol):
    name: str  # "x" | "bluesky" | "mastodon"

    def limits(self) -> Limits: ...

    def post(self, item: Outgoing) -> Sent: ...

    def find(self, item: Outgoing) -> Sent | None:
        """The earlier post of this item, if any.

        Raises ``pipeline.errors.CannotTell`` when the network gives no way to know (X).
        """
        ...

    def delete(self, sent: Sent) -> None: ...

    def whoami(self) -> str:
        """The account name, for ``check --online``."""
        ...

    def close(self) -> None: ...
