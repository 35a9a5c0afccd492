"""Composition of the webhook functions: the API ("webhooks"), the stream fan-out and the
delivery worker, each built on first use from its environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

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
from lendbridge.wiring import secret_key


@dataclass(frozen=True)
class WebhookSettings:
    table: str
    queue_url: str
    dead_letter_url: str
    data_key_id: str
    retry_schedule: tuple[int, ...]
    policy: UrlPolicy
    idempotency_table: str
    pagination_secret_id: str
    idempotency_secret_id: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhookSettings:
        source = os.environ if env is None else env
        return cls(
            table=source.get("WEBHOOKS_TABLE", ""),
            queue_url=source.get("WEBHOOK_QUEUE_URL", ""),
            dead_letter_url=source.get("WEBHOOK_DLQ_URL", ""),
            data_key_id=source.get("DATA_KEY_ID", ""),
            retry_schedule=parse_schedule(source.get("WEBHOOK_RETRY_SCHEDULE", "")),
            policy=UrlPolicy(allow_loopback_http=source.get("WEBHOOK_ALLOW_LOOPBACK", "").lower() == "true"),
            idempotency_table=source.get("IDEMPOTENCY_TABLE", ""),
            pagination_secret_id=source.get("PAGINATION_SECRET_ID", ""),
            idempotency_secret_id=source.get("IDEMPOTENCY_SECRET_ID", ""),
        )


@dataclass
class WebhookServices:
    subscriptions: Subscriptions
    cursors: SignedCursors
    idempotency: Idempotency


def build_webhook_services(make_client: Callable[[str], Any] = client) -> WebhookServices:
    settings = WebhookSettings.from_env()
    dynamodb = make_client("dynamodb")
    persistence = Lazy(lambda: DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb))
    return WebhookServices(
        subscriptions=Subscriptions(
            DynamoWebhookStore(dynamodb, settings.table),
            KmsSecretBox(make_client("kms"), settings.data_key_id),
            SqsDeliveryQueue(make_client("sqs"), settings.queue_url, settings.dead_letter_url),
            resolve,
            settings.policy,
            utc_now,
        ),
        cursors=SignedCursors(lambda: secret_key(settings.pagination_secret_id), utc_now),
        idempotency=Idempotency(persistence, lambda: secret_key(settings.idempotency_secret_id)),
    )


def build_fan_out(make_client: Callable[[str], Any] = client) -> FanOut:
    settings = WebhookSettings.from_env()
    queue = SqsDeliveryQueue(make_client("sqs"), settings.queue_url, settings.dead_letter_url)
    return FanOut(DynamoWebhookStore(make_client("dynamodb"), settings.table), queue, utc_now)


def build_deliverer(make_client: Callable[[str], Any] = client) -> Deliverer:
    settings = WebhookSettings.from_env()
    return Deliverer(
        DynamoWebhookStore(make_client("dynamodb"), settings.table),
        KmsSecretBox(make_client("kms"), settings.data_key_id),
        SqsDeliveryQueue(make_client("sqs"), settings.queue_url, settings.dead_letter_url),
        PinnedSender(),
        resolve,
        settings.policy,
        settings.retry_schedule,
        utc_now,
    )
