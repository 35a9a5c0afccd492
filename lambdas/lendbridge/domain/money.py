"""Money is Decimal end to end: two places, never a binary float."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_LOAN_AMOUNT = Decimal("10000000.00")


def cents(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def as_text(value: Decimal) -> str:
    """The contract's output form: a decimal string with two places, e.g. "5000.00"."""
    return f"{cents(value):.2f}"


def percentage(part: Decimal, whole: Decimal) -> Decimal:
    """Rounded down, so a loan shows 100.00 only when it is really fully funded."""
    if whole == 0:
        return ZERO
    return (part * 100 / whole).quantize(CENT, rounding=ROUND_DOWN)
