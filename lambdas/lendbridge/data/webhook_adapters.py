"""The delivery side's adapters: KMS for secrets, SQS for queued attempts, DNS resolution.

Secrets are encrypted with the project's data key, bound by encryption context to their
webhook, so a ciphertext copied onto another subscription will not decrypt; no hash of a
secret is kept anywhere (a hash cannot sign).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.domain.webhooks import Job
from lendbridge.errors import EncryptionUnavailable

_RETRY_AFTER = 5


class KmsSecretBox:
    def __init__(self, client: Any, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    @staticmethod
    def _context(webhook_id: str) -> dict[str, str]:
        return {"webhook_id": webhook_id, "purpose": "webhook-secret"}

    def seal(self, webhook_id: str, secret: str) -> bytes:
        try:
            response = self._client.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=self._context(webhook_id)
            )
        except ClientError as error:
            raise EncryptionUnavailable("Encryption service unavailable", retry_after=_RETRY_AFTER) from error
        return bytes(response["CiphertextBlob"])

    def open(self, webhook_id: str, sealed: bytes) -> str:
        response = self._client.decrypt(
            KeyId=self._key_id, CiphertextBlob=sealed, EncryptionContext=self._context(webhook_id)
        )
        return bytes(response["Plaintext"]).decode()


def job_of(body: str) -> Job:
    return Job(**json.loads(body))


class SqsDeliveryQueue:
    """Each attempt is its own message: one receiver's outage never holds another's delivery."""

    def __init__(self, client: Any, queue_url: str, dead_letter_url: str | None = None) -> None:
        self._client = client
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url

    def enqueue(self, job: Job, delay_s: int) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(asdict(job)), DelaySeconds=delay_s)

    def dead_letter(self, job: Job) -> None:
        if self._dead_letter_url is None:
            raise RuntimeError("this queue was built without its dead-letter queue")  # a wiring defect
        self._client.send_message(QueueUrl=self._dead_letter_url, MessageBody=json.dumps(asdict(job)))


def resolve(host: str, port: int) -> Sequence[str]:
    """Every address of ``host`` (IPv4 and IPv6), as the system resolver answers."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in found]
