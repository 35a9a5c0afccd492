"""The API and data dashboards of both stages, widget by widget."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from lendbridge_infra import monitoring
from tests.infra.support import Synth, flatten
from tests.infra.test_infra_alarms import Target, alarms, resolve

API_TITLES = [
    "Requests per minute",
    "Latency p50 / p95 / p99 (ms)",
    "4XX and 5XX responses per minute",
    "APIError by ErrorType (per 5 minutes)",
    "LoansReturned by Endpoint (per 5 minutes)",
    "LendersAdded by Endpoint (per 5 minutes)",
    "Average latency by Endpoint (ms, per 5 minutes)",
    "Batch efficiency: lenders added per AddLenders request (per 5 minutes)",
    "429 TOO_MANY_REQUESTS from the rate limiter, by Endpoint (per 5 minutes)",
    "Rate limiter blind: requests served uncounted, by Scope (per 5 minutes)",
    "API and function alarms",
    "Documents uploaded and rejected; extractions succeeded and failed (per 5 minutes)",
    "Extraction latency p90 (ms), fields per extraction, oldest queued extraction (s)",
    "Bookings module alarms",
]
DATA_TITLES = [
    "Consumed read capacity per table (units per minute)",
    "Consumed write capacity per table (units per minute)",
    "Consumed read capacity per index (units per minute)",
    "Consumed write capacity per index (units per minute)",
    "Throttle events per table (read + write, per minute)",
    "Throttle events per index (read + write, per minute)",
    "System errors per table (per minute)",
    "Data, dead-letter and integrity alarms",
]
API_ALARM_FAMILIES = (
    "api-errors",
    "api-latency",
    "database-throttled",
    "api-5xx-rate",
    "api-p99-latency",
    "lambda-errors",
    "lambda-throttles",
    "rate-limiter-blind",
)
DATA_ALARM_FAMILIES = (
    "dynamodb-throttles",
    "dynamodb-system-errors",
    "stream-iterator-age",
    "dlq-depth",
    "orphaned-records",
)
BOOKINGS_ALARM_FAMILIES = ("extraction-failures", "extraction-queue-age", "documents-rejected")
MAX_METRICS_PER_GRAPH = 500


@dataclass(frozen=True)
class Line:
    """One entry of a graph's ``metrics``: a metric (namespace, name, dimensions) or an expression."""

    namespace: str | None
    name: str | None
    dimensions: dict[str, Target]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def expression(self) -> str | None:
        return self.options.get("expression")

    @property
    def visible(self) -> bool:
        return bool(self.options.get("visible", True))


@dataclass(frozen=True)
class Widget:
    kind: str
    properties: dict[str, Any]
    lines: list[Line]

    @property
    def title(self) -> str:
        return str(self.properties.get("title"))


def _body(synth: Synth, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard JSON, with each intrinsic replaced by a placeholder string, and the placeholders."""
    if isinstance(body, str):
        return json.loads(body), {}
    separator, parts = body["Fn::Join"]
    assert separator == ""
    tokens: dict[str, Any] = {}
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
        else:
            placeholder = f"@@{len(tokens)}@@"
            tokens[placeholder] = part
            text += placeholder
    return json.loads(text), tokens


def dashboards(synth: Synth) -> dict[str, list[Widget]]:
    found = {}
    for resource in synth.resources("monitoring", "AWS::CloudWatch::Dashboard").values():
        properties = resource["Properties"]
        body, tokens = _body(synth, properties["DashboardBody"])

        def value(text: Any, tokens: dict[str, Any] = tokens) -> Any:
            return resolve(synth, tokens[text]) if isinstance(text, str) and text in tokens else text

        widgets = []
        for widget in body["widgets"]:
            lines = []
            for entry in widget["properties"].get("metrics", []):
                options = entry[-1] if isinstance(entry[-1], dict) else {}
                strings = [item for item in entry if not isinstance(item, dict)]
                namespace, name, *dims = strings or [None, None]
                dimensions = {dims[i]: value(dims[i + 1]) for i in range(0, len(dims), 2)}
                lines.append(Line(namespace, name, dimensions, options))
            alarm_arns = [value(arn) for arn in widget["properties"].get("alarms", [])]
            widget["properties"]["alarms"] = alarm_arns
            widgets.append(Widget(widget["type"], widget["properties"], lines))
        found[flatten(properties["DashboardName"])] = widgets
    return found


def widget(widgets: list[Widget], title: str) -> Widget:
    (found,) = [w for w in widgets if w.title == title]
    return found


def visible(w: Widget) -> list[Line]:
    return [line for line in w.lines if line.visible]


def tables(synth: Synth) -> dict[tuple[str, str], list[str]]:
    return {
        ("data", logical_id): [index["IndexName"] for index in table["Properties"].get("GlobalSecondaryIndexes", [])]
        for logical_id, table in synth.resources("data", "AWS::DynamoDB::Table").items()
    }


WEBHOOK_TITLES = [
    "Delivery attempts by outcome (per 5 minutes)",
    "Webhooks disabled after 410 Gone (per 5 minutes)",
    "Oldest undelivered message (s)",
    "Messages waiting and in flight",
    "Dead-letter queue depth",
    "Webhook alarms",
]


def test_the_webhooks_dashboard_shows_outcomes_backlog_and_dead_letters(synth: Synth) -> None:
    widgets = dashboards(synth)[f"lendbridge-{synth.stage}-webhooks"]
    outcomes = widget(widgets, "Delivery attempts by outcome (per 5 minutes)")
    assert {(line.name, line.dimensions["Outcome"]) for line in outcomes.lines} == {
        ("WebhookAttempts", outcome) for outcome in ("DELIVERED", "FAILED", "DEAD")
    }
    oldest = widget(widgets, "Oldest undelivered message (s)")
    assert [line.name for line in oldest.lines] == ["ApproximateAgeOfOldestMessage"]
    depth = widget(widgets, "Dead-letter queue depth")
    assert len(depth.lines) == 2


def _api(synth: Synth) -> list[Widget]:
    return dashboards(synth)[f"lendbridge-{synth.stage}-api"]


def _data(synth: Synth) -> list[Widget]:
    return dashboards(synth)[f"lendbridge-{synth.stage}-data"]


def test_each_stage_has_an_api_and_a_data_dashboard(synth: Synth) -> None:
    assert set(dashboards(synth)) == {
        f"lendbridge-{synth.stage}-api",
        f"lendbridge-{synth.stage}-data",
        f"lendbridge-{synth.stage}-webhooks",
    }
    assert [w.title for w in dashboards(synth)[f"lendbridge-{synth.stage}-webhooks"]] == WEBHOOK_TITLES
    assert [w.title for w in _api(synth)] == API_TITLES
    assert [w.title for w in _data(synth)] == DATA_TITLES
    for widgets in dashboards(synth).values():
        for w in widgets:
            assert len(w.lines) <= MAX_METRICS_PER_GRAPH, w.title


# --- API -------------------------------------------------------------------------------------


def _stage_dimensions(synth: Synth, line: Line) -> None:
    assert line.namespace == "AWS/ApiGateway"
    assert line.dimensions["ApiName"] == f"lendbridge-{synth.stage}-api"
    stack, stage_id = line.dimensions["Stage"]
    assert stack == "api"
    assert synth.json["api"]["Resources"][stage_id]["Properties"]["StageName"] == synth.stage


def test_requests_per_minute(synth: Synth) -> None:
    (line,) = widget(_api(synth), "Requests per minute").lines
    _stage_dimensions(synth, line)
    assert (line.name, line.options.get("stat"), line.options.get("period")) == ("Count", "Sum", 60)


def test_latency_percentiles_with_the_p99_alarm_threshold(synth: Synth) -> None:
    w = widget(_api(synth), "Latency p50 / p95 / p99 (ms)")
    for line in w.lines:
        _stage_dimensions(synth, line)
        assert (line.name, line.options.get("period")) == ("Latency", 60)
    assert [line.options.get("stat") for line in w.lines] == ["p50", "p95", "p99"]
    (annotation,) = w.properties["annotations"]["horizontal"]
    assert annotation["value"] == synth.config.alarms["api_p99_latency"].threshold


def test_4xx_and_5xx_counts(synth: Synth) -> None:
    w = widget(_api(synth), "4XX and 5XX responses per minute")
    for line in w.lines:
        _stage_dimensions(synth, line)
        assert (line.options.get("stat"), line.options.get("period")) == ("Sum", 60)
    assert [line.name for line in w.lines] == ["4XXError", "5XXError"]


@pytest.mark.parametrize(
    ("title", "query"),
    [
        ("APIError by ErrorType (per 5 minutes)", monitoring.API_ERRORS_BY_TYPE_QUERY),
        ("LoansReturned by Endpoint (per 5 minutes)", monitoring.LOANS_RETURNED_QUERY),
        ("LendersAdded by Endpoint (per 5 minutes)", monitoring.LENDERS_ADDED_QUERY),
        ("Average latency by Endpoint (ms, per 5 minutes)", monitoring.API_LATENCY_BY_ENDPOINT_QUERY),
        (
            "429 TOO_MANY_REQUESTS from the rate limiter, by Endpoint (per 5 minutes)",
            monitoring.RATE_LIMITED_BY_ENDPOINT_QUERY,
        ),
        (
            "Rate limiter blind: requests served uncounted, by Scope (per 5 minutes)",
            monitoring.RATE_LIMITER_BLIND_BY_SCOPE_QUERY,
        ),
    ],
)
def test_client_metric_widgets_group_one_metrics_insights_query(synth: Synth, title: str, query: str) -> None:
    w = widget(_api(synth), title)
    (line,) = w.lines
    assert line.expression == query
    assert "GROUP BY" in query
    assert "label" not in line.options, "no label: each series is named by its group"
    assert w.properties.get("period", 300) == 300


def test_latency_by_endpoint_averages_every_status_and_marks_the_latency_alarm(synth: Synth) -> None:
    w = widget(_api(synth), "Average latency by Endpoint (ms, per 5 minutes)")
    (line,) = w.lines
    assert line.expression == (
        'SELECT AVG(APILatency) FROM SCHEMA("PrivateLending/API", Endpoint, Status) GROUP BY Endpoint'
    )
    (annotation,) = w.properties["annotations"]["horizontal"]
    assert annotation["value"] == synth.config.alarms["api_latency"].threshold


def test_batch_efficiency_is_lenders_added_over_add_lenders_requests(synth: Synth) -> None:
    """Lenders added per AddLenders request: the LendersAdded sum over the request count (every
    outcome), each read with exactly the dimensions the handler emits."""
    from lendbridge.routes import ROUTES

    assert "AddLenders" in {route.endpoint for route in ROUTES}
    w = widget(_api(synth), "Batch efficiency: lenders added per AddLenders request (per 5 minutes)")
    (ratio,) = [line for line in w.lines if line.expression]
    by_id = {line.options["id"]: line for line in w.lines if not line.expression}
    assert not any(line.visible for line in by_id.values()), "only the ratio is drawn"
    lenders = by_id["lenders"]
    assert (lenders.namespace, lenders.name, lenders.dimensions) == (
        "PrivateLending/API",
        "LendersAdded",
        {"Endpoint": "AddLenders"},
    )
    period = w.properties["period"]  # a line without its own period takes the widget's
    assert period == 300
    assert (lenders.options.get("stat"), lenders.options.get("period", period)) == ("Sum", 300)
    requests = [line for metric_id, line in by_id.items() if metric_id != "lenders"]
    assert {(line.name, line.options.get("stat"), line.options.get("period", period)) for line in requests} == {
        ("APILatency", "SampleCount", 300)
    }
    assert {line.dimensions["Status"] for line in requests} == {"Success", "Error"}
    assert {line.dimensions["Endpoint"] for line in requests} == {"AddLenders"}
    total = " + ".join(f"FILL({metric_id}, 0)" for metric_id in by_id if metric_id != "lenders")
    assert ratio.expression == f"IF(({total}) > 0, FILL(lenders, 0) / ({total}))"


def test_api_errors_widget_marks_the_client_threshold(synth: Synth) -> None:
    w = widget(_api(synth), "APIError by ErrorType (per 5 minutes)")
    (annotation,) = w.properties["annotations"]["horizontal"]
    assert annotation["value"] == synth.config.alarms["api_errors"].threshold == 10


def _alarm_ids(synth: Synth, families: tuple[str, ...]) -> set[str]:
    return {
        alarm.logical_id
        for alarm in alarms(synth)
        if any(alarm.name.startswith(f"lendbridge-{synth.stage}-{family}") for family in families)
    }


@pytest.mark.parametrize(
    ("dashboard", "title", "families"),
    [
        ("api", "API and function alarms", API_ALARM_FAMILIES),
        ("data", "Data, dead-letter and integrity alarms", DATA_ALARM_FAMILIES),
        ("api", "Bookings module alarms", BOOKINGS_ALARM_FAMILIES),
        ("webhooks", "Webhook alarms", ("webhook-failures", "webhook-backlog-age", "webhooks-disabled")),
    ],
)
def test_alarm_status_widgets_show_every_alarm_once(
    synth: Synth, dashboard: str, title: str, families: tuple[str, ...]
) -> None:
    w = widget(dashboards(synth)[f"lendbridge-{synth.stage}-{dashboard}"], title)
    assert w.kind == "alarm"
    shown = [alarm_id for stack, alarm_id in w.properties["alarms"] if stack == "monitoring"]
    assert len(shown) == len(w.properties["alarms"]) == len(set(shown))
    assert set(shown) == _alarm_ids(synth, families)


def test_the_bookings_row_charts_the_module_metrics_and_its_queue(synth: Synth) -> None:
    counts = widget(_api(synth), "Documents uploaded and rejected; extractions succeeded and failed (per 5 minutes)")
    assert {(line.namespace, line.name) for line in counts.lines} == {
        ("PrivateLending/API", name)
        for name in ("DocumentsUploaded", "DocumentsRejected", "ExtractionsSucceeded", "ExtractionsFailed")
    }
    assert all(line.dimensions == {"service": "bookings"} for line in counts.lines)
    timing = widget(_api(synth), "Extraction latency p90 (ms), fields per extraction, oldest queued extraction (s)")
    names = {line.name: line for line in timing.lines}
    assert set(names) == {"ExtractionLatency", "FieldsExtracted", "ApproximateAgeOfOldestMessage"}
    assert names["ApproximateAgeOfOldestMessage"].dimensions == {
        "QueueName": f"lendbridge-{synth.stage}-ExtractionQueue"
    }


def test_the_alarm_widgets_together_show_every_alarm(synth: Synth) -> None:
    shown = set()
    for widgets in dashboards(synth).values():
        for w in widgets:
            shown.update(alarm_id for _, alarm_id in w.properties.get("alarms", []))
    assert shown == {alarm.logical_id for alarm in alarms(synth)}


# --- data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric_name", ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"])
def test_consumed_capacity_per_table_and_per_index(synth: Synth, metric_name: str) -> None:
    kind = "read" if "Read" in metric_name else "write"
    per_table = widget(_data(synth), f"Consumed {kind} capacity per table (units per minute)")
    per_index = widget(_data(synth), f"Consumed {kind} capacity per index (units per minute)")
    for line in [*per_table.lines, *per_index.lines]:
        assert (line.namespace, line.name) == ("AWS/DynamoDB", metric_name)
        assert (line.options.get("stat"), line.options.get("period")) == ("Sum", 60)
    assert [set(line.dimensions) for line in per_table.lines] == [{"TableName"}] * len(tables(synth))
    assert {line.dimensions["TableName"] for line in per_table.lines} == set(tables(synth))
    assert {
        (line.dimensions["TableName"], line.dimensions["GlobalSecondaryIndexName"]) for line in per_index.lines
    } == {(table, index) for table, indexes in tables(synth).items() for index in indexes}


def _expressions(w: Widget) -> dict[str, Line]:
    """Visible expression lines by label; their metrics, hidden, by id."""
    return {str(line.options["label"]): line for line in visible(w) if line.expression}


def _metrics_of(w: Widget, expression: str) -> list[Line]:
    by_id = {line.options["id"]: line for line in w.lines if "id" in line.options and not line.expression}
    ids = [part.split(",")[0] for part in expression.split("FILL(")[1:]]
    return [by_id[i] for i in ids]


@pytest.mark.parametrize("scope", ["table", "index"])
def test_throttle_events_per_table_and_per_index(synth: Synth, scope: str) -> None:
    w = widget(_data(synth), f"Throttle events per {scope} (read + write, per minute)")
    expressions = _expressions(w)
    assert all(not line.visible for line in w.lines if not line.expression)
    watched = set()
    for line in expressions.values():
        metrics = _metrics_of(w, str(line.expression))
        assert sorted(m.name for m in metrics) == ["ReadThrottleEvents", "WriteThrottleEvents"]
        assert {(m.namespace, m.options.get("stat"), m.options.get("period")) for m in metrics} == {
            ("AWS/DynamoDB", "Sum", 60)
        }
        dimensions = metrics[0].dimensions
        assert metrics[1].dimensions == dimensions
        watched.add((dimensions["TableName"], dimensions.get("GlobalSecondaryIndexName")))
    if scope == "table":
        assert watched == {(table, None) for table in tables(synth)}
    else:
        assert watched == {(table, index) for table, indexes in tables(synth).items() for index in indexes}


def test_system_errors_per_table(synth: Synth) -> None:
    w = widget(_data(synth), "System errors per table (per minute)")
    watched = set()
    for line in _expressions(w).values():
        metrics = _metrics_of(w, str(line.expression))
        assert {m.dimensions["Operation"] for m in metrics} == set(monitoring.DYNAMODB_OPERATIONS)
        assert {m.name for m in metrics} == {"SystemErrors"}
        (table,) = {m.dimensions["TableName"] for m in metrics}
        watched.add(table)
    assert watched == set(tables(synth))


def test_429s_by_route_are_the_rate_limiters_error_type(synth: Synth) -> None:
    from lendbridge.http.rate_limit import ERROR_TYPE

    query = widget(_api(synth), "429 TOO_MANY_REQUESTS from the rate limiter, by Endpoint (per 5 minutes)").lines[0]
    assert f"ErrorType = '{ERROR_TYPE}'" in str(query.expression)
    assert "GROUP BY Endpoint" in str(query.expression)
    blind = widget(_api(synth), "Rate limiter blind: requests served uncounted, by Scope (per 5 minutes)")
    assert [a["value"] for a in blind.properties["annotations"]["horizontal"]] == [
        synth.config.alarms["rate_limiter_blind"].threshold
    ]
