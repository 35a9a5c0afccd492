"""The claim worker's queue: one message per confirmed sign-up.

A message names the user and the SHA-256 digest of their email, which is how the main table
files invitations to unregistered emails; the address itself never enters the queue. The
worker checks each message against ``lendbridge.data.claim_messages.ClaimMessage``; this side
only writes the four fields (tests/unit/test_claim_queue.py holds the two together).
"""

from __future__ import annotations

import json
from typing import Any

from lendbridge.data import keys


class SqsClaimQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def hand_off(self, user_id: str, email: str, full_name: str, request_id: str) -> None:
        message = {
            "user_id": user_id,
            "email_digest": keys.email_digest(email),
            "full_name": full_name,
            "request_id": request_id,
        }
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(message, separators=(",", ":")))
