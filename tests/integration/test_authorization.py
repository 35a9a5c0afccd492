"""Object-level authorization: every loan and lender route, as borrower, participant, stranger
and without a caller, through the real handlers on DynamoDB Local. (Missing, expired and
forged tokens are refused before a handler runs: see tests/e2e.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.handlers import lender as lender_handler
from lendbridge.handlers import loans as loans_handler
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.routes import ROUTES
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event, body_of
from tests.integration.conftest import World

ACH = {
    "account_holder_name": "Ada",
    "routing_number": "011000015",
    "account_number": "123456789",
    "account_type": "checking",
}


@dataclass
class Scene:
    world: World
    borrower: str
    participant: str
    stranger: str
    loan_id: str
    participant_id: str


@pytest.fixture
def scene(world: World, tables: dict[str, str]) -> Iterator[Scene]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    (borrower, actor), (lender, _), (stranger, _) = world.user("b"), world.user("l"), world.user("s")
    loan = world.lending.create_loan(
        actor, LoanTerms(Decimal("1000"), Decimal("5"), 12, None), [Invitee(lender.email, Decimal("100"))]
    )
    services = LendingServices(
        lending=world.lending,
        cursors=SignedCursors(lambda: b"k", lambda: datetime.now(UTC)),
        idempotency=Idempotency(
            Lazy(lambda: DynamoDBPersistenceLayer(table_name=tables["IdempotencyTable"], boto3_client=world.dynamodb)),
            lambda: b"authorization-test-key",
        ),
    )
    for module in (loans_handler, lender_handler):
        module.services.override(services)
    yield Scene(
        world, borrower.user_id, lender.user_id, stranger.user_id, loan.loan_id, loan.participants[0].participant_id
    )
    for module in (loans_handler, lender_handler):
        module.services.reset()


def request(scene: Scene, method: str, path: str, user: str | None) -> dict[str, Any]:
    params = {"loan_id": scene.loan_id, "participant_id": scene.participant_id}
    concrete = path.format(**params)
    bodies = {
        ("POST", "/v1/loans"): {"amount": "10", "interest_rate": "1", "term_months": 1},
        ("POST", "/v1/loans/{loan_id}/lenders"): {
            "lenders": [{"email": "new@example.com", "contribution_amount": "1"}]
        },
        ("PATCH", "/v1/loans/{loan_id}"): {"term_months": 6, "change_reason": "test"},
        ("POST", "/v1/loans/{loan_id}/participants/batch"): {
            "participants": [{"email": "b@example.com", "contribution_amount": "1"}]
        },
        ("POST", "/v1/lender/invitations/{participant_id}/accept"): {"ach": ACH},
        ("POST", "/v1/lender/invitations/{participant_id}/decline"): {"reason": "no"},
    }
    headers = {"If-Match": "1"} if method == "PATCH" else {}
    event = api_event(
        method,
        concrete,
        resource=path,
        body=bodies.get((method, path)),
        headers=headers,
        path_parameters={k: v for k, v in params.items() if "{" + k + "}" in path} or None,
        user_id=user,
    )
    handler: Callable[..., dict[str, Any]] = (
        lender_handler if path.startswith("/v1/lender") else loans_handler
    ).handler
    return handler(event, FakeContext())


# Expected status per route for (borrower, participant, stranger). A caller who may not see
# a loan gets 404, never 403, so a loan's existence is never revealed; a participant, who can
# see it, gets 403 for the borrower's actions (PATCH, DELETE, adding or removing participants).
EXPECTED: dict[tuple[str, str], tuple[int, int, int]] = {
    ("POST", "/v1/loans"): (201, 201, 201),
    ("GET", "/v1/loans/my-loans"): (200, 200, 200),
    ("GET", "/v1/loans/{loan_id}"): (200, 200, 404),
    ("POST", "/v1/loans/{loan_id}/lenders"): (200, 403, 404),
    ("PATCH", "/v1/loans/{loan_id}"): (200, 403, 404),
    ("DELETE", "/v1/loans/{loan_id}"): (204, 403, 404),
    ("DELETE", "/v1/loans/{loan_id}/participants/{participant_id}"): (204, 403, 404),
    ("POST", "/v1/loans/{loan_id}/participants/batch"): (200, 403, 404),
    ("GET", "/v1/loans/{loan_id}/history"): (200, 404, 404),
    ("GET", "/v1/loans/{loan_id}/funding-history"): (200, 404, 404),
    ("GET", "/v1/loans/{loan_id}/audit-log"): (200, 404, 404),
    ("GET", "/v1/lender/pending"): (200, 200, 200),
    ("GET", "/v1/lender/portfolio"): (200, 200, 200),
    ("POST", "/v1/lender/invitations/{participant_id}/accept"): (404, 200, 404),
    ("POST", "/v1/lender/invitations/{participant_id}/decline"): (404, 200, 404),
}
LOAN_ROUTES = [r for r in ROUTES if r.function in ("loans", "lender")]


def test_the_matrix_covers_every_loan_and_lender_route() -> None:
    assert {(r.method, r.path) for r in LOAN_ROUTES} == set(EXPECTED)


@pytest.mark.parametrize("route", LOAN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("who", ["borrower", "participant", "stranger", "nobody"])
def test_route_as(scene: Scene, route: Any, who: str) -> None:
    user = {"borrower": scene.borrower, "participant": scene.participant, "stranger": scene.stranger, "nobody": None}[
        who
    ]
    response = request(scene, route.method, route.path, user)
    if who == "nobody":
        assert response["statusCode"] == 401
        assert body_of(response)["error"] == "UNAUTHORIZED"
        return
    expected = EXPECTED[(route.method, route.path)][("borrower", "participant", "stranger").index(who)]
    assert response["statusCode"] == expected, body_of(response)
    if expected in (403, 404):
        assert body_of(response)["error"] == {403: "FORBIDDEN", 404: "NOT_FOUND"}[expected]


def test_a_strangers_lists_never_show_the_loan(scene: Scene) -> None:
    for path in ("/v1/loans/my-loans", "/v1/lender/pending", "/v1/lender/portfolio"):
        body = body_of(request(scene, "GET", path, scene.stranger))
        assert scene.loan_id not in str(body)


def test_fields_selects_top_level_fields_of_a_loan(scene: Scene) -> None:
    event = api_event(
        "GET",
        f"/v1/loans/{scene.loan_id}",
        resource="/v1/loans/{loan_id}",
        path_parameters={"loan_id": scene.loan_id},
        query={"fields": "status,total_invited"},
        user_id=scene.borrower,
    )
    response = loans_handler.handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert body_of(response)["data"] == {"status": "FUNDING", "total_invited": "100.00"}
    event["queryStringParameters"] = {"fields": "status,ssn"}
    event["multiValueQueryStringParameters"] = {"fields": ["status,ssn"]}
    refused = loans_handler.handler(event, FakeContext())
    assert refused["statusCode"] == 400
    assert body_of(refused)["field_errors"] == {"fields": ["Unknown field(s): ssn"]}
