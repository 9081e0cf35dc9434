"""Dates in config and front matter: ISO 8601 with an offset, or naive in the site's timezone.

Every time and span a person writes is read here, and only here, so that each is bounded: a year
outside ``MIN_YEAR``..``MAX_YEAR`` or a span longer than ``MAX_SPAN`` is refused with an error
instead of overflowing later (``9999-12-31 23:00`` in New York is past ``datetime.max`` in UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.errors import shown

# Far enough for any post: old posts brought in by import, and schedules years ahead. Beyond
# these, adding a catch-up window or a backoff to the time could overflow datetime.
MIN_YEAR = 1900
MAX_YEAR = 2999
MAX_SPAN = timedelta(days=3650)


class BadTime(ValueError):
    """A time that cannot be read, is out of range, or does not exist in its timezone."""


def to_utc(value: object, tz: ZoneInfo) -> datetime:
    """Read a time written by a person and return it as an aware UTC datetime.

    Naive times are read in ``tz``. A time that falls in a DST gap (the clocks jump over it) is
    refused rather than silently moved; a repeated time in the DST fold takes its first occurrence.
    """
    when = _in_range(_parse(value))
    if when.tzinfo is None:
        when = _localize(when, tz)
    return when.astimezone(UTC)


def _in_range(when: datetime) -> datetime:
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise BadTime(
            f"{when.replace(tzinfo=None).isoformat(sep=' ', timespec='minutes')} is out of "
            f"range (the year must be {MIN_YEAR} to {MAX_YEAR})"
        )
    return when


def _parse(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise BadTime(f"expected a date and time, got {type(value).__name__}")
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadTime(f"{shown(text)} is not a valid date and time ({exc})") from exc


def _localize(naive: datetime, tz: ZoneInfo) -> datetime:
    local = naive.replace(tzinfo=tz, fold=0)
    round_trip = local.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        raise BadTime(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks skip it for daylight "
            "saving time)"
        )
    return local


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``24h``, ``2d``, ``1w``: the spans users write in config and on the CLI."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    value = text.strip().lower()
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        raise BadTime(f"{shown(text)} is not a duration like 90s, 15m, 24h, 2d or 1w")
    seconds = int(value[:-1]) * units[value[-1]]
    if seconds > MAX_SPAN.total_seconds():
        raise BadTime(f"{shown(text)} is longer than {MAX_SPAN.days} days")
    return timedelta(seconds=seconds)


def utc_now() -> datetime:
    """The clock, for the edges that may read it; the core takes ``now`` as a parameter."""
    return datetime.now(UTC)


def utc_iso(when: datetime) -> str:
    """The form times are stored in: ISO 8601 in UTC with a Z."""
    return wall_clock(when.astimezone(UTC)) + "Z"


# "00" to "99", looked up: formatting them (strftime, isoformat, %02d) costs more.
_TWO_DIGITS = tuple(f"{number:02}" for number in range(100))


def wall_clock(when: datetime, sep: str = "T", *, seconds: bool = True) -> str:
    """``when``'s date and time as its clock shows them, ``2026-12-01T09:15:00``: what
    ``strftime("%Y-%m-%d{sep}%H:%M:%S")`` writes (without ``:%S`` unless ``seconds``), at a
    fifth of its cost (a listing writes thousands)."""
    if when.year < 1000:  # strftime's %Y is not padded to four digits there
        return when.strftime(f"%Y-%m-%d{sep}%H:%M:%S" if seconds else f"%Y-%m-%d{sep}%H:%M")
    two = _TWO_DIGITS
    text = f"{when.year}-{two[when.month]}-{two[when.day]}{sep}{two[when.hour]}:{two[when.minute]}"
    return f"{text}:{two[when.second]}" if seconds else text


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
