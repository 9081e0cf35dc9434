"""The one small interface every network implements; the publisher knows no network by name.

A channel posts one announcement, finds an earlier post of the same announcement (so a create
whose outcome is unknown is adopted, not repeated), deletes, and says who it is logged in as.
Composing the text within the network's limits is pure (:mod:`pipeline.core.announce`); the
channel only says what its limits are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct, field

from pipeline.core.announce import Limits

if TYPE_CHECKING:
    from datetime import datetime

    from pipeline.config import ChannelSettings


class Sent(Struct, frozen=True):
    """A post on a network: its id (tweet id, at:// URI, status id) and public URL."""

    id: str
    url: str | None
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. Bluesky's cid, thread root


class Outgoing(Struct, frozen=True):
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

    def find(self, item: Outgoing, *, attempted_at: datetime | None = None) -> Sent | None:
        """The post an earlier attempt made of ``item``, if any; CannotTell if unknowable.
        ``attempted_at``: when the first attempt was sent, if known (a network whose lookup
        goes through the account's posts newest first need not look at older ones)."""
        ...

    def delete(self, sent: Sent) -> None: ...

    def whoami(self) -> str:
        """The account the credentials belong to (proves they work)."""
        ...

    def close(self) -> None: ...


class ChannelSetup(Struct, frozen=True):
    """One network as this site uses it: its settings, and its client when it has credentials.

    ``inactive`` says why there is no client and nothing is owed (no credentials at all);
    ``incomplete`` why there is none although the writer meant to set it up (held, not dropped).
    """

    name: str
    settings: ChannelSettings
    client: Channel | None = None
    inactive: str | None = None
    incomplete: str | None = None
    limits: Limits | None = None  # known without asking the network (X's, Bluesky's)
    where: str = ""  # the service's address, for messages
    read_limits: Callable[[], Limits] | None = None  # asks the network once (Mastodon's)

    def known_limits(self) -> Limits:
        if self.limits is not None:
            return self.limits
        if self.read_limits is not None:
            return self.read_limits()
        if self.client is not None:
            return self.client.limits()
        raise ValueError(f"{self.name}: no limits known")
