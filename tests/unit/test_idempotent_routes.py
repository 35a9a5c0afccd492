"""Idempotency-Key through the real loans handler and Powertools' idempotency utility, on an
in-memory persistence layer with the DynamoDB layer's semantics (a fast twin of
tests/integration/test_idempotency.py, so that `make mutate` sees the rules)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from lendbridge import errors
from lendbridge.data.cursors import SignedCursors
from lendbridge.handlers import loans as loans_handler
from lendbridge.http import envelope
from lendbridge.http.app import build_app, serve
from lendbridge.http.idempotency import (
    REPLAYED_HEADER,
    Idempotency,
    IdempotentRoutes,
    _answer_of,
    _stored,
    fingerprint,
    replayable,
)
from lendbridge.lazy import Lazy
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event, body_of, header_of
from tests.memory_world import MemoryWorld

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BODY = {"amount": "1000.00", "interest_rate": "5", "term_months": 12}


class MemoryPersistence(BasePersistenceLayer):
    """Records by key; a put over a live record fails as DynamoDB's conditional put does."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise IdempotencyPersistenceLayerError("table unavailable")

    def _get_record(self, idempotency_key: str) -> DataRecord:
        self._check()
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        self._check()
        old = self.records.get(data_record.idempotency_key)
        if old is not None and not old.is_expired:
            # As the DynamoDB layer does with the item its failed conditional put returns.
            self._validate_payload(data_payload=data_record, stored_data_record=old)
            raise IdempotencyItemAlreadyExistsError(old_data_record=old)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        del self.records[data_record.idempotency_key]


class CountingLending:
    """The in-memory lending core, counting what it applied; optionally failing or waiting first."""

    def __init__(self, world: MemoryWorld) -> None:
        self._lending = world.lending
        self.created: list[str] = []
        self.invited: list[str] = []
        self.failure: Exception | None = None
        self.hold: threading.Event | None = None
        self.entered = threading.Event()

    def _first(self) -> None:
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(5)
        if self.failure is not None:
            raise self.failure

    def create_loan(self, actor: Any, terms: Any, invitees: Any) -> Any:
        self._first()
        loan = self._lending.create_loan(actor, terms, invitees)
        self.created.append(actor.user_id)
        return loan

    def add_lenders(self, actor: Any, loan_id: str, invitees: Any) -> Any:
        self._first()
        result = self._lending.add_lenders(actor, loan_id, invitees)
        self.invited.append(loan_id)
        return result


class Setup:
    def __init__(self) -> None:
        self.world = MemoryWorld()
        self.lending = CountingLending(self.world)
        self.store = MemoryPersistence()
        self.keys_read = 0
        self.borrower = self.world.user("borrower")[0].user_id
        self.other = self.world.user("other")[0].user_id

    def fingerprint_key(self) -> bytes:
        self.keys_read += 1
        return b"idempotency-test-key"


@pytest.fixture
def setup() -> Iterator[Setup]:
    state = Setup()
    loans_handler.services.override(
        LendingServices(
            lending=state.lending,  # type: ignore[arg-type]
            cursors=SignedCursors(lambda: b"k", lambda: NOW),
            idempotency=Idempotency(Lazy(lambda: state.store), state.fingerprint_key),
        )
    )
    yield state
    loans_handler.services.reset()


def send(user: str, key: str | None, body: Any = BODY, header: str = "Idempotency-Key", **extra: Any) -> dict[str, Any]:
    headers = {header: key} if key is not None else {}
    return loans_handler.handler(
        api_event("POST", "/v1/loans", body=body, headers={**headers, **extra}, user_id=user), FakeContext()
    )


def invite(user: str, loan_id: str, key: str, email: str = "lender@example.com") -> dict[str, Any]:
    body = {"lenders": [{"email": email, "contribution_amount": "100.00"}]}
    return loans_handler.handler(
        api_event(
            "POST",
            f"/v1/loans/{loan_id}/lenders",
            resource="/v1/loans/{loan_id}/lenders",
            path_parameters={"loan_id": loan_id},
            body=body,
            headers={"Idempotency-Key": key},
            user_id=user,
        ),
        FakeContext(),
    )


def test_without_a_key_every_request_applies_and_nothing_is_stored(setup: Setup) -> None:
    first, second = send(setup.borrower, None), send(setup.borrower, None)
    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    assert setup.lending.created == [setup.borrower, setup.borrower]
    assert setup.store.records == {}
    assert setup.keys_read == 0


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key"])
def test_a_replay_returns_the_first_answer_and_applies_nothing(setup: Setup, header: str) -> None:
    key = str(uuid.uuid4())
    first, second = send(setup.borrower, key, header=header), send(setup.borrower, key, header=header)
    assert setup.lending.created == [setup.borrower]
    assert (first["statusCode"], second["statusCode"]) == (201, 201)
    assert body_of(second) == body_of(first)
    assert header_of(second, "Location") == header_of(first, "Location")
    assert header_of(second, "ETag") == header_of(first, "ETag")
    assert header_of(second, "Content-Type") == "application/json"
    assert (header_of(first, "Idempotent-Replayed"), header_of(second, "Idempotent-Replayed")) == (None, "true")
    assert len(setup.store.records) == 1
    assert setup.keys_read == 2  # read on every keyed request, cached by the caller


def test_the_standard_header_wins_over_the_legacy_one(setup: Setup) -> None:
    key = str(uuid.uuid4())
    send(setup.borrower, key)
    both = send(setup.borrower, key, **{"X-Idempotency-Key": str(uuid.uuid4())})
    assert header_of(both, "Idempotent-Replayed") == "true"
    legacy_only = send(setup.borrower, None, **{"X-Idempotency-Key": key})
    assert header_of(legacy_only, "Idempotent-Replayed") == "true"
    assert setup.lending.created == [setup.borrower]


def test_the_key_is_scoped_to_the_caller(setup: Setup) -> None:
    key = str(uuid.uuid4())
    first, second = send(setup.borrower, key), send(setup.other, key)
    assert setup.lending.created == [setup.borrower, setup.other]
    assert body_of(first)["data"]["loan_id"] != body_of(second)["data"]["loan_id"]
    assert header_of(second, "Idempotent-Replayed") is None


def test_the_same_body_in_another_key_order_or_spacing_is_the_same_request(setup: Setup) -> None:
    key = str(uuid.uuid4())
    loans_handler.handler(
        api_event(
            "POST",
            "/v1/loans",
            raw_body='{"amount":"1000.00","interest_rate":"5","term_months":12}',
            headers={"Idempotency-Key": key},
            user_id=setup.borrower,
        ),
        FakeContext(),
    )
    replay = loans_handler.handler(
        api_event(
            "POST",
            "/v1/loans",
            raw_body='{ "term_months": 12, "interest_rate": "5", "amount": "1000.00" }',
            headers={"Idempotency-Key": key},
            user_id=setup.borrower,
        ),
        FakeContext(),
    )
    assert (replay["statusCode"], header_of(replay, "Idempotent-Replayed")) == (201, "true")
    assert setup.lending.created == [setup.borrower]


def test_the_same_key_with_another_body_is_422(setup: Setup) -> None:
    key = str(uuid.uuid4())
    send(setup.borrower, key)
    response = send(setup.borrower, key, body={**BODY, "amount": "2000.00"})
    assert response["statusCode"] == 422
    body = body_of(response)
    assert body["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert body["message"] == "This Idempotency-Key was used with a different request (body, method or path)"
    assert setup.lending.created == [setup.borrower]


def test_the_same_key_on_another_loan_or_route_is_422(setup: Setup) -> None:
    first_loan = body_of(send(setup.borrower, None))["data"]["loan_id"]
    second_loan = body_of(send(setup.borrower, None))["data"]["loan_id"]
    key = str(uuid.uuid4())
    assert invite(setup.borrower, first_loan, key)["statusCode"] == 200
    assert invite(setup.borrower, first_loan, key)["statusCode"] == 200
    other_loan = invite(setup.borrower, second_loan, key)
    assert body_of(other_loan)["error"] == "IDEMPOTENCY_KEY_REUSED"
    other_route = send(setup.borrower, key)
    assert body_of(other_route)["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert setup.lending.invited == [first_loan]


@pytest.mark.parametrize(
    "failure",
    [
        errors.ValidationFailed("no room", field_errors={"lenders": ["no room"]}, details={"room": "0.00"}),
        errors.Conflict("The loan is no longer open", details={"status": "FUNDED"}),
        errors.NotFound("No such loan"),
    ],
    ids=lambda f: type(f).__name__,
)
def test_a_refusal_is_stored_and_replayed_as_first_answered(setup: Setup, failure: errors.LendbridgeError) -> None:
    key = str(uuid.uuid4())
    setup.lending.failure = failure
    first = send(setup.borrower, key)
    setup.lending.failure = None
    second = send(setup.borrower, key)
    assert first["statusCode"] == second["statusCode"] == int(failure.status)
    assert body_of(second) == body_of(first)
    assert body_of(first)["error"] == failure.code
    assert body_of(first)["message"] == str(failure)
    assert header_of(second, "X-Request-Id") != body_of(second)["request_id"]
    assert (header_of(first, "Idempotent-Replayed"), header_of(second, "Idempotent-Replayed")) == (None, "true")
    assert setup.lending.created == []


def test_a_replayed_refusal_keeps_its_field_errors_and_details(setup: Setup) -> None:
    key = str(uuid.uuid4())
    setup.lending.failure = errors.ValidationFailed(
        "no room", field_errors={"lenders": ["no room"]}, details={"room": "0.00"}
    )
    send(setup.borrower, key)
    setup.lending.failure = None
    replay = body_of(send(setup.borrower, key))
    assert replay["field_errors"] == {"lenders": ["no room"]}
    assert replay["details"] == {"room": "0.00"}


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (errors.Throttled("slow down", retry_after=5), 429),
        (errors.DependencyUnavailable("down", retry_after=5), 503),
        (RuntimeError("crash"), 500),
    ],
    ids=["throttled", "unavailable", "crash"],
)
def test_a_retryable_or_crashed_attempt_is_not_stored_so_a_retry_applies(
    setup: Setup, failure: Exception, status: int
) -> None:
    key = str(uuid.uuid4())
    setup.lending.failure = failure
    assert send(setup.borrower, key)["statusCode"] == status
    assert setup.store.records == {}
    setup.lending.failure = None
    retry = send(setup.borrower, key)
    assert (retry["statusCode"], header_of(retry, "Idempotent-Replayed")) == (201, None)
    assert setup.lending.created == [setup.borrower]


def test_a_server_error_that_is_not_retryable_is_not_stored(setup: Setup) -> None:
    class Broken(errors.LendbridgeError):
        status = 500  # type: ignore[assignment]

    key = str(uuid.uuid4())
    setup.lending.failure = Broken("damaged")
    assert send(setup.borrower, key)["statusCode"] == 500
    assert setup.store.records == {}


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey", "\x7f"])
def test_an_invalid_key_is_400_naming_the_header(setup: Setup, key: str) -> None:
    response = send(setup.borrower, key)
    assert response["statusCode"] == 400
    body = body_of(response)
    assert body["error"] == "VALIDATION_ERROR"
    assert setup.lending.created == []


def test_the_longest_and_widest_valid_keys_are_accepted(setup: Setup) -> None:
    for key in ("x" * 255, "!", "~" * 10):
        assert send(setup.borrower, key)["statusCode"] == 201


def test_a_key_refused_by_the_decorator_names_the_header_and_its_rule(setup: Setup) -> None:
    idempotency = loans_handler.services.get().idempotency
    with pytest.raises(errors.ValidationFailed) as refused:
        idempotency.answer(loans_handler.app, "bad key", lambda: pytest.fail("ran"))
    assert str(refused.value) == "Invalid Idempotency-Key"
    assert refused.value.field_errors == {"Idempotency-Key": ["1 to 255 printable ASCII characters"]}


def test_a_second_request_while_the_first_runs_is_409_and_applies_nothing(setup: Setup) -> None:
    key = str(uuid.uuid4())
    setup.lending.hold = threading.Event()
    answers: list[dict[str, Any]] = []
    first = threading.Thread(target=lambda: answers.append(send(setup.borrower, key)))
    first.start()
    try:
        assert setup.lending.entered.wait(5)
        second = send(setup.borrower, key)
    finally:
        setup.lending.hold.set()
        first.join(10)
    assert second["statusCode"] == 409
    assert body_of(second)["error"] == "IDEMPOTENCY_IN_PROGRESS"
    assert body_of(second)["message"] == "A request with this Idempotency-Key is still being processed"
    assert answers[0]["statusCode"] == 201
    assert setup.lending.created == [setup.borrower]


def test_an_unavailable_store_is_a_503_to_retry(setup: Setup) -> None:
    setup.store.broken = True
    response = send(setup.borrower, str(uuid.uuid4()))
    assert response["statusCode"] == 503
    assert body_of(response)["error"] == "SERVICE_UNAVAILABLE"
    assert body_of(response)["message"] == "Idempotency store unavailable"
    assert header_of(response, "Retry-After") == "5"
    assert setup.lending.created == []


def test_a_stored_record_expires_after_24_hours(setup: Setup) -> None:
    send(setup.borrower, str(uuid.uuid4()))
    (record,) = setup.store.records.values()
    assert record.expiry_timestamp is not None
    assert abs(record.expiry_timestamp - (time.time() + 24 * 3600)) < 60


def test_the_fingerprint_is_a_keyed_hmac_of_the_canonical_request() -> None:
    request = {"b": 1, "a": [1, 2]}
    expected = hmac.new(b"k", b'{"a":[1,2],"b":1}', hashlib.sha256).hexdigest()
    assert fingerprint(b"k", request) == expected
    assert fingerprint(b"other", request) != expected


def test_replayable_answers_are_the_documented_successes_and_refusals() -> None:
    documented = {
        201: {"description": "created", "headers": {"Location": {"description": "where"}}},
        409: {"description": "conflict"},
        429: {"description": "throttled"},
        500: {"description": "crash"},
        503: {"description": "unavailable"},
        499: {"description": "edge"},
    }
    result = replayable(documented)  # type: ignore[arg-type]
    assert result[201] == {
        "description": "created",
        "headers": {"Location": {"description": "where"}, "Idempotent-Replayed": REPLAYED_HEADER},
    }
    assert result[409] == {"description": "conflict", "headers": {"Idempotent-Replayed": REPLAYED_HEADER}}
    assert result[499]["headers"] == {"Idempotent-Replayed": REPLAYED_HEADER}
    for status in (429, 500, 503):
        assert result[status] == {"description": documented[status]["description"], "headers": {}}
    assert REPLAYED_HEADER == {
        "description": "Present, `true`, when this is the stored answer to an earlier request with the same key",
        "schema": {"type": "string", "enum": ["true"]},
    }


def test_another_key_of_the_same_caller_is_another_request(setup: Setup) -> None:
    first, second = send(setup.borrower, str(uuid.uuid4())), send(setup.borrower, str(uuid.uuid4()))
    assert body_of(first)["data"]["loan_id"] != body_of(second)["data"]["loan_id"]
    assert header_of(second, "Idempotent-Replayed") is None
    assert len(setup.store.records) == 2


def _sha256_of_json(value: Any) -> str:
    # What Powertools stores: a SHA-256 of the JSON of the selected part of the request.
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def test_the_stored_record_is_named_and_fingerprinted_the_same_across_releases(setup: Setup) -> None:
    """Records outlive a deploy by 24 hours: a release that named or fingerprinted requests
    differently would replay another caller's answer or refuse an honest retry as 422."""
    key = "fixed-key-1"
    loans_handler.handler(
        api_event(
            "POST",
            "/v1/loans",
            raw_body='{"term_months": 12, "amount": "1000.00", "interest_rate": "5"}',
            headers={"Idempotency-Key": key},
            user_id=setup.borrower,
        ),
        FakeContext(),
    )
    canonical = {
        "operation": "CreateLoan",
        "method": "POST",
        "resource": "/v1/loans",
        "path": {},
        "body": '{"amount":"1000.00","interest_rate":"5","term_months":12}',
    }
    expected_fingerprint = hmac.new(
        b"idempotency-test-key", json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode(), hashlib.sha256
    ).hexdigest()
    (record,) = setup.store.records.values()
    assert record.idempotency_key == "lendbridge#" + _sha256_of_json([setup.borrower, key])
    assert record.payload_hash == _sha256_of_json(expected_fingerprint)
    assert record.status == "COMPLETED"


def test_a_refusal_answered_first_keeps_its_own_error_type(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    class NoRoom(errors.ValidationFailed):
        error_type = "NoRoom"

    setup.lending.failure = NoRoom("no room", field_errors={"lenders": ["no room"]})
    send(setup.borrower, str(uuid.uuid4()))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [b["ErrorType"] for b in blobs if "ErrorType" in b] == ["NoRoom"]


def test_an_answer_is_stored_as_its_json_value() -> None:
    stored = _stored(Response(201, "application/json", body='{"b": [1, "2.50"]}', headers={"Location": "/x"}))
    assert stored == {
        "status": 201,
        "body": {"b": [1, "2.50"]},
        "headers": {"Content-Type": "application/json", "Location": "/x"},
    }
    assert _stored(Response(204, None, body=""))["body"] == ""


def test_a_stored_answer_is_replayed_as_json_even_without_stored_headers() -> None:
    replayed = _answer_of({"status": "201", "body": {"a": 1}})
    assert (replayed.status_code, replayed.content_type, replayed.body) == (201, "application/json", {"a": 1})
    assert replayed.headers["Content-Type"] == "application/json"


def test_a_request_in_progress_expires_with_the_invocation(setup: Setup) -> None:
    """A crashed invocation's in-progress record must not block retries for 24 hours."""
    setup.lending.hold = threading.Event()
    first = threading.Thread(target=lambda: send(setup.borrower, str(uuid.uuid4())))
    first.start()
    try:
        assert setup.lending.entered.wait(5)
        (record,) = setup.store.records.values()
        in_progress = (record.status, record.in_progress_expiry_timestamp)
    finally:
        setup.lending.hold.set()
        first.join(10)
    assert in_progress[0] == "INPROGRESS"
    assert in_progress[1] is not None
    assert abs(in_progress[1] - (time.time() * 1000 + FakeContext().get_remaining_time_in_millis())) < 5_000


# ---- The decorator on a fresh resolver: what it registers, documents and keys.
class Things:
    def __init__(self) -> None:
        self.made = 0
        self.store = MemoryPersistence()
        self.app = build_app()
        self.routes = IdempotentRoutes(self.app, lambda: Idempotency(Lazy(lambda: self.store), lambda: b"k"))

        @self.routes.post(
            "/things",
            summary="Make a thing",
            responses={201: {"description": "made"}, 503: {"description": "down"}},
        )
        def make() -> Response[Any]:
            self.made += 1
            return envelope.success({"thing": self.made}, 201)

        self.make = make

    def post(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        event = api_event("POST", "/things", headers=headers, user_id="u1")
        del event["headers"]["Content-Type"], event["multiValueHeaders"]["Content-Type"]
        return serve(self.app, event, FakeContext())


def test_a_keyed_route_runs_once_per_key_and_plainly_without_one() -> None:
    things = Things()
    assert body_of(things.post({"Idempotency-Key": "a"}))["data"] == {"thing": 1}
    replay = things.post({"Idempotency-Key": "a"})
    assert (body_of(replay)["data"], header_of(replay, "Idempotent-Replayed")) == ({"thing": 1}, "true")
    assert body_of(things.post({"X-Idempotency-Key": "b"}))["data"] == {"thing": 2}
    assert body_of(things.post())["data"] == {"thing": 3}
    assert body_of(things.post())["data"] == {"thing": 4}
    (record_a, _) = things.store.records.values()
    canonical = {"operation": "Unknown", "method": "POST", "resource": "/things", "path": {}, "body": ""}
    fingerprint_a = hmac.new(
        b"k", json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode(), hashlib.sha256
    )
    assert record_a.payload_hash == _sha256_of_json(fingerprint_a.hexdigest())


def test_a_keyed_route_documents_both_key_headers_and_the_replay_mark() -> None:
    things = Things()
    operation = things.app.get_openapi_schema().paths["/things"].post  # type: ignore[index,union-attr]
    assert operation.summary == "Make a thing"
    parameters = {p.name.lower(): p for p in operation.parameters or []}  # type: ignore[union-attr]
    assert set(parameters) == {"idempotency-key", "x-idempotency-key"}
    assert parameters["x-idempotency-key"].deprecated is True
    assert not parameters["idempotency-key"].deprecated
    responses = operation.responses
    assert set(responses[201].headers) == {"Idempotent-Replayed"}  # type: ignore[arg-type]
    assert not responses[503].headers
    assert things.make.__name__ == "make"
