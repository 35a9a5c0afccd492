"""The health function: the probes readiness runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lendbridge.aws import client
from lendbridge.data.dynamo import translated_errors
from lendbridge.data.identity import CognitoIdentity
from lendbridge.settings import FunctionSettings, ResourceId, TableName


class HealthSettings(FunctionSettings):
    main_table: TableName
    user_pool_id: ResourceId
    user_pool_client_id: ResourceId


@dataclass(frozen=True)
class Probes:
    checks: dict[str, Callable[[], None]]


def build_probes() -> Probes:
    settings = HealthSettings.from_env()
    dynamodb = client("dynamodb")
    identity = CognitoIdentity(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id)

    def table_readable() -> None:
        with translated_errors():
            dynamodb.get_item(TableName=settings.main_table, Key={"PK": {"S": "HEALTH"}, "SK": {"S": "PROBE"}})

    return Probes(checks={"dynamodb": table_readable, "user_pool": identity.ping})
