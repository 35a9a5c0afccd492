"""Metrics in the client's names and dimensions, written as EMF to stdout (no PutMetricData).

Each metric carries exactly the client's dimensions: Powertools would add a ``service``
dimension from POWERTOOLS_SERVICE_NAME, which would make these separate metrics from the ones
the alarms and dashboards read, so it is switched off here.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.base import SingleMetric

NAMESPACE = "PrivateLending/API"


def emit(name: str, unit: MetricUnit, value: float, dimensions: dict[str, str]) -> None:
    metric = SingleMetric(namespace=NAMESPACE, service="")
    metric.add_metric(name=name, unit=unit, value=value)
    for dimension, dimension_value in dimensions.items():
        metric.add_dimension(name=dimension, value=dimension_value)
    print(json.dumps(metric.serialize_metric_set(), separators=(",", ":")))


def record_request(endpoint: str, status_code: int, error_type: str | None, elapsed_ms: float) -> None:
    status = "Success" if status_code < 400 else "Error"
    emit("APILatency", MetricUnit.Milliseconds, elapsed_ms, {"Endpoint": endpoint, "Status": status})
    if error_type:
        emit("APIError", MetricUnit.Count, 1, {"Endpoint": endpoint, "ErrorType": error_type})


def record_count(name: str, endpoint: str, value: int) -> None:
    """Business counts such as LoansReturned and LendersAdded."""
    emit(name, MetricUnit.Count, value, {"Endpoint": endpoint})
