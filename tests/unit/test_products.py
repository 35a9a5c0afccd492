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


ID_PATTERN = "^[a-z0-9][a-z0-9-]{0,63}$"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"product_id": "Term Loan"}, f"products[0] (Term Loan): product_id must match {ID_PATTERN}"),
        ({"product_id": 7}, f"products[0] (7): product_id must match {ID_PATTERN}"),
        ({"product_id": "-loan"}, f"products[0] (-loan): product_id must match {ID_PATTERN}"),
        ({"name": "   "}, "name must be text of 1 to 50 characters"),
        ({"name": "n" * 51}, "name must be text of 1 to 50 characters"),
        ({"name": None}, "name must be text of 1 to 50 characters"),
        ({"description": 3}, "description must be text of 1 to 500 characters"),
        ({"description": "d" * 501}, "description must be text of 1 to 500 characters"),
        ({"currency": "XXX"}, "currency must be an ISO 4217 code"),
        ({"currency": "eur"}, "currency must be an ISO 4217 code"),
        ({"currency": ["EUR"]}, "currency must be an ISO 4217 code"),
        ({"min_amount": 50000.0}, 'min_amount must be a decimal string, e.g. "250000.00"'),
        ({"min_amount": "fifty"}, "min_amount must be a decimal string"),
        ({"min_amount": "0"}, "min_amount must be positive with at most two decimal places"),
        ({"min_amount": "-5.00"}, "min_amount must be positive with at most two decimal places"),
        ({"max_amount": "10.001"}, "max_amount must be positive with at most two decimal places"),
        ({"max_amount": "Infinity"}, "max_amount must be positive with at most two decimal places"),
        ({"max_amount": "NaN"}, "max_amount must be positive with at most two decimal places"),
        ({"min_amount": "30000000.00"}, "min_amount is above max_amount"),
        ({"min_term_months": 0}, "min_term_months must be a whole number of months, 1 to 600"),
        ({"max_term_months": 601}, "max_term_months must be a whole number of months, 1 to 600"),
        ({"max_term_months": True}, "max_term_months must be a whole number of months, 1 to 600"),
        ({"max_term_months": 120.0}, "max_term_months must be a whole number of months, 1 to 600"),
        ({"min_term_months": 121}, "min_term_months is above max_term_months"),
        ({"rate_type": "VARIABLE"}, "rate_type must be one of FIXED, FLOATING"),
        ({"colour": "blue"}, "missing nothing, unknown ['colour']"),
    ],
)
def test_a_product_breaking_a_rule_is_refused_naming_it(changes: dict[str, Any], message: str) -> None:
    """The whole message: it is what the operator reads when synth refuses the stage."""
    with pytest.raises(ValueError, match=r"^products\[0\]") as refused:
        parse_catalogue([{**PRODUCT, **changes}])
    expected = message if message.startswith("products[") else f"products[0] (term-loan-eur): {message}"
    assert str(refused.value) == expected


def test_the_limits_of_a_product_are_inclusive() -> None:
    edge = {
        **PRODUCT,
        "name": "n" * 50,
        "description": "d" * 500,
        "min_amount": "0.01",
        "max_amount": "0.01",
        "min_term_months": 1,
        "max_term_months": 1,
        "product_id": "a" + "b" * 63,
    }
    (product,) = parse_catalogue([edge])
    assert (product.min_amount, product.max_amount) == (Decimal("0.01"), Decimal("0.01"))
    (longest,) = parse_catalogue([{**PRODUCT, "min_term_months": 600, "max_term_months": 600}])
    assert longest.max_term_months == 600
    (one_decimal,) = parse_catalogue([{**PRODUCT, "min_amount": "50000.5"}])
    assert one_decimal.min_amount == Decimal("50000.5")


def refusal(raw: object) -> str:
    with pytest.raises(ValueError, match="^products") as refused:
        parse_catalogue(raw)
    return str(refused.value)


def test_a_missing_field_a_duplicate_id_or_no_products_is_refused() -> None:
    without_name = {k: v for k, v in PRODUCT.items() if k != "name"}
    assert refusal([without_name]) == "products[0] (term-loan-eur): missing ['name'], unknown nothing"
    without_id = {k: v for k, v in PRODUCT.items() if k != "product_id"}
    assert refusal([without_id]) == "products[0] (?): missing ['product_id'], unknown nothing"
    twice = [PRODUCT, {**PRODUCT, "name": "Another"}, {**PRODUCT, "product_id": "a"}, {**PRODUCT, "product_id": "a"}]
    assert refusal(twice) == "products: duplicate product_id a, term-loan-eur"
    empty: object
    for empty in ([], None, "term-loan-eur", {"products": []}):
        assert refusal(empty) == "products must be a non-empty list"
    assert refusal([PRODUCT, "bridge"]) == "products[1] must be an object"


def test_an_empty_environment_value_is_no_catalogue() -> None:
    with pytest.raises(ValueError, match="^products must be a non-empty list$"):
        catalogue_from_json("")


def test_the_catalogue_travels_compact() -> None:
    text = catalogue_to_json(parse_catalogue([PRODUCT]))
    assert " " not in text.replace("Term loan (EUR)", "").replace("Amortising term loan", "")
    assert text.startswith('[{"product_id":"term-loan-eur",')


def test_every_stage_offers_a_valid_catalogue_in_cdk_json() -> None:
    stages = json.loads(CDK_JSON.read_text())["context"]["stages"]
    for name, stage in stages.items():
        products = parse_catalogue(stage["products"])
        assert products, name
        # The whole catalogue travels in the function's environment (4 KB for all its variables).
        assert len(catalogue_to_json(products)) < 2048, name
