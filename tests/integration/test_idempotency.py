"""Idempotency-Key through the real handler, with Powertools' store on DynamoDB Local."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.loans import Loan, LoanStatus
from lendbridge.errors import Conflict, Throttled, ValidationFailed
from lendbridge.handlers import loans as loans_handler
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event, body_of, header_of

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BODY = {"amount": "1000.00", "interest_rate": "5", "term_months": 12}


@dataclass
class CountingLending:
    """Counts effects; optionally slow, or failing, to exercise the store's states."""

    delay_s: float = 0.0
    failure: Exception | None = None
    created: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_loan(self, actor: Any, terms: Any, invitees: Any) -> Loan:
        time.sleep(self.delay_s)
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.created.append(actor.user_id)
        return Loan(
            loan_id=str(uuid.uuid4()),
            borrower_id=actor.user_id,
            borrower_name="B",
            amount=terms.amount,
            interest_rate=terms.interest_rate,
            term_months=terms.term_months,
            purpose=None,
            status=LoanStatus.FUNDING,
            created_at=NOW,
            created_by=actor.user_id,
            updated_at=NOW,
            updated_by=actor.user_id,
        )


@pytest.fixture
def lending(dynamodb: Any, tables: dict[str, str]) -> Iterator[CountingLending]:
    fake = CountingLending()
    persistence = Lazy(lambda: DynamoDBPersistenceLayer(table_name=tables["IdempotencyTable"], boto3_client=dynamodb))
    loans_handler.services.override(
        LendingServices(
            lending=fake,  # type: ignore[arg-type]
            cursors=SignedCursors(lambda: b"k", lambda: NOW),
            idempotency=Idempotency(persistence, lambda: b"idempotency-test-key"),
        )
    )
    yield fake
    loans_handler.services.reset()


def create(user: str, key: str | None, body: dict[str, Any] = BODY, header: str = "Idempotency-Key") -> dict[str, Any]:
    headers = {header: key} if key else {}
    return loans_handler.handler(
        api_event("POST", "/v1/loans", body=body, headers=headers, user_id=user), FakeContext()
    )


def test_without_a_key_every_request_applies(lending: CountingLending) -> None:
    create("u1", None)
    create("u1", None)
    assert len(lending.created) == 2


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key"])
def test_a_replay_returns_the_original_response_and_changes_nothing(lending: CountingLending, header: str) -> None:
    key = str(uuid.uuid4())
    first, second = create("u1", key, header=header), create("u1", key, header=header)
    assert len(lending.created) == 1
    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    assert body_of(first) == body_of(second)
    assert header_of(second, "Idempotent-Replayed") == "true"
    assert header_of(first, "Idempotent-Replayed") is None


def test_the_key_is_scoped_to_the_caller(lending: CountingLending) -> None:
    key = str(uuid.uuid4())
    create("u1", key)
    create("u2", key)
    assert lending.created == ["u1", "u2"]


def test_same_key_with_another_body_is_422(lending: CountingLending) -> None:
    key = str(uuid.uuid4())
    create("u1", key)
    response = create("u1", key, body={**BODY, "amount": "2000.00"})
    assert response["statusCode"] == 422
    assert body_of(response)["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(lending.created) == 1


def test_a_refusal_is_stored_and_replayed(lending: CountingLending) -> None:
    key = str(uuid.uuid4())
    lending.failure = ValidationFailed("no room", field_errors={"lenders": ["no room"]})
    first = create("u1", key)
    lending.failure = None
    second = create("u1", key)
    assert (first["statusCode"], second["statusCode"]) == (400, 400)
    assert body_of(second)["error"] == "VALIDATION_ERROR"
    assert lending.created == []


def test_a_replayed_refusal_is_the_stored_answer_byte_for_byte(lending: CountingLending) -> None:
    """The contract: a replay returns the original status and body, its request id and time included."""
    key = str(uuid.uuid4())
    lending.failure = Conflict("The loan is no longer open", details={"status": "FUNDED"})
    first = create("u1", key)
    lending.failure = None
    second = create("u1", key)
    assert (first["statusCode"], second["statusCode"]) == (409, 409)
    assert body_of(second) == body_of(first)
    assert body_of(second)["details"] == {"status": "FUNDED"}
    assert header_of(second, "X-Request-Id") != body_of(second)["request_id"]
    assert (header_of(first, "Idempotent-Replayed"), header_of(second, "Idempotent-Replayed")) == (None, "true")
    assert lending.created == []


def test_a_throttled_attempt_is_not_stored_so_a_retry_applies(lending: CountingLending) -> None:
    key = str(uuid.uuid4())
    lending.failure = Throttled("slow down", retry_after=5)
    assert create("u1", key)["statusCode"] == 429
    lending.failure = None
    assert create("u1", key)["statusCode"] == 201
    assert len(lending.created) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
def test_an_invalid_key_is_400(lending: CountingLending, key: str) -> None:
    response = loans_handler.handler(
        api_event("POST", "/v1/loans", body=BODY, headers={"Idempotency-Key": key}, user_id="u1"), FakeContext()
    )
    assert response["statusCode"] == 400
    assert lending.created == []


def _environments(count: int) -> list[Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """The loans function's handler as ``count`` concurrent Lambda environments run it: each
    module loaded apart (a Powertools resolver keeps the request it is serving on itself, so one
    resolver serves one request at a time, as in Lambda), all on the same services and so the
    same idempotency table."""
    shared = loans_handler.services.get()
    handlers = []
    for number in range(count):
        spec = importlib.util.spec_from_file_location(f"loans_environment_{number}", loans_handler.__file__)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.services.override(shared)
        handlers.append(module.handler)
    return handlers


def test_twenty_concurrent_identical_requests_have_exactly_one_effect(lending: CountingLending) -> None:
    lending.delay_s = 0.3
    key = str(uuid.uuid4())
    start = threading.Barrier(20)
    handlers = _environments(20)

    def send(number: int) -> int:
        event = api_event("POST", "/v1/loans", body=BODY, headers={"Idempotency-Key": key}, user_id="u1")
        start.wait()
        return int(handlers[number](event, FakeContext())["statusCode"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert len(lending.created) == 1
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    replay = create("u1", key)
    assert (replay["statusCode"], header_of(replay, "Idempotent-Replayed")) == (201, "true")
