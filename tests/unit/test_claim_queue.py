"""The claims queue's two sides agree: what the sender writes is what the worker reads."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lendbridge.data import keys
from lendbridge.data.claim_messages import claim_request_of
from lendbridge.data.claim_queue import SqsClaimQueue
from lendbridge.domain.claims import ClaimRequest


class RecordingSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        return {"MessageId": "m-1"}


def test_a_handed_off_sign_up_reads_back_as_the_same_claim_without_the_email() -> None:
    sqs = RecordingSqs()

    SqsClaimQueue(sqs, "https://queue.example/claims").hand_off("u-1", "Ada@Example.com", "Ada Lovelace", "req-1")

    (sent,) = sqs.sent
    assert sent["QueueUrl"] == "https://queue.example/claims"
    assert "example.com" not in sent["MessageBody"].lower()
    assert claim_request_of(sent["MessageBody"]) == ClaimRequest(
        user_id="u-1", email_digest=keys.email_digest("Ada@Example.com"), full_name="Ada Lovelace", request_id="req-1"
    )


def test_the_worker_refuses_a_message_with_a_field_the_sender_never_writes() -> None:
    body = '{"user_id":"u-1","email_digest":"' + "0" * 64 + '","full_name":"A","request_id":"r","email":"a@b.c"}'
    with pytest.raises(ValidationError):
        claim_request_of(body)
