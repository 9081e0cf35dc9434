"""The one small interface every network implements; the publisher knows no network by name.

A channel posts one announcement, finds an earlier post of the same announcement (so a create
whose outcome is unknown is adopted, not repeated), deletes, and says who it is logged in as.
Composing the text within the network's limits is pure (:mod:`pipeline.core.announce`); the
channel only says what its limits are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pipeline.core.announce import Limits


@dataclass(frozen=True)
class Sent:
    """A post on a network: its id (tweet id, at:// URI, status id) and public URL."""

    id: str
    url: str | None
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. Bluesky's cid, thread root


@dataclass(frozen=True)
class Outgoing:
    """One announcement, ready to send."""

    key: str  # stable per (article, channel): an idempotency key, a record key's seed
    text: str  # already composed within the channel's limits
    link: str  # the article's permalink
    title: str
    excerpt: str
    image: Path | None  # the featured image, when the channel's `image` setting is on
    image_alt: str
    reply_to: Sent | None  # the previous part's post on this channel (thread_series)


class Channel(Protocol):
    name: str

    def limits(self) -> Limits: ...

    def post(self, item: Outgoing) -> Sent:
        """Create the post. Raises AmbiguousOutcome when it may or may not exist now."""
        ...

    def find(self, item: Outgoing) -> Sent | None:
        """The post an earlier attempt made of ``item``, if any; CannotTell if unknowable."""
        ...

    def delete(self, sent: Sent) -> None: ...

    def whoami(self) -> str:
        """The account the credentials belong to (proves they work)."""
        ...

    def close(self) -> None: ...
