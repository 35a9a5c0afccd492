"""Issue 8: input the API must refuse with 400, never store or answer with a 500.

Every request schema is found by walking ``Strict``'s subclasses, so a schema added later is
held to the same rules without being listed here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import lendbridge.schemas.accounts
import lendbridge.schemas.bookings
import lendbridge.schemas.loans
import lendbridge.schemas.webhooks
from lendbridge.data.cursors import SignedCursors
from lendbridge.errors import ValidationFailed
from lendbridge.handlers import lender as lender_handler
from lendbridge.handlers import loans as loans_handler
from lendbridge.http import json_body
from lendbridge.http.conditional import if_match_versions
from lendbridge.http.errors import MAX_FIELD_ERRORS
from lendbridge.schemas.common import Strict
from lendbridge.schemas.loans import (
    AcceptRequest,
    CancelLoanRequest,
    CreateLoanRequest,
    DeclineRequest,
    LenderIn,
    PatchLoanRequest,
)
from tests.events import FakeContext, api_event, body_of

SCHEMA_MODULES = (  # imported for their schemas
    lendbridge.schemas.accounts,
    lendbridge.schemas.bookings,
    lendbridge.schemas.loans,
    lendbridge.schemas.webhooks,
)
VALID_LOAN = {"amount": "5000.00", "interest_rate": "7.5", "term_months": 36}
HIDDEN = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0), 0x61C, 0x200E, 0x200F)] + [
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
]
HIDDEN_SET = frozenset(HIDDEN)


def request_schemas() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = list(Strict.__subclasses__())
    while pending:
        schema = pending.pop()
        found.append(schema)
        pending.extend(schema.__subclasses__())
    return sorted(found, key=lambda schema: schema.__name__)


class Untouchable:
    """Stands in for the services: a request that fails validation must call none of them
    (looking one up is harmless, calling it is recorded and fails)."""

    def __init__(self, calls: list[str] | None = None) -> None:
        self.calls: list[str] = [] if calls is None else calls

    def __getattr__(self, name: str) -> Any:
        return Untouchable(self.calls)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("call")
        raise AssertionError("a service was called by a request that should have been refused")


@pytest.fixture
def untouchable() -> Iterator[Untouchable]:
    fake = Untouchable()
    loans_handler.services.override(fake)  # type: ignore[arg-type]
    lender_handler.services.override(fake)  # type: ignore[arg-type]
    yield fake
    loans_handler.services.reset()
    lender_handler.services.reset()


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


# ---- item 4: numbers in ASCII digits only ------------------------------------------------

ARABIC_INDIC_100 = "\u0661\u0660\u0660"
FULL_WIDTH_100 = "\uff11\uff10\uff10"
BAD_DECIMAL_TEXT = [
    ARABIC_INDIC_100,
    FULL_WIDTH_100,
    "1_000",
    "1e3",
    " 100",
    "100 ",
    "+100",
    ".5",
    "100.",
    "NaN",
    "0x10",
]


@pytest.mark.parametrize("text", BAD_DECIMAL_TEXT)
@pytest.mark.parametrize(
    ("schema", "body", "field"),
    [
        (CreateLoanRequest, VALID_LOAN, "amount"),
        (CreateLoanRequest, VALID_LOAN, "interest_rate"),
        (LenderIn, {"email": "a@example.com", "contribution_amount": 1}, "contribution_amount"),
        (PatchLoanRequest, {"change_reason": "x"}, "interest_rate"),
    ],
)
def test_decimal_strings_take_ascii_digits_only(
    schema: type[BaseModel], body: dict[str, Any], field: str, text: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        schema.model_validate({**body, field: text})
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(100, Decimal(100)), ("100", Decimal(100)), ("1234.56", Decimal("1234.56")), (Decimal("0.5"), Decimal("0.5"))],
)
def test_money_still_takes_json_numbers_and_plain_decimal_strings(value: object, expected: Decimal) -> None:
    assert CreateLoanRequest.model_validate({**VALID_LOAN, "amount": value}).amount == expected


@given(st.text(alphabet=st.characters(categories=["Nd", "No", "Pc", "Po", "Zs", "Sm"]), min_size=1, max_size=8))
def test_an_accepted_amount_string_is_always_ascii_decimal(text: str) -> None:
    try:
        CreateLoanRequest.model_validate({**VALID_LOAN, "amount": text})
    except ValidationError:
        return
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", text), text


@pytest.mark.parametrize("value", ["1_0", "\u0661\u0662", "12", True, 12.5, Decimal("12.5"), 10**400])
def test_term_months_is_a_json_integer_only(value: object) -> None:
    with pytest.raises(ValidationError):
        CreateLoanRequest.model_validate({**VALID_LOAN, "term_months": value})


@pytest.mark.parametrize("value", [12, 12.0, Decimal("12"), Decimal("12.000"), Decimal("1.2E+1")])
def test_term_months_takes_a_whole_number_written_with_a_fraction_or_exponent(value: object) -> None:
    # JSON Schema's integer is any number with a zero fraction (12.0, 1.2e1): the document says
    # integer, so the server takes what a schema-valid client may send (found by fuzzing).
    assert CreateLoanRequest.model_validate({**VALID_LOAN, "term_months": value}).term_months == 12


@pytest.mark.parametrize(
    ("field", "digits"),
    [
        ("routing_number", "\u0660\u0661\u0661\u0660\u0660\u0660\u0660\u0661\u0665"),
        ("account_number", "\u0661\u0662\u0663\u0664"),
    ],
)
def test_bank_numbers_take_ascii_digits_only(field: str, digits: str) -> None:
    ach = {
        "account_holder_name": "A",
        "routing_number": "011000015",
        "account_number": "1234",
        "account_type": "checking",
    }
    with pytest.raises(ValidationError):
        AcceptRequest.model_validate({"ach": {**ach, field: digits}})


@pytest.mark.parametrize(
    "limit", ["1_0", "\u0661\u0660", FULL_WIDTH_100, "+10", " 10", "10.0", "12.5", "true", "0", "101", "9" * 5000]
)
def test_limit_takes_ascii_digits_within_bounds(untouchable: Untouchable, limit: str) -> None:
    event = api_event("GET", "/v1/loans/my-loans", resource="/v1/loans/my-loans", query={"limit": limit}, user_id="u1")
    status, body = call_loans(event)
    assert (status, list(body["field_errors"])) == (400, ["limit"])
    assert untouchable.calls == []


# ---- item 4: no hidden characters in any text field --------------------------------------


@pytest.mark.parametrize("schema", request_schemas(), ids=lambda schema: schema.__name__)
@pytest.mark.parametrize("character", ["\u202e", "\u2066", "\u200f", "\x00", "\x1b", "\x85", "\n", "\t"])
def test_every_field_of_every_request_schema_refuses_hidden_characters(schema: type[BaseModel], character: str) -> None:
    for name, field in schema.model_fields.items():
        with pytest.raises(ValidationError) as refused:
            schema.model_validate({name: f"Ada{character}Lovelace"})
        at_field = [error for error in refused.value.errors() if error["loc"] == (field.alias or name,)]
        assert [error["type"] for error in at_field] == ["hidden_character"], f"{schema.__name__}.{name}"
        assert f"U+{ord(character):04X}" in at_field[0]["msg"]


@pytest.mark.parametrize("schema", request_schemas(), ids=lambda schema: schema.__name__)
def test_every_text_field_documents_the_rule(schema: type[BaseModel]) -> None:
    for name, prop in schema.model_json_schema()["properties"].items():
        if prop.get("type") == "string":
            assert "pattern" in prop or "enum" in prop, f"{schema.__name__}.{name}"


@given(st.text(max_size=40))
def test_purpose_is_kept_exactly_unless_it_hides_characters(text: str) -> None:
    if HIDDEN_SET & set(text):
        with pytest.raises(ValidationError) as refused:
            PatchLoanRequest.model_validate({"purpose": text, "change_reason": "why"})
        assert [error["type"] for error in refused.value.errors()] == ["hidden_character"]
    else:
        patch = PatchLoanRequest.model_validate({"purpose": text, "change_reason": "why"})
        assert patch.purpose == text.strip()


def test_the_document_pattern_and_the_server_agree() -> None:
    pattern = re.compile(PatchLoanRequest.model_json_schema()["properties"]["purpose"]["pattern"])
    for character in HIDDEN:
        assert not pattern.match(f"a{character}b"), repr(character)
    for text in ("Ada Lovelace", "\u0645\u0631\u062d\u0628\u0627", "\u00e9t\u00e9", "\U0001f600"):
        assert pattern.match(text)
        assert PatchLoanRequest.model_validate({"purpose": text, "change_reason": "x"}).purpose == text


def test_a_bidi_override_in_purpose_is_a_400_over_the_handler(untouchable: Untouchable) -> None:
    event = api_event("POST", "/v1/loans", body={**VALID_LOAN, "purpose": "pay \u202eevil"}, user_id="u1")
    status, body = call_loans(event)
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    assert body["field_errors"] == {
        "purpose": ["Must not contain control or bidirectional formatting characters (found U+202E)"]
    }
    assert untouchable.calls == []


# ---- item 4: bodies, tokens and paths that used to be 500s -------------------------------


def nested(depth: int, inner: str = "1") -> str:
    return '{"amount":' * depth + inner + "}" * depth


@pytest.mark.parametrize(
    "raw", ["[" * 1000 + "]" * 1000, nested(1000), "[" * 100_000 + "]" * 100_000, '{"a":' + "[" * 500 + "]" * 500 + "}"]
)
def test_deeply_nested_json_is_a_400(untouchable: Untouchable, raw: str) -> None:
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, body["error"]) == (400, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": [f"Nested more than {json_body.MAX_DEPTH} levels deep"]}
    assert untouchable.calls == []


def test_nesting_up_to_the_limit_parses() -> None:
    inner = json_body.MAX_DEPTH - 1
    assert json_body.parse('{"a":' + "[" * inner + "]" * inner + "}") is not None
    with pytest.raises(ValidationFailed, match="nested"):
        json_body.parse('{"a":' + "[" * (inner + 1) + "]" * (inner + 1) + "}")
    assert json_body.parse('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": "[" * 40}
    assert json_body.parse('{"amount": 1.10}') == {"amount": Decimal("1.10")}


@pytest.mark.parametrize(
    "raw", ["[" + json.dumps(VALID_LOAN) + "]", "[" + json.dumps(VALID_LOAN) + ", 7]", "1.5", "-0.0", '"text"', "true"]
)
def test_a_body_that_is_not_an_object_is_a_400_and_reaches_nothing(untouchable: Untouchable, raw: str) -> None:
    # Powertools validated an array as its first element: [{a valid loan}] created the loan.
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, body["field_errors"]) == (400, {"body": ["Must be a JSON object"]})
    assert untouchable.calls == []


SOME_ID = "0e3eeeb0-70dc-44e5-a531-65536af0a9f4"


def _decline(raw: str | None) -> dict[str, Any]:
    return api_event(
        "POST",
        f"/v1/lender/invitations/{SOME_ID}/decline",
        resource="/v1/lender/invitations/{participant_id}/decline",
        path_parameters={"participant_id": SOME_ID},
        raw_body=raw,
        user_id="u1",
    )


@pytest.mark.parametrize("raw", ["1.5", "-0.0", "[{}]", '[{"reason": "no"}]'])
def test_an_optional_body_that_is_not_an_object_is_a_400(untouchable: Untouchable, raw: str) -> None:
    # A bare number or an array passed the optional decline and cancel bodies and reached the service.
    cancel = api_event(
        "DELETE",
        f"/v1/loans/{SOME_ID}",
        resource="/v1/loans/{loan_id}",
        path_parameters={"loan_id": SOME_ID},
        raw_body=raw,
        user_id="u1",
    )
    for response in (
        lender_handler.handler(_decline(raw), FakeContext()),
        loans_handler.handler(cancel, FakeContext()),
    ):
        assert (response["statusCode"], body_of(response)["field_errors"]) == (400, {"body": ["Must be a JSON object"]})
    assert untouchable.calls == []


@pytest.mark.parametrize("raw", ["null", "", "{}"])
def test_an_optional_body_may_still_be_null_absent_or_empty(untouchable: Untouchable, raw: str) -> None:
    lender_handler.handler(_decline(raw or None), FakeContext())
    assert untouchable.calls == ["call"]  # validation let it through to the service


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\udbff", "\\ude00\\ud83d"])
@pytest.mark.parametrize("where", ["value", "key", "list"])
def test_a_string_with_an_unpaired_surrogate_is_a_400_and_reaches_nothing(
    untouchable: Untouchable, escaped: str, where: str
) -> None:
    # The batch route echoed such an email back; the response then had no UTF-8 form and the
    # function's answer could not be sent (a gateway 5xx without the request id header).
    loan = "0e3eeeb0-70dc-44e5-a531-65536af0a9f4"
    text = f'"{escaped}@example.com"'
    items = {"value": f'{{"email": {text}, "contribution_amount": "1"}}', "key": f"{{{text}: 1}}", "list": f"[{text}]"}
    event = api_event(
        "POST",
        f"/v1/loans/{loan}/participants/batch",
        resource="/v1/loans/{loan_id}/participants/batch",
        path_parameters={"loan_id": loan},
        raw_body=f'{{"participants": [{items[where]}]}}',
        user_id="u1",
    )
    status, body = call_loans(event)
    assert (status, body["field_errors"]) == (400, {"body": ["Must not contain unpaired surrogates"]})
    assert untouchable.calls == []


@pytest.mark.parametrize(
    "raw", ['{"purpose": "\\ud83d\\ude00"}', '{"purpose": "\\\\ud800"}', '{"purpose": "\U0001f600"}']
)
def test_paired_surrogates_and_an_escaped_backslash_still_parse(raw: str) -> None:
    assert json_body.parse(raw)["purpose"] in ("\U0001f600", "\\ud800")


@pytest.mark.parametrize(
    "raw",
    [
        '{"amount": "100", "amount": "9999999", "interest_rate": 1, "term_months": 1}',
        '{"amount": "100", "interest_rate": 1, "term_months": 1, "lenders": '
        '[{"email": "a@example.com", "contribution_amount": "1", "contribution_amount": "99"}]}',
    ],
)
def test_a_key_named_twice_in_one_object_is_a_400_and_reaches_nothing(untouchable: Untouchable, raw: str) -> None:
    # The parser kept the last value: {"amount": "100", "amount": "9999999"} made a 9,999,999 loan.
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, body["field_errors"]) == (400, {"body": ["Must not repeat a key in an object"]})
    assert untouchable.calls == []


def test_the_same_key_in_different_objects_is_fine() -> None:
    raw = '{"lenders": [{"email": "a@example.com"}, {"email": "b@example.com"}], "email": "c@example.com"}'
    assert json_body.parse(raw)["lenders"][1] == {"email": "b@example.com"}


def test_a_repeated_key_that_is_an_unpaired_surrogate_is_not_echoed(untouchable: Untouchable) -> None:
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body='{"\\ud800": 1, "\\ud800": 2}', user_id="u1"))
    assert status == 400
    json.dumps(body).encode("utf-8")  # the answer has a UTF-8 form


def boolean_fields() -> list[tuple[type[BaseModel], str]]:
    found = []
    for schema in request_schemas():
        for name, prop in schema.model_json_schema().get("properties", {}).items():
            if prop.get("type") == "boolean":
                found.append((schema, name))
    return found


def test_the_boolean_request_fields_are_found() -> None:
    assert (lendbridge.schemas.webhooks.PatchWebhookRequest, "active") in boolean_fields()


@pytest.mark.parametrize("value", [0, 1, "no", "off", "yes", "true", "0", Decimal("1.0"), Decimal("0")])
def test_a_boolean_field_takes_json_true_or_false_only(value: object) -> None:
    # pydantic's lax mode read {"active": "no"} and {"active": 0} as false.
    for schema, name in boolean_fields():
        with pytest.raises(ValidationError):
            schema.model_validate({name: value})
        assert getattr(schema.model_validate({name: True}), name) is True


def test_an_object_with_more_than_a_hundred_members_is_a_400_and_reaches_nothing(untouchable: Untouchable) -> None:
    # Each unknown member was a field error: an 870 KB body of short keys made a 6 MB answer.
    raw = json.dumps({**VALID_LOAN, **{f"k{n}": 1 for n in range(json_body.MAX_MEMBERS - 2)}})
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    reason = f"An object has more than {json_body.MAX_MEMBERS} members"
    assert (status, body["field_errors"]) == (400, {"body": [reason]})
    assert untouchable.calls == []


def test_an_answer_lists_at_most_fifty_field_errors_and_says_how_many_there_were(untouchable: Untouchable) -> None:
    extras = {f"k{n}": 1 for n in range(json_body.MAX_MEMBERS - 3)}
    lenders = [{"email": f"l{n}@example.com", "contribution_amount": "1", **extras} for n in range(20)]
    response = loans_handler.handler(
        api_event("POST", "/v1/loans", raw_body=json.dumps({**VALID_LOAN, "lenders": lenders}), user_id="u1"),
        FakeContext(),
    )
    body = body_of(response)
    assert response["statusCode"] == 400
    assert sum(len(messages) for messages in body["field_errors"].values()) == MAX_FIELD_ERRORS
    assert body["message"] == f"The request is invalid ({20 * len(extras)} problems; the first 50 are listed)"
    assert len(response["body"]) < 10_000
    assert untouchable.calls == []


def test_an_answer_with_few_field_errors_lists_them_all(untouchable: Untouchable) -> None:
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=json.dumps({"a": 1, "b": 2}), user_id="u1"))
    assert status == 400
    assert body["message"] == "The request is invalid"
    assert set(body["field_errors"]) == {"a", "b", "amount", "interest_rate", "term_months"}


def test_an_integer_too_long_to_convert_is_a_400(untouchable: Untouchable) -> None:
    raw = '{"amount": 1, "interest_rate": 1, "term_months": 1' + "0" * 5000 + "}"
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, body["field_errors"]) == (400, {"body": ["A number in the body is too long"]})


def test_a_huge_integer_within_conversion_limits_is_a_field_error(untouchable: Untouchable) -> None:
    raw = json.dumps({**VALID_LOAN, "term_months": 10**400})
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, list(body["field_errors"])) == (400, ["term_months"])


def test_a_five_megabyte_body_is_a_413(untouchable: Untouchable) -> None:
    raw = json.dumps({**VALID_LOAN, "purpose": "x" * (5 * 1024 * 1024)})
    status, body = call_loans(api_event("POST", "/v1/loans", raw_body=raw, user_id="u1"))
    assert (status, body["error"]) == (413, "VALIDATION_ERROR")


@pytest.mark.parametrize("raw", ["%%%not base64", base64.b64encode(b'{"amount": "\xff"}').decode()])
def test_a_base64_body_that_is_not_utf8_text_is_a_400(untouchable: Untouchable, raw: str) -> None:
    event = api_event("POST", "/v1/loans", raw_body=raw, user_id="u1")
    event["isBase64Encoded"] = True
    status, body = call_loans(event)
    assert (status, body["field_errors"]) == (400, {"body": ["Must be UTF-8 text"]})


@pytest.mark.parametrize("token", ["v1.\u00e9.\u00e9", "v1.abc.\u00e9", "\u00e9", "v1.a.b.c", "v1..", "v1.a b.c"])
def test_the_cursor_decoder_refuses_malformed_tokens(token: str) -> None:
    cursors = SignedCursors(lambda: b"k" * 32, lambda: datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(ValidationFailed) as refused:
        cursors.decode("my-loans", "alice", token)
    assert refused.value.field_errors == {"next_token": ["Invalid pagination token"]}


@pytest.mark.parametrize(
    ("handler", "path", "resource"),
    [
        (loans_handler, "/v1/loans/my-loans", "/v1/loans/my-loans"),
        (loans_handler, "/v1/loans/L1/history", "/v1/loans/{loan_id}/history"),
        (loans_handler, "/v1/loans/L1/funding-history", "/v1/loans/{loan_id}/funding-history"),
        (loans_handler, "/v1/loans/L1/audit-log", "/v1/loans/{loan_id}/audit-log"),
        (lender_handler, "/v1/lender/pending", "/v1/lender/pending"),
        (lender_handler, "/v1/lender/portfolio", "/v1/lender/portfolio"),
    ],
)
def test_a_non_ascii_next_token_is_a_400_on_every_list(
    untouchable: Untouchable, handler: Any, path: str, resource: str
) -> None:
    event = api_event(
        "GET",
        path,
        resource=resource,
        query={"next_token": "v1.\u00e9.\u00e9"},
        path_parameters={"loan_id": "L1"} if "{loan_id}" in resource else None,
        user_id="u1",
    )
    response = handler.handler(event, FakeContext())
    assert response["statusCode"] == 400
    assert list(body_of(response)["field_errors"]) == ["next_token"]
    assert untouchable.calls == []


def refused_path(response: dict[str, Any], name: str) -> bool:
    """An odd id is a 400 naming it or, when it cannot match a route at all, a 404."""
    body = body_of(response)
    if response["statusCode"] == 404:
        return bool(body["error"] == "NOT_FOUND")
    return response["statusCode"] == 400 and list(body["field_errors"]) == [name]


@pytest.mark.parametrize("odd", ["\u00e9", "\u202eL1", "L1\x00", "L#1", "a/b", "x" * 65, "\U0001f600", "\ufffd"])
def test_odd_path_ids_are_a_400_or_404_and_reach_nothing(untouchable: Untouchable, odd: str) -> None:
    loan = api_event(
        "GET", f"/v1/loans/{odd}", resource="/v1/loans/{loan_id}", path_parameters={"loan_id": odd}, user_id="u1"
    )
    assert refused_path(loans_handler.handler(loan, FakeContext()), "loan_id")
    accept = api_event(
        "POST",
        f"/v1/lender/invitations/{odd}/decline",
        resource="/v1/lender/invitations/{participant_id}/decline",
        path_parameters={"participant_id": odd},
        body={},
        user_id="u1",
    )
    assert refused_path(lender_handler.handler(accept, FakeContext()), "participant_id")
    assert untouchable.calls == []


@pytest.mark.parametrize("if_match", ['"\u0661"', '"\uff11"', "\u0661"])
def test_if_match_in_other_digits_is_refused_before_any_read(untouchable: Untouchable, if_match: str) -> None:
    event = api_event(
        "PATCH",
        "/v1/loans/loan-1",
        resource="/v1/loans/{loan_id}",
        path_parameters={"loan_id": "loan-1"},
        body={"term_months": 12, "change_reason": "x"},
        headers={"If-Match": if_match},
        user_id="borrower-1",
    )
    status, body = call_loans(event)
    assert status == 400
    assert [name.lower() for name in body["field_errors"]] == ["if-match"]
    assert untouchable.calls == []


@pytest.mark.parametrize("if_match", ['"1_0"', '"' + "9" * 5000 + '"', '"-1"', 'W/"1"'])
def test_tags_that_are_not_ascii_versions_never_match(if_match: str) -> None:
    """Well-formed entity tags that are not a version are valid headers (RFC 9110) that can never
    match: the domain answers them 412 once it knows the caller may see the loan."""
    assert if_match_versions(if_match) == ()
