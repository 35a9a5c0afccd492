"""Metrics in the client's names and dimensions, written as EMF to stdout (no PutMetricData)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "PrivateLending/API"


def record_request(endpoint: str, status_code: int, error_type: str | None, elapsed_ms: float) -> None:
    with single_metric(
        name="APILatency", unit=MetricUnit.Milliseconds, value=elapsed_ms, namespace=NAMESPACE
    ) as metric:
        metric.add_dimension(name="Endpoint", value=endpoint)
        metric.add_dimension(name="Status", value="Success" if status_code < 400 else "Error")
    if error_type:
        with single_metric(name="APIError", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="Endpoint", value=endpoint)
            metric.add_dimension(name="ErrorType", value=error_type)


def record_count(name: str, endpoint: str, value: int) -> None:
    """Business counts such as LoansReturned and LendersAdded."""
    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="Endpoint", value=endpoint)
