"""Every on-call alarm of both stages: its metric, statistic, threshold, period, evaluation,
missing-data treatment and action, and the resources it must cover.

The expected triggers are written out here, not read from cdk.json: changing a threshold is a
decision, and this file is where it is reviewed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from lendbridge.data import names
from lendbridge_infra.config import AlarmSettings, StageConfig
from lendbridge_infra.monitoring import ALARM_KINDS, DYNAMODB_OPERATIONS, trigger_text
from lendbridge_infra.quotas import QuotaExceeded
from stacks.app import LendbridgeStacks, cdk_json_context
from tests.infra.support import CDK_PROVIDER_HANDLER, Synth, as_list, flatten, ref_id

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
PRODUCER_STACKS = ("data", "identity", "api", "processing", "bookings", "webhooks")
NAMESPACE = "PrivateLending/API"

# (threshold, period seconds, evaluation periods, datapoints to alarm, treat missing data)
Trigger = tuple[float, int, int, int, str]
NB = "notBreaching"
CLIENT: dict[str, Trigger] = {
    "api_errors": (10, 300, 1, 1, NB),  # APIError of server-side types, sum > 10 in 5 minutes
    "api_latency": (1000, 300, 1, 1, NB),  # APILatency average > 1,000 ms over 5 minutes
    "database_throttled": (5, 60, 1, 1, NB),  # APIError ErrorType=DatabaseThrottled > 5 in 1 minute
}
EXPECTED: dict[str, dict[str, Trigger]] = {
    "dev": {
        **CLIENT,
        "api_5xx_rate": (0.2, 300, 1, 1, NB),
        "api_p99_latency": (5000, 300, 1, 1, NB),
        "lambda_errors": (5, 300, 1, 1, NB),
        "lambda_throttles": (10, 300, 1, 1, NB),
        "dynamodb_throttles": (10, 300, 1, 1, NB),
        "dynamodb_system_errors": (5, 300, 1, 1, NB),
        "stream_iterator_age": (900_000, 300, 1, 1, NB),  # a consumer 15 minutes behind its stream
        "dlq_depth": (0, 300, 1, 1, NB),
        "orphaned_records": (0, 3600, 1, 1, "ignore"),
        "rate_limiter_blind": (10, 300, 1, 1, NB),  # more than 10 requests served uncounted in 5 minutes
        "extraction_failures": (5, 900, 1, 1, NB),  # more than 5 extractions FAILED in 15 minutes
        "extraction_queue_age": (3600, 300, 1, 1, NB),  # an extraction waiting over an hour
        "documents_rejected": (20, 3600, 1, 1, NB),
        "webhook_failures": (50, 300, 1, 1, NB),
        "webhook_backlog_age": (1800, 300, 1, 1, NB),  # every waiting message is re-sent within 15 minutes
        "webhooks_disabled": (0, 3600, 1, 1, NB),
    },
    "prod": {
        **CLIENT,
        "api_5xx_rate": (0.05, 60, 5, 3, NB),
        "api_p99_latency": (2500, 300, 3, 3, NB),
        "lambda_errors": (0, 300, 1, 1, NB),
        "lambda_throttles": (0, 300, 1, 1, NB),
        "dynamodb_throttles": (0, 60, 5, 2, NB),
        "dynamodb_system_errors": (0, 300, 3, 2, NB),
        "stream_iterator_age": (300_000, 300, 3, 3, NB),  # 5 minutes behind for 15 minutes
        "dlq_depth": (0, 60, 1, 1, NB),
        "orphaned_records": (0, 3600, 1, 1, "ignore"),
        "rate_limiter_blind": (10, 60, 5, 3, NB),  # blind for 3 of the last 5 minutes
        "extraction_failures": (2, 900, 1, 1, NB),
        "extraction_queue_age": (900, 300, 3, 3, NB),  # waiting over 15 minutes for 15 minutes
        "documents_rejected": (5, 3600, 1, 1, NB),
        "webhook_failures": (100, 300, 3, 2, NB),
        "webhook_backlog_age": (1800, 300, 2, 2, NB),
        "webhooks_disabled": (0, 3600, 1, 1, NB),
    },
}
RESERVED_CONCURRENCY: dict[str, dict[str, int]] = {
    "dev": {},
    "prod": {"health": 10, "accounts": 50, "loans": 100, "lender": 100, "integrity": 1},
}

CLIENT_QUERIES = {
    "api_errors": (
        'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType) WHERE '
        "ErrorType = 'UnexpectedError' OR ErrorType = 'DatabaseUnavailable' OR ErrorType = 'IdentityUnavailable' "
        "OR ErrorType = 'EncryptionUnavailable' OR ErrorType = 'IdentityThrottled' OR ErrorType = 'DamagedItem'"
    ),
    "api_latency": 'SELECT AVG(APILatency) FROM SCHEMA("PrivateLending/API", Endpoint, Status)',
    "database_throttled": (
        'SELECT SUM(APIError) FROM SCHEMA("PrivateLending/API", Endpoint, ErrorType) '
        "WHERE ErrorType = 'DatabaseThrottled'"
    ),
}


# --- reading the templates -----------------------------------------------------------------


def template(synth: Synth, stack: str) -> dict[str, Any]:
    """Any stack's template; the processing stack is not among support.STACK_KEYS."""
    if stack in synth.json:
        return synth.json[stack]
    cdk_stack = getattr(synth.stacks, stack)
    return dict(json.loads((synth.outdir / cdk_stack.template_file).read_text()))


@cache
def _exports(outdir: Path, names: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for stack, file_name in names:
        outputs = json.loads((outdir / file_name).read_text()).get("Outputs", {})
        for output in outputs.values():
            if "Export" in output:
                found[flatten(output["Export"]["Name"])] = (stack, str(ref_id(output["Value"])))
    return found


def exports(synth: Synth) -> dict[str, tuple[str, str]]:
    """Export name -> (producing stack, logical id) for every stack the monitoring stack reads."""
    names = tuple((stack, getattr(synth.stacks, stack).template_file) for stack in PRODUCER_STACKS)
    return _exports(synth.outdir, names)


Target = tuple[str, str] | str


# Physical names producers set in code, by the CloudFormation property that holds them.
NAME_PROPERTIES = {"AWS::Lambda::Function": "FunctionName", "AWS::SQS::Queue": "QueueName"}


def named_resources(synth: Synth) -> dict[str, tuple[str, str]]:
    """Physical name -> (producing stack, logical id) of every function and queue named in code."""
    named = {}
    for stack in PRODUCER_STACKS:
        for logical_id, resource in template(synth, stack).get("Resources", {}).items():
            name = resource.get("Properties", {}).get(NAME_PROPERTIES.get(resource["Type"], ""))
            if isinstance(name, str):
                assert name not in named, f"{name} names two resources"
                named[name] = (stack, logical_id)
    return named


def resolve(synth: Synth, value: Any) -> Target:
    """An import becomes (stack, logical id) of what it exports, and so does the literal name of a
    function or queue named in code; any other literal stays a string."""
    if isinstance(value, str):
        return named_resources(synth).get(value, value)
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return exports(synth)[flatten(value["Fn::ImportValue"])]
    if isinstance(value, dict) and ref_id(value):
        return ("monitoring", str(ref_id(value)))
    return flatten(value)


@dataclass(frozen=True)
class Watched:
    """One metric an alarm reads."""

    namespace: str
    name: str
    statistic: str
    period: int
    dimensions: dict[str, Target]


@dataclass(frozen=True)
class Alarm:
    logical_id: str
    properties: dict[str, Any]
    metrics: dict[str, Watched]  # by metric id ("" for a single plain metric)
    expression: str | None
    period: int

    @property
    def name(self) -> str:
        return str(self.properties["AlarmName"])

    def trigger(self) -> Trigger:
        p = self.properties
        return (
            p["Threshold"],
            self.period,
            p["EvaluationPeriods"],
            p.get("DatapointsToAlarm", p["EvaluationPeriods"]),
            p.get("TreatMissingData", "missing"),
        )

    def only_metric(self) -> Watched:
        assert len(self.metrics) == 1, self.metrics
        return next(iter(self.metrics.values()))


def _dimensions(synth: Synth, dimensions: list[dict[str, Any]]) -> dict[str, Target]:
    return {item["Name"]: resolve(synth, item["Value"]) for item in dimensions}


def alarms(synth: Synth) -> list[Alarm]:
    found = []
    for logical_id, resource in synth.resources("monitoring", "AWS::CloudWatch::Alarm").items():
        properties = resource["Properties"]
        metrics: dict[str, Watched] = {}
        expression = None
        period = properties.get("Period")
        if "MetricName" in properties:
            statistic = properties.get("Statistic") or properties.get("ExtendedStatistic")
            metrics[""] = Watched(
                properties["Namespace"],
                properties["MetricName"],
                statistic,
                properties["Period"],
                _dimensions(synth, properties.get("Dimensions", [])),
            )
        for query in properties.get("Metrics", []):
            if "MetricStat" in query:
                stat = query["MetricStat"]
                metrics[query["Id"]] = Watched(
                    stat["Metric"]["Namespace"],
                    stat["Metric"]["MetricName"],
                    stat["Stat"],
                    stat["Period"],
                    _dimensions(synth, stat["Metric"].get("Dimensions", [])),
                )
            if query.get("ReturnData", True):
                if "Expression" in query:
                    expression = flatten(query["Expression"])
                    period = query.get("Period", period)
                else:
                    period = query["MetricStat"]["Period"]
        if period is None:  # an expression over metrics takes their (common) period
            periods = {metric.period for metric in metrics.values()}
            assert len(periods) == 1, (logical_id, periods)
            period = periods.pop()
        found.append(Alarm(logical_id, properties, metrics, expression, int(period)))
    return found


def alarms_named(synth: Synth, key: str) -> dict[str, Alarm]:
    """This family's alarms by subject (the name after the family; "" for a stage-wide alarm)."""
    prefix = f"lendbridge-{synth.stage}-{key.replace('_', '-')}"
    return {
        alarm.name.removeprefix(prefix).removeprefix("-"): alarm
        for alarm in alarms(synth)
        if alarm.name == prefix or alarm.name.startswith(f"{prefix}-")
    }


def only_alarm(synth: Synth, key: str) -> Alarm:
    named = alarms_named(synth, key)
    assert list(named) == [""], named
    return named[""]


def logical_ids(synth: Synth, stack: str, resource_type: str) -> set[str]:
    return {
        logical_id
        for logical_id, resource in template(synth, stack).get("Resources", {}).items()
        if resource["Type"] == resource_type
    }


def topic_id(synth: Synth) -> str:
    (topic,) = synth.resources("monitoring", "AWS::SNS::Topic")
    return topic


# --- the stage's settings ------------------------------------------------------------------


def test_every_alarm_family_has_the_reviewed_trigger_in_the_stage_config(synth: Synth) -> None:
    assert set(synth.config.alarms) == set(ALARM_KINDS) == set(EXPECTED[synth.stage])
    for key, settings in synth.config.alarms.items():
        actual = (
            settings.threshold,
            settings.period_seconds,
            settings.evaluation_periods,
            settings.datapoints_to_alarm,
            settings.treat_missing_data,
        )
        assert actual == EXPECTED[synth.stage][key], key


@pytest.mark.parametrize("key", sorted(ALARM_KINDS))
def test_every_alarm_of_a_family_fires_as_configured(synth: Synth, key: str) -> None:
    family = alarms_named(synth, key)
    assert family, f"no {key} alarm"
    for subject, alarm in family.items():
        assert alarm.trigger() == EXPECTED[synth.stage][key], (key, subject)
        assert alarm.properties["ComparisonOperator"] == "GreaterThanThreshold", alarm.name


def test_every_alarm_pages_on_call_when_it_fires_and_when_it_clears(synth: Synth) -> None:
    topic = topic_id(synth)
    found = alarms(synth)
    assert found
    for alarm in found:
        assert [ref_id(action) for action in alarm.properties.get("AlarmActions", [])] == [topic], alarm.name
        assert [ref_id(action) for action in alarm.properties.get("OKActions", [])] == [topic], alarm.name
        assert alarm.properties.get("ActionsEnabled", True) is True, alarm.name


def test_alarms_are_exactly_the_catalogue(synth: Synth) -> None:
    """No stray alarm, none missing: one per stage-wide family (the rate limiter's among them), two
    per function, one per table and index for throttles, one per table for system errors, one per
    dead-letter queue."""
    functions = sum(
        1
        for stack in PRODUCER_STACKS
        for logical_id in logical_ids(synth, stack, "AWS::Lambda::Function")
        if not CDK_PROVIDER_HANDLER.fullmatch(logical_id)
    )
    tables = synth.resources("data", "AWS::DynamoDB::Table")
    indexes = sum(len(table["Properties"].get("GlobalSecondaryIndexes", [])) for table in tables.values())
    queues = sum(len(getattr(getattr(synth.stacks, stack), "dead_letter_queues", [])) for stack in PRODUCER_STACKS)
    consumers = len(synth.stacks.processing.stream_consumers) + 1  # and the webhook fan-out
    webhook_alarms = 3  # failures, backlog age, disabled
    # 6 stage-wide families of the lending core, 1 of the rate limiter, 3 of the bookings module
    expected = 10 + 2 * functions + (len(tables) + indexes) + len(tables) + queues + consumers + webhook_alarms
    names = [alarm.name for alarm in alarms(synth)]
    assert len(names) == len(set(names)) == expected
    assert all(name.startswith(f"lendbridge-{synth.stage}-") for name in names)


# --- the client's three ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CLIENT_QUERIES))
def test_client_alarm_is_a_metrics_insights_query_over_every_endpoint(synth: Synth, key: str) -> None:
    alarm = only_alarm(synth, key)
    assert alarm.metrics == {}, "one query, no per-endpoint metrics (an alarm reads at most 10)"
    assert alarm.expression == CLIENT_QUERIES[key]
    assert "SEARCH" not in (alarm.expression or "").upper()
    assert alarm.period == CLIENT[key][1]


def test_client_queries_read_exactly_the_dimensions_the_handlers_emit(capsys: pytest.CaptureFixture[str]) -> None:
    """Metrics Insights SCHEMA() matches metrics with exactly these dimensions: an extra one
    (Powertools' service) would make the alarms read nothing."""
    from lendbridge import observability
    from lendbridge.http.errors import ERROR_TYPE_OF

    observability.record_request("GetMyLoans", 429, ERROR_TYPE_OF["TOO_MANY_REQUESTS"], 12.5)
    observability.record_count("LoansReturned", "GetMyLoans", 3)
    observability.record_count("LendersAdded", "AddLenders", 2)
    emitted = {}
    for line in capsys.readouterr().out.splitlines():
        record = json.loads(line)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        (dimensions,) = directive["Dimensions"]
        (metric,) = directive["Metrics"]
        emitted[metric["Name"]] = (directive["Namespace"], tuple(dimensions), record)
    assert emitted["APIError"][2]["ErrorType"] == "DatabaseThrottled"

    from lendbridge_infra import monitoring

    queries = [
        *CLIENT_QUERIES.values(),
        monitoring.API_ERRORS_BY_TYPE_QUERY,
        monitoring.LOANS_RETURNED_QUERY,
        monitoring.LENDERS_ADDED_QUERY,
        monitoring.API_LATENCY_BY_ENDPOINT_QUERY,
    ]
    for query in queries:
        (metric,) = re.findall(r"SELECT \w+\((\w+)\)", query)
        (schema,) = re.findall(r'SCHEMA\("([^"]+)", ([^)]*)\)', query)
        namespace, dimensions = schema[0], tuple(part.strip() for part in schema[1].split(","))
        assert (namespace, dimensions) == emitted[metric][:2], query
    assert "ErrorType = 'DatabaseThrottled'" in CLIENT_QUERIES["database_throttled"]


def _all_subclasses(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _all_subclasses(direct))]


def test_api_errors_pages_on_server_side_error_types_only(synth: Synth) -> None:
    """10 typos in 5 minutes must not page: client mistakes (4xx) are charted, not alarmed on.
    Server-side types are the ones answered with 5xx, and a throttled dependency other than the
    database (which has its own alarm)."""
    from lendbridge import errors
    from lendbridge.data import items
    from lendbridge.http.errors import ERROR_TYPE_OF

    assert issubclass(items.DamagedItem, errors.LendbridgeError)

    server, client = set(), set()
    for cls in _all_subclasses(errors.LendbridgeError):
        if cls.status >= 500 or issubclass(cls, errors.Throttled):
            server.add(cls.error_type)
        else:
            client.add(cls.error_type)
    server.discard("DatabaseThrottled")
    client.update(error_type for code, error_type in ERROR_TYPE_OF.items() if code == "METHOD_NOT_ALLOWED")
    expression = only_alarm(synth, "api_errors").expression or ""
    paged = set(re.findall(r"ErrorType = '(\w+)'", expression))
    assert paged == server
    assert not paged & client
    assert {"ValidationError", "NotFound", "Unauthorized", "MethodNotAllowed"} <= client


def test_every_stream_consumer_has_an_iterator_age_alarm(synth: Synth) -> None:
    processing, webhooks = synth.stacks.processing, synth.stacks.webhooks
    consumers = {("processing", processing.get_logical_id(f.node.default_child)) for f in processing.stream_consumers}
    consumers.add(("webhooks", webhooks.get_logical_id(webhooks.fan_out.node.default_child)))
    assert consumers
    watched = {}
    for subject, alarm in alarms_named(synth, "stream_iterator_age").items():
        metric = alarm.only_metric()
        assert (metric.namespace, metric.name, metric.statistic) == ("AWS/Lambda", "IteratorAge", "Maximum")
        assert metric.period == EXPECTED[synth.stage]["stream_iterator_age"][1]
        watched[metric.dimensions["FunctionName"]] = subject
    assert set(watched) == consumers
    assert "LoanHistoryFn" in watched.values()


def test_orphaned_records_alarm_reads_the_integrity_jobs_total(
    synth: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    integrity = pytest.importorskip("lendbridge.handlers.integrity")
    from lendbridge.domain.integrity import IntegrityReport

    integrity.emit_metrics(IntegrityReport())
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    (record,) = [r for r in records if r.get("Kind") == "All"]
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Kind"]]
    assert record["Kind"] == "All"

    metric = only_alarm(synth, "orphaned_records").only_metric()
    assert metric == Watched(directive["Namespace"], "OrphanedRecords", "Maximum", 3600, {"Kind": "All"})


# --- API Gateway, functions, tables, queues ----------------------------------------------------


def _api_stage(synth: Synth) -> tuple[str, str]:
    (stage_id,) = logical_ids(synth, "api", "AWS::ApiGateway::Stage")
    assert template(synth, "api")["Resources"][stage_id]["Properties"]["StageName"] == synth.stage
    return ("api", stage_id)


@pytest.mark.parametrize(
    ("key", "metric_name", "statistic"),
    [("api_5xx_rate", "5XXError", "Average"), ("api_p99_latency", "Latency", "p99")],
)
def test_api_gateway_alarm_watches_the_deployed_stage(synth: Synth, key: str, metric_name: str, statistic: str) -> None:
    metric = only_alarm(synth, key).only_metric()
    assert metric == Watched(
        "AWS/ApiGateway",
        metric_name,
        statistic,
        EXPECTED[synth.stage][key][1],
        {"ApiName": f"lendbridge-{synth.stage}-api", "Stage": _api_stage(synth)},
    )


@pytest.mark.parametrize(("key", "metric_name"), [("lambda_errors", "Errors"), ("lambda_throttles", "Throttles")])
def test_every_function_has_its_errors_and_throttles_alarm(synth: Synth, key: str, metric_name: str) -> None:
    functions = {
        (stack, logical_id)
        for stack in PRODUCER_STACKS
        for logical_id in logical_ids(synth, stack, "AWS::Lambda::Function")
        if not CDK_PROVIDER_HANDLER.fullmatch(logical_id)
    }
    assert len(functions) >= 7
    watched = {}
    for subject, alarm in alarms_named(synth, key).items():
        metric = alarm.only_metric()
        assert (metric.namespace, metric.name, metric.statistic) == ("AWS/Lambda", metric_name, "Sum"), subject
        assert metric.period == EXPECTED[synth.stage][key][1]
        watched[metric.dimensions["FunctionName"]] = subject
    assert set(watched) == functions
    for subject in ("HealthFn", "AccountsFn", "LoansFn", "LenderFn", "PostConfirmationFn", "LoanHistoryFn"):
        assert subject in watched.values()


def _throttle_dimensions(alarm: Alarm) -> dict[str, Target]:
    assert alarm.expression is not None
    ids = re.findall(r"FILL\((\w+), 0\)", alarm.expression)
    assert alarm.expression == " + ".join(f"FILL({i}, 0)" for i in ids)
    assert sorted(alarm.metrics[i].name for i in ids) == ["ReadThrottleEvents", "WriteThrottleEvents"]
    (read, write) = (alarm.metrics[i] for i in ids)
    assert read.dimensions == write.dimensions
    assert {m.namespace for m in (read, write)} == {"AWS/DynamoDB"}
    assert {m.statistic for m in (read, write)} == {"Sum"}
    return read.dimensions


def test_every_table_and_every_index_has_a_throttle_alarm(synth: Synth) -> None:
    expected = set()
    for logical_id, table in synth.resources("data", "AWS::DynamoDB::Table").items():
        expected.add((("data", logical_id), None))
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            expected.add((("data", logical_id), index["IndexName"]))
    watched = set()
    for subject, alarm in alarms_named(synth, "dynamodb_throttles").items():
        dimensions = _throttle_dimensions(alarm)
        assert alarm.period == EXPECTED[synth.stage]["dynamodb_throttles"][1], subject
        assert set(dimensions) <= {"TableName", "GlobalSecondaryIndexName"}
        watched.add((dimensions["TableName"], dimensions.get("GlobalSecondaryIndexName")))
    assert watched == expected
    assert {index for _, index in expected if index} >= set(names.INDEX_KEYS)


def test_every_table_has_a_system_errors_alarm_over_its_operations(synth: Synth) -> None:
    tables = {("data", logical_id) for logical_id in synth.resources("data", "AWS::DynamoDB::Table")}
    watched = set()
    for subject, alarm in alarms_named(synth, "dynamodb_system_errors").items():
        assert len(alarm.metrics) == len(DYNAMODB_OPERATIONS) == 10, "an alarm reads at most 10 metrics"
        assert alarm.expression == " + ".join(f"FILL({i}, 0)" for i in alarm.metrics), subject
        operations = {metric.dimensions["Operation"] for metric in alarm.metrics.values()}
        assert operations == set(DYNAMODB_OPERATIONS)
        assert {(m.namespace, m.name, m.statistic) for m in alarm.metrics.values()} == {
            ("AWS/DynamoDB", "SystemErrors", "Sum")
        }
        (table,) = {metric.dimensions["TableName"] for metric in alarm.metrics.values()}
        assert alarm.period == EXPECTED[synth.stage]["dynamodb_system_errors"][1]
        watched.add(table)
    assert watched == tables


def test_dynamodb_operations_cover_every_call_the_code_makes() -> None:
    lambdas = Path(__file__).resolve().parents[2] / "lambdas" / "lendbridge"
    called = set()
    for source in lambdas.rglob("*.py"):
        called.update(
            re.findall(
                r"\.(get_item|put_item|update_item|delete_item|query|scan|batch_get_item|"
                r"batch_write_item|transact_write_items|transact_get_items)\(",
                source.read_text(),
            )
        )
    assert called
    assert {name.replace("_", "") for name in called} <= {op.lower() for op in DYNAMODB_OPERATIONS}


def test_every_dead_letter_queue_has_a_depth_alarm(synth: Synth) -> None:
    queues = {
        (name, stack.get_logical_id(queue.node.default_child))
        for name in PRODUCER_STACKS
        for stack in [getattr(synth.stacks, name)]
        for queue in getattr(stack, "dead_letter_queues", [])
    }
    assert {name for name, _ in queues} == {"identity", "processing", "bookings", "webhooks"}
    watched = set()
    for subject, alarm in alarms_named(synth, "dlq_depth").items():
        metric = alarm.only_metric()
        assert (metric.namespace, metric.name, metric.statistic) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
        ), subject
        assert metric.period == EXPECTED[synth.stage]["dlq_depth"][1]
        watched.add(metric.dimensions["QueueName"])
    assert watched == queues


# --- topic, runbook, dependencies, reserved concurrency ----------------------------------------


def test_topic_policy_lets_this_stages_alarms_publish_and_nothing_else(synth: Synth) -> None:
    (policy,) = synth.resources("monitoring", "AWS::SNS::TopicPolicy").values()
    statements = as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    allows = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert ref_id(allow["Resource"]) == topic_id(synth)
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert flatten(allow["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(f":alarm:lendbridge-{synth.stage}-*")
    assert any(
        statement["Effect"] == "Deny" and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        for statement in statements
    )


def test_subscriptions_come_from_the_stage_config(synth: Synth) -> None:
    subscriptions = synth.resources("monitoring", "AWS::SNS::Subscription").values()
    endpoints = {(s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscriptions}
    assert endpoints == {("email", e) for e in synth.config.alarm_emails} | {
        ("https", u) for u in synth.config.alarm_https_endpoints
    }
    if synth.stage == "prod":
        assert endpoints, "prod pages someone"


def _runbook_sections() -> dict[str, str]:
    text = RUNBOOK.read_text()
    parts = re.split(r'<a id="([\w-]+)"></a>\n', text)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_alarm_links_to_a_runbook_section_with_meaning_query_causes_and_mitigation(synth: Synth) -> None:
    sections = _runbook_sections()
    for alarm in alarms(synth):
        (anchor,) = re.findall(r"Runbook: docs/runbook\.md#([\w-]+)$", alarm.properties["AlarmDescription"])
        section = sections[anchor]
        for part in ("**What it means.**", "**First query**", "**Likely causes.**", "**Mitigation.**"):
            assert part in section, (anchor, part)
        query = re.search(r"\*\*First query\*\*.*?```\n(?P<query>.+?)```", section, re.DOTALL)
        assert query, anchor
        assert re.search(r"\b(fields|filter|stats)\b", query["query"]), anchor
        assert len(alarm.properties["AlarmDescription"]) <= 1024


def test_runbook_covers_the_pagination_secret_and_dead_letter_queues() -> None:
    sections = _runbook_sections()
    assert "put-secret-value" in sections["pagination-secret"]
    assert "receive-message" in sections["dead-letter-queues"]
    assert "get-records" in sections["dead-letter-queues"]


def test_runbook_settings_table_matches_cdk_json(synth: Synth) -> None:
    other = "prod" if synth.stage == "dev" else "dev"
    other_config = StageConfig.from_context(synth.stacks.api, other)
    text = RUNBOOK.read_text()
    for key, kind in ALARM_KINDS.items():
        by_stage = {synth.stage: synth.config.alarms[key], other: other_config.alarms[key]}
        row = (
            f"| [{kind.title}](#{key.replace('_', '-')}) | {trigger_text(kind, by_stage['dev'])} | "
            f"{trigger_text(kind, by_stage['prod'])} |"
        )
        assert row in text, row


def test_monitoring_imports_only_what_must_never_be_replaced(synth: Synth) -> None:
    """Strong references are chosen: tables (replacing one loses its data, so the export blocking
    it is wanted) and the API stage (its name never changes). Functions and dead-letter queues are
    named at synth and read as literals, so replacing one never waits on the monitoring stack."""
    imported = {exports(synth)[flatten(value)] for value in _imports(template(synth, "monitoring"))}
    allowed_types = {"AWS::DynamoDB::Table", "AWS::ApiGateway::Stage"}
    for stack, logical_id in imported:
        assert template(synth, stack)["Resources"][logical_id]["Type"] in allowed_types, (stack, logical_id)
    named = named_resources(synth)
    functions = [
        (stack, logical_id)
        for stack in PRODUCER_STACKS
        for logical_id in logical_ids(synth, stack, "AWS::Lambda::Function")
        if not CDK_PROVIDER_HANDLER.fullmatch(logical_id)
    ]
    queues = [(stack, q) for stack in ("processing", "webhooks") for q in logical_ids(synth, stack, "AWS::SQS::Queue")]
    assert functions
    assert queues
    for target in [*functions, *queues]:
        assert target in named.values(), f"{target} has no name known at synth"
    for name, target in named.items():
        assert name.startswith(f"lendbridge-{synth.stage}-"), (name, target)


def _imports(value: Any) -> list[Any]:
    if isinstance(value, dict):
        if "Fn::ImportValue" in value:
            return [value["Fn::ImportValue"]]
        return [found for item in value.values() for found in _imports(item)]
    if isinstance(value, list):
        return [found for item in value for found in _imports(item)]
    return []


def test_monitoring_depends_on_every_other_stack_and_nothing_depends_on_it(synth: Synth) -> None:
    monitoring = synth.stacks.monitoring
    assert {stack.stack_name for stack in monitoring.dependencies} == {
        getattr(synth.stacks, key).stack_name for key in PRODUCER_STACKS
    }
    assert not any("Export" in output for output in template(synth, "monitoring").get("Outputs", {}).values())
    for key in PRODUCER_STACKS:
        assert monitoring not in getattr(synth.stacks, key).dependencies
        assert monitoring.stack_name not in json.dumps(template(synth, key))


def test_api_functions_have_reserved_concurrency_from_the_stage_config(synth: Synth) -> None:
    expected = RESERVED_CONCURRENCY[synth.stage]
    assert dict(synth.config.reserved_concurrency) == expected
    api = synth.stacks.api
    assert set(expected) - {"integrity"} <= set(api.functions)
    for name, function in api.functions.items():
        properties = synth.resource_of("api", function)["Properties"]
        assert properties.get("ReservedConcurrentExecutions") == expected.get(name), name
    integrity = synth.resource_of("processing", synth.stacks.processing.integrity)["Properties"]
    assert integrity.get("ReservedConcurrentExecutions") == expected.get("integrity")


def test_each_stage_fits_its_lambda_quota_and_dev_reserves_nothing(synth: Synth) -> None:
    """Lambda keeps 100 executions unreserved; dev must deploy into a brand-new account."""
    total = sum(
        int(resource["Properties"].get("ReservedConcurrentExecutions", 0))
        for _, _, resource in synth.all_resources("AWS::Lambda::Function")
    )
    assert total == synth.stacks.reserved_concurrency
    assert total == 0 or total + 100 <= synth.config.lambda_concurrency_quota
    if synth.stage == "dev":
        assert total == 0


def test_synth_fails_when_a_stage_reserves_more_than_its_quota_allows() -> None:
    context = cdk_json_context()
    prod = context["stages"]["prod"]
    total = sum(prod["reserved_concurrency"].values())
    prod["lambda_concurrency_quota"] = total + 99  # one short of keeping 100 unreserved
    with pytest.raises(QuotaExceeded, match=rf"reserves {total} .*lambda_concurrency_quota = {total + 99}"):
        LendbridgeStacks(cdk.App(context=context), "prod")
    prod["lambda_concurrency_quota"] = total + 100
    assert LendbridgeStacks(cdk.App(context=context), "prod").reserved_concurrency == total


# --- settings validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"period_seconds": 90},
        {"period_seconds": 30},
        {"datapoints_to_alarm": 2, "evaluation_periods": 1},
        {"datapoints_to_alarm": 0},
        {"treat_missing_data": "NOT_BREACHING"},
    ],
)
def test_alarm_settings_refuse_impossible_triggers(changes: dict[str, Any]) -> None:
    settings = {
        "threshold": 1,
        "period_seconds": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "treat_missing_data": "notBreaching",
        **changes,
    }
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        AlarmSettings(**settings)


def test_readme_checklist_states_prods_concurrency_requirement(prod: Synth) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    required = prod.stacks.reserved_concurrency + 100
    assert f"reserves {prod.stacks.reserved_concurrency} concurrent executions" in deploying
    assert f"at least **{required}**" in deploying
    for prerequisite in ("bootstrap", "SES", "CloudWatch role", "quota"):
        assert prerequisite in deploying, prerequisite


# Logical ids of the alarms as the hand-written stack created them (before cdk-monitoring-constructs),
# identical in both stages. CloudWatch knows an alarm by its name: a new logical id makes
# CloudFormation create the name again and then delete it with the old resource.
DEPLOYED_ALARM_IDS = {
    "AccountsFnErrorsA7F1968A", "AccountsFnThrottles8C0037C4", "Api5xxRateA72C59BB", "ApiErrors8A265993",
    "ApiLatencyE391D2FB", "ApiP99LatencyDF842393", "AuditTableSystemErrors8FE57D92", "AuditTableThrottles29CA1A21",
    "ClaimsDlqDepth4EF60D0C", "DatabaseThrottled9D411F11", "HealthFnErrors67B94139", "HealthFnThrottlesABEF01F8",
    "IdempotencyTableSystemErrors1D090A11", "IdempotencyTableThrottles0C8A9237", "IntegrityDlqDepth2D20EB6C",
    "IntegrityFnErrors438547FD", "IntegrityFnThrottlesF7EE2226", "InvitationClaimsFnErrors32AF16FE",
    "InvitationClaimsFnThrottlesA8055839", "LenderFnErrors663E2A55", "LenderFnThrottles57A53AE0",
    "LoanHistoryDlqDepthF047B09D", "LoanHistoryFnErrorsFFBE50F0", "LoanHistoryFnIteratorAge0DE02DDA",
    "LoanHistoryFnThrottles914FAED7", "LoansFnErrors7730EF0C", "LoansFnThrottles29C0AF72",
    "MainTableSystemErrors25CF859C", "MainTableThrottles64CFA9A8", "MainTableborrowercollectionThrottles69DE572B",
    "MainTablelenderinvitationsThrottles50D814B8",
    "MainTableparticipantbyidThrottlesF8A5DD27", "OrphanedRecords8272FE45", "PostConfirmationFnErrors3D7799BD",
    "PostConfirmationFnThrottlesAC2ACB93",
}  # fmt: skip
# The bookings module's, as first deployed with it.
BOOKINGS_ALARM_IDS = {
    "BookingsFnErrors2332AE21", "BookingsFnThrottles2581EA89",
    "DocumentsRejectedFD45EB7C", "ExtractionFailures7324F410", "ExtractionQueueAgeFEC72094",
    "ExtractionQueueDlqDepthB115BF5B", "ExtractorFnErrors09EDC442", "ExtractorFnThrottles0F44D69B",
    "UploadEventsFnErrors0E59FD75", "UploadEventsFnThrottles596D5492", "UploadQueueDlqDepthA66BF74D",
}  # fmt: skip


# Alarms added since, with the ids they are first deployed with (the rate limiter's counters table
# and its blind alarm).
ADDED_ALARM_IDS = {"RateLimitTableSystemErrorsEF5C640D", "RateLimitTableThrottles5DE012A7", "RateLimiterBlindFA558B3D"}


# Added with webhooks (issue 14), from the same construct ids in both stages.
WEBHOOK_ALARM_IDS = {
    "WebhookDeliveryFnErrors7FCBF7F3", "WebhookDeliveryFnThrottles87A38B7F", "WebhookEventsFnErrors51C9261E",
    "WebhookEventsFnThrottlesC25A7A3B", "WebhookEventsFnIteratorAgeFAA0D5E3", "WebhooksFnErrorsD6C7187C",
    "WebhooksFnThrottles8E8636D2", "WebhookDlqDepthE07A06D7", "WebhookEventsDlqDepth03729195",
    "WebhookFailures69ACE045", "WebhookBacklogAgeF577515F", "WebhooksDisabled51C32E8C",
    "WebhooksTableSystemErrors940021A4", "WebhooksTableThrottles78D988AF",
}  # fmt: skip


def test_every_alarm_keeps_the_logical_id_it_was_deployed_with(synth: Synth) -> None:
    assert {
        alarm.logical_id for alarm in alarms(synth)
    } == DEPLOYED_ALARM_IDS | ADDED_ALARM_IDS | BOOKINGS_ALARM_IDS | WEBHOOK_ALARM_IDS
    # Gone with its index (GSI3, borrower-loans): MainTableborrowerloansThrottles9BF111A3.


def test_the_rate_limiter_blind_alarm_sums_every_scope(synth: Synth) -> None:
    alarm = only_alarm(synth, "rate_limiter_blind")
    assert alarm.metrics == {}
    assert alarm.expression == 'SELECT SUM(RateLimiterBlind) FROM SCHEMA("PrivateLending/API", Scope)'
    assert alarm.trigger() == EXPECTED[synth.stage]["rate_limiter_blind"]


def test_the_blind_query_reads_exactly_the_dimensions_the_edge_emits(capsys: pytest.CaptureFixture[str]) -> None:
    from concurrent.futures import Future

    from lendbridge.domain.rate_limits import Limit, Subject, Verdict
    from lendbridge.http.rate_limit import RateCheck

    pending: Future[Verdict] = Future()
    pending.set_result(Verdict(60, 60, 30, allowed=True, blind=True))
    check = RateCheck(
        [(Subject("caller", "u", Limit(60, 60)), pending)],
        authenticated=True,
        check_first=False,
        request_id="r",
        clock=lambda: 0.0,
    )
    check.finish({"statusCode": 200})
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines() if "RateLimiterBlind" in text]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["Scope"]]
