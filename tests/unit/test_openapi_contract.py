"""The OpenAPI document states the contract: what it shows is what the server enforces and sends."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from lendbridge import errors
from lendbridge.http.errors import _GATEWAY_CODES, ERROR_TYPE_OF
from lendbridge.routes import ROUTES
from lendbridge.schemas import accounts, bookings, loans, webhooks
from lendbridge.schemas.accounts import PASSWORD_PATTERN, RegisterRequest
from lendbridge.schemas.common import ErrorEnvelope
from tools import openapi

DOCUMENT = openapi.build()
OPERATIONS = [(route, DOCUMENT["paths"][route.path][route.method.lower()]) for route in ROUTES]
KEYED = {
    "CreateLoan",
    "AddLenders",
    "BatchParticipants",
    "AcceptInvitation",
    "DeclineInvitation",
    "CreateBooking",
    "BookBooking",
    "CreateDocument",
    "RequestExtraction",
    "SendWebhookTest",
}


def _model(name: str) -> type[BaseModel]:
    for module in (accounts, loans, bookings, webhooks):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    raise AssertionError(f"no request model named {name}")


def _body_schema_names(operation: dict[str, Any]) -> list[str]:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    refs = [schema] if "$ref" in schema else schema.get("anyOf", [])
    return [ref["$ref"].rsplit("/", 1)[-1] for ref in refs if "$ref" in ref]


BODIES = sorted({name for _, op in OPERATIONS if "requestBody" in op for name in _body_schema_names(op)})


def test_every_operation_with_a_body_is_covered() -> None:
    assert len(BODIES) >= 14


@pytest.mark.parametrize("name", BODIES)
def test_every_request_body_has_an_example_the_server_accepts(name: str) -> None:
    examples = DOCUMENT["components"]["schemas"][name].get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        _model(name).model_validate(example)  # the same model the handler validates with


def test_the_ach_example_passes_the_aba_checksum() -> None:
    (example,) = DOCUMENT["components"]["schemas"]["AcceptRequest"]["examples"]
    digits = [int(c) for c in example["ach"]["routing_number"]]
    assert sum(weight * digit for weight, digit in zip([3, 7, 1] * 3, digits, strict=True)) % 10 == 0
    broken = {**example["ach"], "routing_number": example["ach"]["routing_number"][:-1] + "0"}
    with pytest.raises(ValidationError):
        loans.AchIn.model_validate(broken)


@pytest.mark.parametrize(("route", "operation"), OPERATIONS, ids=[r.endpoint for r in ROUTES])
def test_every_operation_is_described(route: Any, operation: dict[str, Any]) -> None:
    assert operation["summary"]
    assert not operation["summary"].startswith(route.method)
    assert len(operation["description"]) > 20
    assert [tag["name"] for tag in DOCUMENT["tags"] if tag["name"] in operation["tags"]] == operation["tags"]
    assert {"$ref": "#/components/parameters/RequestId"} in operation["parameters"]
    for status, response in operation["responses"].items():
        assert "X-Request-Id" in response.get("headers", {}), (route.endpoint, status)
        if status in ("429", "503"):
            assert "Retry-After" in response["headers"]
    expected = {"400", "403", "429", "500", "503"} | ({"401"} if route.authenticated else set())
    if "requestBody" in operation:
        expected |= {"413", "415"}
    assert expected <= set(operation["responses"])


@pytest.mark.parametrize(("route", "operation"), OPERATIONS, ids=[r.endpoint for r in ROUTES])
def test_keyed_operations_document_their_headers(route: Any, operation: dict[str, Any]) -> None:
    names = {p.get("name", "").lower() for p in operation["parameters"]}
    keyed = {"idempotency-key", "x-idempotency-key"} <= names
    assert keyed is (route.endpoint in KEYED)
    if keyed:
        success = next(status for status in operation["responses"] if status.startswith("2"))
        assert "Idempotent-Replayed" in operation["responses"][success]["headers"]


def test_conditional_routes_document_etag_if_match_and_location() -> None:
    paths = DOCUMENT["paths"]
    get_loan, patch_loan = paths["/v1/loans/{loan_id}"]["get"], paths["/v1/loans/{loan_id}"]["patch"]
    assert "ETag" in get_loan["responses"]["200"]["headers"]
    assert "304" in get_loan["responses"]
    assert any(p["name"].lower() == "if-none-match" for p in get_loan["parameters"] if "name" in p)
    assert any(p["name"].lower() == "if-match" for p in patch_loan["parameters"] if "name" in p)
    assert {"412", "428"} <= set(patch_loan["responses"])
    assert "Location" in paths["/v1/loans"]["post"]["responses"]["201"]["headers"]


def test_create_links_to_read_change_and_delete() -> None:
    links = DOCUMENT["paths"]["/v1/loans"]["post"]["responses"]["201"]["links"]
    operation_ids = {op["operationId"] for _, op in OPERATIONS}
    assert {"GetLoan", "UpdateLoan", "CancelLoan"} <= set(links)
    for link in links.values():
        assert link["operationId"] in operation_ids
        assert link["parameters"]["loan_id"] == "$response.body#/data/loan_id"


def test_the_error_code_enum_holds_every_code_the_server_sends() -> None:
    sent = {cls.code for cls in _subclasses(errors.LendbridgeError)} | set(_GATEWAY_CODES.values())
    sent |= set(ERROR_TYPE_OF)
    documented = set(DOCUMENT["components"]["schemas"]["ErrorEnvelope"]["properties"]["error"]["enum"])
    assert sent == documented
    assert set(ErrorEnvelope.model_fields["error"].annotation.__args__) == documented  # type: ignore[union-attr]


def _subclasses(cls: type) -> set[type]:
    return {cls}.union(*(_subclasses(sub) for sub in cls.__subclasses__()))


def test_document_level_fields() -> None:
    assert DOCUMENT["info"]["contact"]["email"]
    assert DOCUMENT["info"]["license"]["name"]
    assert DOCUMENT["servers"][0]["url"] == "http://127.0.0.1:3000"
    assert len(DOCUMENT["servers"]) == 2


def test_email_and_password_rules_are_schema_keywords() -> None:
    register = DOCUMENT["components"]["schemas"]["RegisterRequest"]["properties"]
    assert register["email"]["format"] == "email"
    assert register["password"]["pattern"] == PASSWORD_PATTERN
    assert "12 to 128" in register["password"]["description"]
    assert register["password"]["minLength"] == 12


_CANDIDATES = st.text(alphabet=st.sampled_from("aZ9-! é\t\u202e"), min_size=12, max_size=20) | st.sampled_from(
    ["Correct-Horse-42", " Correct-Horse-42", "Correct-Horse-42 ", "correct-horse-42"]
)


@settings(max_examples=300, deadline=None)
@given(_CANDIDATES)
def test_the_documented_password_pattern_is_the_rule_the_server_checks(password: str) -> None:
    documented = re.search(PASSWORD_PATTERN, password) is not None
    try:
        RegisterRequest.model_validate({"email": "ada@example.com", "password": password, "full_name": "Ada"})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted is documented, password


_DECIMAL_TEXT = st.from_regex(r"\A[0-9]{1,10}(\.[0-9]{1,6})?\Z") | st.sampled_from(
    ["0", "0.00", "0.01", "0.001", "10000000", "10000000.00", "10000000.01", "0005.50", "5.000", "100", "100.0001"]
)


@settings(max_examples=200, deadline=None)
@given(_DECIMAL_TEXT)
def test_documented_money_and_rate_patterns_are_the_rules_the_server_checks(text: str) -> None:
    lender = {"email": "ada@example.com"}
    try:
        loans.LenderIn.model_validate({**lender, "contribution_amount": text})
        money_ok = True
    except ValidationError:
        money_ok = False
    assert money_ok is (re.search(loans.MONEY_PATTERN, text) is not None), text
    try:
        loans.CreateLoanRequest.model_validate({"amount": "1", "interest_rate": text, "term_months": 1})
        rate_ok = True
    except ValidationError:
        rate_ok = False
    assert rate_ok is (re.search(loans.RATE_PATTERN, text) is not None), text


def test_money_numbers_document_their_places_and_bounds() -> None:
    amount = DOCUMENT["components"]["schemas"]["CreateLoanRequest"]["properties"]["amount"]
    (number,) = [branch for branch in amount["anyOf"] if branch["type"] == "number"]
    assert number == {"type": "number", "exclusiveMinimum": 0.0, "maximum": 10000000.0, "multipleOf": 0.01}


_HEADER_TEXT = st.text(alphabet=st.sampled_from('0123 9",W/*\tx'), max_size=12)


@settings(max_examples=200, deadline=None)
@given(_HEADER_TEXT)
def test_the_documented_if_match_pattern_is_the_grammar_the_route_parses(value: str) -> None:
    from lendbridge.errors import PreconditionRequired, ValidationFailed
    from lendbridge.http.conditional import IF_MATCH_PATTERN, if_match_versions

    try:
        if_match_versions(value)
        parsed = True
    except (ValidationFailed, PreconditionRequired):
        parsed = False
    assert parsed is (re.search(IF_MATCH_PATTERN, value) is not None), repr(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["status", "amount", ",", " ", "ssn", "x"]), max_size=8).map("".join))
def test_the_documented_fields_pattern_is_what_select_fields_accepts(fields: str) -> None:
    from lendbridge.errors import ValidationFailed
    from lendbridge.http.params import fields_pattern, select_fields

    allowed = frozenset({"status", "amount"})
    try:
        select_fields({"status": 1, "amount": 2}, fields, allowed)
        accepted = True
    except ValidationFailed:
        accepted = False
    assert accepted is (re.search(fields_pattern(allowed), fields) is not None), repr(fields)


# ---- defects contract fuzzing found, each pinned ----------------------------------------------


def test_no_content_answers_document_no_body() -> None:
    for _, operation in OPERATIONS:
        for status in ("204", "304"):
            assert "content" not in operation["responses"].get(status, {})


def test_a_patch_must_name_something_to_change_in_the_document_too() -> None:
    patch = DOCUMENT["components"]["schemas"]["PatchLoanRequest"]
    assert patch["anyOf"] == [{"required": ["interest_rate"]}, {"required": ["term_months"]}, {"required": ["purpose"]}]
    with pytest.raises(ValidationError):
        loans.PatchLoanRequest.model_validate({"change_reason": "nothing"})


def test_a_field_selection_answer_is_documented() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    content = DOCUMENT["paths"]["/v1/loans/{loan_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    schema = {**content["schema"], "components": DOCUMENT["components"]}
    jsonschema.validate({"success": True, "data": {"status": "FUNDING", "total_funded": "0.00"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"success": True, "data": {"ssn": "x"}}, schema)


@pytest.mark.parametrize(
    ("term", "accepted"),
    [
        (36, True),
        (36.0, True),
        (Decimal("36.0"), True),
        (36.5, False),
        (Decimal("36.5"), False),
        ("36", False),
        (True, False),
    ],
)
def test_term_months_is_a_json_schema_integer(term: object, accepted: bool) -> None:
    body = {"amount": "1", "interest_rate": "1", "term_months": term}
    if accepted:
        assert loans.CreateLoanRequest.model_validate(body).term_months == 36
    else:
        with pytest.raises(ValidationError):
            loans.CreateLoanRequest.model_validate(body)


@pytest.mark.parametrize("email", [".ada@example.com", "ada.@example.com", "a..da@example.com", " ada@example.com"])
def test_emails_outside_the_email_format_are_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        accounts.EmailRequest.model_validate({"email": email})


def test_a_blank_required_text_is_refused_by_the_documented_pattern() -> None:
    pattern = DOCUMENT["components"]["schemas"]["RegisterRequest"]["properties"]["full_name"]["pattern"]
    assert re.search(pattern, "   ") is None
    assert re.search(pattern, " Ada ") is not None


def test_every_authenticated_answer_documents_the_rate_limit_headers() -> None:
    """The contract: X-RateLimit-* on every authenticated response; public routes have none."""
    document = DOCUMENT
    names = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
    for route in ROUTES:
        for status, response in document["paths"][route.path][route.method.lower()]["responses"].items():
            documented = set(response.get("headers", {})) & set(names)
            expected = set(names) if route.authenticated and status != "401" else set()
            assert documented == expected, (route.endpoint, status)
            for name in documented:
                assert response["headers"][name]["schema"]["pattern"] == "^[0-9]+$"
                assert response["headers"][name]["required"] is False  # gateway answers carry none
