"""The rate limiter on call: an alarm when it goes blind, and a dashboard row showing blindness by
scope and the 429s it answered by route."""

from __future__ import annotations

from typing import Protocol

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from lendbridge_infra import monitoring

BLIND = "rate_limiter_blind"
WIDGET_WIDTH, WIDGET_HEIGHT = 12, 6
FIVE_MINUTES = cdk.Duration.minutes(5)


class Pager(Protocol):
    def page(self, construct_id: str, key: str, metric: cloudwatch.Metric | cloudwatch.MathExpression) -> None: ...

    def period(self, key: str) -> cdk.Duration: ...


def rate_limiter_alarm(pager: Pager) -> None:
    """Pages when requests are served uncounted (the counters table throttled, down or slow): the
    API's own per-caller limit is then not enforced, only the gateway's and the WAF's."""
    pager.page(
        "RateLimiterBlind",
        BLIND,
        monitoring.insights(monitoring.RATE_LIMITER_BLIND_QUERY, pager.period(BLIND), "Requests served uncounted"),
    )


def rate_limit_widgets(blind_threshold: float) -> list[cloudwatch.IWidget]:
    def grouped(query: str) -> cloudwatch.MathExpression:
        return monitoring.insights(query, FIVE_MINUTES, label="")  # each series named by its group

    return [
        cloudwatch.GraphWidget(
            title="429 TOO_MANY_REQUESTS from the rate limiter, by Endpoint (per 5 minutes)",
            left=[grouped(monitoring.RATE_LIMITED_BY_ENDPOINT_QUERY)],
            width=WIDGET_WIDTH,
            height=WIDGET_HEIGHT,
            period=FIVE_MINUTES,
        ),
        cloudwatch.GraphWidget(
            title="Rate limiter blind: requests served uncounted, by Scope (per 5 minutes)",
            left=[grouped(monitoring.RATE_LIMITER_BLIND_BY_SCOPE_QUERY)],
            left_annotations=[cloudwatch.HorizontalAnnotation(value=blind_threshold, label="Blind alarm")],
            width=WIDGET_WIDTH,
            height=WIDGET_HEIGHT,
            period=FIVE_MINUTES,
        ),
    ]
