"""Builds the adapters a lending function needs from its environment, on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lendbridge.aws import client
from lendbridge.data.bank_vault import KmsBankVault
from lendbridge.data.cursors import SignedCursors
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.lending import Lending
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.ports import new_id, utc_now
from lendbridge.settings import Settings

SECRET_CACHE_SECONDS = 300


@dataclass
class LendingServices:
    lending: Lending
    cursors: SignedCursors
    idempotency: Idempotency


def build_lending_services(make_client: Callable[[str], Any] = client) -> LendingServices:
    """``make_client`` lets a benchmark or test hand in instrumented clients."""
    settings = Settings.from_env()
    dynamodb = make_client("dynamodb")
    store = DynamoLoanStore(dynamodb, settings.main_table, settings.audit_table, new_id)

    def signing_key() -> bytes:
        # Powertools caches the secret for five minutes; rotation reaches every instance soon.
        secret = parameters.get_secret(settings.pagination_secret_id, max_age=SECRET_CACHE_SECONDS)
        return str(secret).encode()

    persistence = Lazy(lambda: DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb))
    return LendingServices(
        lending=Lending(
            store=store, vault=KmsBankVault(make_client("kms"), settings.bank_data_key_id), clock=utc_now, new_id=new_id
        ),
        cursors=SignedCursors(signing_key, utc_now),
        idempotency=Idempotency(persistence),
    )
