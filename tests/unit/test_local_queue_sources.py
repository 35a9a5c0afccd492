"""The local SQS event source: what succeeded is deleted, what the function reports as failed
comes back, and after the queue's maxReceiveCount receives it lands on the dead-letter queue."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import queue_sources
from local.apimodel import Function
from local.queue_sources import QueueMapping, QueuePoller
from local.workers import Invocation

WORKER = Function("Identity", "InvitationClaimsFnFunctionABCD1234", "x.handler", "python3.13", {}, 120, 512, None)


class FailingBodies:
    """A function that reports every message whose body says ``fail`` as a batch item failure."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Invocation:
        records = event["Records"]
        self.batches.append(records)
        failures = [{"itemIdentifier": r["messageId"]} for r in records if json.loads(r["body"]).get("fail")]
        return Invocation(result={"batchItemFailures": failures})


@pytest.fixture
def queues(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str, str]]:
    monkeypatch.setattr(queue_sources, "LOCAL_RETRY_DELAY_S", 0)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        url = sqs.create_queue(QueueName="claims", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        yield sqs, url, dlq


def test_successes_are_deleted_failures_retried_then_parked(queues: tuple[Any, str, str]) -> None:
    sqs, url, dlq = queues
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"user_id": "ok"}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"user_id": "bad", "fail": True}))
    function = FailingBodies()
    mapping = QueueMapping("Mapping", WORKER, url, "arn:aws:sqs:us-east-1:123456789012:claims", 10, True)
    poller = QueuePoller(mapping, function, sqs, lambda line: None)  # type: ignore[arg-type]

    while poller.poll():
        pass

    first = function.batches[0]
    assert {json.loads(r["body"])["user_id"] for r in first} == {"ok", "bad"}
    assert all(r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == mapping.queue_arn for r in first)
    assert all(r["attributes"]["ApproximateReceiveCount"] for r in first)
    # The good message was delivered once; the failing one three times (maxReceiveCount).
    bodies = [json.loads(r["body"])["user_id"] for batch in function.batches for r in batch]
    assert bodies.count("ok") == 1
    assert bodies.count("bad") == 3
    parked = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["user_id"] for m in parked] == ["bad"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"


class HangsOnOne:
    """A function whose invocation for the body ``hang`` blocks until released (a receiver that
    hangs); every other message is done at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.done: list[str] = []

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Invocation:
        for record in event["Records"]:
            if record["body"] == "hang":
                self.release.wait(10)
            self.done.append(record["body"])
        return Invocation(result={"batchItemFailures": []})


def test_a_mapping_polls_with_its_concurrency_so_one_slow_invocation_holds_no_other(
    queues: tuple[Any, str, str],
) -> None:
    sqs, url, _ = queues
    function = HangsOnOne()
    mapping = QueueMapping("Mapping", WORKER, url, "arn:aws:sqs:us-east-1:123456789012:claims", 1, True, concurrency=2)
    poller = QueuePoller(mapping, function, sqs, lambda line: None).start()  # type: ignore[arg-type]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="hang")
        time.sleep(1.5)  # one polling thread takes it and hangs
        sqs.send_message(QueueUrl=url, MessageBody="prompt")
        deadline = time.monotonic() + 5
        while "prompt" not in function.done and time.monotonic() < deadline:
            time.sleep(0.05)
        assert function.done == ["prompt"], "delivered while the other invocation still hangs"
    finally:
        function.release.set()
        poller.stop()
