"""X's pay-per-use prices and the monthly budget (pure: times are passed in)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pipeline.core.costs import (
    XPrices,
    has_link,
    money,
    month_label,
    month_spend,
    month_start,
    month_summary,
    over_budget_reason,
    post_cost,
    recorded_costs,
    within_budget,
)

NEW_YORK = ZoneInfo("America/New_York")
LINK_POST = "New on the blog: Part 2 https://blog.example.com/part-2/"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_defaults_are_the_published_prices() -> None:
    assert XPrices() == XPrices(Decimal("0.015"), Decimal("0.200"))


def test_a_post_with_a_link_costs_the_link_price() -> None:
    assert post_cost(LINK_POST) == Decimal("0.200")
    assert post_cost("Just words, no address") == Decimal("0.015")


def test_a_bare_domain_is_a_link_to_x_too() -> None:
    assert has_link("read it at blog.example.com today")
    assert not has_link("version 1.2 is out")


def test_configured_prices_are_used() -> None:
    prices = XPrices(price_per_post=money(0.01), price_per_link_post=money(0.25))
    assert post_cost(LINK_POST, prices) == Decimal("0.25")
    assert post_cost("no link", prices) == Decimal("0.01")


def test_money_reads_floats_as_written() -> None:
    assert money(0.2) == Decimal("0.2")
    assert money("10") == Decimal(10)
    for bad in (-1, "lots", float("nan")):
        with pytest.raises(ValueError, match="not an amount of money"):
            money(bad)


def test_three_link_posts_meet_a_budget_of_sixty_cents_exactly() -> None:
    spend = money(0.2) + money(0.2)
    assert within_budget(spend, money(0.2), money(0.6))
    assert not within_budget(spend + money(0.2), money(0.2), money(0.6))


def test_no_budget_means_no_cap() -> None:
    assert within_budget(Decimal(1000), Decimal(1), None)


def test_the_month_is_the_sites_calendar_month() -> None:
    # 03:00 UTC on 1 December is still 30 November, 22:00, in New York.
    sent = [
        (at("2026-11-05T12:00:00"), Decimal("0.2")),
        (at("2026-12-01T03:00:00"), Decimal("0.2")),  # November in New York
        (at("2026-12-01T06:00:00"), Decimal("0.2")),  # December in New York
    ]
    assert month_spend(sent, at("2026-11-30T23:00:00"), NEW_YORK) == Decimal("0.4")
    assert month_spend(sent, at("2026-12-15T12:00:00"), NEW_YORK) == Decimal("0.2")
    assert month_label(at("2026-12-01T03:00:00"), NEW_YORK) == "2026-11"


def test_a_budget_holds_the_third_post_of_a_month_and_resets_next_month() -> None:
    budget = money(0.5)
    log: list[tuple[datetime, Decimal]] = []

    def announce(now: datetime) -> bool:
        cost = post_cost(LINK_POST)
        if not within_budget(month_spend(log, now, NEW_YORK), cost, budget):
            return False
        log.append((now, cost))
        return True

    # Two runs in November: the first sends two, the second is held.
    assert [announce(at("2026-11-02T14:00:00")), announce(at("2026-11-09T14:00:00"))] == [
        True,
        True,
    ]
    assert not announce(at("2026-11-20T14:00:00"))
    # December starts from zero (the site's midnight, 05:00 UTC).
    assert not announce(at("2026-12-01T04:59:00"))
    assert announce(at("2026-12-01T05:00:00"))


def test_the_summary_counts_the_months_posts_and_what_is_left() -> None:
    sent = [
        (at("2026-12-02T12:00:00"), Decimal("0.2")),
        (at("2026-12-03T12:00:00"), Decimal("0.015")),
    ]
    summary = month_summary(sent, at("2026-12-10T00:00:00"), NEW_YORK, Decimal(1))
    assert (summary.month, summary.posts, summary.spend, summary.remaining) == (
        "2026-12",
        2,
        Decimal("0.215"),
        Decimal("0.785"),
    )
    assert month_summary([], at("2026-12-10T00:00:00"), NEW_YORK, None).remaining is None


def test_a_held_announcement_says_which_budget_and_what_to_do() -> None:
    reason = over_budget_reason(Decimal("0.4"), Decimal("0.2"), Decimal("0.5"), "2026-11")
    assert "monthly_budget = 0.5" in reason
    assert "$0.400 to $0.600" in reason
    assert "pipeline retry" in reason


def test_the_month_starts_at_the_sites_midnight() -> None:
    assert month_start(at("2026-12-15T12:00:00"), NEW_YORK) == at("2026-12-01T05:00:00")
    assert month_start(at("2026-12-01T04:59:00"), NEW_YORK) == at("2026-11-01T04:00:00")  # EDT
    assert month_start(at("2026-12-01T04:59:00"), ZoneInfo("UTC")) == at("2026-12-01T00:00:00")


def test_recorded_costs_read_the_job_log_as_written() -> None:
    rows = [("2026-12-01T05:00:00Z", "0.200"), ("2026-12-02T10:00:00Z", "0.015")]
    assert recorded_costs(rows) == [
        (at("2026-12-01T05:00:00"), Decimal("0.200")),
        (at("2026-12-02T10:00:00"), Decimal("0.015")),
    ]


def test_the_summary_reads_as_one_line() -> None:
    sent = [(at("2026-12-02T12:00:00"), Decimal("0.2"))]
    now = at("2026-12-10T00:00:00")
    assert month_summary(sent, now, NEW_YORK, Decimal("10.0")).describe() == (
        "X in 2026-12: 1 post, $0.200 of the $10.0 monthly budget ($9.800 left)"
    )
    assert month_summary([], now, NEW_YORK, None).describe() == (
        "X in 2026-12: 0 posts, $0.000 (no [x] monthly_budget)"
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        month_spend([(datetime(2026, 12, 1), Decimal(1))], at("2026-12-02T00:00:00"), NEW_YORK)
