"""The product catalogue: every rule it is held to at synth (and again when a function reads it),
and the stage configuration that carries it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lendbridge.domain.products import catalogue_from_json, catalogue_to_json, parse_catalogue

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
PRODUCT: dict[str, Any] = {
    "product_id": "term-loan-eur",
    "name": "Term loan (EUR)",
    "description": "Amortising term loan",
    "currency": "EUR",
    "min_amount": "50000.00",
    "max_amount": "25000000.00",
    "min_term_months": 12,
    "max_term_months": 120,
    "rate_type": "FIXED",
}


def test_a_valid_catalogue_is_read_exactly_and_travels_as_json_unchanged() -> None:
    (product,) = parse_catalogue([PRODUCT])
    assert (product.min_amount, product.max_amount) == (Decimal("50000.00"), Decimal("25000000.00"))
    assert (product.min_term_months, product.max_term_months, product.rate_type) == (12, 120, "FIXED")
    assert catalogue_from_json(catalogue_to_json([product])) == (product,)
    assert json.loads(catalogue_to_json([product])) == [PRODUCT]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"product_id": "Term Loan"}, "product_id must match"),
        ({"product_id": 7}, "product_id must match"),
        ({"name": "   "}, "name must be text"),
        ({"name": "n" * 51}, "name must be text"),
        ({"description": 3}, "description must be text"),
        ({"currency": "XXX"}, "currency must be an ISO 4217 code"),
        ({"currency": "eur"}, "currency must be an ISO 4217 code"),
        ({"currency": ["EUR"]}, "currency must be an ISO 4217 code"),
        ({"min_amount": 50000.0}, "min_amount must be a decimal string"),
        ({"min_amount": "fifty"}, "min_amount must be a decimal string"),
        ({"min_amount": "0"}, "min_amount must be positive"),
        ({"max_amount": "10.001"}, "max_amount must be positive with at most two decimal places"),
        ({"max_amount": "Infinity"}, "max_amount must be positive"),
        ({"min_amount": "30000000.00"}, "min_amount is above max_amount"),
        ({"min_term_months": 0}, "min_term_months must be a whole number"),
        ({"max_term_months": 601}, "max_term_months must be a whole number"),
        ({"max_term_months": True}, "max_term_months must be a whole number"),
        ({"min_term_months": 121}, "min_term_months is above max_term_months"),
        ({"rate_type": "VARIABLE"}, "rate_type must be one of FIXED, FLOATING"),
        ({"colour": "blue"}, "unknown ['colour']"),
    ],
)
def test_a_product_breaking_a_rule_is_refused_naming_it(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")) as refused:
        parse_catalogue([{**PRODUCT, **changes}])
    assert "products[0]" in str(refused.value)


def test_a_missing_field_a_duplicate_id_or_no_products_is_refused() -> None:
    without_name = {k: v for k, v in PRODUCT.items() if k != "name"}
    with pytest.raises(ValueError, match=r"missing \['name'\]"):
        parse_catalogue([without_name])
    with pytest.raises(ValueError, match="duplicate product_id term-loan-eur"):
        parse_catalogue([PRODUCT, {**PRODUCT, "name": "Another"}])
    for empty in ([], None, "term-loan-eur", {"products": []}):
        with pytest.raises(ValueError, match="non-empty list"):
            parse_catalogue(empty)
    with pytest.raises(ValueError, match=r"products\[1\] must be an object"):
        parse_catalogue([PRODUCT, "bridge"])


def test_every_stage_offers_a_valid_catalogue_in_cdk_json() -> None:
    stages = json.loads(CDK_JSON.read_text())["context"]["stages"]
    for name, stage in stages.items():
        products = parse_catalogue(stage["products"])
        assert products, name
        # The whole catalogue travels in the function's environment (4 KB for all its variables).
        assert len(catalogue_to_json(products)) < 2048, name
