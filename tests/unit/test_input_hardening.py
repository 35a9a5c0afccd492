"""Issue 8: input the API must refuse with 400, never store or answer with a 500.

Every request schema is found by walking ``Strict``'s subclasses, so a schema added later is
held to the same rules without being listed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import lendbridge.schemas.accounts
import lendbridge.schemas.loans
from lendbridge.handlers import loans as loans_handler
from lendbridge.schemas.common import Strict
from lendbridge.schemas.loans import CancelLoanRequest, CreateLoanRequest, DeclineRequest, PatchLoanRequest
from tests.events import FakeContext, api_event, body_of

SCHEMA_MODULES = (lendbridge.schemas.accounts, lendbridge.schemas.loans)


def request_schemas() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = list(Strict.__subclasses__())
    while pending:
        schema = pending.pop()
        found.append(schema)
        pending.extend(schema.__subclasses__())
    return sorted(found, key=lambda schema: schema.__name__)


class Untouchable:
    """Stands in for the services: a request that fails validation must not reach them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise AssertionError(f"services.{name} used by a request that should have been refused")


@pytest.fixture
def untouchable() -> Iterator[Untouchable]:
    fake = Untouchable()
    loans_handler.services.override(fake)  # type: ignore[arg-type]
    yield fake
    loans_handler.services.reset()


def call_loans(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = loans_handler.handler(event, FakeContext())
    return int(response["statusCode"]), body_of(response)


# ---- item 1: optional is not nullable ----------------------------------------------------


def test_the_schemas_under_test_are_found() -> None:
    names = {schema.__name__ for schema in request_schemas()}
    assert {"PatchLoanRequest", "CreateLoanRequest", "RegisterRequest", "AchIn", "DeclineRequest"} <= names


@pytest.mark.parametrize("schema", request_schemas(), ids=lambda schema: schema.__name__)
def test_no_request_field_accepts_null(schema: type[BaseModel]) -> None:
    for name, field in schema.model_fields.items():
        with pytest.raises(ValidationError) as refused:
            schema.model_validate({name: None})
        at_field = [error for error in refused.value.errors() if error["loc"][:1] == (field.alias or name,)]
        assert at_field, f"{schema.__name__}.{name} accepted null"


@pytest.mark.parametrize("schema", request_schemas(), ids=lambda schema: schema.__name__)
def test_no_request_schema_documents_null(schema: type[BaseModel]) -> None:
    document = json.dumps(schema.model_json_schema())
    assert '"null"' not in document
    assert '"default": null' not in document


@pytest.mark.parametrize("field", ["interest_rate", "term_months", "purpose"])
def test_patch_with_null_is_refused_naming_the_field(field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PatchLoanRequest.model_validate({field: None, "change_reason": "x"})
    assert [(error["loc"], error["msg"]) for error in refused.value.errors()] == [
        ((field,), "May be omitted, but not null")
    ]


def test_optional_fields_may_still_be_left_out() -> None:
    patch = PatchLoanRequest.model_validate({"term_months": 12, "change_reason": "shorter"})
    assert patch.terms() == {"term_months": 12}
    assert CreateLoanRequest.model_validate({"amount": 1, "interest_rate": 1, "term_months": 1}).purpose is None
    assert DeclineRequest.model_validate({}).reason is None
    assert CancelLoanRequest.model_validate({}).reason is None


@pytest.mark.parametrize("field", ["interest_rate", "term_months", "purpose"])
def test_http_patch_with_null_is_a_400_and_reaches_nothing(untouchable: Untouchable, field: str) -> None:
    event = api_event(
        "PATCH",
        "/v1/loans/loan-1",
        resource="/v1/loans/{loan_id}",
        path_parameters={"loan_id": "loan-1"},
        body={field: None, "change_reason": "x"},
        headers={"If-Match": '"1"'},
        user_id="borrower-1",
    )
    status, body = call_loans(event)
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    assert body["field_errors"] == {field: ["May be omitted, but not null"]}
    assert untouchable.calls == []
