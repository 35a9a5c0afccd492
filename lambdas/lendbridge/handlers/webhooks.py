"""Webhook subscriptions of the caller: create, list, read, change, delete, rotate the secret,
list deliveries, send a test event. Another owner's webhook is a 404, never a 403."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from lendbridge.http import current, envelope
from lendbridge.http.app import ApiFunction
from lendbridge.http.conditional import (
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatch,
    IfNoneMatch,
    documented,
    etag,
    if_match_versions,
    stop_if_current,
)
from lendbridge.http.idempotency import IdempotentRoutes
from lendbridge.http.pages import list_page
from lendbridge.http.params import Limit, NextToken, ResourceId, fields_query, select_fields
from lendbridge.schemas.common import Success, responses
from lendbridge.schemas.webhooks import (
    WEBHOOK_FIELDS,
    CreatedWebhookOut,
    CreateWebhookRequest,
    DeliveryList,
    PatchWebhookRequest,
    SecretOut,
    TestQueuedOut,
    WebhookList,
    WebhookOut,
    WebhookSelection,
    present_attempt,
    present_webhook,
)
from lendbridge.wiring.rate_limits import rate_limiter
from lendbridge.wiring.webhooks import build_webhook_services

TAG = "Webhooks"
api = ApiFunction(build_webhook_services, rate_limiter)
app, logger, services = api.app, api.logger, api.services
keyed = IdempotentRoutes(app, lambda: services.get().idempotency)
WebhookId = ResourceId
WebhookFields = Annotated[str | None, fields_query(WEBHOOK_FIELDS)]
WEBHOOKS = "webhooks"


@app.post(
    "/v1/webhooks",
    summary="Subscribe to events",
    description=(
        "Creates a webhook for the given events. The url must be https:// and its host must resolve only to "
        "public addresses (private, loopback, link-local, shared and reserved ones are refused). The answer "
        "carries the signing secret, shown only here (so no Idempotency-Key: a replay could not show it again). "
        "A user has at most 20 webhooks (deleted ones do not count); another is a 400."
    ),
    tags=[TAG],
    responses=documented(
        responses(201, Success[CreatedWebhookOut], 401, body=True),
        headers={201: {"Location": LOCATION_HEADER, "ETag": ETAG_HEADER}},
    ),
)
def create_webhook(body: Annotated[CreateWebhookRequest, Body()]) -> Response[Success[CreatedWebhookOut]]:
    caller = current.caller(app).user_id
    subscription, secret = services.get().subscriptions.create(caller, body.url, list(body.events))
    logger.info("webhook_created", extra={"webhook_id": subscription.webhook_id, "events": list(subscription.events)})
    where = envelope.location(app.current_event.raw_event, f"/v1/webhooks/{subscription.webhook_id}")
    shown = CreatedWebhookOut(**present_webhook(subscription).model_dump(), secret=secret)
    return envelope.created(shown.model_dump(), where, headers={"ETag": etag(subscription.version)})


@app.get(
    "/v1/webhooks",
    summary="List my webhooks",
    description="The caller's webhooks, newest first (deleted ones left out).",
    tags=[TAG],
    responses=responses(200, Success[WebhookList], 401),
)
def list_webhooks(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[WebhookList]]:
    subscriptions = services.get().subscriptions
    return list_page(
        app,
        services.get().cursors,
        WEBHOOKS,
        next_token,
        lambda caller, at: subscriptions.page(caller, limit, at),
        items="webhooks",
        present=present_webhook,
    )


@app.get(
    "/v1/webhooks/<webhook_id>",
    summary="Read a webhook",
    description=(
        "One of the caller's webhooks (never its secret); `fields=a,b` returns only those top-level fields; "
        "`If-None-Match` with the current ETag answers 304."
    ),
    tags=[TAG],
    responses=documented(
        responses(200, Success[WebhookOut | WebhookSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
    ),
)
def get_webhook(
    webhook_id: WebhookId, fields: WebhookFields = None, if_none_match: IfNoneMatch = None
) -> Response[dict[str, Any]]:
    subscription = services.get().subscriptions.get(current.caller(app).user_id, webhook_id)
    shown = select_fields(present_webhook(subscription).model_dump(), fields, WEBHOOK_FIELDS)
    tag = etag(subscription.version)
    stop_if_current(if_none_match, tag)
    return envelope.success(shown, headers={"ETag": tag})


@app.patch(
    "/v1/webhooks/<webhook_id>",
    summary="Change a webhook",
    description=(
        "Changes the url (checked as on creation), the events or `active` (true re-enables a webhook the "
        "server disabled after a 410). Needs `If-Match` with the version read (missing: 428, stale: 412)."
    ),
    tags=[TAG],
    responses=documented(
        responses(200, Success[WebhookOut], 401, 404, body=True),
        headers={200: {"ETag": ETAG_HEADER}},
        preconditions=True,
    ),
)
def patch_webhook(
    webhook_id: WebhookId, body: Annotated[PatchWebhookRequest, Body()], if_match: IfMatch = None
) -> Response[Success[WebhookOut]]:
    caller = current.caller(app).user_id
    changed = services.get().subscriptions.update(caller, webhook_id, if_match_versions(if_match), body.changes())
    logger.info("webhook_updated", extra={"webhook_id": webhook_id, "version": changed.version})
    return envelope.success(present_webhook(changed).model_dump(), headers={"ETag": etag(changed.version)})


@app.delete(
    "/v1/webhooks/<webhook_id>",
    summary="Delete a webhook",
    description="Soft delete: nothing more is sent to it; its recorded deliveries expire on their own.",
    tags=[TAG],
    responses=responses(204, None, 401, 404),
)
def delete_webhook(webhook_id: WebhookId) -> Response[None]:
    services.get().subscriptions.delete(current.caller(app).user_id, webhook_id)
    logger.info("webhook_deleted", extra={"webhook_id": webhook_id})
    return envelope.no_content()


@app.get(
    "/v1/webhooks/<webhook_id>/deliveries",
    summary="A webhook's delivery attempts",
    description=(
        "Every attempt, newest first, with its outcome: PENDING (planned, `next_attempt_at`), DELIVERED (2xx), "
        "FAILED (another try is planned unless the webhook was disabled) or DEAD (out of retries, dead-lettered)."
    ),
    tags=[TAG],
    responses=responses(200, Success[DeliveryList], 401, 404),
)
def list_deliveries(
    webhook_id: WebhookId, limit: Limit = 20, next_token: NextToken = None
) -> Response[Success[DeliveryList]]:
    subscriptions = services.get().subscriptions
    return list_page(
        app,
        services.get().cursors,
        f"deliveries:{webhook_id}",
        next_token,
        lambda caller, at: subscriptions.attempts(caller, webhook_id, limit, at),
        items="deliveries",
        present=present_attempt,
    )


@app.post(
    "/v1/webhooks/<webhook_id>/rotate-secret",
    summary="Rotate a webhook's secret",
    description=(
        "A new secret, shown only here. For 24 hours deliveries carry two signatures, with the new and "
        "the old secret (space-separated), so receivers can switch without losing a message."
    ),
    tags=[TAG],
    responses=responses(200, Success[SecretOut], 401, 404),
)
def rotate_secret(webhook_id: WebhookId) -> Response[Success[SecretOut]]:
    secret = services.get().subscriptions.rotate_secret(current.caller(app).user_id, webhook_id)
    logger.info("webhook_secret_rotated", extra={"webhook_id": webhook_id})
    return envelope.success({"secret": secret})


@keyed.post(
    "/v1/webhooks/<webhook_id>/test",
    summary="Send a test event",
    description="Queues a `webhook.test` event to the webhook, delivered and retried like any other.",
    tags=[TAG],
    responses=responses(202, Success[TestQueuedOut], 401, 404, 409, 422),
)
def send_test(webhook_id: WebhookId) -> Response[Success[TestQueuedOut]]:
    message_id = services.get().subscriptions.send_test(current.caller(app).user_id, webhook_id)
    logger.info("webhook_test_queued", extra={"webhook_id": webhook_id, "message_id": message_id})
    return envelope.success(TestQueuedOut(message_id=message_id).model_dump(), status=202)


handler = api.handler
