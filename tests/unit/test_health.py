"""Liveness always answers; readiness names the failing dependency."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lendbridge.handlers import health
from lendbridge.wiring.health import Probes
from tests.events import FakeContext, api_event, body_of, header_of


@pytest.fixture
def probes() -> Iterator[dict[str, object]]:
    checks: dict[str, object] = {"dynamodb": lambda: None, "user_pool": lambda: None}
    health.probes.override(Probes(checks=checks))  # type: ignore[arg-type]
    yield checks
    health.probes.reset()


def test_live() -> None:
    response = health.handler(api_event("GET", "/health/live"), FakeContext())
    assert (response["statusCode"], body_of(response)) == (200, {"status": "alive"})


def test_ready_when_every_check_passes(probes: dict[str, object]) -> None:
    response = health.handler(api_event("GET", "/health/ready"), FakeContext())
    assert response["statusCode"] == 200
    assert body_of(response) == {
        "status": "ready",
        "checks": {"dynamodb": "ok", "user_pool": "ok"},
        "extraction_reader": None,
    }


def test_not_ready_names_the_failing_check(probes: dict[str, object]) -> None:
    def broken() -> None:
        raise ConnectionError("endpoint unreachable")

    probes["user_pool"] = broken
    response = health.handler(api_event("GET", "/health/ready"), FakeContext())
    body = body_of(response)
    assert response["statusCode"] == 503
    assert body["error"] == "SERVICE_UNAVAILABLE"
    assert body["message"] == "Not ready: user_pool"
    assert body["details"] == {"status": "not_ready", "checks": {"dynamodb": "ok", "user_pool": "failing"}}
    assert header_of(response, "Retry-After") == "10"


def test_ready_says_which_reader_extracts_documents(probes: dict[str, object]) -> None:
    health.probes.override(Probes(checks=probes, extraction_reader="local"))  # type: ignore[arg-type]
    body = body_of(health.handler(api_event("GET", "/health/ready"), FakeContext()))
    assert body["extraction_reader"] == "local"


def test_readiness_checks_the_documents_bucket_and_the_extraction_queue() -> None:
    import boto3
    from moto import mock_aws

    from lendbridge.document_settings import DocumentSettings
    from lendbridge.wiring.health import readiness_checks

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="documents")
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="extractions")["QueueUrl"]
        local = DocumentSettings.from_env(
            {"DOCUMENTS_BUCKET": "documents", "EXTRACTION_QUEUE_URL": queue, "READER_KIND": "local"}
        )
        checks = readiness_checks(local)
        assert set(checks) == {"documents", "extraction_queue"}, "the local reader needs nothing remote"
        for check in checks.values():
            check()
        missing = DocumentSettings.from_env({**vars_of(local), "DOCUMENTS_BUCKET": "no-such-bucket"})
        with pytest.raises(Exception, match="404|Not Found"):
            readiness_checks(missing)["documents"]()
        bedrock = DocumentSettings.from_env({**vars_of(local), "READER_KIND": "bedrock", "MODEL_ID": "a.b-v1:0"})
        assert set(readiness_checks(bedrock)) == {"documents", "extraction_queue", "extraction_model"}
    assert readiness_checks(DocumentSettings.from_env({})) == {}


def vars_of(settings: object) -> dict[str, str]:
    from lendbridge.document_settings import DocumentSettings

    assert isinstance(settings, DocumentSettings)
    return {
        "DOCUMENTS_BUCKET": settings.bucket,
        "EXTRACTION_QUEUE_URL": settings.extraction_queue_url,
        "READER_KIND": settings.reader_kind,
        "MODEL_ID": settings.model_id,
    }
