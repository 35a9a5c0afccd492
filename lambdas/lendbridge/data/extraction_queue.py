"""The extraction queue: one message per requested extraction, worked by the extractor function.

A message carries ids only (the booking, the document, the extraction): the document stays in
S3 and every value the extractor needs is read from the store, so a message reveals nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ExtractionMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    booking_id: str = Field(min_length=1, max_length=64)
    document_id: str = Field(min_length=1, max_length=64)
    extraction_id: str = Field(min_length=1, max_length=64)


class SqsExtractionQueue:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def enqueue(self, booking_id: str, document_id: str, extraction_id: str) -> None:
        message = ExtractionMessage(booking_id=booking_id, document_id=document_id, extraction_id=extraction_id)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message.model_dump_json())

    def ping(self) -> None:
        """Readiness: the queue answers."""
        self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])


def extraction_message_of(body: str) -> ExtractionMessage:
    """The request a queued message carries; a malformed one raises (retried, then dead-lettered)."""
    return ExtractionMessage.model_validate_json(body)
