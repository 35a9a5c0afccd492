"""Input rules of the loan and lender bodies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from lendbridge.domain.loans import AchDetails
from lendbridge.schemas.loans import AcceptRequest, AddLendersRequest, CreateLoanRequest

VALID_LOAN = {"amount": "5000", "interest_rate": 7.25, "term_months": 36}


def test_money_accepts_numbers_and_decimal_strings_exactly() -> None:
    assert CreateLoanRequest.model_validate({**VALID_LOAN, "amount": Decimal("1234.56")}).amount == Decimal("1234.56")
    assert CreateLoanRequest.model_validate({**VALID_LOAN, "amount": "0.01"}).amount == Decimal("0.01")


@pytest.mark.parametrize("amount", ["0", "-1", "10000000.01", "1.001", "abc", None, True])
def test_money_outside_the_contract_is_refused(amount: object) -> None:
    with pytest.raises(ValidationError):
        CreateLoanRequest.model_validate({**VALID_LOAN, "amount": amount})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interest_rate", 100.01),
        ("interest_rate", -0.1),
        ("term_months", 0),
        ("term_months", 601),
        ("term_months", 12.5),
        ("term_months", "12"),
    ],
)
def test_terms_outside_the_contract_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        CreateLoanRequest.model_validate({**VALID_LOAN, field: value})


def test_at_most_twenty_lenders_and_the_error_names_the_count() -> None:
    lenders = [{"email": f"l{i}@example.com", "contribution_amount": 1} for i in range(21)]
    with pytest.raises(ValidationError) as raised:
        AddLendersRequest.model_validate({"lenders": lenders})
    assert "21" in str(raised.value)


@pytest.mark.parametrize("routing", ["011000015", "021000021", "026009593"])
def test_valid_aba_routing_numbers(routing: str) -> None:
    body = {
        "ach": {
            "account_holder_name": "A",
            "routing_number": routing,
            "account_number": "1234",
            "account_type": "savings",
        }
    }
    assert AcceptRequest.model_validate(body).ach.routing_number == routing


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("routing_number", "011000016"),
        ("routing_number", "12345678"),
        ("routing_number", "01100001a"),
        ("account_number", "123"),
        ("account_number", "1" * 18),
        ("account_type", "brokerage"),
    ],
)
def test_invalid_bank_details_are_refused(field: str, value: str) -> None:
    ach = {
        "account_holder_name": "A",
        "routing_number": "011000015",
        "account_number": "1234",
        "account_type": "checking",
        field: value,
    }
    with pytest.raises(ValidationError):
        AcceptRequest.model_validate({"ach": ach})


def test_bank_numbers_never_appear_in_reprs() -> None:
    body = AcceptRequest.model_validate(
        {
            "ach": {
                "account_holder_name": "A",
                "routing_number": "011000015",
                "account_number": "987654321",
                "account_type": "checking",
            }
        }
    )
    details = AchDetails("A", "011000015", "987654321", "checking")
    for text in (repr(body), str(body), repr(body.ach), repr(details)):
        assert "987654321" not in text
        assert "011000015" not in text
