"""Documents in S3: the presigned PUT binds type and length, downloads are presigned for five
minutes, and the upload check reads size, first bytes and SHA-256 in one streamed pass.

moto does not verify presigned signatures, so the binding is shown on the signature itself:
the URL names content-length and content-type among its signed headers, and signing the same
request with another length or type gives another signature (which S3 refuses with 403)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto import mock_aws
from pydantic import ValidationError

from lendbridge.data.document_storage import DOWNLOAD_URL_SECONDS, S3DocumentStorage
from lendbridge.data.extraction_queue import SqsExtractionQueue, extraction_message_of
from lendbridge.errors import DependencyUnavailable
from local.presigned import query_signature

BUCKET = "documents-bucket"
KEY = "documents/booking-1/document-1"
PDF = b"%PDF-1.7\n" + b"x" * 5000


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4"),
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _signature_for(url: str, headers: dict[str, str]) -> str:
    """The signature S3 computes for a PUT to ``url`` sent with ``headers``: botocore's own
    query signer over the same request and signing time, with the test's credentials."""
    query = _query(url)
    parts = urlsplit(url)
    return query_signature(
        "PUT",
        f"{parts.scheme}://{parts.netloc}{parts.path}",
        headers,
        Credentials("testing", "testing"),
        "us-east-1",
        query["X-Amz-Date"],
        int(query["X-Amz-Expires"]),
    )


def test_the_upload_url_signs_content_type_and_length(s3: Any) -> None:
    upload = S3DocumentStorage(s3, BUCKET).presign_put(KEY, "application/pdf", len(PDF), 900)
    query = _query(upload.url)
    signed = set(query["X-Amz-SignedHeaders"].split(";"))
    assert signed == {"content-length", "content-type", "host", "x-amz-tagging", "if-none-match"}
    assert query["X-Amz-Expires"] == "900"
    assert upload.headers == {
        "Content-Type": "application/pdf",
        "Content-Length": str(len(PDF)),
        "x-amz-tagging": "upload=unverified",
        "If-None-Match": "*",
    }
    assert upload.expires_in == 900
    assert urlsplit(upload.url).path.endswith(f"/{KEY}")
    assert BUCKET in upload.url


def test_another_length_or_type_does_not_match_the_signature(s3: Any) -> None:
    upload = S3DocumentStorage(s3, BUCKET).presign_put(KEY, "application/pdf", len(PDF), 900)
    host = urlsplit(upload.url).netloc
    signed = _query(upload.url)["X-Amz-Signature"]
    assert _signature_for(upload.url, {**upload.headers, "host": host}) == signed
    longer = {**upload.headers, "Content-Length": str(len(PDF) + 1), "host": host}
    untagged = {key: value for key, value in upload.headers.items() if key != "x-amz-tagging"}
    assert _signature_for(upload.url, {**untagged, "host": host}) != signed
    assert _signature_for(upload.url, longer) != signed
    other_type = {**upload.headers, "Content-Type": "image/png", "host": host}
    assert _signature_for(upload.url, other_type) != signed


def test_download_urls_live_five_minutes(s3: Any) -> None:
    url = S3DocumentStorage(s3, BUCKET).presign_get(KEY)
    assert DOWNLOAD_URL_SECONDS == 300
    assert _query(url)["X-Amz-Expires"] == "300"
    assert urlsplit(url).path.endswith(f"/{KEY}")


def test_head_read_fingerprint_and_delete(s3: Any) -> None:
    storage = S3DocumentStorage(s3, BUCKET)
    assert storage.head(KEY) is None
    assert storage.fingerprint(KEY) is None
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=PDF, ContentType="application/pdf")
    stored = storage.head(KEY)
    assert stored is not None
    assert (stored.size, stored.content_type) == (len(PDF), "application/pdf")
    assert storage.read(KEY) == PDF
    print_ = storage.fingerprint(KEY, head_bytes=8)
    assert print_ is not None
    assert print_.head == PDF[:8]
    assert print_.size == len(PDF)
    assert print_.sha256 == hashlib.sha256(PDF).hexdigest()
    storage.delete(KEY)
    assert storage.head(KEY) is None


def test_an_accepted_upload_loses_its_unverified_tag(s3: Any) -> None:
    storage = S3DocumentStorage(s3, BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=PDF, Tagging="upload=unverified")
    assert s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"] == [{"Key": "upload", "Value": "unverified"}]
    storage.mark_verified(KEY)
    assert s3.get_object_tagging(Bucket=BUCKET, Key=KEY)["TagSet"] == []


def test_fingerprint_streams_objects_larger_than_one_chunk(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from lendbridge.data import document_storage

    monkeypatch.setattr(document_storage, "READ_CHUNK_BYTES", 1000)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=PDF)
    print_ = S3DocumentStorage(s3, BUCKET).fingerprint(KEY)
    assert print_ is not None
    assert print_.head == PDF[:16]
    assert print_.sha256 == hashlib.sha256(PDF).hexdigest()


def test_an_unreachable_s3_is_a_retryable_unavailability() -> None:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=0.2),
    )
    storage = S3DocumentStorage(client, BUCKET)
    with pytest.raises(DependencyUnavailable):
        storage.head(KEY)


def test_an_access_refusal_is_not_retried_as_unavailability(s3: Any) -> None:
    storage = S3DocumentStorage(s3, "no-such-bucket")
    with pytest.raises(ClientError) as raised:
        storage.read(KEY)
    assert raised.value.response["Error"]["Code"] == "NoSuchBucket"


def test_the_extraction_queue_carries_ids_only() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="extractions")["QueueUrl"]
        SqsExtractionQueue(sqs, url).enqueue("booking-1", "document-1", "extraction-1")
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        request = extraction_message_of(message["Body"])
        assert (request.booking_id, request.document_id, request.extraction_id) == (
            "booking-1",
            "document-1",
            "extraction-1",
        )
        with pytest.raises(ValidationError, match="extra"):
            extraction_message_of('{"booking_id": "b", "document_id": "d", "extraction_id": "e", "extra": 1}')
