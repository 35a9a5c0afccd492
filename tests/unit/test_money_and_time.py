"""The value rules every layer relies on: money is Decimal with two places, rounded the same way
whatever decimal context the thread runs in; a percentage never rounds up to 100.00; time is
timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import ROUND_UP, Decimal, localcontext

from lendbridge.domain.money import ZERO, cents, percentage
from lendbridge.domain.ports import utc_now


def test_cents_rounds_half_to_even_whatever_the_decimal_context() -> None:
    with localcontext(rounding=ROUND_UP):
        assert [cents(Decimal(value)) for value in ("0.125", "0.135", "0.1251", "-0.125")] == [
            Decimal("0.12"),
            Decimal("0.14"),
            Decimal("0.13"),
            Decimal("-0.12"),
        ]


def test_a_percentage_is_rounded_down_so_only_full_funding_shows_100() -> None:
    assert percentage(Decimal("9999.99"), Decimal("10000.00")) == Decimal("99.99")
    assert percentage(Decimal("2"), Decimal("3")) == Decimal("66.66")
    assert percentage(Decimal("10000.00"), Decimal("10000.00")) == Decimal("100.00")


def test_a_percentage_of_nothing_is_zero_and_of_one_is_the_part() -> None:
    assert percentage(ZERO, ZERO) == ZERO
    assert percentage(Decimal("0.5"), Decimal("1")) == Decimal("50.00")


def test_now_is_timezone_aware_utc() -> None:
    assert utc_now().utcoffset() == timedelta(0)
    assert utc_now().tzinfo is UTC
