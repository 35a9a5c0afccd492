"""Work that happens after a request: stream consumers and scheduled jobs."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction
from lendbridge_infra.grants import grant_table
from stacks.data_stack import DataStack


class ProcessingStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.dead_letter_queues: list[sqs.Queue] = []
        # Functions fed by a DynamoDB stream: they are alarmed on iterator age, and their roles
        # carry CDK's dynamodb:ListStreams grant on "*".
        self.stream_consumers: list[lambda_.Function] = []

        self.loan_history = LendbridgeFunction(
            self,
            "LoanHistoryFn",
            config=config,
            module="lendbridge.handlers.loan_stream",
            description="Writes each loan version's snapshot and the funding time series from the stream",
            environment={"MAIN_TABLE": data.main_table.table_name},
            timeout=cdk.Duration.seconds(30),
        ).function
        grant_table(self.loan_history, data.main_table, ["dynamodb:PutItem"])
        data.data_key.grant(self.loan_history, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        self.stream_consumers.append(self.loan_history)
        history_dlq = self._dead_letter_queue("LoanHistoryDlq")
        self.loan_history.add_event_source(
            sources.DynamoEventSource(
                data.main_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                bisect_batch_on_error=True,
                retry_attempts=10,
                max_record_age=cdk.Duration.hours(24),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(history_dlq),
                filters=[lambda_.FilterCriteria.filter({"dynamodb": {"NewImage": {"entity": {"S": ["loan"]}}}})],
            )
        )

        self.integrity = self._integrity_job(config, data)

    def _integrity_job(self, config: StageConfig, data: DataStack) -> lambda_.Function:
        """The daily referential-integrity report: reads the main table, writes nothing to it."""
        function = LendbridgeFunction(
            self,
            "IntegrityFn",
            config=config,
            module="lendbridge.handlers.integrity",
            description="Daily referential-integrity report over the main table (read-only)",
            environment={"MAIN_TABLE": data.main_table.table_name},
            memory_mb=1024,
            timeout=cdk.Duration.minutes(5),
            # 1 in prod: one run at a time, as a second concurrent scan would only double the read
            # cost. Dev reserves nothing, so that it deploys into an account with the lowest quota.
            reserved_concurrency=config.reserved_concurrency.get("integrity"),
        ).function
        grant_table(function, data.main_table, ["dynamodb:Scan", "dynamodb:BatchGetItem"])
        data.data_key.grant(function, "kms:Decrypt")
        # A run EventBridge could not deliver, or one that still failed after Lambda's own async
        # retries, lands here; the queue's depth alarm pages, so a skipped day is never silent.
        missed_runs = self._dead_letter_queue("IntegrityDlq")
        function.configure_async_invoke(on_failure=destinations.SqsDestination(missed_runs), retry_attempts=2)
        events.Rule(
            self,
            "IntegritySchedule",
            description="Runs the referential-integrity report",
            schedule=events.Schedule.expression(config.integrity_schedule),
            # Delivery is retried briefly; a run that still fails is reported again by the next
            # day's run. The job is read-only, so a repeated run is harmless.
            targets=[
                targets.LambdaFunction(
                    function, retry_attempts=2, max_event_age=cdk.Duration.hours(1), dead_letter_queue=missed_runs
                )
            ],
        )
        return function

    def _dead_letter_queue(self, construct_id: str) -> sqs.Queue:
        # These queues receive batch metadata (shard and sequence numbers) or the schedule's
        # event, never item images, so SQS-managed encryption is enough and needs no key grants.
        queue = sqs.Queue(
            self,
            construct_id,
            # Known at synth, so the monitoring stack's depth alarm needs no export of it.
            queue_name=self.config.resource_name(construct_id),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.dead_letter_queues.append(queue)
        return queue
