"""What the on-call alarms and dashboards watch: the alarm catalogue, the metrics the monitoring
library (cdk-monitoring-constructs) does not define, and how the monitored resources are found in
the other stacks.

Alarms that aggregate the client's custom metrics across endpoints use Metrics Insights queries.
A per-endpoint sum of explicit metrics cannot work: a metric-math alarm may read at most 10
metrics, the API has 20 endpoints, APIError is split further by ErrorType, and an average of
per-endpoint averages is not the average latency. CloudWatch refuses SEARCH() in alarms outright.
Metrics Insights alarms may read the last 3 hours only, which is ample for 1- and 5-minute periods.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from cdk_monitoring_constructs import IMetricAdjuster
from constructs import Construct, IConstruct

from lendbridge.errors import paging_error_types
from lendbridge_infra.config import METRICS_NAMESPACE, AlarmSettings
from lendbridge_infra.function import LendbridgeFunction

RUNBOOK = "docs/runbook.md"

# Metrics Insights queries over the client's metrics, with their exact dimension sets
# (lambdas/lendbridge/observability.py: no service dimension). Written out in full, as they read
# in the console; the infra tests check them against what the handlers emit.
# ErrorType values that mean the service failed, not the caller, derived from the failure classes
# (lendbridge.errors): the API errors alarm pages on these only; the dashboard charts every type.
# DatabaseThrottled pages through its own alarm.
SERVER_ERROR_TYPES = paging_error_types()
_SERVER_ERROR_FILTER = " OR ".join(f"ErrorType = '{error_type}'" for error_type in SERVER_ERROR_TYPES)
# A Metrics Insights query over constants, not SQL sent to a database (hence the B608 mark).
_API_ERRORS_SCHEMA = 'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType)'
API_ERRORS_QUERY = f"{_API_ERRORS_SCHEMA} WHERE {_SERVER_ERROR_FILTER}"  # nosec B608
API_LATENCY_QUERY = 'SELECT AVG(APILatency) FROM SCHEMA("PrivateLending/API", Endpoint, Status)'
# ErrorType value: lendbridge.http.errors.ERROR_TYPE_OF["TOO_MANY_REQUESTS"]
DATABASE_THROTTLED_QUERY = (
    'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType) '
    "WHERE ErrorType = 'DatabaseThrottled'"
)
API_ERRORS_BY_TYPE_QUERY = (
    'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType) GROUP BY ErrorType'
)
LOANS_RETURNED_QUERY = 'SELECT SUM(LoansReturned) FROM SCHEMA("PrivateLending/API", Endpoint) GROUP BY Endpoint'
LENDERS_ADDED_QUERY = 'SELECT SUM(LendersAdded) FROM SCHEMA("PrivateLending/API", Endpoint) GROUP BY Endpoint'
API_LATENCY_BY_ENDPOINT_QUERY = (
    'SELECT AVG(APILatency) FROM SCHEMA("PrivateLending/API", Endpoint, Status) GROUP BY Endpoint'
)
# The rate limiter (lendbridge.http.rate_limit): requests let through uncounted, by Scope, and the
# 429s it answered, which the front door records as APIError with ErrorType=RateLimited.
RATE_LIMITER_BLIND_QUERY = 'SELECT SUM(RateLimiterBlind) FROM SCHEMA("PrivateLending/API", Scope)'
RATE_LIMITER_BLIND_BY_SCOPE_QUERY = f"{RATE_LIMITER_BLIND_QUERY} GROUP BY Scope"
RATE_LIMITED_BY_ENDPOINT_QUERY = (
    'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType) '
    "WHERE ErrorType = 'RateLimited' GROUP BY Endpoint"
)
# Batch efficiency: lenders added per add-lenders request. The handler counts LendersAdded under
# its route's endpoint name (lendbridge.routes), and every request writes one APILatency sample.
ADD_LENDERS_ENDPOINT = "AddLenders"
REQUEST_STATUSES = ("Success", "Error")  # lendbridge.observability.record_request
# lendbridge.domain.integrity.ALL_KINDS: the Kind of the integrity job's total.
ORPHANS_TOTAL_KIND = "All"

# DynamoDB reports SystemErrors per (TableName, Operation) only; a metric-math alarm reads at most
# 10 metrics, so these are the ten request operations a table can see from this code base
# (and Powertools idempotency). There is no per-index SystemErrors metric.
DYNAMODB_OPERATIONS = (
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
)


@dataclass(frozen=True)
class AlarmKind:
    """One family of alarms: its cdk.json key (also its runbook anchor) and what it watches."""

    key: str
    title: str
    watches: str
    statistic: str

    @property
    def runbook(self) -> str:
        return f"{RUNBOOK}#{self.key.replace('_', '-')}"


ALARM_KINDS: dict[str, AlarmKind] = {
    kind.key: kind
    for kind in (
        AlarmKind(
            "api_errors",
            "API errors",
            "APIError of the server-side error types ("
            + ", ".join(SERVER_ERROR_TYPES)
            + "), summed over every endpoint",
            "Sum",
        ),
        AlarmKind("api_latency", "API latency", "APILatency averaged over every endpoint and status", "Average"),
        AlarmKind(
            "database_throttled",
            "Database throttled",
            "APIError with ErrorType=DatabaseThrottled, summed over every endpoint",
            "Sum",
        ),
        AlarmKind("api_5xx_rate", "API Gateway 5XX rate", "API Gateway 5XXError rate of the stage", "Average"),
        AlarmKind("api_p99_latency", "API Gateway p99 latency", "API Gateway Latency p99 of the stage", "p99"),
        AlarmKind("lambda_errors", "Lambda errors", "Lambda Errors of one function", "Sum"),
        AlarmKind("lambda_throttles", "Lambda throttles", "Lambda Throttles of one function", "Sum"),
        AlarmKind(
            "dynamodb_throttles",
            "DynamoDB throttles",
            "ReadThrottleEvents + WriteThrottleEvents of one table or one global secondary index",
            "Sum",
        ),
        AlarmKind(
            "dynamodb_system_errors",
            "DynamoDB system errors",
            "SystemErrors of one table, summed over its request operations",
            "Sum",
        ),
        AlarmKind(
            "stream_iterator_age",
            "Stream iterator age",
            "Lambda IteratorAge (ms) of one stream consumer: how old the last record it read was",
            "Maximum",
        ),
        AlarmKind("dlq_depth", "Dead-letter queue depth", "ApproximateNumberOfMessagesVisible of one DLQ", "Maximum"),
        AlarmKind(
            "orphaned_records", "Orphaned records", "OrphanedRecords (Kind=All) from the integrity job", "Maximum"
        ),
        AlarmKind(
            "rate_limiter_blind",
            "Rate limiter blind",
            "RateLimiterBlind (requests served without a count because the counters table failed or was "
            "slow), summed over every scope",
            "Sum",
        ),
        AlarmKind(
            "extraction_failures",
            "Extraction failures",
            "ExtractionsFailed (service=bookings) from the extractor: extractions that ended FAILED",
            "Sum",
        ),
        AlarmKind(
            "extraction_queue_age",
            "Oldest queued extraction",
            "ApproximateAgeOfOldestMessage (s) of the extraction queue",
            "Maximum",
        ),
        AlarmKind(
            "documents_rejected",
            "Rejected documents",
            "DocumentsRejected (service=bookings) from the upload worker: uploads unlike their declaration",
            "Sum",
        ),
        # Webhooks (stacks/webhooks_stack.py)
        AlarmKind(
            "webhook_failures",
            "Webhook failures",
            "WebhookAttempts with Outcome=FAILED or DEAD: deliveries receivers did not accept",
            "Sum",
        ),
        AlarmKind(
            "webhook_backlog_age",
            "Webhook backlog age",
            "ApproximateAgeOfOldestMessage (s) of the webhook delivery queue",
            "Maximum",
        ),
        AlarmKind(
            "webhooks_disabled",
            "Webhooks disabled",
            "WebhooksDisabled: subscriptions the server disabled after a 410 Gone",
            "Sum",
        ),
    )
}

# Outcomes of lendbridge.domain.webhooks.Outcome that mean a receiver did not take a delivery
# (lendbridge.handlers.webhook_delivery writes WebhookAttempts with an Outcome dimension).
WEBHOOK_FAILED_OUTCOMES = ("FAILED", "DEAD")
WEBHOOK_OUTCOMES = ("DELIVERED", "FAILED", "DEAD")


def webhook_attempts(outcome: str, period: cdk.Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="WebhookAttempts",
        dimensions_map={"Outcome": outcome},
        statistic=cloudwatch.Stats.SUM,
        period=period,
        label=outcome,
    )


def webhook_failures(period: cdk.Duration) -> cloudwatch.MathExpression:
    metrics = {
        f"o{number}": webhook_attempts(outcome, period) for number, outcome in enumerate(WEBHOOK_FAILED_OUTCOMES)
    }
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({name}, 0)" for name in metrics),
        using_metrics=metrics,
        period=period,
        label="Failed and dead webhook attempts",
    )


def webhooks_disabled(period: cdk.Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="WebhooksDisabled",
        dimensions_map={"Reason": "Gone"},
        statistic=cloudwatch.Stats.SUM,
        period=period,
        label="Webhooks disabled (410 Gone)",
    )


def alarm_description(kind: AlarmKind, settings: AlarmSettings, subject: str | None) -> str:
    """What the alarm watches, how it fires and its runbook section, for the on-call engineer."""
    return (
        f"{kind.title}{f' ({subject})' if subject else ''}: {kind.watches}. "
        f"Fires when {trigger_text(kind, settings)}. Runbook: {kind.runbook}"
    )


def trigger_text(kind: AlarmKind, settings: AlarmSettings) -> str:
    """How an alarm fires, in the words the alarm description and the runbook table use."""
    return (
        f"{kind.statistic} > {settings.threshold:g} in {settings.datapoints_to_alarm} of "
        f"{settings.evaluation_periods} period(s) of {settings.period_seconds} s; "
        f"missing data: {settings.treat_missing_data}"
    )


TREAT_MISSING_DATA = {
    "breaching": cloudwatch.TreatMissingData.BREACHING,
    "notBreaching": cloudwatch.TreatMissingData.NOT_BREACHING,
    "ignore": cloudwatch.TreatMissingData.IGNORE,
    "missing": cloudwatch.TreatMissingData.MISSING,
}


# --- the client's metrics ------------------------------------------------------------------


def insights(query: str, period: cdk.Duration, label: str | None = None) -> cloudwatch.MathExpression:
    """A Metrics Insights query as an alarm or graph metric."""
    return cloudwatch.MathExpression(expression=query, period=period, label=label)


def orphaned_records(period: cdk.Duration) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="OrphanedRecords",
        dimensions_map={"Kind": ORPHANS_TOTAL_KIND},
        statistic=cloudwatch.Stats.MAXIMUM,
        period=period,
        label="Orphaned records (all kinds)",
    )


def lenders_added_per_request(period: cdk.Duration) -> cloudwatch.MathExpression:
    """LendersAdded over the add-lenders requests of the same period (any outcome)."""
    endpoint = {"Endpoint": ADD_LENDERS_ENDPOINT}
    requests = {
        f"requests_{status.lower()}": cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="APILatency",
            dimensions_map={**endpoint, "Status": status},
            statistic=cloudwatch.Stats.SAMPLE_COUNT,
            period=period,
        )
        for status in REQUEST_STATUSES
    }
    lenders = cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="LendersAdded",
        dimensions_map=endpoint,
        statistic=cloudwatch.Stats.SUM,
        period=period,
    )
    total = f"({' + '.join(f'FILL({i}, 0)' for i in requests)})"
    return cloudwatch.MathExpression(
        # A period without requests has no ratio (rather than a division by zero).
        expression=f"IF({total} > 0, FILL(lenders, 0) / {total})",
        using_metrics={"lenders": lenders, **requests},
        period=period,
        label="Lenders added per request",
    )


# The bookings module's metrics (lendbridge.handlers.upload_events and .extractor): Powertools
# Metrics with one "service" dimension.
BOOKINGS_METRICS_DIMENSIONS = {"service": "bookings"}


def bookings_metric(
    metric_name: str, period: cdk.Duration, statistic: str = cloudwatch.Stats.SUM, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map=BOOKINGS_METRICS_DIMENSIONS,
        statistic=statistic,
        period=period,
        label=label,
    )


# --- DynamoDB ------------------------------------------------------------------------------


def dynamodb_metric(
    metric_name: str, dimensions: dict[str, str], period: cdk.Duration, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/DynamoDB",
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=cloudwatch.Stats.SUM,
        period=period,
        label=label,
    )


def throttle_events(
    dimensions: dict[str, str], period: cdk.Duration, label: str, ids: str = "t"
) -> cloudwatch.MathExpression:
    """Read plus write throttle events; a period in which only one of them reports still counts.
    ``ids`` prefixes the expression's metric ids, which must be unique within one graph."""
    return cloudwatch.MathExpression(
        expression=f"FILL({ids}_reads, 0) + FILL({ids}_writes, 0)",
        using_metrics={
            f"{ids}_reads": dynamodb_metric("ReadThrottleEvents", dimensions, period),
            f"{ids}_writes": dynamodb_metric("WriteThrottleEvents", dimensions, period),
        },
        period=period,
        label=label,
    )


def system_errors(table: dynamodb.Table, period: cdk.Duration, label: str, ids: str = "t") -> cloudwatch.MathExpression:
    metrics = {
        f"{ids}_{operation.lower()}": dynamodb_metric(
            "SystemErrors", {"TableName": table.table_name, "Operation": operation}, period
        )
        for operation in DYNAMODB_OPERATIONS
    }
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({identifier}, 0)" for identifier in metrics),
        using_metrics=metrics,
        period=period,
        label=label,
    )


# --- the monitored resources ---------------------------------------------------------------


@dataclass(frozen=True)
class MonitoredTable:
    name: str  # construct id, e.g. MainTable
    table: dynamodb.Table
    indexes: tuple[str, ...]


def lendbridge_functions(stacks: Iterable[cdk.Stack]) -> Iterator[tuple[str, lambda_.Function]]:
    """(construct id, function) of every Lendbridge function in ``stacks``, in construct order:
    a function another engineer adds is monitored without touching this module."""
    for stack in stacks:
        for construct in stack.node.find_all():
            if isinstance(construct, LendbridgeFunction):
                yield construct.node.id, construct.function


def dynamodb_tables(stack: cdk.Stack) -> Iterator[MonitoredTable]:
    for construct in stack.node.find_all():
        if isinstance(construct, dynamodb.Table):
            yield MonitoredTable(construct.node.id, construct, tuple(global_secondary_indexes(construct)))


def global_secondary_indexes(table: dynamodb.Table) -> list[str]:
    """Index names, read from the table's CloudFormation resource (L2 tables do not list them)."""
    resource = table.node.default_child
    if not isinstance(resource, dynamodb.CfnTable):
        raise TypeError(f"{table.node.path} has no CfnTable")
    resolved: Any = cdk.Stack.of(table).resolve(resource.global_secondary_indexes) or []
    return [str(index["indexName"]) for index in resolved]


def dead_letter_queues(stacks: Iterable[cdk.Stack]) -> Iterator[tuple[str, sqs.IQueue]]:
    """(construct id, queue) of every queue a stack lists in its ``dead_letter_queues``."""
    for stack in stacks:
        queue: sqs.IQueue
        for queue in getattr(stack, "dead_letter_queues", []):
            yield queue.node.id, queue


@jsii.implements(IMetricAdjuster)
class WatchedByName:
    """Points a library metric at a resource by the physical name it was given in code.

    The library reads a function's name from the function object, which across stacks is an
    export; imported by name, CDK derives the name from an ARN with Fn::Split at deploy time.
    Both work in CloudWatch, but the first couples the stacks and the second hides the name the
    alarm watches, so the alarm's dimension is set to the literal here."""

    def __init__(self, dimension: str, name: str) -> None:
        self.dimension = dimension
        self.name = name

    def adjust_metric(
        self, metric: cloudwatch.Metric | cloudwatch.MathExpression, alarm_scope: Construct, props: object
    ) -> cloudwatch.Metric | cloudwatch.MathExpression:
        if not isinstance(metric, cloudwatch.Metric):
            raise TypeError(f"{self.name}: only a plain metric has dimensions to point, not {metric}")
        return metric.with_(dimensions_map={self.dimension: self.name})


def logical_id_of(construct_id: str) -> str:
    """The logical id CDK gives the resource of an L2 construct made with ``construct_id`` directly
    in a stack (``<construct id>/Resource``): the alphanumerics of the id and a hash of the path,
    as CDK's makeUniqueId computes it. The alarms keep the ids the hand-written stack gave them."""
    path = [construct_id, "Resource"]
    digest = hashlib.md5("/".join(path).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    return "".join(character for character in construct_id if character.isalnum()) + digest


def name_known_at_synth(resource: IConstruct, attribute: str) -> str | None:
    """The physical name a resource was given in code (e.g. ``function_name``), or None when
    CloudFormation generates it. Alarms use a known name as a literal: no export, so replacing
    the resource never waits on the monitoring stack."""
    name = getattr(resource.node.default_child, attribute, None)
    return name if isinstance(name, str) and not cdk.Token.is_unresolved(name) else None
