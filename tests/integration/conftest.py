"""DynamoDB Local, started once per session, with every table created from the synthesized
dev template (the same definitions that deploy)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from local.dynamodb_local import DynamoDBLocal
from local.synth import synthesize
from local.template import Assembly, create_tables


@pytest.fixture(scope="session")
def dev_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    given = os.environ.get("LENDBRIDGE_ASSEMBLY_DIR")
    outdir = Path(given) if given else synthesize(tmp_path_factory.mktemp("cdk.out"))
    return Assembly.load(outdir)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as engine:
        yield engine


@pytest.fixture(scope="session")
def tables(dynamodb_local: DynamoDBLocal, dev_assembly: Assembly) -> dict[str, str]:
    return create_tables(dynamodb_local.client(), dev_assembly)


@pytest.fixture
def dynamodb(dynamodb_local: DynamoDBLocal, tables: dict[str, str]) -> Any:
    """A low-level client on DynamoDB Local with the shared botocore configuration."""
    import boto3

    from lendbridge.aws import BOTO_CONFIG

    return boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=BOTO_CONFIG,
    )


class FakeVault:
    """Stands in for KMS (tested on its own with moto). Its seal carries the numbers and the
    record they are bound to, reversibly but never as plain text, so a test can prove that the
    stored bank record holds exactly what was sealed, and that nothing else can be opened."""

    PREFIX = b"fake-kms:"

    def __init__(self) -> None:
        self.sealed: list[tuple[str, str]] = []

    def seal(self, loan_id: str, participant_id: str, ach: Any) -> Any:
        import base64
        import json

        from lendbridge.domain.loans import SealedBankAccount

        self.sealed.append((loan_id, participant_id))
        plaintext = json.dumps(
            {
                "loan_id": loan_id,
                "participant_id": participant_id,
                "routing_number": ach.routing_number,
                "account_number": ach.account_number,
            }
        ).encode()
        blob = self.PREFIX + base64.b64encode(plaintext[::-1])
        return SealedBankAccount(participant_id=participant_id, ciphertext=blob, key_id="test-key")

    @classmethod
    def open(cls, blob: Any) -> dict[str, str] | None:
        """What ``seal`` put in, or None when ``blob`` is not one of its seals."""
        import base64
        import binascii
        import json

        data = bytes(blob) if isinstance(blob, bytes | bytearray) else str(blob).encode()
        if not data.startswith(cls.PREFIX):
            return None
        try:
            opened: dict[str, str] = json.loads(base64.b64decode(data[len(cls.PREFIX) :], validate=True)[::-1])
        except (ValueError, binascii.Error):
            return None
        return opened


class World:
    """Real stores on DynamoDB Local, with helpers to make users."""

    def __init__(self, dynamodb: Any, tables: dict[str, str], stream: Any = None) -> None:
        from lendbridge.data.loans import DynamoLoanStore
        from lendbridge.data.users import DynamoUserStore
        from lendbridge.domain.lending import InvitationClaims, Lending
        from lendbridge.domain.ports import new_id, utc_now

        self.dynamodb = dynamodb
        self.tables = tables
        self.users = DynamoUserStore(dynamodb, tables["MainTable"], tables["AuditTable"], new_id)
        self.store = DynamoLoanStore(dynamodb, tables["MainTable"], tables["AuditTable"], new_id)
        self.vault = FakeVault()
        self.lending = Lending(store=self.store, vault=self.vault, clock=utc_now, new_id=new_id)
        self.claims = InvitationClaims(self.store, utc_now)
        self.stream = stream

    def process_stream(self) -> int:
        """Run the deployed stream handler over everything written so far."""
        return int(self.stream.drain())

    def user(self, name: str = "user") -> Any:
        import uuid
        from datetime import datetime

        from lendbridge.domain.accounts import UserProfile
        from lendbridge.domain.ports import Actor

        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        profile = UserProfile(str(uuid.uuid4()), email, name.title(), datetime.now(UTC))
        actor = Actor(user_id=profile.user_id, request_id=f"req-{uuid.uuid4().hex[:8]}", ip_address="198.51.100.1")
        self.users.create(profile, actor)
        return profile, actor


@pytest.fixture(scope="session")
def main_table_stream(dynamodb_local: DynamoDBLocal, tables: dict[str, str]) -> Any:
    """The main table's stream feeding the deployed stream handler, with the shared tables."""
    from local.streams import StreamPump

    os.environ["MAIN_TABLE"] = tables["MainTable"]
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_local.endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    from lendbridge.handlers import loan_stream
    from tests.events import FakeContext

    def consume(event: dict[str, Any]) -> None:
        # As Lambda hands it over: JSON (a record the local stack could not encode, such as a
        # binary attribute left as bytes, fails here as it would fail the local stack).
        result = loan_stream.handler(json.loads(json.dumps(event)), FakeContext())
        assert result == {"batchItemFailures": []}, result

    return StreamPump(dynamodb_local.endpoint, tables["MainTable"], consume)


@pytest.fixture
def world(dynamodb: Any, tables: dict[str, str], main_table_stream: Any) -> World:
    return World(dynamodb, tables, main_table_stream)
