"""The health function: the probes readiness runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lendbridge.aws import client
from lendbridge.data.dynamo import translated_errors
from lendbridge.data.identity import CognitoIdentity
from lendbridge.settings import FunctionSettings, ResourceId, TableName
from lendbridge.wiring.documents import DocumentSettings, readiness_checks


class HealthSettings(FunctionSettings):
    main_table: TableName
    user_pool_id: ResourceId
    user_pool_client_id: ResourceId


@dataclass(frozen=True)
class Probes:
    checks: dict[str, Callable[[], None]]
    # Which reader extracts booking-sheet fields: "local" on the local stack (no Bedrock there).
    extraction_reader: Literal["bedrock", "local"] | None = None


def build_probes() -> Probes:
    settings = HealthSettings.from_env()
    dynamodb = client("dynamodb")
    identity = CognitoIdentity(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id)

    def table_readable() -> None:
        with translated_errors():
            dynamodb.get_item(TableName=settings.main_table, Key={"PK": {"S": "HEALTH"}, "SK": {"S": "PROBE"}})

    documents = DocumentSettings.from_env()
    reader: Literal["bedrock", "local"] = "local" if documents.reader_kind == "local" else "bedrock"
    return Probes(
        checks={"dynamodb": table_readable, "user_pool": identity.ping, **readiness_checks(documents)},
        extraction_reader=reader if documents.bucket else None,
    )
