"""The loans and lender functions: they serve two halves of one API on the same objects, so they
share this composition (and their settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lendbridge.aws import client
from lendbridge.data.bank_vault import KmsBankVault
from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.lending import Lending
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.settings import FunctionSettings, ResourceId, TableName
from lendbridge.wiring.secrets import secret_key
from lendbridge.wiring.stores import loan_store


class LendingSettings(FunctionSettings):
    main_table: TableName
    audit_table: TableName
    idempotency_table: TableName
    bank_data_key_id: ResourceId
    pagination_secret_id: ResourceId
    idempotency_secret_id: ResourceId


@dataclass
class LendingServices:
    lending: Lending
    cursors: SignedCursors
    idempotency: Idempotency


def build_lending_services(make_client: Callable[[str], Any] = client) -> LendingServices:
    """``make_client`` lets a benchmark or test hand in instrumented clients."""
    settings = LendingSettings.from_env()
    dynamodb = make_client("dynamodb")

    def persistence() -> Any:
        # Imported on the first keyed request: most requests never reach the idempotency store.
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)

    return LendingServices(
        lending=Lending(
            store=loan_store(dynamodb, settings.main_table, settings.audit_table),
            vault=KmsBankVault(make_client("kms"), settings.bank_data_key_id),
            clock=utc_now,
            new_id=new_id,
        ),
        cursors=SignedCursors(lambda: secret_key(settings.pagination_secret_id), utc_now),
        idempotency=Idempotency(Lazy(persistence), lambda: secret_key(settings.idempotency_secret_id)),
    )
