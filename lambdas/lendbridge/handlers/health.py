"""GET /health/live and GET /health/ready (no authentication)."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from lendbridge.errors import DependencyUnavailable
from lendbridge.http.app import build_app, serve
from lendbridge.lazy import Lazy
from lendbridge.schemas.common import responses
from lendbridge.wiring.health import Probes, build_probes

TAG = "Health"
app = build_app()
logger = Logger()
tracer = Tracer()

READY_RETRY_AFTER = 10


class LiveOut(BaseModel):
    status: Literal["alive"] = "alive"


class ReadyOut(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, Literal["ok", "failing"]]


probes: Lazy[Probes] = Lazy(build_probes)


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
    description="200 when DynamoDB and the user pool answer; 503 naming the failing checks (in `details`) otherwise.",
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
    return Response(200, content_types.APPLICATION_JSON, ReadyOut(checks=results))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)
