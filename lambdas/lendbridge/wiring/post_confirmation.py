"""The Cognito post-confirmation trigger: hands confirmed sign-ups to the claim worker's queue."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.data.claim_queue import SqsClaimQueue
from lendbridge.domain.claims import SignUpConfirmations
from lendbridge.settings import FunctionSettings, QueueUrl


class PostConfirmationSettings(FunctionSettings):
    claims_queue_url: QueueUrl


def build_confirmations() -> SignUpConfirmations:
    return SignUpConfirmations(SqsClaimQueue(client("sqs"), PostConfirmationSettings.from_env().claims_queue_url))
