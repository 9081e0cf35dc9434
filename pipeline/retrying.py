"""How hard the clients retry: one policy type for WordPress and X (the waiting is stamina's)."""

from __future__ import annotations

from msgspec import Struct


class RetryPolicy(Struct, frozen=True):
    """Attempts and waits (seconds) for calls that are safe to repeat."""

    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 15.0
    wait_jitter: float = 0.5
    timeout: float | None = 120.0  # give up retrying after this long in total
    max_retry_after: float = 120.0  # a longer Retry-After fails now with a message instead
