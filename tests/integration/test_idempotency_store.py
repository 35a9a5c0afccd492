"""What the idempotency store keeps, read back from DynamoDB Local after requests through the
real handlers: nothing in it gives away a bank number, even to someone who knows everything
about the request except the digits the API never shows."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.handlers import lender as lender_handler
from lendbridge.handlers import loans as loans_handler
from lendbridge.http.idempotency import Idempotency, fingerprint
from lendbridge.lazy import Lazy
from lendbridge.wiring import LendingServices
from tests.events import FakeContext, api_event, body_of
from tests.integration.conftest import World

ACCEPT = "/v1/lender/invitations/{participant_id}/accept"
# A short account number: the response shows its last four digits, so 10^4 candidates remain.
HIDDEN, SHOWN = "4821", "7305"
ACH = {
    "account_holder_name": "Ada Lender",
    "routing_number": "011000015",
    "account_number": HIDDEN + SHOWN,
    "account_type": "checking",
}


@dataclass
class Scene:
    world: World
    fingerprint_key: bytes
    borrower: str
    lender: str
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
    yield Scene(world, key, borrower.user_id, lender.user_id, [loan.participants[0].participant_id for loan in loans])
    for module in (loans_handler, lender_handler):
        module.services.reset()


def accept(scene: Scene, participant_id: str, key: str, ach: dict[str, str] = ACH) -> dict[str, Any]:
    event = api_event(
        "POST",
        ACCEPT.format(participant_id=participant_id),
        resource=ACCEPT,
        body={"ach": ach},
        headers={"Idempotency-Key": key},
        path_parameters={"participant_id": participant_id},
        user_id=scene.lender,
    )
    return lender_handler.handler(event, FakeContext())


def stored_record(scene: Scene, participant_id: str) -> dict[str, Any]:
    """The one record whose stored response is about this participant, as DynamoDB returns it."""
    table = scene.world.tables["IdempotencyTable"]
    pages = scene.world.dynamodb.get_paginator("scan").paginate(TableName=table)
    records = [item for page in pages for item in page["Items"] if participant_id in item.get("data", {}).get("S", "")]
    assert len(records) == 1, records
    return records[0]


def stored_strings(item: dict[str, Any]) -> set[str]:
    return {value for attribute in item.values() for kind, value in attribute.items() if kind == "S"}


def candidate_bodies() -> Iterator[tuple[str, str]]:
    """Every account number ending in the shown digits, in the body the attacker knows the
    rest of (holder name, type and routing number are assumed known: the strongest attacker)."""
    for prefix in range(10 ** len(HIDDEN)):
        number = f"{prefix:0{len(HIDDEN)}d}{SHOWN}"
        body = {"ach": {**ACH, "account_number": number}}
        yield number, json.dumps(body, sort_keys=True, separators=(",", ":"))


def unkeyed_guesses(canonical_body: str) -> Iterator[str]:
    """What a table reader can compute without any key: MD5 and SHA-256 of the body, in the
    shapes Powertools hashes a validated payload (JSON of the value) and raw."""
    for text in (canonical_body, json.dumps(canonical_body), json.dumps(json.loads(canonical_body), sort_keys=True)):
        for algorithm in ("md5", "sha256"):
            yield hashlib.new(algorithm, text.encode()).hexdigest()


def keyed_guess(key: bytes, participant_id: str, canonical_body: str) -> str:
    """What only a holder of the fingerprint key can compute (the positive control)."""
    request = {"body": canonical_body}
    return hashlib.sha256(json.dumps(fingerprint(key, request)).encode()).hexdigest()


def brute_force(stored: set[str], guesses_of: Any) -> list[str]:
    return [number for number, body in candidate_bodies() if any(g in stored for g in guesses_of(body))]


def test_the_stored_accept_record_gives_away_no_account_number(scene: Scene) -> None:
    participant_id = scene.participant_ids[0]
    response = accept(scene, participant_id, "accept-" + secrets.token_hex(8))
    assert response["statusCode"] == 200, body_of(response)
    assert body_of(response)["data"]["participant"]["ach"]["account_number_last4"] == SHOWN

    item = stored_record(scene, participant_id)
    assert item["status"]["S"] == "COMPLETED"
    assert "validation" in item  # the fingerprint is written, so it is what an attacker would try
    stored = stored_strings(item)
    # The stored response shows only what the API shows: no full number anywhere in the record.
    for secret in (ACH["account_number"], ACH["routing_number"]):
        assert not any(secret in value for value in stored)

    started = time.perf_counter()
    hits = brute_force(stored, unkeyed_guesses)
    elapsed = time.perf_counter() - started
    print(f"fingerprint brute force over {10 ** len(HIDDEN)} candidates: {len(hits)} hits in {elapsed:.2f} s")
    assert hits == []

    # The same search with the key finds the number: the attack enumerates the right space and
    # reads the right attribute, so its zero above is the key's doing.
    assert brute_force(stored, lambda body: [keyed_guess(scene.fingerprint_key, participant_id, body)]) == [
        ACH["account_number"]
    ]
