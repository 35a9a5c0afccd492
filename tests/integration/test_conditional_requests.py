"""Conditional requests on the loan routes, through the deployed handler (issue 8, item 8):
If-Match on PATCH (428 missing, 412 stale), ETag and 304 on GET, Location on 201."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lendbridge.domain.lending import LoanTerms
from tests.events import FakeContext, api_event, body_of, header_of
from tests.integration.conftest import World
from tests.integration.handler_calls import call, handlers_on

LOAN = "/v1/loans/{loan_id}"
CHANGE = {"term_months": 24, "change_reason": "longer"}


@pytest.fixture
def loan(world: World) -> Any:
    with handlers_on(world):
        borrower, actor = world.user("borrower")
        created = world.lending.create_loan(actor, LoanTerms(Decimal("1000"), Decimal("5"), 12, None), [])
        yield borrower.user_id, created.loan_id


def patch(user: str, loan_id: str, headers: dict[str, str] | None) -> dict[str, Any]:
    return call("PATCH", LOAN, user, params={"loan_id": loan_id}, body=CHANGE, headers=headers)


@pytest.mark.parametrize(
    ("if_match", "status", "code"),
    [
        (None, 428, "PRECONDITION_REQUIRED"),
        ("*", 428, "PRECONDITION_REQUIRED"),
        ('"2"', 412, "PRECONDITION_FAILED"),
        ('W/"1"', 412, "PRECONDITION_FAILED"),  # weak tags never match an update
        ('"7", "8"', 412, "PRECONDITION_FAILED"),
        ("not-a-tag", 400, "VALIDATION_ERROR"),
    ],
)
def test_a_patch_without_a_current_if_match_changes_nothing(
    loan: tuple[str, str], if_match: str | None, status: int, code: str
) -> None:
    user, loan_id = loan
    refused = patch(user, loan_id, {"If-Match": if_match} if if_match is not None else None)
    assert (refused["statusCode"], body_of(refused)["error"]) == (status, code), refused["body"]
    after = body_of(call("GET", LOAN, user, params={"loan_id": loan_id}))["data"]
    assert (after["version"], after["term_months"]) == (1, 12)
    if status == 412:
        assert body_of(refused)["details"] == {"current_version": 1}


@pytest.mark.parametrize("if_match", ['"1"', "1", '"0", "1"'])
def test_a_patch_at_the_current_version_applies_and_returns_the_new_etag(loan: tuple[str, str], if_match: str) -> None:
    user, loan_id = loan
    applied = patch(user, loan_id, {"If-Match": if_match})
    assert applied["statusCode"] == 200, applied["body"]
    assert header_of(applied, "ETag") == '"2"'
    stale = patch(user, loan_id, {"If-Match": if_match})
    assert stale["statusCode"] == 412


def test_get_carries_the_version_as_etag_and_answers_if_none_match_with_304(loan: tuple[str, str]) -> None:
    user, loan_id = loan
    params = {"loan_id": loan_id}
    full = call("GET", LOAN, user, params=params)
    assert header_of(full, "ETag") == '"1"'
    for current in ('"1"', 'W/"1"', '"0", "1"', "*"):
        unchanged = call("GET", LOAN, user, params=params, headers={"If-None-Match": current})
        assert unchanged["statusCode"] == 304, (current, unchanged["body"])
        assert not unchanged["body"]
        assert header_of(unchanged, "ETag") == '"1"'
    assert patch(user, loan_id, {"If-Match": '"1"'})["statusCode"] == 200
    changed = call("GET", LOAN, user, params=params, headers={"If-None-Match": '"1"'})
    assert changed["statusCode"] == 200
    assert (header_of(changed, "ETag"), body_of(changed)["data"]["version"]) == ('"2"', 2)


def test_a_stranger_learns_nothing_from_preconditions(loan: tuple[str, str], world: World) -> None:
    _, loan_id = loan
    stranger, _ = world.user("stranger")
    for headers in (None, {"If-Match": '"1"'}, {"If-Match": '"9"'}):
        assert patch(stranger.user_id, loan_id, headers)["statusCode"] == 404
    assert (
        call("GET", LOAN, stranger.user_id, params={"loan_id": loan_id}, headers={"If-None-Match": "*"})["statusCode"]
        == 404
    )


@pytest.mark.parametrize(
    ("domain", "prefix"),
    [("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "/prod"), ("api.example.com", ""), (None, "")],
)
def test_a_created_loan_has_a_location_under_the_stage_only_on_the_default_endpoint(
    world: World, domain: str | None, prefix: str
) -> None:
    from lendbridge.handlers import loans as loans_handler

    with handlers_on(world):
        borrower, _ = world.user("borrower")
        terms = {"amount": "100", "interest_rate": "5", "term_months": 6}
        event = api_event("POST", "/v1/loans", body=terms, user_id=borrower.user_id)
        event["requestContext"].update({"stage": "prod", "path": "/prod/v1/loans"})
        if domain:
            event["requestContext"]["domainName"] = domain
        created = loans_handler.handler(event, FakeContext())
    assert created["statusCode"] == 201, created["body"]
    loan_id = body_of(created)["data"]["loan_id"]
    assert header_of(created, "Location") == f"{prefix}/v1/loans/{loan_id}"
    assert header_of(created, "ETag") == '"1"'
