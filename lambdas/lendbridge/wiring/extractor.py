"""The extractor's composition: the stage's document reader (Bedrock Converse in AWS, the local
PDF reader on the local stack), document storage and the bookings' extraction runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.config import Config

from lendbridge.aws import BOTO_CONFIG, client
from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.domain.extraction import DocumentReader
from lendbridge.domain.ports import DocumentStorage
from lendbridge.wiring.documents import DocumentSettings, document_storage
from lendbridge.wiring.workers import worker_bookings

# A Converse call on a 4.5 MB document takes tens of seconds, far over the shared 5 s read
# timeout. Adaptive mode adds client-side rate limiting to standard mode's backoff, so a
# throttled model slows this worker down instead of spending its attempts at once; when they
# are spent the message goes back to the queue (ExtractionThrottled) and is retried later.
BEDROCK_CONFIG = BOTO_CONFIG.merge(Config(read_timeout=120, retries={"mode": "adaptive", "total_max_attempts": 4}))
READER_KINDS = ("bedrock", "local")


class ExtractionRunner(Protocol):
    def run_extraction(
        self, booking_id: str, extraction_id: str, reader: DocumentReader, storage: DocumentStorage
    ) -> Any: ...

    def fail_extraction(self, booking_id: str, extraction_id: str, reason: str) -> Any: ...


@dataclass
class ExtractorServices:
    runner: ExtractionRunner
    reader: DocumentReader
    storage: S3DocumentStorage
    max_receives: int


def document_reader(settings: DocumentSettings) -> DocumentReader:
    if settings.reader_kind == "bedrock":
        from lendbridge.data.bedrock_reader import BedrockConverseReader

        runtime = client("bedrock-runtime", config=BEDROCK_CONFIG)
        return BedrockConverseReader(runtime, settings.model_id)
    if settings.reader_kind == "local":
        from lendbridge.data.pdf_reader import LocalPdfReader

        return LocalPdfReader()
    raise ValueError(f"READER_KIND must be one of {READER_KINDS}, not {settings.reader_kind!r}")


def bookings_runner() -> ExtractionRunner:
    return worker_bookings()


def build_extractor_services(runner_factory: Callable[[], ExtractionRunner] = bookings_runner) -> ExtractorServices:
    settings = DocumentSettings.from_env()
    return ExtractorServices(
        runner=runner_factory(),
        reader=document_reader(settings),
        storage=document_storage(settings),
        max_receives=settings.extraction_max_receives,
    )
