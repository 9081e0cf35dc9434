"""What a post on X costs and whether this month's budget allows it. Pure: time is passed in.

X's API is pay-per-use (https://docs.x.com/x-api/getting-started/pricing, 2026): "Content: Create"
costs $0.015 a request and "Content: Create (with URL)" $0.200. An announcement always carries
the article's link, so in practice every one costs the higher price. X deducts from prepaid
credits; what was spent is counted here from what the pipeline sent (the job log), per calendar
month in the site's timezone.

Money is ``Decimal``: three posts at 0.20 must meet a 0.60 budget exactly, which floats miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from msgspec import Struct

from pipeline.core.twittertext import twitter_text
from pipeline.timeutil import from_iso

PUBLISHED_PRICE_PER_POST = Decimal("0.015")
PUBLISHED_PRICE_PER_LINK_POST = Decimal("0.200")


def money(value: Decimal | float | int | str) -> Decimal:
    """An amount of dollars from config (a TOML float or int) or storage (a string).

    Floats go through ``str`` so that 0.2 is 0.2, not 0.2000000000000000111.
    """
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not an amount of money") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r} is not an amount of money (a number, zero or more)")
    return amount


class XPrices(Struct, frozen=True):
    """``[x] price_per_post`` and ``[x] price_per_link_post``; the published prices by default."""

    price_per_post: Decimal = PUBLISHED_PRICE_PER_POST
    price_per_link_post: Decimal = PUBLISHED_PRICE_PER_LINK_POST


PUBLISHED_PRICES = XPrices()


def has_link(text: str) -> bool:
    """Whether X would see a URL in the text (twitter-text is X's own entity extractor)."""
    # Loaded here: twitter-text compiles its patterns on import (0.3 s), and the config
    # imports this module for the prices.
    return bool(twitter_text().extract_urls(text))


def post_cost(text: str, prices: XPrices = PUBLISHED_PRICES) -> Decimal:
    """The estimated charge for creating one post (or reply) with this text."""
    return prices.price_per_link_post if has_link(text) else prices.price_per_post


def month_of(when: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """The calendar month (year, month) that an aware time falls in, in the site's timezone."""
    local = _aware(when).astimezone(tz)
    return local.year, local.month


def month_label(now: datetime, tz: ZoneInfo) -> str:
    """``2026-12``: how a month is named in messages and ``pipeline status``."""
    year, month = month_of(now, tz)
    return f"{year:04d}-{month:02d}"


def month_start(now: datetime, tz: ZoneInfo) -> datetime:
    """The instant (UTC) ``now``'s calendar month began in the site's timezone."""
    local = _aware(now).astimezone(tz)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def recorded_costs(rows: Iterable[tuple[str, str]]) -> list[tuple[datetime, Decimal]]:
    """(when, cost) from what the job log recorded of each sent announcement (UTC ISO, text)."""
    return [(from_iso(sent_at), money(cost)) for sent_at, cost in rows]


def month_spend(
    entries: Iterable[tuple[datetime, Decimal]], now: datetime, tz: ZoneInfo
) -> Decimal:
    """The sum of the costs of what was sent in ``now``'s calendar month (site timezone)."""
    return sum(_this_month(entries, now, tz), Decimal(0))


def within_budget(spend: Decimal, cost: Decimal, budget: Decimal | None) -> bool:
    """Whether one more post costing ``cost`` keeps the month at or under ``budget``.

    No budget (``None``) means no cap.
    """
    return budget is None or spend + cost <= budget


class MonthSummary(Struct, frozen=True):
    """The month's X usage for ``pipeline status``."""

    month: str
    posts: int
    spend: Decimal
    budget: Decimal | None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else max(self.budget - self.spend, Decimal(0))

    def describe(self) -> str:
        """``X in 2026-12: 2 posts, $0.400 of the $10.0 monthly budget ($9.600 left)``."""
        posts = f"{self.posts} post{'s' if self.posts != 1 else ''}"
        if self.budget is None:
            return f"X in {self.month}: {posts}, ${self.spend:.3f} (no [x] monthly_budget)"
        return (
            f"X in {self.month}: {posts}, ${self.spend:.3f} of the ${self.budget} monthly "
            f"budget (${self.remaining:.3f} left)"
        )


def month_summary(
    entries: Iterable[tuple[datetime, Decimal]],
    now: datetime,
    tz: ZoneInfo,
    budget: Decimal | None,
) -> MonthSummary:
    costs = _this_month(entries, now, tz)
    return MonthSummary(month_label(now, tz), len(costs), sum(costs, Decimal(0)), budget)


def over_budget_reason(
    spend: Decimal, cost: Decimal, budget: Decimal, month: str, slug: str = "POST"
) -> str:
    """Why an announcement is held: the message names the budget and what to change."""
    return (
        f"posting would cost about ${cost:.3f} and take X's spend for {month} from "
        f"${spend:.3f} to ${spend + cost:.3f}, over [x] monthly_budget = {budget} "
        "(fix: raise monthly_budget in pipeline.toml, or wait for next month, then "
        f"`pipeline retry {slug} --channel x`)"
    )


def _this_month(
    entries: Iterable[tuple[datetime, Decimal]], now: datetime, tz: ZoneInfo
) -> list[Decimal]:
    this_month = month_of(now, tz)
    return [cost for sent_at, cost in entries if month_of(sent_at, tz) == this_month]


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError("costs are counted from aware times (UTC in the job log)")
    return when.astimezone(UTC)
