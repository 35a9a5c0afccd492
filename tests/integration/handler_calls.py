"""Drive the deployed loan and lender handlers with API Gateway events, on real stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from lendbridge.data.cursors import SignedCursors
from lendbridge.handlers import lender as lender_handler
from lendbridge.handlers import loans as loans_handler
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event
from tests.integration.conftest import World


@contextmanager
def handlers_on(world: World) -> Iterator[None]:
    """The loan and lender functions, wired to ``world``'s stores for the duration."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    services = LendingServices(
        lending=world.lending,
        cursors=SignedCursors(lambda: b"k", lambda: datetime.now(UTC)),
        idempotency=Idempotency(
            Lazy(
                lambda: DynamoDBPersistenceLayer(
                    table_name=world.tables["IdempotencyTable"], boto3_client=world.dynamodb
                )
            ),
            lambda: b"handler-calls-key",
        ),
    )
    for module in (loans_handler, lender_handler):
        module.services.override(services)
    try:
        yield
    finally:
        for module in (loans_handler, lender_handler):
            module.services.reset()


def call(
    method: str,
    resource: str,
    user: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One request through the function that serves ``resource`` (a route template)."""
    path = resource.format(**(params or {}))
    event = api_event(
        method,
        path,
        resource=resource,
        body=body,
        headers=headers,
        query=query,
        path_parameters=params or None,
        user_id=user,
    )
    module = lender_handler if resource.startswith("/v1/lender") else loans_handler
    return module.handler(event, FakeContext())
