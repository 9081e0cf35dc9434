"""Tokens from a login, kept in the state folder and renewed before they expire.

The file is ``<state_dir>/tokens/<provider>.json``, mode 0600 in a 0700 folder, replaced
atomically (temp file, fsync, rename, fsync of the folder), so a crash leaves the old or the new
tokens, never half of each. X's refresh tokens are single-use: the answer to a refresh is saved
before its access token is used, and refreshes are serialised across processes by a lock file,
because a spent refresh token sent twice can cost the whole login.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from msgspec.structs import replace

from pipeline.auth import token_file
from pipeline.auth.oauth2 import Provider, TokenSet, refresh
from pipeline.config import Secret
from pipeline.errors import AuthError, PipelineError
from pipeline.timeutil import from_iso, utc_iso

if TYPE_CHECKING:  # httpx is imported by whoever passes a client: `check` needs none
    import httpx

FORMAT_VERSION = 1
# Renew this long before the access token's end, so that no request leaves with a token that
# dies on the way (X's last for two hours).
REFRESH_MARGIN = timedelta(minutes=5)


class BearerSource(Protocol):
    """What a client needs to send a bearer token that stays valid."""

    def access_token(self, now: datetime) -> Secret: ...

    def after_unauthorized(self, rejected: Secret, now: datetime) -> Secret: ...


class TokenStore:
    """One provider's saved tokens."""

    def __init__(self, state_dir: Path, name: str) -> None:
        self.path = token_file(state_dir, name)
        self.folder = self.path.parent
        self._lock_path = self.folder / f"{name}.lock"

    def load(self) -> TokenSet | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuthError(f"cannot read the saved login {self.path}: {exc.strerror}") from exc
        try:
            return _decode(json.loads(text))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError(
                f"the saved login {self.path} is damaged (fix: log in again to replace it)"
            ) from exc

    def save(self, tokens: TokenSet) -> None:
        """Replace the file atomically; only its owner can read it."""
        try:
            self._write(json.dumps(_encode(tokens), indent=2).encode())
        except OSError as exc:
            raise PipelineError(
                f"cannot save the login to {self.path}: {exc.strerror} (the tokens it holds may "
                "have been replaced already: if the next run is refused, log in again)"
            ) from exc

    def _write(self, payload: bytes) -> None:
        self._folder()
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:  # mkstemp made it 0600
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_folder(self.folder)

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        _fsync_folder(self.folder)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Held while refreshing, so two processes never spend the same refresh token."""
        self._folder()
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)  # mkdir's mode is masked by the umask


class TokenManager:
    """A valid access token on demand: renewed before expiry, and once more after a 401."""

    def __init__(
        self,
        provider: Provider,
        store: TokenStore,
        http: httpx.Client,
        *,
        margin: timedelta = REFRESH_MARGIN,
        on_new_tokens: Callable[[TokenSet], object] = lambda tokens: None,
    ) -> None:
        self._provider = provider
        self._store = store
        self._http = http
        self._margin = margin
        self._on_new_tokens = on_new_tokens  # e.g. register the new secrets with the redactor
        self._tokens: TokenSet | None = None
        self._lock = threading.Lock()
        self.refreshes = 0

    def access_token(self, now: datetime) -> Secret:
        with self._lock:
            tokens = self._tokens or self._adopt(self._saved())
            if tokens.expired(now, self._margin):
                tokens = self._renew(now, rejected=None)
            return tokens.access_token

    def after_unauthorized(self, rejected: Secret, now: datetime) -> Secret:
        """The service refused ``rejected``: renew it (unless another process already has)."""
        with self._lock:
            return self._renew(now, rejected=rejected).access_token

    def secrets(self) -> list[str]:
        return self._tokens.secrets() if self._tokens else []

    def _renew(self, now: datetime, rejected: Secret | None) -> TokenSet:
        with self._store.lock():
            saved = self._saved()  # another process may have renewed it meanwhile
            renewed_elsewhere = rejected is not None and saved.access_token != rejected
            if not saved.expired(now, self._margin) and (rejected is None or renewed_elsewhere):
                return self._adopt(saved)
            if saved.refresh_token is None:
                raise self._log_in_again("the saved login has expired and cannot be renewed")
            try:
                fresh = refresh(self._provider, self._http, saved.refresh_token, now)
            except AuthError as exc:
                raise self._log_in_again(f"renewing it was refused: {exc}") from exc
            if fresh.refresh_token is None:  # a server that does not rotate keeps the old one
                fresh = replace(fresh, refresh_token=saved.refresh_token)
            self._on_new_tokens(fresh)
            self._store.save(fresh)  # before the new access token is used anywhere
            self.refreshes += 1
            return self._adopt(fresh)

    def _saved(self) -> TokenSet:
        saved = self._store.load()
        if saved is None:
            raise AuthError(
                f"not logged in to {self._provider.title} (fix: run "
                f"`{self._provider.login_command}`)"
            )
        return saved

    def _adopt(self, tokens: TokenSet) -> TokenSet:
        if tokens is not self._tokens:
            self._on_new_tokens(tokens)
        self._tokens = tokens
        return tokens

    def _log_in_again(self, why: str) -> AuthError:
        return AuthError(
            f"{self._provider.title} no longer accepts the saved login ({why}) (fix: run "
            f"`{self._provider.login_command}` again)"
        )


def _encode(tokens: TokenSet) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "access_token": tokens.access_token.reveal(),
        "refresh_token": tokens.refresh_token.reveal() if tokens.refresh_token else None,
        "expires_at": utc_iso(tokens.expires_at) if tokens.expires_at else None,
        "scope": list(tokens.scope),
        "extra": dict(tokens.extra),
    }


def _decode(data: dict[str, Any]) -> TokenSet:
    if data["version"] != FORMAT_VERSION:
        raise ValueError(f"unknown token file version {data['version']!r}")
    refresh_token = data.get("refresh_token")
    expires_at = data.get("expires_at")
    return TokenSet(
        access_token=Secret(str(data["access_token"])),
        refresh_token=Secret(str(refresh_token)) if refresh_token else None,
        expires_at=from_iso(expires_at) if expires_at else None,
        scope=tuple(str(s) for s in data.get("scope", ())),
        extra={str(k): str(v) for k, v in dict(data.get("extra", {})).items()},
    )


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX)."""
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
