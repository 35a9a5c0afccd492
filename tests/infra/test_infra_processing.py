"""The scheduled integrity job: a run that cannot be delivered or keeps failing is never lost silently."""

from __future__ import annotations

from typing import Any

from tests.infra.support import Synth, ref_id


def _integrity_target(synth: Synth) -> dict[str, Any]:
    function_id = synth.logical_id("processing", synth.stacks.processing.integrity)
    targets = [
        target
        for rule in synth.resources("processing", "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if ref_id(target["Arn"]) == function_id
    ]
    assert len(targets) == 1, targets
    return targets[0]


def _alarmed_queues(synth: Synth) -> set[str]:
    return {synth.logical_id("processing", queue) for queue in synth.stacks.processing.dead_letter_queues}


def test_the_schedule_retries_a_failed_delivery_then_parks_it_in_an_alarmed_queue(synth: Synth) -> None:
    target = _integrity_target(synth)
    policy = target.get("RetryPolicy", {})
    assert 1 <= policy.get("MaximumRetryAttempts", 0) <= 5, policy
    assert 0 < policy.get("MaximumEventAgeInSeconds", 0) <= 24 * 3600, policy
    queue_id = ref_id(target.get("DeadLetterConfig", {}).get("Arn"))
    assert queue_id in _alarmed_queues(synth), target


def test_eventbridge_may_send_to_the_schedules_dead_letter_queue(synth: Synth) -> None:
    queue_id = ref_id(_integrity_target(synth)["DeadLetterConfig"]["Arn"])
    grants = [
        statement
        for policy in synth.resources("processing", "AWS::SQS::QueuePolicy").values()
        if [ref_id(queue) for queue in policy["Properties"]["Queues"]] == [queue_id]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow" and statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert [statement["Action"] for statement in grants] == ["sqs:SendMessage"]
    assert "aws:SourceArn" in grants[0]["Condition"]["ArnEquals"], "only the schedule's rule may send"


def test_a_run_that_fails_after_lambdas_retries_lands_in_an_alarmed_queue(synth: Synth) -> None:
    function_id = synth.logical_id("processing", synth.stacks.processing.integrity)
    [config] = [
        resource["Properties"]
        for resource in synth.resources("processing", "AWS::Lambda::EventInvokeConfig").values()
        if ref_id(resource["Properties"]["FunctionName"]) == function_id
    ]
    assert config["MaximumRetryAttempts"] >= 1
    assert ref_id(config["DestinationConfig"]["OnFailure"]["Destination"]) in _alarmed_queues(synth)
