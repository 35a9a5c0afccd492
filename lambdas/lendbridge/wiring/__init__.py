"""Builds the adapters a lending function needs from its environment, on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from lendbridge.aws import client
from lendbridge.data.bank_vault import KmsBankVault
from lendbridge.data.cursors import SignedCursors
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.lending import Lending
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.errors import DependencyUnavailable
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.settings import Settings

SECRET_CACHE_SECONDS = 300
SECRET_RETRY_AFTER_S = 5


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

    persistence = Lazy(lambda: DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb))
    return LendingServices(
        lending=Lending(
            store=store, vault=KmsBankVault(make_client("kms"), settings.bank_data_key_id), clock=utc_now, new_id=new_id
        ),
        cursors=SignedCursors(lambda: secret_key(settings.pagination_secret_id), utc_now),
        idempotency=Idempotency(persistence, lambda: secret_key(settings.idempotency_secret_id)),
    )


def secret_key(secret_id: str) -> bytes:
    """An HMAC key kept in Secrets Manager. Powertools caches it for five minutes, so a rotation
    reaches every instance soon; an unreachable Secrets Manager is a 503 the client may retry."""
    try:
        secret = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)
    except GetParameterError as error:
        raise DependencyUnavailable("Secrets unavailable", retry_after=SECRET_RETRY_AFTER_S) from error
    return str(secret).encode()
