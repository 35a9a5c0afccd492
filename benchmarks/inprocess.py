"""The real Lambda handlers, called in this process with API Gateway proxy events.

Their services are the production wiring (``build_lending_services``) given a client factory
whose DynamoDB client carries the meter. One thing differs: the pagination signing key is a
constant instead of a Secrets Manager secret (there is no Secrets Manager next to DynamoDB
Local), so the cursors are ``SignedCursors(lambda: b"bench-key", utc_now)``; the same holds
for the idempotency fingerprint key. Neither key nor where it comes from touches DynamoDB.
"""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any

import boto3

from benchmarks.engine import Engine, dynamodb_client
from benchmarks.meter import DynamoMeter, Window
from local.template import REGION

# Read by Powertools at import and by the lending settings when the services are built: set
# before the handlers are imported. INFO logs and traces would only slow the requests down.
_POWERTOOLS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "lendbridge",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_DEV": "0",
    "STAGE": "bench",
}


@dataclass(frozen=True)
class Result:
    status: int
    body: Any
    headers: dict[str, str]
    elapsed_ms: float
    window: Window


def configure_environment(engine: Engine) -> None:
    os.environ.update(_POWERTOOLS_ENV)
    os.environ.update(
        {
            "MAIN_TABLE": engine.tables["MainTable"],
            "AUDIT_TABLE": engine.tables["AuditTable"],
            "IDEMPOTENCY_TABLE": engine.tables["IdempotencyTable"],
            "PAGINATION_SECRET_ID": "bench-pagination-key",  # never fetched: see the docstring
            "IDEMPOTENCY_SECRET_ID": "bench-idempotency-key",  # never fetched either
            "BANK_DATA_KEY_ID": "alias/bench",  # never used: no benchmarked route seals bank details
        }
    )


class InProcessApi:
    def __init__(self, engine: Engine, meter: DynamoMeter) -> None:
        configure_environment(engine)
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from lendbridge.data.cursors import SignedCursors
        from lendbridge.domain.ports import utc_now
        from lendbridge.handlers import lender as lender_handler
        from lendbridge.handlers import loans as loans_handler
        from lendbridge.http.idempotency import Idempotency
        from lendbridge.lazy import Lazy
        from lendbridge.wiring.lending import build_lending_services

        self._meter = meter
        dynamodb = meter.instrument(dynamodb_client(engine.endpoint))

        def make_client(service: str) -> Any:
            if service == "dynamodb":
                return dynamodb
            # KMS only seals bank details on accept, which no scenario calls; an unreachable
            # endpoint makes sure nothing here could reach a real account.
            return boto3.client(  # type: ignore[call-overload]
                service,
                region_name=REGION,
                endpoint_url="http://127.0.0.1:9",
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - never sent anywhere
            )

        services = build_lending_services(make_client=make_client)
        services = replace(
            services,
            cursors=SignedCursors(lambda: b"bench-key", utc_now),
            idempotency=Idempotency(
                Lazy(
                    lambda: DynamoDBPersistenceLayer(
                        table_name=engine.tables["IdempotencyTable"], boto3_client=dynamodb
                    )
                ),
                lambda: b"bench-key",
            ),
        )
        self.idempotency_table = engine.tables["IdempotencyTable"]
        self._handlers = {"loans": loans_handler.handler, "lender": lender_handler.handler}
        for module in (loans_handler, lender_handler):
            module.services.override(services)

    def call(
        self,
        function: str,
        method: str,
        path: str,
        *,
        user_id: str,
        resource: str | None = None,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        from tests.events import FakeContext, api_event

        event = api_event(
            method,
            path,
            resource=resource,
            body=body,
            headers=headers,
            query=query,
            path_parameters=path_parameters,
            user_id=user_id,
        )
        handler = self._handlers[function]
        # The handlers write EMF metrics to stdout (as on Lambda); kept out of the report.
        with self._meter.measure() as window, redirect_stdout(io.StringIO()):
            started = perf_counter()
            response = handler(event, FakeContext())
            elapsed_ms = (perf_counter() - started) * 1000
        flat = {k: v[0] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
        flat.update(response.get("headers") or {})
        text = response.get("body")
        return Result(int(response["statusCode"]), json.loads(text) if text else None, flat, elapsed_ms, window)
