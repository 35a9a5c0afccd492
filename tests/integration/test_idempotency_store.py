"""The idempotency store through the real handlers on DynamoDB Local: what one key stands for
(the whole request: method, route, path parameters and body), and what the store keeps (nothing
that gives away a bank number, even to someone who knows everything about the request except
the digits the API never shows)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.handlers import lender as lender_handler
from lendbridge.handlers import loans as loans_handler
from lendbridge.http import envelope
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event, body_of, header_of
from tests.idempotency_attack import (
    ACCEPT,
    ACH,
    CANDIDATES,
    SHOWN,
    assert_nothing_in_clear,
    brute_force,
    keyed_guesser,
    scan_record,
    unkeyed_guesses,
)
from tests.integration.conftest import World

ADD_LENDERS = "/v1/loans/{loan_id}/lenders"
NEW_LENDER = {"lenders": [{"email": "newcomer@example.com", "contribution_amount": "10.00"}]}


@dataclass
class Scene:
    world: World
    fingerprint_key: bytes
    borrower: str
    lender: str
    loan_ids: list[str]
    participant_ids: list[str]


@pytest.fixture
def scene(world: World, tables: dict[str, str]) -> Iterator[Scene]:
    (borrower, actor), (lender, _) = world.user("b"), world.user("l")
    loans = [
        world.lending.create_loan(
            actor, LoanTerms(Decimal("1000"), Decimal("5"), 12, None), [Invitee(lender.email, Decimal("100"))]
        )
        for _ in range(2)
    ]
    key = secrets.token_bytes(32)
    services = LendingServices(
        lending=world.lending,
        cursors=SignedCursors(lambda: b"k", lambda: datetime.now(UTC)),
        idempotency=Idempotency(
            Lazy(lambda: DynamoDBPersistenceLayer(table_name=tables["IdempotencyTable"], boto3_client=world.dynamodb)),
            lambda: key,
        ),
    )
    for module in (loans_handler, lender_handler):
        module.services.override(services)
    yield Scene(
        world,
        key,
        borrower.user_id,
        lender.user_id,
        [loan.loan_id for loan in loans],
        [loan.participants[0].participant_id for loan in loans],
    )
    for module in (loans_handler, lender_handler):
        module.services.reset()


def accept(
    scene: Scene, participant_id: str, key: str, ach: dict[str, str] = ACH, header: str = "Idempotency-Key"
) -> dict[str, Any]:
    event = api_event(
        "POST",
        ACCEPT.format(participant_id=participant_id),
        resource=ACCEPT,
        body={"ach": ach},
        headers={header: key},
        path_parameters={"participant_id": participant_id},
        user_id=scene.lender,
    )
    return lender_handler.handler(event, FakeContext())


def add_lenders(scene: Scene, loan_id: str, key: str, header: str = "Idempotency-Key") -> dict[str, Any]:
    event = api_event(
        "POST",
        ADD_LENDERS.format(loan_id=loan_id),
        resource=ADD_LENDERS,
        body=NEW_LENDER,
        headers={header: key},
        path_parameters={"loan_id": loan_id},
        user_id=scene.borrower,
    )
    return loans_handler.handler(event, FakeContext())


def create_loan(scene: Scene, key: str) -> dict[str, Any]:
    body = {"amount": "1000.00", "interest_rate": "5", "term_months": 12}
    event = api_event("POST", "/v1/loans", body=body, headers={"Idempotency-Key": key}, user_id=scene.borrower)
    return loans_handler.handler(event, FakeContext())


def participants_of(scene: Scene, loan_id: str) -> dict[str, str]:
    loan = scene.world.store.get(loan_id)
    assert loan is not None
    return {p.lender_email: p.status.value for p in loan.participants}


def new_key() -> str:
    return "key-" + secrets.token_hex(8)


def assert_reused(response: dict[str, Any]) -> None:
    assert response["statusCode"] == 422, body_of(response)
    assert body_of(response)["error"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key"])
def test_one_key_on_a_second_loan_is_refused_and_leaves_that_loan_unchanged(scene: Scene, header: str) -> None:
    first, second = scene.loan_ids
    key = new_key()
    assert add_lenders(scene, first, key, header)["statusCode"] == 200
    before = participants_of(scene, second)
    assert_reused(add_lenders(scene, second, key, header))
    assert participants_of(scene, second) == before
    assert "newcomer@example.com" not in before
    replay = add_lenders(scene, first, key, header)  # the first loan's answer is still replayed
    assert (replay["statusCode"], header_of(replay, "Idempotent-Replayed")) == (200, "true")


def test_one_key_on_a_second_invitation_is_refused_and_leaves_it_pending(scene: Scene) -> None:
    p1, p2 = scene.participant_ids
    key = new_key()
    assert accept(scene, p1, key)["statusCode"] == 200
    assert_reused(accept(scene, p2, key))
    statuses = [
        {p.participant_id: p.status.value for p in loan.participants}
        for loan in (scene.world.store.get(loan_id) for loan_id in scene.loan_ids)
        if loan is not None
    ]
    assert [s[p] for s, p in zip(statuses, (p1, p2), strict=True)] == ["ACCEPTED", "PENDING"]
    replay = accept(scene, p1, key)
    assert (replay["statusCode"], header_of(replay, "Idempotent-Replayed")) == (200, "true")


def test_one_key_on_another_route_is_refused(scene: Scene) -> None:
    key = new_key()
    assert create_loan(scene, key)["statusCode"] == 201
    before = participants_of(scene, scene.loan_ids[0])
    assert_reused(add_lenders(scene, scene.loan_ids[0], key))
    assert participants_of(scene, scene.loan_ids[0]) == before


def test_the_stored_accept_record_gives_away_no_account_number(scene: Scene) -> None:
    participant_id = scene.participant_ids[0]
    response = accept(scene, participant_id, new_key())
    assert response["statusCode"] == 200, body_of(response)
    assert body_of(response)["data"]["participant"]["ach"]["account_number_last4"] == SHOWN
    item = scan_record(scene.world.dynamodb, scene.world.tables["IdempotencyTable"], participant_id)
    assert_nothing_in_clear(item)

    started = time.perf_counter()
    hits = brute_force(item, unkeyed_guesses)
    elapsed = time.perf_counter() - started
    print(f"fingerprint brute force over {CANDIDATES} candidates: {len(hits)} hits in {elapsed:.2f} s")
    assert hits == []
    # With the key the same search finds the number, so the zero above is the key's doing.
    assert brute_force(item, keyed_guesser(scene.fingerprint_key, participant_id)) == [ACH["account_number"]]


def test_a_response_carrying_a_token_is_never_stored(scene: Scene) -> None:
    """A guard against wrapping the wrong route (login, refresh): the store refuses the response."""
    from lendbridge.http.app import build_app
    from lendbridge.http.idempotency import IdempotentRoutes

    app = build_app()
    idempotency = loans_handler.services.get().idempotency
    token = "tok-" + secrets.token_hex(16)

    @IdempotentRoutes(app, lambda: idempotency).post("/v1/leaky", responses={})
    def leaky() -> Response:
        return envelope.success({"access_token": token})

    event = api_event("POST", "/v1/leaky", body={}, headers={"Idempotency-Key": new_key()}, user_id="u1")
    response = app.resolve(event, cast(LambdaContext, FakeContext()))
    assert response["statusCode"] == 500
    table = scene.world.tables["IdempotencyTable"]
    pages = scene.world.dynamodb.get_paginator("scan").paginate(TableName=table)
    assert not any(token in json.dumps(item) for page in pages for item in page["Items"])
