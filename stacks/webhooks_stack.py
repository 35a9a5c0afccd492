"""Webhooks: the delivery queue with its dead-letter queue, the stream
consumer that turns main-table changes into messages and the worker that delivers them.

Retries are SQS's: a failed attempt is a new message with DelaySeconds (a wait beyond SQS's 15
minutes is covered in 15-minute stretches), so no retry lives only in a function's memory.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction
from lendbridge_infra.grants import grant_send, grant_table
from stacks.data_stack import DataStack

# Entities of the main table that make webhook events (lendbridge.domain.webhook_events).
EVENT_ENTITIES = ["loan", "participant", "booking", "extraction"]
# The receiver has 15 s; the rest is DynamoDB, KMS and SQS around it.
DELIVERY_TIMEOUT = cdk.Duration.seconds(30)
# A message the worker fails on (our own dependency down, not the receiver) is tried this often.
DELIVERY_MAX_RECEIVES = 5


class WebhooksStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.table = data.webhooks_table
        self.dead_letter_queue = self._queue("WebhookDlq")
        self.events_dead_letter_queue = self._queue("WebhookEventsDlq")
        self.queue = sqs.Queue(
            self,
            "WebhookDeliveries",
            queue_name=config.resource_name("WebhookDeliveries"),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # A message waits 15 minutes at most before it is sent or re-sent; the dead-letter
            # queue (14 days) keeps a moved message longer than this, counted from its first send.
            retention_period=cdk.Duration.days(4),
            # Six times the worker's timeout, as AWS advises for Lambda-consumed queues.
            visibility_timeout=cdk.Duration.seconds(DELIVERY_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=DELIVERY_MAX_RECEIVES
            ),
        )
        self.fan_out = self._fan_out(config, data)
        self.delivery = self._delivery(config, data)
        self.dead_letter_queues = [self.dead_letter_queue, self.events_dead_letter_queue]

    def api_environment(self, data: DataStack) -> dict[str, str]:
        """What the API's webhooks function needs beyond the common environment."""
        return {
            "WEBHOOKS_TABLE": self.table.table_name,
            "WEBHOOK_QUEUE_URL": self.queue.queue_url,
            "DATA_KEY_ID": data.data_key.key_arn,
            "WEBHOOK_ALLOW_LOOPBACK": "true" if self.config.webhook_allow_loopback else "false",
        }

    def grant_api(self, function: lambda_.IFunction, data: DataStack) -> None:
        grant_table(function, self.table, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"])
        # Encrypt seals new secrets; Decrypt and GenerateDataKey serve the table's own encryption.
        data.data_key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        grant_send(function, self.queue)  # the test event

    def _fan_out(self, config: StageConfig, data: DataStack) -> lambda_.Function:
        function = LendbridgeFunction(
            self,
            "WebhookEventsFn",
            config=config,
            module="lendbridge.handlers.webhook_events",
            description="Turns main-table changes into webhook messages, one per matching subscription",
            environment={"WEBHOOKS_TABLE": self.table.table_name, "WEBHOOK_QUEUE_URL": self.queue.queue_url},
            timeout=cdk.Duration.seconds(60),
        ).function
        grant_table(function, self.table, ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"])
        data.data_key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        grant_send(function, self.queue)
        function.add_event_source(
            sources.DynamoEventSource(
                data.main_table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=100,
                bisect_batch_on_error=True,
                retry_attempts=10,
                max_record_age=cdk.Duration.hours(24),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.events_dead_letter_queue),
                filters=[lambda_.FilterCriteria.filter({"dynamodb": {"NewImage": {"entity": {"S": EVENT_ENTITIES}}}})],
            )
        )
        return function

    def _delivery(self, config: StageConfig, data: DataStack) -> lambda_.Function:
        function = LendbridgeFunction(
            self,
            "WebhookDeliveryFn",
            config=config,
            module="lendbridge.handlers.webhook_delivery",
            description="Delivers one webhook message per invocation, signed, to a vetted address",
            environment={
                "WEBHOOKS_TABLE": self.table.table_name,
                "WEBHOOK_QUEUE_URL": self.queue.queue_url,
                "WEBHOOK_DLQ_URL": self.dead_letter_queue.queue_url,
                "DATA_KEY_ID": data.data_key.key_arn,
                "WEBHOOK_RETRY_SCHEDULE": ",".join(str(wait) for wait in config.webhook_retry_schedule_s),
                "WEBHOOK_ALLOW_LOOPBACK": "true" if config.webhook_allow_loopback else "false",
            },
            memory_mb=256,
            timeout=DELIVERY_TIMEOUT,
        ).function
        grant_table(function, self.table, ["dynamodb:GetItem", "dynamodb:PutItem"])
        data.data_key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        grant_send(function, self.queue)
        grant_send(function, self.dead_letter_queue)
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                # One message an invocation: a receiver that hangs holds up no other delivery.
                batch_size=1,
                report_batch_item_failures=True,
                max_concurrency=max(2, config.webhook_delivery_concurrency),
            )
        )
        return function

    def _queue(self, construct_id: str) -> sqs.Queue:
        # Messages hold ids and amounts only (or a stream batch's position), so SQS-managed
        # encryption is enough and needs no key grants.
        return sqs.Queue(
            self,
            construct_id,
            queue_name=self.config.resource_name(construct_id),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
