"""The upload worker, on moto's S3 with a recording ledger: S3's report of a new object becomes
UPLOADED (with its SHA-256, the unverified tag removed) or REJECTED (the object deleted); keys
outside the documents prefix and S3's test event are ignored; one failing object fails alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.domain.bookings import DocumentStatus
from lendbridge.domain.uploads import UploadVerdict
from lendbridge.handlers import upload_events
from lendbridge.wiring.upload_events import DeclaredDocument, UploadServices
from tests.events import FakeContext

BUCKET = "documents-bucket"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + b"x" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@dataclass
class Ledger:
    documents: dict[tuple[str, str], DeclaredDocument] = field(default_factory=dict)
    recorded: list[tuple[str, str, UploadVerdict, str | None, int, datetime]] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)

    def declared(self, booking_id: str, document_id: str) -> DeclaredDocument | None:
        if document_id in self.broken:
            raise ConnectionError("the table did not answer")
        return self.documents.get((booking_id, document_id))

    def record_upload(
        self, booking_id: str, document_id: str, verdict: UploadVerdict, sha256: str | None, size: int, at: datetime
    ) -> None:
        self.recorded.append((booking_id, document_id, verdict, sha256, size, at))


@dataclass
class KnowledgeBase:
    ingested: list[str] = field(default_factory=list)

    def ingest(self, key: str) -> None:
        self.ingested.append(key)


@dataclass
class World:
    s3: Any
    ledger: Ledger
    knowledge_base: KnowledgeBase

    def upload(self, document_id: str, body: bytes, declared_type: str, declared_size: int | None = None) -> str:
        key = f"documents/booking-1/{document_id}"
        self.ledger.documents[("booking-1", document_id)] = DeclaredDocument(
            declared_type, len(body) if declared_size is None else declared_size, DocumentStatus.AWAITING_UPLOAD
        )
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=declared_type, Tagging="upload=unverified")
        return key

    def exists(self, key: str) -> bool:
        return "Contents" in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=key)


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        built = World(s3, Ledger(), KnowledgeBase())
        upload_events.services.override(
            UploadServices(
                storage=S3DocumentStorage(s3, BUCKET),
                ledger=built.ledger,
                knowledge_base=built.knowledge_base,
                clock=lambda: NOW,
            )
        )
        yield built
        upload_events.services.reset()


def s3_body(*keys: str) -> str:
    """An S3 event notification as S3 puts it on the queue (keys URL-encoded)."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventTime": "2026-11-30T09:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                        "object": {"key": key.replace(" ", "+"), "size": 1, "eTag": "e", "sequencer": "0"},
                    },
                }
                for key in keys
            ]
        }
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"message-{number}",
                "receiptHandle": f"handle-{number}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:uploads",
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies)
        ]
    }


def metrics_of(output: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["service"]]
        assert document["service"] == "bookings"
        for metric in directive["Metrics"]:
            value = document[metric["Name"]]
            found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found


def handle(*bodies: str) -> dict[str, Any]:
    return dict(upload_events.handler(sqs_event(*bodies), FakeContext()))


def test_a_declared_pdf_is_uploaded_with_its_digest_and_untagged(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    key = world.upload("doc-1", PDF, "application/pdf")
    assert handle(s3_body(key)) == {"batchItemFailures": []}
    [(booking_id, document_id, verdict, sha256, size, at)] = world.ledger.recorded
    assert (booking_id, document_id, verdict, size, at) == ("booking-1", "doc-1", UploadVerdict(True), len(PDF), NOW)
    assert sha256 == hashlib.sha256(PDF).hexdigest()
    assert world.exists(key)
    assert world.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"] == []
    assert world.knowledge_base.ingested == [key]
    assert metrics_of(capsys.readouterr().out) == {"DocumentsUploaded": [1.0]}


def test_a_non_pdf_renamed_pdf_is_rejected_and_deleted(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    key = world.upload("doc-2", PNG, "application/pdf")
    handle(s3_body(key))
    [(_, _, verdict, sha256, size, _)] = world.ledger.recorded
    assert verdict.accepted is False
    assert verdict.reason == "The file is a image/png file, not the application/pdf declared"
    assert (sha256, size) == (None, len(PNG))
    assert not world.exists(key)
    assert world.knowledge_base.ingested == []
    assert metrics_of(capsys.readouterr().out) == {"DocumentsRejected": [1.0]}


def test_an_object_larger_than_declared_is_rejected_and_deleted(world: World) -> None:
    """S3 refuses such a PUT (the signature binds the length); an emulator that does not is
    caught here."""
    key = world.upload("doc-3", PDF, "application/pdf", declared_size=len(PDF) - 10)
    handle(s3_body(key))
    [(_, _, verdict, _, size, _)] = world.ledger.recorded
    assert verdict == UploadVerdict(False, f"The stored file has {len(PDF)} bytes, not the {len(PDF) - 10} declared")
    assert size == len(PDF)
    assert not world.exists(key)


def test_an_object_without_a_document_is_deleted_unrecorded(world: World) -> None:
    key = "documents/booking-1/deleted-doc"
    world.s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    handle(s3_body(key))
    assert world.ledger.recorded == []
    assert not world.exists(key)


def test_a_document_checked_already_is_left_as_recorded(world: World) -> None:
    accepted = world.upload("doc-4", PDF, "application/pdf")
    rejected = world.upload("doc-5", PDF, "application/pdf")
    for document_id, status in (("doc-4", DocumentStatus.UPLOADED), ("doc-5", DocumentStatus.REJECTED)):
        world.ledger.documents[("booking-1", document_id)] = DeclaredDocument("application/pdf", len(PDF), status)
    handle(s3_body(accepted, rejected))
    assert world.ledger.recorded == []
    assert world.exists(accepted)
    assert not world.exists(rejected), "a rejected document keeps no object, whatever is PUT again"


def test_other_keys_and_the_test_event_are_ignored(world: World) -> None:
    world.s3.put_object(Bucket=BUCKET, Key="elsewhere/file", Body=PDF)
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
    assert handle(s3_body("elsewhere/file", "documents/only-two"), test_event) == {"batchItemFailures": []}
    assert world.ledger.recorded == []
    assert world.exists("elsewhere/file")


def test_one_failing_object_fails_alone(world: World) -> None:
    good = world.upload("doc-6", PDF, "application/pdf")
    bad = world.upload("doc-7", PDF, "application/pdf")
    world.ledger.broken.add("doc-7")
    assert handle(s3_body(good), s3_body(bad)) == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert [document_id for _, document_id, *_ in world.ledger.recorded] == ["doc-6"]
    assert world.exists(bad), "kept for the retry"


def test_only_document_keys_name_a_document() -> None:
    assert upload_events.document_of("documents/b-1/d-1") == ("b-1", "d-1")
    assert upload_events.document_of("documents/b-1") is None
    assert upload_events.document_of("documents//d-1") is None
    assert upload_events.document_of("documents/b-1/d-1/extra") is None
    assert upload_events.document_of("other/b-1/d-1") is None
