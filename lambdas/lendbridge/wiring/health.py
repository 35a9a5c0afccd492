"""The health function: the probes readiness runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lendbridge.aws import client
from lendbridge.document_settings import DocumentSettings
from lendbridge.settings import FunctionSettings, ResourceId, TableName


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
    # The adapters probed are imported here, on the first readiness check: liveness, the
    # function's other route, never needs them (about 10 ms of CPU at import).
    from lendbridge.data.dynamo import translated_errors
    from lendbridge.data.identity import CognitoIdentity

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


def readiness_checks(settings: DocumentSettings) -> dict[str, Callable[[], None]]:
    """The bookings module's dependencies: the documents bucket, the extraction queue and, where
    extraction uses Bedrock, the stage's model. The local reader needs nothing remote. None where
    the stage has no documents bucket."""
    if not settings.bucket:
        return {}
    from lendbridge.data.document_storage import S3DocumentStorage
    from lendbridge.data.extraction_queue import SqsExtractionQueue

    storage = S3DocumentStorage(client("s3"), settings.bucket)
    queue = SqsExtractionQueue(client("sqs"), settings.extraction_queue_url)
    checks: dict[str, Callable[[], None]] = {"documents": storage.ping, "extraction_queue": queue.ping}
    if settings.reader_kind == "bedrock":
        bedrock = client("bedrock")

        def model_available() -> None:
            bedrock.get_foundation_model(modelIdentifier=settings.model_id)

        checks["extraction_model"] = model_available
    return checks
