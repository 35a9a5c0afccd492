"""The idempotency store keeps each response for 24 hours: no response of a route that honours
Idempotency-Key may carry a full bank number, a password or a token."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from lendbridge.http.idempotency import SECRET_FIELDS, secret_fields_in
from lendbridge.schemas.loans import AddLendersOut, BatchOut, LoanOut, ResponseOut

# The response models of the routes wrapped in Idempotency.run (create loan, add lenders, batch,
# accept, decline).
STORED_RESPONSES = [LoanOut, AddLendersOut, BatchOut, ResponseOut]


def property_names(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = set(schema.get("properties", {}))
        return own.union(*(property_names(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(property_names(value) for value in schema))
    return set()


@pytest.mark.parametrize("model", STORED_RESPONSES, ids=lambda m: m.__name__)
def test_no_stored_response_has_a_secret_field(model: type[BaseModel]) -> None:
    names = property_names(model.model_json_schema())
    assert "participant_id" in names or "loan_id" in names  # the schema was walked
    assert names & SECRET_FIELDS == set()


def test_secret_fields_are_found_however_deep() -> None:
    body = {"data": {"items": [{"ach": {"account_number_last4": "1234"}}, {"tokens": {"access_token": "x"}}]}}
    assert secret_fields_in(body) == {"access_token"}
    assert secret_fields_in({"data": {"ach": {"account_number_last4": "1234"}}}) == set()
