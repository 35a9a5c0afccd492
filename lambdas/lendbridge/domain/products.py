"""The product catalogue: per-stage configuration, checked once when the stage is synthesized
(``lendbridge_infra.config``) and again, by the same rules, when a function reads it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lendbridge.domain.currencies import is_currency

PRODUCT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
RATE_TYPES = ("FIXED", "FLOATING")
MAX_TERM_MONTHS = 600
_FIELDS = frozenset(
    {
        "product_id",
        "name",
        "description",
        "currency",
        "min_amount",
        "max_amount",
        "min_term_months",
        "max_term_months",
        "rate_type",
    }
)


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    description: str
    currency: str
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    rate_type: str


def parse_catalogue(raw: object) -> tuple[Product, ...]:
    """The catalogue as configured (a list of product objects); ValueError naming the first
    product and field that break a rule."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValueError("products must be a non-empty list")
    products = tuple(_product(index, entry) for index, entry in enumerate(raw))
    ids = [product.product_id for product in products]
    duplicates = sorted({product_id for product_id in ids if ids.count(product_id) > 1})
    if duplicates:
        raise ValueError(f"products: duplicate product_id {', '.join(duplicates)}")
    return products


def catalogue_from_json(text: str) -> tuple[Product, ...]:
    return parse_catalogue(json.loads(text or "[]"))


def catalogue_to_json(products: Sequence[Product]) -> str:
    """The compact form a function receives in its environment."""
    return json.dumps([_plain(product) for product in products], separators=(",", ":"))


def _plain(product: Product) -> dict[str, Any]:
    return {
        **product.__dict__,
        "min_amount": str(product.min_amount),
        "max_amount": str(product.max_amount),
    }


def _product(index: int, entry: object) -> Product:
    if not isinstance(entry, Mapping):
        raise ValueError(f"products[{index}] must be an object")
    where = f"products[{index}] ({entry.get('product_id', '?')})"
    missing, unknown = sorted(_FIELDS - entry.keys()), sorted(entry.keys() - _FIELDS)
    if missing or unknown:
        raise ValueError(f"{where}: missing {missing or 'nothing'}, unknown {unknown or 'nothing'}")
    product_id = entry["product_id"]
    if not isinstance(product_id, str) or not re.fullmatch(PRODUCT_ID_PATTERN, product_id):
        raise ValueError(f"{where}: product_id must match {PRODUCT_ID_PATTERN}")
    for name, longest in (("name", 50), ("description", 500)):
        value = entry[name]
        if not isinstance(value, str) or not value.strip() or len(value) > longest:
            raise ValueError(f"{where}: {name} must be text of 1 to {longest} characters")
    if not isinstance(entry["currency"], str) or not is_currency(entry["currency"]):
        raise ValueError(f"{where}: currency must be an ISO 4217 code")
    low, high = _amount(where, "min_amount", entry["min_amount"]), _amount(where, "max_amount", entry["max_amount"])
    if low > high:
        raise ValueError(f"{where}: min_amount is above max_amount")
    shortest = _term(where, "min_term_months", entry["min_term_months"])
    longest_term = _term(where, "max_term_months", entry["max_term_months"])
    if shortest > longest_term:
        raise ValueError(f"{where}: min_term_months is above max_term_months")
    if entry["rate_type"] not in RATE_TYPES:
        raise ValueError(f"{where}: rate_type must be one of {', '.join(RATE_TYPES)}")
    return Product(
        product_id=product_id,
        name=entry["name"],
        description=entry["description"],
        currency=entry["currency"],
        min_amount=low,
        max_amount=high,
        min_term_months=shortest,
        max_term_months=longest_term,
        rate_type=entry["rate_type"],
    )


def _amount(where: str, name: str, value: object) -> Decimal:
    # Text, not a JSON number: a binary float never stands for money, even in configuration.
    if not isinstance(value, str):
        raise ValueError(f'{where}: {name} must be a decimal string, e.g. "250000.00"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{where}: {name} must be a decimal string") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{where}: {name} must be positive with at most two decimal places")
    return amount


def _term(where: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TERM_MONTHS:
        raise ValueError(f"{where}: {name} must be a whole number of months, 1 to {MAX_TERM_MONTHS}")
    return value
