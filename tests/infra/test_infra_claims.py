"""Claiming invitations on confirmation: the trigger only sends to the claims queue; a worker
on that queue claims, with a dead-letter queue that pages; least privilege on both sides."""

from __future__ import annotations

import json
from typing import Any

from stacks.identity_stack import CLAIM_MAX_RECEIVES
from tests.infra.support import Synth, describe_alarm, ref_id, role_statements

SIX_TIMES = 6  # Lambda's advice: an SQS source's visibility timeout >= 6 x the function timeout


def _function(synth: Synth, construct: Any) -> dict[str, Any]:
    return dict(synth.resource_of("identity", construct)["Properties"])


def _allowed(synth: Synth, stack: str, function_properties: dict[str, Any]) -> dict[str, set[str]]:
    """action -> resources, over every statement of the function's role."""
    allowed: dict[str, set[str]] = {}
    for statement in role_statements(synth, stack, str(ref_id(function_properties["Role"]))):
        if statement.allows:
            for action in statement.actions:
                allowed.setdefault(action, set()).update(statement.resources)
    return allowed


def _queues(synth: Synth) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    identity = synth.stacks.identity
    queue_id = synth.logical_id("identity", identity.claims_queue)
    [dlq] = identity.dead_letter_queues
    dlq_id = synth.logical_id("identity", dlq)
    queues = synth.resources("identity", "AWS::SQS::Queue")
    return queue_id, queues[queue_id]["Properties"], dlq_id, queues[dlq_id]["Properties"]


def test_the_trigger_may_only_send_to_the_claims_queue(synth: Synth) -> None:
    trigger = _function(synth, synth.stacks.identity.post_confirmation)
    queue_id, *_ = _queues(synth)
    allowed = _allowed(synth, "identity", trigger)
    xray = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert set(allowed) - xray == {"sqs:SendMessage"}, "no table access: the trigger's work is constant"
    assert allowed["sqs:SendMessage"] == {f"${{{queue_id}.Arn}}"}
    variables = trigger["Environment"]["Variables"]
    assert ref_id(variables["CLAIMS_QUEUE_URL"]) == queue_id


def test_the_claims_queue_is_encrypted_tls_only_and_parks_failures(synth: Synth) -> None:
    queue_id, queue, dlq_id, dlq = _queues(synth)
    for properties in (queue, dlq):
        assert properties.get("SqsManagedSseEnabled") is True or properties.get("KmsMasterKeyId")
    assert ref_id(queue["RedrivePolicy"]["deadLetterTargetArn"]) == dlq_id
    assert queue["RedrivePolicy"]["maxReceiveCount"] == CLAIM_MAX_RECEIVES
    # A moved message keeps its first enqueue time: the DLQ must keep it longer than the source.
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    policies = synth.resources("identity", "AWS::SQS::QueuePolicy").values()
    for logical_id in (queue_id, dlq_id):
        statements = [
            statement
            for policy in policies
            if logical_id in {ref_id(target) for target in policy["Properties"]["Queues"]}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert any(
            statement["Effect"] == "Deny"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and statement["Principal"] == {"AWS": "*"}
            for statement in statements
        ), logical_id


def test_the_worker_consumes_the_queue_with_partial_batch_failures(synth: Synth) -> None:
    identity = synth.stacks.identity
    worker_id = synth.logical_id("identity", identity.claim_worker)
    worker = _function(synth, identity.claim_worker)
    queue_id, queue, *_ = _queues(synth)
    [mapping] = [
        resource["Properties"]
        for resource in synth.resources("identity", "AWS::Lambda::EventSourceMapping").values()
        if ref_id(resource["Properties"]["FunctionName"]) == worker_id
    ]
    assert ref_id(mapping["EventSourceArn"]) == queue_id
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["VisibilityTimeout"] >= SIX_TIMES * worker["Timeout"]
    assert str(worker["Handler"]) == "lendbridge.handlers.invitation_claims.handler"
    assert "ReservedConcurrentExecutions" not in worker, "bounded by the mapping's MaximumConcurrency instead"
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_the_worker_reads_the_invitations_index_and_writes_only_items(synth: Synth) -> None:
    allowed = _allowed(synth, "identity", _function(synth, synth.stacks.identity.claim_worker))
    dynamodb = {action for action in allowed if action.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:Query", "dynamodb:PutItem"}
    indexes = {resource.split("/index/", 1)[1] for resource in allowed["dynamodb:Query"] if "/index/" in resource}
    assert indexes == {"lender-invitations"}
    assert "sqs:SendMessage" not in allowed


def test_the_claims_dead_letter_queue_pages(synth: Synth) -> None:
    *_, dlq = _queues(synth)
    # Named at synth, so the alarm reads the literal name, not an export (test_infra_alarms).
    assert dlq["QueueName"] == f"lendbridge-{synth.stage}-ClaimsDlq"
    alarms = synth.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    watching = [
        alarm["Properties"]
        for alarm in alarms
        if describe_alarm(alarm["Properties"]).metrics == {"ApproximateNumberOfMessagesVisible"}
        and json.dumps({"Name": "QueueName", "Value": dlq["QueueName"]}) in describe_alarm(alarm["Properties"]).text
    ]
    assert len(watching) == 1
    assert watching[0]["AlarmActions"]


def test_registration_hands_off_only_where_the_stage_confirms_it(synth: Synth) -> None:
    accounts = synth.resource_of("api", synth.stacks.api.functions["accounts"])["Properties"]
    allowed = _allowed(synth, "api", accounts)
    if synth.config.auto_confirm_email:
        assert len(allowed["sqs:SendMessage"]) == 1
    else:
        assert "sqs:SendMessage" not in allowed
    assert not any("/index/" in resource for resource in allowed.get("dynamodb:Query", set())), (
        "registration no longer claims, so it reads no index"
    )
