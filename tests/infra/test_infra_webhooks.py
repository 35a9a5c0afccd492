"""Webhooks: the delivery queue and its dead-letter queue, the stream fan-out, the delivery
worker (one message an invocation), least privilege, the real retry schedule on deployed
stages and the settings no deployed stage may take."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from lendbridge_infra.config import LOCAL_EMULATION, StageConfig
from stacks.app import cdk_json_context
from stacks.webhooks_stack import DELIVERY_MAX_RECEIVES, EVENT_ENTITIES
from tests.infra.support import Synth, describe_alarm, ref_id, role_statements

REAL_SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
SIX_TIMES = 6


def _function(synth: Synth, construct: Any, stack: str = "webhooks") -> dict[str, Any]:
    return dict(synth.resource_of(stack, construct)["Properties"])


def _allowed(synth: Synth, stack: str, function_properties: dict[str, Any]) -> dict[str, set[str]]:
    allowed: dict[str, set[str]] = {}
    for statement in role_statements(synth, stack, str(ref_id(function_properties["Role"]))):
        if statement.allows:
            for action in statement.actions:
                allowed.setdefault(action, set()).update(statement.resources)
    return allowed


def _mapping(synth: Synth, function: Any) -> dict[str, Any]:
    function_id = synth.logical_id("webhooks", function)
    [mapping] = [
        resource["Properties"]
        for resource in synth.resources("webhooks", "AWS::Lambda::EventSourceMapping").values()
        if ref_id(resource["Properties"]["FunctionName"]) == function_id
    ]
    return dict(mapping)


def test_each_message_is_its_own_invocation_with_partial_failures_and_a_redrive(synth: Synth) -> None:
    webhooks = synth.stacks.webhooks
    worker = _function(synth, webhooks.delivery)
    mapping = _mapping(synth, webhooks.delivery)
    queue_id = synth.logical_id("webhooks", webhooks.queue)
    dlq_id = synth.logical_id("webhooks", webhooks.dead_letter_queue)
    queues = synth.resources("webhooks", "AWS::SQS::Queue")
    queue, dlq = queues[queue_id]["Properties"], queues[dlq_id]["Properties"]
    assert ref_id(mapping["EventSourceArn"]) == queue_id
    assert mapping["BatchSize"] == 1, "a hanging receiver must not hold other messages of its batch"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == max(2, synth.config.webhook_delivery_concurrency)
    assert queue["VisibilityTimeout"] >= SIX_TIMES * worker["Timeout"]
    assert worker["Timeout"] > 15, "room for the receiver's 15 s"
    assert ref_id(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id
    assert queue["RedrivePolicy"]["maxReceiveCount"] == DELIVERY_MAX_RECEIVES
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    for properties in (queue, dlq):
        assert properties["SqsManagedSseEnabled"] is True


def test_deployed_stages_retry_for_about_three_days_and_never_post_to_loopback(synth: Synth) -> None:
    webhooks = synth.stacks.webhooks
    variables = _function(synth, webhooks.delivery)["Environment"]["Variables"]
    assert variables["WEBHOOK_RETRY_SCHEDULE"] == ",".join(map(str, REAL_SCHEDULE))
    assert variables["WEBHOOK_ALLOW_LOOPBACK"] == "false"
    api = _function(synth, synth.stacks.api.functions["webhooks"], "api")["Environment"]["Variables"]
    assert api["WEBHOOK_ALLOW_LOOPBACK"] == "false"
    assert ref_id(variables["WEBHOOK_DLQ_URL"]) is not None


def test_the_worker_reads_and_records_and_sends_only_to_its_queues(synth: Synth) -> None:
    webhooks = synth.stacks.webhooks
    allowed = _allowed(synth, "webhooks", _function(synth, webhooks.delivery))
    assert {a for a in allowed if a.startswith("dynamodb:")} == {"dynamodb:GetItem", "dynamodb:PutItem"}
    (table,) = allowed["dynamodb:GetItem"]
    assert "WebhooksTable" in table
    assert allowed["sqs:SendMessage"] == {
        f"${{{synth.logical_id('webhooks', webhooks.queue)}.Arn}}",
        f"${{{synth.logical_id('webhooks', webhooks.dead_letter_queue)}.Arn}}",
    }
    assert "kms:Decrypt" in allowed


def test_the_fan_out_reads_the_main_tables_stream_for_event_entities_only(synth: Synth) -> None:
    webhooks = synth.stacks.webhooks
    mapping = _mapping(synth, webhooks.fan_out)
    assert "StreamArn" in json.dumps(mapping["EventSourceArn"])
    [pattern] = [json.loads(item["Pattern"]) for item in mapping["FilterCriteria"]["Filters"]]
    assert pattern == {"dynamodb": {"NewImage": {"entity": {"S": EVENT_ENTITIES}}}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"]
    allowed = _allowed(synth, "webhooks", _function(synth, webhooks.fan_out))
    assert {
        a for a in allowed if a.startswith("dynamodb:") and not a.endswith(("Streams", "Stream", "Records", "Iterator"))
    } == {
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }
    # The queue, and the stream mapping's failure destination (Lambda sends there as the function).
    assert allowed["sqs:SendMessage"] == {
        f"${{{synth.logical_id('webhooks', webhooks.queue)}.Arn}}",
        f"${{{synth.logical_id('webhooks', webhooks.events_dead_letter_queue)}.Arn}}",
    }


def test_the_table_expires_attempts_and_is_encrypted_with_the_data_key(synth: Synth) -> None:
    table = synth.resource_of("data", synth.stacks.data.webhooks_table)["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["SSESpecification"]["KMSMasterKeyId"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_webhook_alarms_page(synth: Synth) -> None:
    alarms = [a["Properties"] for a in synth.resources("monitoring", "AWS::CloudWatch::Alarm").values()]
    texts = [describe_alarm(alarm).text for alarm in alarms]
    assert any("WebhookAttempts" in text for text in texts)
    assert any("WebhooksDisabled" in text for text in texts)
    backlog = [
        alarm
        for alarm in alarms
        if describe_alarm(alarm).metrics == {"ApproximateAgeOfOldestMessage"}
        and f"lendbridge-{synth.stage}-WebhookDeliveries" in describe_alarm(alarm).text
    ]
    assert len(backlog) == 1
    assert backlog[0]["AlarmActions"]
    dlq_alarms = [
        text for text in texts if f"lendbridge-{synth.stage}-WebhookDlq" in text and "NumberOfMessagesVisible" in text
    ]
    assert len(dlq_alarms) == 1


def _config(stage: str, *, local: bool = False, **changes: Any) -> StageConfig:
    context = cdk_json_context()
    stages = json.loads(json.dumps(context["stages"]))
    stages[stage].update(changes)
    app = cdk.App(context={**context, "stages": stages, **({LOCAL_EMULATION: True} if local else {})})
    return StageConfig.from_context(app, stage)


def test_only_the_local_emulation_compresses_the_schedule_and_allows_loopback() -> None:
    local = _config("dev", local=True)
    assert local.webhook_allow_loopback is True
    assert sum(local.webhook_retry_schedule_s) < 60
    deployed = _config("dev")
    assert deployed.webhook_allow_loopback is False
    assert list(deployed.webhook_retry_schedule_s) == REAL_SCHEDULE


@pytest.mark.parametrize(
    ("stage", "changes", "message"),
    [
        ("prod", {"webhook_allow_loopback": True}, "local_overrides"),
        ("dev", {"webhook_allow_loopback": True}, "local_overrides"),
        ("prod", {"local_overrides": {"webhook_allow_loopback": True}}, "never emulated"),
        ("prod", {"webhook_retry_schedule_s": [0, 5, 300]}, "three days"),
        ("dev", {"webhook_retry_schedule_s": [5, 300000]}, "starting with 0"),
        ("dev", {"webhook_retry_schedule_s": [0, 90000, 90000]}, "exceed"),
        ("dev", {"webhook_retry_schedule_s": []}, "starting with 0"),
    ],
)
def test_unsafe_webhook_settings_are_refused_at_synth(stage: str, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(stage, **changes)
