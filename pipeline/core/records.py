"""What the state holds, as values: a post's record, a step, a job-log entry."""

from __future__ import annotations

from typing import Any

from msgspec import Struct
from msgspec.structs import asdict

STEP_STATUSES = ("pending", "running", "done", "failed", "unknown", "skipped", "held", "conflict")


class PostRecord(Struct, frozen=True, gc=False):
    """What the state knows of one post: where it is on WordPress and what went out."""

    slug: str
    source_path: str | None = None
    source_hash: str | None = None
    wp_id: int | None = None
    permalink: str | None = None
    wp_status: str | None = None
    title: str | None = None
    sent_hash: str | None = None
    remote_hash: str | None = None
    live_at: str | None = None
    tweet_id: str | None = None
    tweet_url: str | None = None
    conflict: str | None = None
    sending_hash: str | None = None
    format: str | None = None  # blocks | classic; None: created before formats were kept

    @property
    def live(self) -> bool:
        return self.wp_status == "publish" and self.permalink is not None


class Step(Struct, frozen=True, gc=False):
    """One step of a post (publish, announce, backfill, update) and where it stands."""

    id: int
    post: str
    kind: str
    target: str
    status: str
    due_at: str | None
    attempts: int
    next_attempt_at: str | None
    error: str | None
    detail: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


class LogEntry(Struct, frozen=True, gc=False):
    """One line of the job log: a step's outcome, when, and how long it took."""

    id: int
    at: str
    post: str
    step: str
    outcome: str
    details: str
    duration_ms: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
