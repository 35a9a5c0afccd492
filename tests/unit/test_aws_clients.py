"""lendbridge.aws.client: every client of a function comes from one boto3 session."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lendbridge import aws


@pytest.fixture
def sessions_made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    made: list[Any] = []
    real = boto3.session.Session

    def counting(*args: Any, **kwargs: Any) -> Any:
        session = real(*args, **kwargs)
        made.append(session)
        return session

    monkeypatch.setattr(aws, "_sessions", {})
    monkeypatch.setattr(boto3.session, "Session", counting)
    return made


def test_clients_of_one_function_share_a_session(sessions_made: list[Any]) -> None:
    # A second session would cost ~100 ms of CPU more than a second client of the first.
    dynamodb, kms, secrets = aws.client("dynamodb"), aws.client("kms"), aws.client("secretsmanager")

    assert len(sessions_made) == 1
    assert {dynamodb.meta.service_model.service_name, kms.meta.service_model.service_name} == {"dynamodb", "kms"}
    assert secrets.meta.config.retries["mode"] == "standard"


def test_other_credentials_get_their_own_session(sessions_made: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    aws.client("dynamodb")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    other = aws.client("dynamodb")

    assert len(sessions_made) == 2
    assert other.meta.region_name == "us-east-1"
    assert other._request_signer._credentials.access_key == "someone-else"


def test_endpoints_are_read_when_each_client_is_made(sessions_made: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    aws.client("dynamodb")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")

    assert aws.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:9"
    assert len(sessions_made) == 1


def test_a_client_with_a_configuration_of_its_own_still_comes_from_the_shared_session(
    sessions_made: list[Any],
) -> None:
    from lendbridge.wiring.documents import S3_CONFIG

    aws.client("dynamodb")
    s3 = aws.client("s3", config=S3_CONFIG)

    assert len(sessions_made) == 1
    assert s3.meta.config.signature_version == "s3v4"
    assert s3.meta.config.retries["mode"] == "standard"  # S3_CONFIG is built on the shared one
