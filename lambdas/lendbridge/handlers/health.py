"""GET /health/live and GET /health/ready (no authentication)."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.event_handler import Response, content_types

from lendbridge.errors import DependencyUnavailable
from lendbridge.http.app import ApiFunction
from lendbridge.schemas.common import Schema, responses
from lendbridge.wiring.health import build_probes

TAG = "Health"
api = ApiFunction(build_probes)
app, logger, probes = api.app, api.logger, api.services

READY_RETRY_AFTER = 10


class LiveOut(Schema):
    status: Literal["alive"] = "alive"


class ReadyOut(Schema):
    status: Literal["ready"] = "ready"
    checks: dict[str, Literal["ok", "failing"]]
    # Which reader extracts booking-sheet fields: "local" on the local stack (no Bedrock there).
    extraction_reader: Literal["bedrock", "local"] | None = None


@app.get(
    "/health/live",
    summary="Liveness",
    description="200 while the function answers at all; checks no dependency.",
    tags=[TAG],
    responses=responses(200, LiveOut),
)
def live() -> Response[LiveOut]:
    return Response(200, content_types.APPLICATION_JSON, LiveOut())


@app.get(
    "/health/ready",
    summary="Readiness",
    description=(
        "200 when DynamoDB, the user pool, the documents bucket, the extraction queue and (where extraction "
        "uses Bedrock) the stage's model answer; 503 naming the failing checks (in `details`) otherwise. "
        "`extraction_reader` says which reader extracts documents (`local` on the local stack)."
    ),
    tags=[TAG],
    responses=responses(200, ReadyOut, 503),
)
def ready() -> Response[ReadyOut]:
    results: dict[str, Literal["ok", "failing"]] = {}
    for name, check in probes.get().checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure makes the check fail, by design
            logger.warning("readiness check failed", extra={"check": name, "error_type": type(error).__name__})
            results[name] = "failing"
    failing = sorted(name for name, state in results.items() if state != "ok")
    if failing:
        raise DependencyUnavailable(
            f"Not ready: {', '.join(failing)}",
            retry_after=READY_RETRY_AFTER,
            details={"status": "not_ready", "checks": results},
        )
    return Response(
        200, content_types.APPLICATION_JSON, ReadyOut(checks=results, extraction_reader=probes.get().extraction_reader)
    )


handler = api.handler
