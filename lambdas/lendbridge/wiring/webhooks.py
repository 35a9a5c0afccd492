"""Composition of the webhook functions: the API ("webhooks"), the stream fan-out and the
delivery worker, each built on first use from its checked settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import StringConstraints

from lendbridge.aws import client
from lendbridge.data.cursors import SignedCursors
from lendbridge.data.webhook_adapters import KmsSecretBox, SqsDeliveryQueue, resolve
from lendbridge.data.webhook_sender import PinnedSender
from lendbridge.data.webhooks import DynamoWebhookStore
from lendbridge.domain.ports import utc_now
from lendbridge.domain.webhook_rules import UrlPolicy, parse_schedule
from lendbridge.domain.webhooks import Deliverer, FanOut, Subscriptions
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.settings import FunctionSettings, QueueUrl, ResourceId, TableName
from lendbridge.wiring.secrets import secret_key

# Seconds before each attempt, comma-separated (cdk.json webhook_retry_schedule_s).
RetrySchedule = Annotated[str, StringConstraints(pattern=r"^0(,[0-9]{1,6})*$")]


class FanOutSettings(FunctionSettings):
    webhooks_table: TableName
    webhook_queue_url: QueueUrl


class WebhookApiSettings(FanOutSettings):
    data_key_id: ResourceId
    webhook_allow_loopback: bool = False
    idempotency_table: TableName
    pagination_secret_id: ResourceId
    idempotency_secret_id: ResourceId


class DeliverySettings(FanOutSettings):
    webhook_dlq_url: QueueUrl
    data_key_id: ResourceId
    webhook_retry_schedule: RetrySchedule
    webhook_allow_loopback: bool = False


@dataclass
class WebhookServices:
    subscriptions: Subscriptions
    cursors: SignedCursors
    idempotency: Idempotency


def build_webhook_services(make_client: Callable[[str], Any] = client) -> WebhookServices:
    settings = WebhookApiSettings.from_env()
    dynamodb = make_client("dynamodb")

    def persistence() -> Any:
        # Imported on the first keyed request (a test event): most requests never need it.
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)

    return WebhookServices(
        subscriptions=Subscriptions(
            DynamoWebhookStore(dynamodb, settings.webhooks_table),
            KmsSecretBox(make_client("kms"), settings.data_key_id),
            SqsDeliveryQueue(make_client("sqs"), settings.webhook_queue_url),
            resolve,
            UrlPolicy(allow_loopback_http=settings.webhook_allow_loopback),
            utc_now,
        ),
        cursors=SignedCursors(lambda: secret_key(settings.pagination_secret_id), utc_now),
        idempotency=Idempotency(Lazy(persistence), lambda: secret_key(settings.idempotency_secret_id)),
    )


def build_fan_out(make_client: Callable[[str], Any] = client) -> FanOut:
    settings = FanOutSettings.from_env()
    queue = SqsDeliveryQueue(make_client("sqs"), settings.webhook_queue_url)
    return FanOut(DynamoWebhookStore(make_client("dynamodb"), settings.webhooks_table), queue, utc_now)


def build_deliverer(make_client: Callable[[str], Any] = client) -> Deliverer:
    settings = DeliverySettings.from_env()
    return Deliverer(
        DynamoWebhookStore(make_client("dynamodb"), settings.webhooks_table),
        KmsSecretBox(make_client("kms"), settings.data_key_id),
        SqsDeliveryQueue(make_client("sqs"), settings.webhook_queue_url, settings.webhook_dlq_url),
        PinnedSender(),
        resolve,
        UrlPolicy(allow_loopback_http=settings.webhook_allow_loopback),
        parse_schedule(settings.webhook_retry_schedule),
        utc_now,
    )
