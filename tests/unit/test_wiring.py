"""The HMAC keys the lending functions read from Secrets Manager (moto in process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
from moto import mock_aws

from lendbridge.errors import DependencyUnavailable
from lendbridge.wiring.secrets import secret_key


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        DEFAULT_PROVIDERS.pop("secrets", None)  # a provider made outside the mock would call AWS
        yield boto3.client("secretsmanager", region_name="us-east-1")
    DEFAULT_PROVIDERS.pop("secrets", None)


def test_the_key_is_the_secret_string(secretsmanager: Any) -> None:
    name = f"idempotency-{uuid.uuid4().hex}"
    secretsmanager.create_secret(Name=name, SecretString="k" * 64)
    assert secret_key(name) == b"k" * 64


def test_an_unreadable_secret_is_a_retryable_503_not_a_crash(secretsmanager: Any) -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        secret_key(f"missing-{uuid.uuid4().hex}")
    assert raised.value.retry_after > 0
