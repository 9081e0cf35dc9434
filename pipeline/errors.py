"""The one small error hierarchy of the pipeline.

Library errors (httpx, tweepy, sqlite3, yaml) are translated into these at the edge with
``raise ... from exc``; only the CLI turns them into messages and exit codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `pipeline --help` imports this module: nothing it does not need
    from datetime import datetime
    from pathlib import Path

# A value quoted in a message is cut to this many characters: a value from a file can be
# megabytes long (a YAML alias bomb), and a message is one line.
SHOWN_CHARS = 60


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code = 1


class InputError(PipelineError):
    """Bad input the user can fix: config, credentials or a post. Exit code 2.

    Rendered as one line: ``FILE:LINE: what is wrong (fix: what to do)``.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        from pathlib import Path

        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.fix = fix
        super().__init__(self.render())

    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def render(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (fix: {self.fix})" if self.fix else text


class ConfigError(InputError):
    """pipeline.toml or credentials.toml is wrong."""


class PostError(InputError):
    """A post's front matter or body is wrong."""


class AuthError(PipelineError):
    """A service refused our credentials. The fix is in the credentials, so exit code 2."""

    exit_code = 2


class RemoteError(PipelineError):
    """A service answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class WordPressError(RemoteError):
    """WordPress answered with an error (its JSON ``code``/``message``/``data.status``)."""


class AmbiguousOutcome(RemoteError):
    """A write may or may not have happened (timeout, dropped connection mid-request).

    Callers must check before acting again; they never blindly resend.
    """


class ChannelError(RemoteError):
    """A network we announce on (X, Bluesky, Mastodon) answered with an error."""


class XError(ChannelError):
    """X answered with an error."""


class DuplicatePost(ChannelError):
    """The network refused the text as a duplicate: an identical post already exists (X)."""


class CreditsExhausted(ChannelError):
    """The account has no credits left (X's HTTP 402). Held until the writer tops up and runs
    ``pipeline retry``; never retried on a backoff (each try would fail the same)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=402, code="credits")


class CannotTell(ChannelError):
    """The network offers no way to find out whether an earlier attempt posted."""


class RateLimited(ChannelError):
    """A rate limit: try again after ``reset_at`` (UTC)."""

    def __init__(self, message: str, *, reset_at: datetime) -> None:
        self.reset_at = reset_at
        super().__init__(message, status=429)


class ConflictError(PipelineError):
    """A post was edited in WordPress since the pipeline last wrote it."""


class LockedError(PipelineError):
    """Another process holds the lock (a second scheduler, or a publish of the same post)."""
