"""On-call topic, the alarms that page it, and the API and data dashboards.

Built last, from references to the other stacks' resources: this stack depends on them, never
the reverse. Every alarm's trigger comes from the stage's ``alarms`` block in cdk.json; every
alarm family has a section in docs/runbook.md, linked from the alarm's description.

Lambda, API Gateway and SQS alarms are cdk-monitoring-constructs monitorings; the alarms on
metrics the library does not define (the client's Metrics Insights queries, DynamoDB's read plus
write throttles and its system errors over every operation, the integrity job's orphans) go
through the same library alarm factory, so naming, actions and descriptions are made one way.
The dashboards stay hand-built from CloudWatch widgets (docs/decisions.md says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from cdk_monitoring_constructs import (
    AlarmFactory,
    AlarmFactoryDefaults,
    AlarmWithAnnotation,
    ApiGatewayMonitoring,
    CustomAlarmThreshold,
    DefaultDashboardFactory,
    ErrorCountThreshold,
    ErrorRateThreshold,
    LambdaFunctionMonitoring,
    LatencyThreshold,
    MaxAgeThreshold,
    MaxMessageAgeThreshold,
    MaxMessageCountThreshold,
    MonitoringFacade,
    SnsAlarmActionStrategy,
    SqsQueueMonitoring,
    SqsQueueMonitoringProps,
)
from constructs import Construct

from lendbridge_infra import monitoring
from lendbridge_infra.config import StageConfig
from lendbridge_infra.monitoring import ALARM_KINDS, TREAT_MISSING_DATA, AlarmKind, insights
from stacks.rate_limit_monitoring import rate_limit_widgets, rate_limiter_alarm

if TYPE_CHECKING:
    from stacks.api_stack import ApiStack
    from stacks.bookings_stack import BookingsStack
    from stacks.data_stack import DataStack
    from stacks.identity_stack import IdentityStack
    from stacks.processing_stack import ProcessingStack
    from stacks.webhooks_stack import WebhooksStack

# The library's monitorings add their widgets to its dashboards unless told not to.
NOT_ON_LIBRARY_DASHBOARDS: dict[str, Any] = {
    "add_to_alarm_dashboard": False,
    "add_to_detail_dashboard": False,
    "add_to_summary_dashboard": False,
}

GRAPH_WIDTH = 12
GRAPH_HEIGHT = 6
FULL_WIDTH = 24
ONE_MINUTE = cdk.Duration.minutes(1)
FIVE_MINUTES = cdk.Duration.minutes(5)

API_ALARM_KINDS = (
    "api_errors",
    "api_latency",
    "database_throttled",
    "api_5xx_rate",
    "api_p99_latency",
    "lambda_errors",
    "lambda_throttles",
    "rate_limiter_blind",
)
DATA_ALARM_KINDS = (
    "dynamodb_throttles",
    "dynamodb_system_errors",
    "stream_iterator_age",
    "dlq_depth",
    "orphaned_records",
)
BOOKINGS_ALARM_KINDS = ("extraction_failures", "extraction_queue_age", "documents_rejected")
WEBHOOK_ALARM_KINDS = ("webhook_failures", "webhook_backlog_age", "webhooks_disabled")


@dataclass(frozen=True)
class PagingAlarm:
    kind: AlarmKind
    subject: str | None  # the function, table, index or queue; None for the stage-wide alarms
    alarm: cloudwatch.IAlarm


class MonitoringStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStack,
        identity: IdentityStack,
        api: ApiStack,
        processing: ProcessingStack,
        bookings: BookingsStack,
        webhooks: WebhooksStack,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Deployed after what it watches, although most names it reads are known at synth and
        # imported from nowhere (docs/decisions.md, cross-stack references).
        for producer in (data, identity, api, processing, bookings, webhooks):
            self.add_dependency(producer)
        missing = sorted(set(ALARM_KINDS) - set(config.alarms))
        if missing:
            raise ValueError(f"stage {config.name!r} has no alarm settings for {missing} (cdk.json stages.alarms)")
        self.config = config
        self.alarms: list[PagingAlarm] = []
        self.topic = self._on_call_topic()
        # Every alarm, the library's and ours, pages the topic when it fires and when it clears.
        # The library's own dashboards are off: the stage's two dashboards are built below.
        self.facade = MonitoringFacade(
            self,
            "Alarms",
            alarm_factory_defaults=AlarmFactoryDefaults(
                alarm_name_prefix=config.resource_name("alarm"),
                actions_enabled=True,
                action=SnsAlarmActionStrategy(on_alarm_topic=self.topic, on_ok_topic=self.topic),
            ),
            dashboard_factory=DefaultDashboardFactory(
                self,
                "NoLibraryDashboards",
                dashboard_name_prefix=config.resource_name("unused"),
                create_dashboard=False,
            ),
        )
        self.alarm_factory: AlarmFactory = self.facade.create_alarm_factory(config.resource_name("alarm"))

        stage = api.api.deployment_stage
        stream_consumers = {id(consumer) for consumer in [*processing.stream_consumers, webhooks.fan_out]}
        self.functions = [
            (name, function, self._by_name(function), id(function) in stream_consumers)
            for name, function in monitoring.lendbridge_functions([identity, api, processing, bookings, webhooks])
        ]
        # Tables keep a strong (exported) reference on purpose: replacing one loses its data, and
        # the export makes CloudFormation refuse it while alarms watch it.
        self.tables = list(monitoring.dynamodb_tables(data))
        self.queues = [
            (name, self._queue_by_name(name, queue))
            for name, queue in monitoring.dead_letter_queues([data, identity, api, processing, bookings, webhooks])
        ]

        self._client_alarms()
        self._api_gateway_alarms(api, stage)
        self._function_alarms()
        self._table_alarms()
        self._queue_alarms()
        self._integrity_alarm()
        rate_limiter_alarm(self)
        self._bookings_alarms(bookings)
        self._webhook_alarms(webhooks)

        self.api_dashboard = self._api_dashboard(stage)
        self._bookings_row(self.api_dashboard, bookings)
        self.data_dashboard = self._data_dashboard()
        self.webhooks_dashboard = self._webhooks_dashboard(webhooks)

    # --- what is watched, by name where the name is known at synth ---------------------------

    @staticmethod
    def _by_name(function: lambda_.IFunction) -> monitoring.WatchedByName | None:
        known = monitoring.name_known_at_synth(function, "function_name")
        return None if known is None else monitoring.WatchedByName("FunctionName", known)

    def _queue_by_name(self, name: str, queue: sqs.IQueue) -> sqs.IQueue:
        known = monitoring.name_known_at_synth(queue, "queue_name")
        if known is None:
            return queue
        return sqs.Queue.from_queue_attributes(
            self,
            f"{name}ByName",
            queue_arn=self.format_arn(service="sqs", resource=known, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME),
            queue_name=known,
        )

    # --- topic -----------------------------------------------------------------------------

    def _on_call_topic(self) -> sns.Topic:
        topic_key = kms.Key(
            self,
            "OnCallTopicKey",
            enable_key_rotation=True,
            removal_policy=self.config.removal_policy,
            description="Encrypts the on-call alarm topic",
        )
        topic_key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        topic = sns.Topic(
            self, "OnCallTopic", master_key=topic_key, enforce_ssl=True, display_name="Lendbridge on-call"
        )
        # The topic's policy replaces SNS's default one, so CloudWatch needs its own allowance,
        # limited to this stage's alarms in this account.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisStagesAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": self.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{self.config.resource_name('')}*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        for email in self.config.alarm_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        for url in self.config.alarm_https_endpoints:
            topic.add_subscription(subscriptions.UrlSubscription(url))
        return topic

    # --- alarms ----------------------------------------------------------------------------

    def named(self, key: str, subject: str | None) -> dict[str, Any]:
        """Name, description (with the runbook link) and evaluation of an alarm of family ``key``."""
        settings = self.config.alarms[key]
        return {
            "alarm_name_override": self.alarm_name(key, subject),
            "alarm_description_override": monitoring.alarm_description(ALARM_KINDS[key], settings, subject),
            "evaluation_periods": settings.evaluation_periods,
            "datapoints_to_alarm": settings.datapoints_to_alarm,
        }

    def on(
        self,
        threshold: type[CustomAlarmThreshold],
        key: str,
        subject: str | None = None,
        by_name: monitoring.WatchedByName | None = None,
        **limit: Any,
    ) -> dict[str, CustomAlarmThreshold]:
        """A library alarm of family ``key`` (``limit`` is the threshold in the library's terms),
        triggered as the stage's config says; ``by_name`` points its metric at a name known at synth."""
        settings = self.config.alarms[key]
        return {
            "page": threshold(
                **limit,
                **self.named(key, subject),
                **({"metric_adjuster": by_name} if by_name else {}),
                period=cdk.Duration.seconds(settings.period_seconds),
                treat_missing_data_override=TREAT_MISSING_DATA[settings.treat_missing_data],
                comparison_operator_override=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
        }

    def alarm_name(self, key: str, subject: str | None) -> str:
        return "-".join(part for part in (self.config.resource_name(key.replace("_", "-")), subject) if part)

    def threshold(self, key: str) -> float:
        return self.config.alarms[key].threshold

    def keep(
        self, created: Sequence[AlarmWithAnnotation], construct_id: str, key: str, subject: str | None = None
    ) -> None:
        """Record the alarm of family ``key`` among those a library monitoring created, under the
        logical id it had when this stack built it as ``construct_id``: an alarm is known by its
        name, so a new logical id would create the name again and then delete it with the old one."""
        name = self.alarm_name(key, subject)
        (alarm,) = [made.alarm for made in created if made.alarm_name == name]
        resource = alarm.node.default_child
        if not isinstance(resource, cdk.CfnResource):
            raise TypeError(f"{name} has no CloudFormation resource")
        resource.override_logical_id(monitoring.logical_id_of(construct_id))
        self.alarms.append(PagingAlarm(ALARM_KINDS[key], subject, alarm))

    def page(
        self,
        construct_id: str,
        key: str,
        metric: cloudwatch.Metric | cloudwatch.MathExpression,
        subject: str | None = None,
    ) -> None:
        """An alarm of family ``key`` on a metric the library does not define, made by the
        library's alarm factory; the metric carries its own period."""
        named = self.named(key, subject)
        made = self.alarm_factory.add_alarm(
            metric,
            alarm_name_suffix=key,
            alarm_description=named["alarm_description_override"],
            threshold=self.threshold(key),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=TREAT_MISSING_DATA[self.config.alarms[key].treat_missing_data],
            **named,
        )
        self.keep([made], construct_id, key, subject)

    def period(self, key: str) -> cdk.Duration:
        return cdk.Duration.seconds(self.config.alarms[key].period_seconds)

    def _client_alarms(self) -> None:
        """The client's three, Metrics Insights queries over the custom metrics the API
        functions write as EMF (the library has no such metric)."""
        self.page(
            "ApiErrors",
            "api_errors",
            insights(monitoring.API_ERRORS_QUERY, self.period("api_errors"), "APIError, all endpoints"),
        )
        self.page(
            "ApiLatency",
            "api_latency",
            insights(monitoring.API_LATENCY_QUERY, self.period("api_latency"), "APILatency average"),
        )
        self.page(
            "DatabaseThrottled",
            "database_throttled",
            insights(
                monitoring.DATABASE_THROTTLED_QUERY, self.period("database_throttled"), "DatabaseThrottled errors"
            ),
        )

    def _api_gateway_alarms(self, api: ApiStack, stage: apigw.Stage) -> None:
        gateway = ApiGatewayMonitoring(
            self.facade,
            api=api.api,
            api_stage=stage.stage_name,
            alarm_friendly_name="api",
            add5_xx_fault_rate_alarm=self.on(
                ErrorRateThreshold, "api_5xx_rate", max_error_rate=self.threshold("api_5xx_rate")
            ),
            add_latency_p99_alarm=self.on(
                LatencyThreshold,
                "api_p99_latency",
                max_latency=cdk.Duration.millis(self.threshold("api_p99_latency")),
            ),
            **NOT_ON_LIBRARY_DASHBOARDS,
        )
        created = gateway.created_alarms()
        self.keep(created, "Api5xxRate", "api_5xx_rate")
        self.keep(created, "ApiP99Latency", "api_p99_latency")

    def _function_alarms(self) -> None:
        """Errors and throttles of every function; iterator age of every stream consumer (one
        falling behind loses records after max_record_age, 24 h, without an error)."""
        for name, function, by_name, reads_a_stream in self.functions:
            age = self.threshold("stream_iterator_age")
            watched = LambdaFunctionMonitoring(
                self.facade,
                lambda_function=function,
                alarm_friendly_name=name,
                is_iterator=reads_a_stream,
                add_fault_count_alarm=self.on(
                    ErrorCountThreshold, "lambda_errors", name, by_name, max_error_count=self.threshold("lambda_errors")
                ),
                add_throttles_count_alarm=self.on(
                    ErrorCountThreshold,
                    "lambda_throttles",
                    name,
                    by_name,
                    max_error_count=self.threshold("lambda_throttles"),
                ),
                add_max_iterator_age_alarm=(
                    self.on(MaxAgeThreshold, "stream_iterator_age", name, by_name, max_age_in_millis=age)
                    if reads_a_stream
                    else None
                ),
                **NOT_ON_LIBRARY_DASHBOARDS,
            )
            created = watched.created_alarms()
            self.keep(created, f"{name}Errors", "lambda_errors", name)
            self.keep(created, f"{name}Throttles", "lambda_throttles", name)
            if reads_a_stream:
                self.keep(created, f"{name}IteratorAge", "stream_iterator_age", name)

    def _table_alarms(self) -> None:
        """Read plus write throttles (the library alarms on each alone) and system errors over
        the ten operations this code calls (the library sums nine without FILL, so a period with
        one error in one operation reads as no data)."""
        throttles, errors = self.period("dynamodb_throttles"), self.period("dynamodb_system_errors")
        for monitored in self.tables:
            table_name = monitored.table.table_name
            self.page(
                f"{monitored.name}Throttles",
                "dynamodb_throttles",
                monitoring.throttle_events({"TableName": table_name}, throttles, f"{monitored.name} throttle events"),
                subject=monitored.name,
            )
            for index in monitored.indexes:
                self.page(
                    f"{monitored.name}-{index}-Throttles",
                    "dynamodb_throttles",
                    monitoring.throttle_events(
                        {"TableName": table_name, "GlobalSecondaryIndexName": index},
                        throttles,
                        f"{monitored.name}/{index} throttle events",
                    ),
                    subject=f"{monitored.name}-{index}",
                )
            self.page(
                f"{monitored.name}SystemErrors",
                "dynamodb_system_errors",
                monitoring.system_errors(monitored.table, errors, f"{monitored.name} system errors"),
                subject=monitored.name,
            )

    def _queue_alarms(self) -> None:
        for name, queue in self.queues:
            watched = SqsQueueMonitoring(
                self.facade,
                SqsQueueMonitoringProps(
                    queue=queue,
                    alarm_friendly_name=name,
                    add_queue_max_size_alarm=self.on(
                        MaxMessageCountThreshold, "dlq_depth", name, max_message_count=self.threshold("dlq_depth")
                    ),
                    **NOT_ON_LIBRARY_DASHBOARDS,
                ),
            )
            self.keep(watched.created_alarms(), f"{name}Depth", "dlq_depth", name)

    def _integrity_alarm(self) -> None:
        self.page("OrphanedRecords", "orphaned_records", monitoring.orphaned_records(self.period("orphaned_records")))

    def _bookings_alarms(self, bookings: BookingsStack) -> None:
        """Extractions that ended FAILED, documents rejected at upload, and extractions waiting
        too long (the extractor is down, throttled or too slow for the demand). The module's
        functions and dead-letter queues are alarmed with every other one."""
        self.page(
            "ExtractionFailures",
            "extraction_failures",
            monitoring.bookings_metric("ExtractionsFailed", self.period("extraction_failures")),
        )
        self.page(
            "DocumentsRejected",
            "documents_rejected",
            monitoring.bookings_metric("DocumentsRejected", self.period("documents_rejected")),
        )
        name = "ExtractionQueue"
        watched = SqsQueueMonitoring(
            self.facade,
            SqsQueueMonitoringProps(
                queue=self._queue_by_name(name, bookings.extraction_queue),
                alarm_friendly_name=name,
                add_queue_max_message_age_alarm=self.on(
                    MaxMessageAgeThreshold,
                    "extraction_queue_age",
                    name,
                    max_age_in_seconds=self.threshold("extraction_queue_age"),
                ),
                **NOT_ON_LIBRARY_DASHBOARDS,
            ),
        )
        self.keep(watched.created_alarms(), f"{name}Age", "extraction_queue_age", name)

    def _bookings_row(self, dashboard: cloudwatch.Dashboard, bookings: BookingsStack) -> None:
        """One row for the bookings module: what the upload worker decided, what the extractor
        did and how long it took, and how long extractions wait."""
        queue = self._queue_by_name("ExtractionQueueGraph", bookings.extraction_queue)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Documents uploaded and rejected; extractions succeeded and failed (per 5 minutes)",
                left=[
                    monitoring.bookings_metric(metric, FIVE_MINUTES, label=metric)
                    for metric in (
                        "DocumentsUploaded",
                        "DocumentsRejected",
                        "ExtractionsSucceeded",
                        "ExtractionsFailed",
                    )
                ],
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Extraction latency p90 (ms), fields per extraction, oldest queued extraction (s)",
                left=[
                    monitoring.bookings_metric(
                        "ExtractionLatency", FIVE_MINUTES, cloudwatch.Stats.percentile(90), "Latency p90 (ms)"
                    ),
                    queue.metric_approximate_age_of_oldest_message(
                        period=FIVE_MINUTES, statistic=cloudwatch.Stats.MAXIMUM, label="Oldest queued (s)"
                    ),
                ],
                right=[monitoring.bookings_metric("FieldsExtracted", FIVE_MINUTES, cloudwatch.Stats.AVERAGE, "Fields")],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=self.threshold("extraction_queue_age"), label="Oldest queued alarm (s)"
                    )
                ],
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Bookings module alarms",
                alarms=self.alarms_of(BOOKINGS_ALARM_KINDS),
                width=FULL_WIDTH,
                height=GRAPH_HEIGHT // 2,
                sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            )
        )

    def _webhook_alarms(self, webhooks: WebhooksStack) -> None:
        """Receivers refusing deliveries, the delivery queue falling behind (every waiting
        message is re-sent at least each 15 minutes, so an old one means the worker is not
        draining it) and subscriptions disabled by a 410. The DLQs page through dlq_depth."""
        self.page("WebhookFailures", "webhook_failures", monitoring.webhook_failures(self.period("webhook_failures")))
        backlog = self._queue_by_name("WebhookDeliveries", webhooks.queue).metric_approximate_age_of_oldest_message(
            statistic=cloudwatch.Stats.MAXIMUM, period=self.period("webhook_backlog_age")
        )
        self.page("WebhookBacklogAge", "webhook_backlog_age", backlog)
        self.page(
            "WebhooksDisabled", "webhooks_disabled", monitoring.webhooks_disabled(self.period("webhooks_disabled"))
        )

    def _webhooks_dashboard(self, webhooks: WebhooksStack) -> cloudwatch.Dashboard:
        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=GRAPH_WIDTH, height=GRAPH_HEIGHT)

        queue = self._queue_by_name("WebhookDeliveriesWidgets", webhooks.queue)
        dashboard = cloudwatch.Dashboard(
            self,
            "WebhooksDashboard",
            dashboard_name=self.config.resource_name("webhooks"),
            default_interval=cdk.Duration.hours(3),
        )
        dashboard.add_widgets(
            graph(
                "Delivery attempts by outcome (per 5 minutes)",
                [monitoring.webhook_attempts(outcome, FIVE_MINUTES) for outcome in monitoring.WEBHOOK_OUTCOMES],
            ),
            graph("Webhooks disabled after 410 Gone (per 5 minutes)", [monitoring.webhooks_disabled(FIVE_MINUTES)]),
        )
        dashboard.add_widgets(
            graph(
                "Oldest undelivered message (s)",
                [queue.metric_approximate_age_of_oldest_message(statistic=cloudwatch.Stats.MAXIMUM, period=ONE_MINUTE)],
            ),
            graph(
                "Messages waiting and in flight",
                [
                    queue.metric_approximate_number_of_messages_visible(period=ONE_MINUTE, label="Visible"),
                    queue.metric_approximate_number_of_messages_not_visible(period=ONE_MINUTE, label="In flight"),
                    queue.metric_approximate_number_of_messages_delayed(period=ONE_MINUTE, label="Delayed (retries)"),
                ],
            ),
        )
        dead_letters = [
            self._queue_by_name(f"{queue.node.id}Widgets", queue).metric_approximate_number_of_messages_visible(
                statistic=cloudwatch.Stats.MAXIMUM, period=ONE_MINUTE, label=queue.node.id
            )
            for queue in webhooks.dead_letter_queues
        ]
        dashboard.add_widgets(
            graph("Dead-letter queue depth", dead_letters),
            cloudwatch.AlarmStatusWidget(
                title="Webhook alarms",
                alarms=self.alarms_of(WEBHOOK_ALARM_KINDS),
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
                sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            ),
        )
        return dashboard

    def alarms_of(self, kinds: Sequence[str]) -> list[cloudwatch.IAlarm]:
        return [paging.alarm for paging in self.alarms if paging.kind.key in kinds]

    # --- dashboards ------------------------------------------------------------------------

    def _api_dashboard(self, stage: apigw.Stage) -> cloudwatch.Dashboard:
        def graph(title: str, metrics: list[cloudwatch.IMetric], **options: object) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=metrics,
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
                **options,
            )

        def threshold(key: str, label: str) -> cloudwatch.HorizontalAnnotation:
            return cloudwatch.HorizontalAnnotation(value=self.config.alarms[key].threshold, label=label)

        def grouped(query: str) -> cloudwatch.MathExpression:
            # No label: each series is then named by its group (the ErrorType or Endpoint value).
            return insights(query, FIVE_MINUTES, label="")

        dashboard = cloudwatch.Dashboard(
            self,
            "ApiDashboard",
            dashboard_name=self.config.resource_name("api"),
            default_interval=cdk.Duration.hours(3),
        )
        dashboard.add_widgets(
            graph(
                "Requests per minute",
                [stage.metric_count(statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE, label="Requests")],
            ),
            graph(
                "Latency p50 / p95 / p99 (ms)",
                [
                    stage.metric_latency(statistic=cloudwatch.Stats.percentile(p), period=ONE_MINUTE, label=f"p{p}")
                    for p in (50, 95, 99)
                ],
                left_annotations=[threshold("api_p99_latency", "p99 alarm")],
            ),
        )
        dashboard.add_widgets(
            graph(
                "4XX and 5XX responses per minute",
                [
                    stage.metric_client_error(statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE, label="4XX"),
                    stage.metric_server_error(statistic=cloudwatch.Stats.SUM, period=ONE_MINUTE, label="5XX"),
                ],
            ),
            graph(
                "APIError by ErrorType (per 5 minutes)",
                [grouped(monitoring.API_ERRORS_BY_TYPE_QUERY)],
                left_annotations=[threshold("api_errors", "APIError alarm (server-side types)")],
                period=FIVE_MINUTES,
            ),
        )
        dashboard.add_widgets(
            graph(
                "LoansReturned by Endpoint (per 5 minutes)",
                [grouped(monitoring.LOANS_RETURNED_QUERY)],
                period=FIVE_MINUTES,
            ),
            graph(
                "LendersAdded by Endpoint (per 5 minutes)",
                [grouped(monitoring.LENDERS_ADDED_QUERY)],
                period=FIVE_MINUTES,
            ),
        )
        dashboard.add_widgets(
            graph(
                "Average latency by Endpoint (ms, per 5 minutes)",
                [grouped(monitoring.API_LATENCY_BY_ENDPOINT_QUERY)],
                left_annotations=[threshold("api_latency", "APILatency alarm (all endpoints)")],
                period=FIVE_MINUTES,
            ),
            graph(
                "Batch efficiency: lenders added per AddLenders request (per 5 minutes)",
                [monitoring.lenders_added_per_request(FIVE_MINUTES)],
                period=FIVE_MINUTES,
            ),
        )
        dashboard.add_widgets(*rate_limit_widgets(self.threshold("rate_limiter_blind")))
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="API and function alarms",
                alarms=self.alarms_of(API_ALARM_KINDS),
                width=FULL_WIDTH,
                height=GRAPH_HEIGHT,
                sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            )
        )
        return dashboard

    def _data_dashboard(self) -> cloudwatch.Dashboard:
        def graph(title: str, metrics: list[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=GRAPH_WIDTH, height=GRAPH_HEIGHT)

        def per_table(metric_name: str) -> list[cloudwatch.IMetric]:
            return [
                monitoring.dynamodb_metric(
                    metric_name, {"TableName": table.table.table_name}, ONE_MINUTE, label=table.name
                )
                for table in self.tables
            ]

        def per_index(metric_name: str) -> list[cloudwatch.IMetric]:
            return [
                monitoring.dynamodb_metric(
                    metric_name,
                    {"TableName": table.table.table_name, "GlobalSecondaryIndexName": index},
                    ONE_MINUTE,
                    label=f"{table.name}/{index}",
                )
                for table in self.tables
                for index in table.indexes
            ]

        table_throttles: list[cloudwatch.IMetric] = []
        index_throttles: list[cloudwatch.IMetric] = []
        table_errors: list[cloudwatch.IMetric] = []
        for number, table in enumerate(self.tables):
            table_name = table.table.table_name
            table_throttles.append(
                monitoring.throttle_events({"TableName": table_name}, ONE_MINUTE, table.name, ids=f"t{number}")
            )
            table_errors.append(monitoring.system_errors(table.table, ONE_MINUTE, table.name, ids=f"e{number}"))
            for index_number, index in enumerate(table.indexes):
                index_throttles.append(
                    monitoring.throttle_events(
                        {"TableName": table_name, "GlobalSecondaryIndexName": index},
                        ONE_MINUTE,
                        f"{table.name}/{index}",
                        ids=f"i{number}_{index_number}",
                    )
                )

        dashboard = cloudwatch.Dashboard(
            self,
            "DataDashboard",
            dashboard_name=self.config.resource_name("data"),
            default_interval=cdk.Duration.hours(3),
        )
        dashboard.add_widgets(
            graph("Consumed read capacity per table (units per minute)", per_table("ConsumedReadCapacityUnits")),
            graph("Consumed write capacity per table (units per minute)", per_table("ConsumedWriteCapacityUnits")),
        )
        dashboard.add_widgets(
            graph("Consumed read capacity per index (units per minute)", per_index("ConsumedReadCapacityUnits")),
            graph("Consumed write capacity per index (units per minute)", per_index("ConsumedWriteCapacityUnits")),
        )
        dashboard.add_widgets(
            graph("Throttle events per table (read + write, per minute)", table_throttles),
            graph("Throttle events per index (read + write, per minute)", index_throttles),
        )
        dashboard.add_widgets(
            graph("System errors per table (per minute)", table_errors),
            cloudwatch.AlarmStatusWidget(
                title="Data, dead-letter and integrity alarms",
                alarms=self.alarms_of(DATA_ALARM_KINDS),
                width=GRAPH_WIDTH,
                height=GRAPH_HEIGHT,
                sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
            ),
        )
        return dashboard
