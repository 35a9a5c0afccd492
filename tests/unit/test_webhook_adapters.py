"""Delivery adapters on moto: secrets are sealed with KMS bound to their webhook; queued jobs
carry their delay and are dead-lettered whole. (The sender's sockets: tests/integration.)"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from lendbridge.data.webhook_adapters import KmsSecretBox, SqsDeliveryQueue, job_of, resolve
from lendbridge.domain.webhooks import Job
from lendbridge.errors import DependencyUnavailable


def test_resolve_lists_addresses() -> None:
    assert "127.0.0.1" in resolve("localhost", 80) or "::1" in resolve("localhost", 80)


def test_secrets_are_sealed_for_their_webhook_only() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        box = KmsSecretBox(kms, key)
        sealed = box.seal("w1", "whsec_c2VjcmV0")
        assert b"whsec_" not in sealed
        assert box.open("w1", sealed) == "whsec_c2VjcmV0"
        with pytest.raises(kms.exceptions.InvalidCiphertextException):
            box.open("w2", sealed)
        with pytest.raises(DependencyUnavailable):
            KmsSecretBox(kms, "alias/missing").seal("w1", "whsec_x")


def test_jobs_are_queued_with_their_delay_and_dead_lettered_whole() -> None:
    job = Job("msg_1", "w1", "o1", "loan.funded", "t", {"loan_id": "L", "amount": "5.00"}, 2, "s", 1.5)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="deliveries")["QueueUrl"]
        dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
        SqsDeliveryQueue(sqs, queue, dead).enqueue(job, 0)
        SqsDeliveryQueue(sqs, queue, dead).dead_letter(job)
        (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
        assert job_of(message["Body"]) == job
        (parked,) = sqs.receive_message(QueueUrl=dead)["Messages"]
        assert json.loads(parked["Body"])["message_id"] == "msg_1"
        SqsDeliveryQueue(sqs, queue, dead).enqueue(job, 60)
        assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # still delayed
