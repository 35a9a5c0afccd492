"""Composition of the webhook API ("webhooks"), built on first use from its checked settings.
The stream fan-out and the delivery worker are composed in ``wiring.webhook_workers``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lendbridge.aws import client
from lendbridge.data.cursors import SignedCursors
from lendbridge.data.webhook_adapters import KmsSecretBox, SqsDeliveryQueue, resolve
from lendbridge.data.webhooks import DynamoWebhookStore
from lendbridge.domain.ports import utc_now
from lendbridge.domain.webhook_rules import UrlPolicy
from lendbridge.domain.webhooks import Subscriptions
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.settings import FunctionSettings, QueueUrl, ResourceId, TableName
from lendbridge.wiring.secrets import secret_key


class WebhookApiSettings(FunctionSettings):
    webhooks_table: TableName
    webhook_queue_url: QueueUrl
    data_key_id: ResourceId
    webhook_allow_loopback: bool = False
    idempotency_table: TableName
    pagination_secret_id: ResourceId
    idempotency_secret_id: ResourceId


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
