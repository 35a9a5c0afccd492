"""Composition of the two webhook workers, the stream fan-out and the delivery worker, each built
on first use from its checked settings. Kept apart from the webhook API's wiring
(``wiring.webhooks``), which imports the HTTP edge: a worker never answers a request, and that
import alone would load the resolver and its OpenAPI models at every cold start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from lendbridge.aws import client
from lendbridge.data.webhook_adapters import KmsSecretBox, SqsDeliveryQueue, resolve
from lendbridge.data.webhook_sender import PinnedSender
from lendbridge.data.webhooks import DynamoWebhookStore
from lendbridge.domain.ports import utc_now
from lendbridge.domain.webhook_rules import UrlPolicy, parse_schedule
from lendbridge.domain.webhooks import Deliverer, FanOut
from lendbridge.settings import FunctionSettings, Matches, QueueUrl, ResourceId, TableName

# Seconds before each attempt, comma-separated (cdk.json webhook_retry_schedule_s).
RetrySchedule = Annotated[str, Matches(r"0(,[0-9]{1,6})*")]


class FanOutSettings(FunctionSettings):
    webhooks_table: TableName
    webhook_queue_url: QueueUrl


class DeliverySettings(FanOutSettings):
    webhook_dlq_url: QueueUrl
    data_key_id: ResourceId
    webhook_retry_schedule: RetrySchedule
    webhook_allow_loopback: bool = False


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
