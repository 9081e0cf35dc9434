"""Settings and credentials of the Bluesky and Mastodon channels (``[bluesky]``, ``[mastodon]``).

config.py reads the TOML into these; the key names are the contract in PRODUCT.md and issue 13.
``template``, ``image`` and ``thread_series`` are every channel's (``ChannelSettings``), with the
same defaults as ``[x]``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from msgspec import Struct

from pipeline.config import ChannelSettings, Secret, is_loopback
from pipeline.core.announce import Limits
from pipeline.core.lengths import BLUESKY_MAX_GRAPHEMES, MASTODON_URL_LENGTH
from pipeline.errors import ConfigError

DEFAULT_BLUESKY_SERVICE = "https://bsky.social"
DEFAULT_MASTODON_INSTANCE = "https://mastodon.social"
VISIBILITIES = ("public", "unlisted", "private", "direct")

# Bluesky's are fixed by its lexicon. Mastodon's are each instance's own: these are Mastodon's
# defaults, for when the instance has not been asked yet (an offline plan, a first run).
BLUESKY_LIMITS = Limits(max_length=BLUESKY_MAX_GRAPHEMES, counting="graphemes", network="Bluesky")
MASTODON_DEFAULT_LIMITS = Limits(
    max_length=500, counting="mastodon", url_length=MASTODON_URL_LENGTH, network="Mastodon"
)


class BlueskySettings(ChannelSettings, frozen=True):
    """The ``[bluesky]`` table of pipeline.toml."""

    service: str = DEFAULT_BLUESKY_SERVICE  # the PDS; image: the link card's thumbnail


class BlueskyCredentials(Struct, frozen=True):
    """Bluesky's handle and app password."""

    handle: str | None = None
    app_password: Secret | None = None

    @property
    def configured(self) -> bool:
        return bool(self.handle) and self.app_password is not None

    def missing(self) -> list[str]:
        """The keys still missing when one is set (none set: nothing missing)."""
        given = {"handle": bool(self.handle), "app_password": self.app_password is not None}
        if not any(given.values()) or self.configured:
            return []
        return [name for name, present in given.items() if not present]

    def secrets(self) -> list[str]:
        return [self.app_password.reveal()] if self.app_password is not None else []


class MastodonSettings(ChannelSettings, frozen=True):
    """The ``[mastodon]`` table of pipeline.toml."""

    instance: str = DEFAULT_MASTODON_INSTANCE  # image: attached, with its alt text
    visibility: str = "public"


class MastodonCredentials(Struct, frozen=True):
    """Mastodon's access token."""

    access_token: Secret | None = None

    @property
    def configured(self) -> bool:
        return self.access_token is not None

    def secrets(self) -> list[str]:
        return [self.access_token.reveal()] if self.access_token is not None else []


def secure_url(url: str, key: str, section: str) -> str:
    """``url`` without a trailing slash; plain http is refused unless the host is loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"[{section}] {key} must be an http(s) URL, not {url!r}",
            fix=f'e.g. {key} = "https://{parts.hostname or "example.com"}"',
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"[{section}] {key}: plain http:// to a non-loopback host would send your "
            "credentials unencrypted",
            fix="use https://",
        )
    return url.rstrip("/")
