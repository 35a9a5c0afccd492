"""Builds the whole Lendbridge app for one stage, and acknowledges its cdk-nag findings on the
constructs that raise them; used by app.py, tools/synth_check (through local.synth), the infra
tests and the local stack (which provisions itself from the synthesized dev template).

It lives beside the stacks it assembles, so lendbridge_infra/ stays a leaf that knows no stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from lendbridge_infra.config import LOCAL_EMULATION, StageConfig
from lendbridge_infra.nag import BASIC_EXECUTION_ROLE, acknowledge
from lendbridge_infra.quotas import check_reserved_concurrency

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "lambdas"))

from stacks.api_stack import ApiStack  # noqa: E402 - needs lambdas/ on the path for lendbridge.routes
from stacks.bookings_stack import DOCUMENT_PREFIX, BookingsStack  # noqa: E402
from stacks.data_stack import DataStack  # noqa: E402
from stacks.identity_stack import IdentityStack  # noqa: E402
from stacks.monitoring_stack import MonitoringStack  # noqa: E402
from stacks.processing_stack import ProcessingStack  # noqa: E402
from stacks.webhooks_stack import WebhooksStack  # noqa: E402


class LendbridgeStacks:
    def __init__(self, app: cdk.App, stage: str | None = None) -> None:
        config = StageConfig.from_context(app, stage)
        prefix = f"Lendbridge-{config.name}"
        env = cdk.Environment(account=app.node.try_get_context("account"), region=app.node.try_get_context("region"))
        self.config = config
        self.data = DataStack(app, f"{prefix}-Data", config=config, env=env)
        self.identity = IdentityStack(app, f"{prefix}-Identity", config=config, data=self.data, env=env)
        self.bookings = BookingsStack(app, f"{prefix}-Bookings", config=config, data=self.data, env=env)
        self.webhooks = WebhooksStack(app, f"{prefix}-Webhooks", config=config, data=self.data, env=env)
        self.api = ApiStack(
            app,
            f"{prefix}-Api",
            config=config,
            data=self.data,
            identity=self.identity,
            bookings=self.bookings,
            webhooks=self.webhooks,
            env=env,
        )
        self.processing = ProcessingStack(app, f"{prefix}-Processing", config=config, data=self.data, env=env)
        # Last, from the others' resources: monitoring depends on every stack, none depends on it.
        self.monitoring = MonitoringStack(
            app,
            f"{prefix}-Monitoring",
            config=config,
            data=self.data,
            identity=self.identity,
            api=self.api,
            processing=self.processing,
            bookings=self.bookings,
            webhooks=self.webhooks,
            env=env,
        )
        for stack in (
            self.data,
            self.identity,
            self.bookings,
            self.api,
            self.processing,
            self.monitoring,
            self.webhooks,
        ):
            cdk.Tags.of(stack).add("project", "lendbridge")
            cdk.Tags.of(stack).add("stage", config.name)
        self.reserved_concurrency = check_reserved_concurrency(
            config, [self.data, self.identity, self.bookings, self.api, self.processing, self.monitoring, self.webhooks]
        )
        acknowledge_findings(self)


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, so `python app.py` without the CLI synthesizes the same app.
    Values the CLI passes (``--context``) still take precedence."""
    return dict(json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"])


def build_app(
    stage: str | None = None, outdir: str | None = None, *, local_emulation: bool = False
) -> tuple[cdk.App, LendbridgeStacks]:
    """``local_emulation``: synthesized for the local stack, so the stage's local_overrides apply."""
    context = {**cdk_json_context(), **({LOCAL_EMULATION: True} if local_emulation else {})}
    app = cdk.App(context=context, outdir=outdir)
    stacks = LendbridgeStacks(app, stage)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))
    return app, stacks


def acknowledge_findings(stacks: LendbridgeStacks) -> None:
    api = stacks.api
    functions = [
        *api.functions.values(),
        stacks.identity.post_confirmation,
        stacks.identity.claim_worker,
        stacks.processing.loan_history,
        stacks.processing.integrity,
        stacks.webhooks.fan_out,
        stacks.webhooks.delivery,
    ]
    stream_consumers = [*stacks.processing.stream_consumers, stacks.webhooks.fan_out]
    for function in functions:
        acknowledge(function, BASIC_EXECUTION_ROLE, "IAM4-basic-execution")
        acknowledge(function, "AwsSolutions::AwsSolutions-L1", "L1")
        wildcard_reason = "IAM5-stream-consumer" if function in stream_consumers else "IAM5-xray"
        acknowledge(function, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", wildcard_reason)
    for method in api.public_methods:
        acknowledge(method, "AwsSolutions::AwsSolutions-APIG4", "APIG4")
        acknowledge(method, "AwsSolutions::AwsSolutions-COG4", "COG4")
    acknowledge(api.api.deployment_stage, "AwsSolutions::AwsSolutions-APIG6", "APIG6")
    acknowledge(api.api, "AwsSolutions::AwsSolutions-APIG2", "APIG2")
    cloud_watch_role = api.api.node.try_find_child("CloudWatchRole")
    if cloud_watch_role is not None:  # only in the stage that owns the account setting
        acknowledge(
            cloud_watch_role,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "IAM4-apigateway-logs",
        )
    if not stacks.config.waf_enabled:
        acknowledge(api.api.deployment_stage, "AwsSolutions::AwsSolutions-APIG3", "APIG3-dev")
    acknowledge(stacks.identity.user_pool, "AwsSolutions::AwsSolutions-COG2", "COG2")
    acknowledge(stacks.data.pagination_secret, "AwsSolutions::AwsSolutions-SMG4", "SMG4")
    acknowledge(stacks.data.idempotency_secret, "AwsSolutions::AwsSolutions-SMG4", "SMG4-idempotency")
    acknowledge(stacks.data.rate_limit_secret, "AwsSolutions::AwsSolutions-SMG4", "SMG4-rate-limits")
    for queue in [
        *stacks.identity.dead_letter_queues,
        *stacks.processing.dead_letter_queues,
        *stacks.webhooks.dead_letter_queues,
    ]:
        acknowledge(queue, "AwsSolutions::AwsSolutions-SQS3", "SQS3")
    acknowledge_bookings_findings(stacks.bookings)
    if "bookings" in api.functions:
        named_documents = (
            f"arn:<AWS::Partition>:s3:::{stacks.config.resource_name('documents')}-<AWS::AccountId>-<AWS::Region>"
        )
        acknowledge(
            api.functions["bookings"],
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{named_documents}/{DOCUMENT_PREFIX}*]",
            "IAM5-documents",
        )


def acknowledge_bookings_findings(bookings: BookingsStack) -> None:
    bucket_arn = f"<{bookings.get_logical_id(bookings.bucket.node.default_child)}.Arn>"
    documents = f"AwsSolutions::AwsSolutions-IAM5[Resource::{bucket_arn}/{DOCUMENT_PREFIX}*]"
    for function in bookings.functions:
        acknowledge(function, BASIC_EXECUTION_ROLE, "IAM4-basic-execution")
        acknowledge(function, "AwsSolutions::AwsSolutions-L1", "L1")
        acknowledge(function, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", "IAM5-xray")
        acknowledge(function, documents, "IAM5-documents")
    for queue in bookings.dead_letter_queues:
        acknowledge(queue, "AwsSolutions::AwsSolutions-SQS3", "SQS3")
    acknowledge(bookings.access_logs, "AwsSolutions::AwsSolutions-S1", "S1-access-log-bucket")
    notifications = bookings.notifications_handler
    acknowledge(notifications, BASIC_EXECUTION_ROLE, "IAM4-bucket-notifications")
    acknowledge(notifications, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", "IAM5-bucket-notifications")
