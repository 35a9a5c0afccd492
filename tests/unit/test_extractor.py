"""The extractor: each queued extraction runs with the stage's reader; throttling fails the
message so the queue delivers it again, and on the last receive the extraction is FAILED with a
reason before the message is dead-lettered; an unreadable document fails at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lendbridge.domain.extraction import ExtractedField, ExtractionFailed, ExtractionThrottled
from lendbridge.handlers import extractor
from lendbridge.wiring.documents import DocumentSettings
from lendbridge.wiring.extractor import ExtractorServices, document_reader
from tests.events import FakeContext

MAX_RECEIVES = 3


@dataclass(frozen=True)
class Outcome:
    status: str
    fields_found: int = 0
    error: str | None = None


@dataclass
class Runner:
    """Plays the bookings domain: what ``run_extraction`` does is set per extraction id."""

    behaviour: dict[str, Any] = field(default_factory=dict)
    ran: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def run_extraction(self, booking_id: str, extraction_id: str, reader: Any, storage: Any) -> Outcome:
        self.ran.append((booking_id, extraction_id))
        result = self.behaviour[extraction_id]
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    def fail_extraction(self, booking_id: str, extraction_id: str, reason: str) -> None:
        self.failed.append((booking_id, extraction_id, reason))


class Reader:
    name = "test-reader"

    def read(self, content: bytes, content_type: str) -> list[ExtractedField]:
        raise AssertionError("the runner is faked; the reader is only handed on")


@pytest.fixture
def runner() -> Iterator[Runner]:
    fake = Runner()
    extractor.services.override(
        ExtractorServices(runner=fake, reader=Reader(), storage=None, max_receives=MAX_RECEIVES)  # type: ignore[arg-type]
    )
    yield fake
    extractor.services.reset()


def message(extraction_id: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": f"m-{extraction_id}",
        "receiptHandle": "handle",
        "body": json.dumps({"booking_id": "b-1", "document_id": "d-1", "extraction_id": extraction_id}),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:extractions",
        "awsRegion": "us-east-1",
    }


def handle(*records: dict[str, Any]) -> list[str]:
    result = extractor.handler({"Records": list(records)}, FakeContext())
    return [item["itemIdentifier"] for item in result["batchItemFailures"]]


def metrics_of(output: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            assert document["service"] == "bookings"
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


def test_a_successful_extraction_reports_its_fields_and_latency(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    runner.behaviour["e-1"] = Outcome("ExtractionStatus.SUCCEEDED", fields_found=9)
    assert handle(message("e-1")) == []
    assert runner.ran == [("b-1", "e-1")]
    metrics = metrics_of(capsys.readouterr().out)
    assert metrics["ExtractionsSucceeded"] == [1.0]
    assert metrics["FieldsExtracted"] == [9.0]
    [latency] = metrics["ExtractionLatency"]
    assert 0 <= latency < 5000
    assert "ExtractionsFailed" not in metrics


def test_throttling_before_the_last_receive_sends_the_message_back(runner: Runner) -> None:
    runner.behaviour["e-2"] = ExtractionThrottled()
    assert handle(message("e-2", receive_count=MAX_RECEIVES - 1)) == ["m-e-2"]
    assert runner.failed == [], "still QUEUED/RUNNING: the queue retries"


def test_throttling_on_the_last_receive_fails_the_extraction_and_dead_letters(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    runner.behaviour["e-3"] = ExtractionThrottled()
    assert handle(message("e-3", receive_count=MAX_RECEIVES)) == ["m-e-3"]
    assert runner.failed == [("b-1", "e-3", extractor.THROTTLED_REASON)]
    assert metrics_of(capsys.readouterr().out) == {"ExtractionsFailed": [1.0]}


def test_an_unexpected_error_on_the_last_receive_fails_with_a_neutral_reason(runner: Runner) -> None:
    runner.behaviour["e-4"] = ConnectionError("endpoint unreachable: http://10.0.0.1")
    assert handle(message("e-4", receive_count=MAX_RECEIVES + 1)) == ["m-e-4"]
    assert runner.failed == [("b-1", "e-4", extractor.UNEXPECTED_REASON)]
    assert "10.0.0.1" not in extractor.UNEXPECTED_REASON


def test_an_unreadable_document_fails_at_once_without_a_retry(runner: Runner) -> None:
    runner.behaviour["e-5"] = ExtractionFailed("The document is encrypted")
    assert handle(message("e-5")) == []
    assert runner.failed == [("b-1", "e-5", "The document is encrypted")]


def test_an_extraction_the_domain_ended_failed_is_counted(runner: Runner, capsys: pytest.CaptureFixture[str]) -> None:
    runner.behaviour["e-6"] = Outcome("FAILED", error="The document was deleted")
    assert handle(message("e-6")) == []
    assert runner.failed == []
    assert metrics_of(capsys.readouterr().out) == {"ExtractionsFailed": [1.0]}


def test_one_failing_extraction_fails_alone(runner: Runner) -> None:
    runner.behaviour["e-7"] = Outcome("SUCCEEDED", fields_found=1)
    runner.behaviour["e-8"] = ExtractionThrottled()
    assert handle(message("e-7"), message("e-8")) == ["m-e-8"]


def test_a_malformed_message_is_retried_then_dead_lettered(runner: Runner) -> None:
    broken = {**message("e-9"), "body": '{"booking_id": "b-1"}'}
    assert handle(broken) == ["m-e-9"]
    assert runner.ran == []


def test_the_stage_chooses_the_reader() -> None:
    local = document_reader(DocumentSettings.from_env({"READER_KIND": "local"}))
    assert type(local).__name__ == "LocalPdfReader"
    bedrock = document_reader(DocumentSettings.from_env({"READER_KIND": "bedrock", "MODEL_ID": "a.b-v1:0"}))
    assert type(bedrock).__name__ == "BedrockConverseReader"
    with pytest.raises(ValueError, match="READER_KIND"):
        document_reader(DocumentSettings.from_env({"READER_KIND": "textract"}))
