"""The HMAC keys the lending functions read from Secrets Manager (moto in process)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lendbridge.errors import DependencyUnavailable
from lendbridge.wiring import secrets
from lendbridge.wiring.secrets import secret_key


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        secrets.provider.reset()  # a provider made outside the mock would call AWS
        yield boto3.client("secretsmanager", region_name="us-east-1")
    secrets.provider.reset()


def test_the_key_is_the_secret_string(secretsmanager: Any) -> None:
    name = f"idempotency-{uuid.uuid4().hex}"
    secretsmanager.create_secret(Name=name, SecretString="k" * 64)
    assert secret_key(name) == b"k" * 64


def test_an_unreadable_secret_is_a_retryable_503_not_a_crash(secretsmanager: Any) -> None:
    with pytest.raises(DependencyUnavailable) as raised:
        secret_key(f"missing-{uuid.uuid4().hex}")
    assert raised.value.retry_after > 0


def test_the_secret_is_fetched_once_with_a_client_of_the_functions_session(
    secretsmanager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"pagination-{uuid.uuid4().hex}"
    secretsmanager.create_secret(Name=name, SecretString="p" * 64)
    fetched: list[str] = []
    secretsmanager.meta.events.register(
        "after-call.secrets-manager.GetSecretValue", lambda **_: fetched.append("GetSecretValue")
    )
    asked: list[str] = []

    def make_client(service: str) -> Any:
        asked.append(service)
        return secretsmanager

    monkeypatch.setattr(secrets, "client", make_client)

    assert [secret_key(name) for _ in range(3)] == [b"p" * 64] * 3
    assert asked == ["secretsmanager"]  # not a session of Powertools' own (~100 ms of CPU)
    assert fetched == ["GetSecretValue"]


class FakeKms:
    def encrypt(self, **request: Any) -> dict[str, Any]:
        return {"CiphertextBlob": b"sealed:" + request["Plaintext"][:4], "KeyId": request["KeyId"]}


def test_the_lending_functions_make_a_kms_client_only_when_bank_details_are_sealed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lendbridge.domain.loans import AchDetails
    from lendbridge.wiring.lending import build_lending_services

    for variable, value in {
        "MAIN_TABLE": "main-table",
        "AUDIT_TABLE": "audit-table",
        "IDEMPOTENCY_TABLE": "idempotency-table",
        "BANK_DATA_KEY_ID": "alias/bank",
        "PAGINATION_SECRET_ID": "pagination",
        "IDEMPOTENCY_SECRET_ID": "idempotency",
    }.items():
        monkeypatch.setenv(variable, value)
    asked: list[str] = []

    def make_client(service: str) -> Any:
        asked.append(service)
        return FakeKms() if service == "kms" else object()

    services = build_lending_services(make_client=make_client)
    assert asked == ["dynamodb"]  # what every loans and lender route needs; no KMS client yet

    sealed = services.lending.vault.seal("L1", "P1", AchDetails("Ada Lovelace", "011000015", "12345678", "checking"))
    services.lending.vault.seal("L1", "P2", AchDetails("Ada Lovelace", "011000015", "87654321", "checking"))

    assert asked == ["dynamodb", "kms"]
    assert sealed.key_id == "alias/bank"
    assert sealed.ciphertext.startswith(b"sealed:")
