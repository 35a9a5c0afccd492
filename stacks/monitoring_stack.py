"""On-call topic, the alarms that page it, and the API and data dashboards.

Built last, from references to the other stacks' resources: this stack depends on them, never
the reverse. Every alarm's trigger comes from the stage's ``alarms`` block in cdk.json; every
alarm family has a section in docs/runbook.md, linked from the alarm's description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lendbridge_infra import monitoring
from lendbridge_infra.config import StageConfig
from lendbridge_infra.monitoring import ALARM_KINDS, TREAT_MISSING_DATA, AlarmKind, insights

if TYPE_CHECKING:
    from stacks.api_stack import ApiStack
    from stacks.data_stack import DataStack
    from stacks.identity_stack import IdentityStack
    from stacks.processing_stack import ProcessingStack

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
)
DATA_ALARM_KINDS = (
    "dynamodb_throttles",
    "dynamodb_system_errors",
    "stream_iterator_age",
    "dlq_depth",
    "orphaned_records",
)


@dataclass(frozen=True)
class PagingAlarm:
    kind: AlarmKind
    subject: str | None  # the function, table, index or queue; None for the stage-wide alarms
    alarm: cloudwatch.Alarm


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
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Deployed after what it watches, although most names it reads are known at synth and
        # imported from nowhere (docs/decisions.md, cross-stack references).
        for producer in (data, identity, api, processing):
            self.add_dependency(producer)
        missing = sorted(set(ALARM_KINDS) - set(config.alarms))
        if missing:
            raise ValueError(f"stage {config.name!r} has no alarm settings for {missing} (cdk.json stages.alarms)")
        self.config = config
        self.alarms: list[PagingAlarm] = []
        self.topic = self._on_call_topic()
        self.alarm_action = actions.SnsAction(self.topic)

        stage = api.api.deployment_stage
        self.functions = [
            (name, self._by_name(function))
            for name, function in monitoring.lendbridge_functions([identity, api, processing])
        ]
        # Tables keep a strong (exported) reference on purpose: replacing one loses its data, and
        # the export makes CloudFormation refuse it while alarms watch it.
        self.tables = list(monitoring.dynamodb_tables(data))
        self.queues = [
            (name, self._queue_by_name(name, queue))
            for name, queue in monitoring.dead_letter_queues([data, identity, api, processing])
        ]

        self._client_alarms()
        self._api_gateway_alarms(stage)
        self._function_alarms()
        self._table_alarms()
        self._stream_alarms(processing)
        self._queue_alarms()
        self._integrity_alarm()

        self.api_dashboard = self._api_dashboard(stage)
        self.data_dashboard = self._data_dashboard()

    # --- what is watched, by name where the name is known at synth ---------------------------

    @staticmethod
    def _by_name(function: lambda_.IFunction) -> str:
        return monitoring.name_known_at_synth(function, "function_name") or function.function_name

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

    def page(
        self, construct_id: str, key: str, metric: cloudwatch.IMetric, subject: str | None = None
    ) -> cloudwatch.Alarm:
        """An alarm of family ``key`` on ``metric``, triggered as the stage's config says, that
        notifies the on-call topic when it fires and when it clears."""
        kind = ALARM_KINDS[key]
        settings = self.config.alarms[key]
        name = "-".join(part for part in (self.config.resource_name(key.replace("_", "-")), subject) if part)
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            metric=metric,
            threshold=settings.threshold,
            evaluation_periods=settings.evaluation_periods,
            datapoints_to_alarm=settings.datapoints_to_alarm,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=TREAT_MISSING_DATA[settings.treat_missing_data],
            alarm_description=(
                f"{kind.title}{f' ({subject})' if subject else ''}: {kind.watches}. "
                f"Fires when {monitoring.trigger_text(kind, settings)}. Runbook: {kind.runbook}"
            ),
        )
        alarm.add_alarm_action(self.alarm_action)
        alarm.add_ok_action(self.alarm_action)
        self.alarms.append(PagingAlarm(kind, subject, alarm))
        return alarm

    def period(self, key: str) -> cdk.Duration:
        return cdk.Duration.seconds(self.config.alarms[key].period_seconds)

    def _client_alarms(self) -> None:
        """The client's three, on the custom metrics the API functions write as EMF."""
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

    def _api_gateway_alarms(self, stage: apigw.Stage) -> None:
        self.page(
            "Api5xxRate",
            "api_5xx_rate",
            stage.metric_server_error(
                statistic=cloudwatch.Stats.AVERAGE, period=self.period("api_5xx_rate"), label="5XX rate"
            ),
        )
        self.page(
            "ApiP99Latency",
            "api_p99_latency",
            stage.metric_latency(
                statistic=cloudwatch.Stats.percentile(99), period=self.period("api_p99_latency"), label="p99 latency"
            ),
        )

    def _function_alarms(self) -> None:
        for name, function_name in self.functions:
            self.page(
                f"{name}Errors",
                "lambda_errors",
                monitoring.lambda_metric(function_name, "Errors", cloudwatch.Stats.SUM, self.period("lambda_errors")),
                subject=name,
            )
            self.page(
                f"{name}Throttles",
                "lambda_throttles",
                monitoring.lambda_metric(
                    function_name, "Throttles", cloudwatch.Stats.SUM, self.period("lambda_throttles")
                ),
                subject=name,
            )

    def _table_alarms(self) -> None:
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

    def _stream_alarms(self, processing: ProcessingStack) -> None:
        """A consumer falling behind its stream loses records after max_record_age (24 h) without
        an error: its iterator age is the early signal."""
        for consumer in processing.stream_consumers:
            name = consumer.node.scope.node.id if consumer.node.scope else consumer.node.id
            self.page(
                f"{name}IteratorAge",
                "stream_iterator_age",
                monitoring.lambda_metric(
                    self._by_name(consumer),
                    "IteratorAge",
                    cloudwatch.Stats.MAXIMUM,
                    self.period("stream_iterator_age"),
                ),
                subject=name,
            )

    def _queue_alarms(self) -> None:
        for name, queue in self.queues:
            self.page(
                f"{name}Depth",
                "dlq_depth",
                queue.metric_approximate_number_of_messages_visible(
                    statistic=cloudwatch.Stats.MAXIMUM, period=self.period("dlq_depth")
                ),
                subject=name,
            )

    def _integrity_alarm(self) -> None:
        self.page("OrphanedRecords", "orphaned_records", monitoring.orphaned_records(self.period("orphaned_records")))

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
