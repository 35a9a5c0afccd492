"""Version and funding-point items under the loan's partition. Written from the stream, so a
redelivered record writes nothing twice (each item is keyed by the loan version)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data import keys
from lendbridge.data.dynamo import error_code, to_item, translated_errors
from lendbridge.domain.history import FundingPoint, VersionRecord
from lendbridge.timestamps import parse_time


class DynamoHistoryWriter:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, loan_id: str, version: dict[str, Any], point: dict[str, Any] | None) -> None:
        items = [
            {
                "PK": keys.loan_pk(loan_id),
                "SK": keys.version_sk(version["version"]),
                "entity": "loan_version",
                "loan_id": loan_id,
                **version,
                "created_at": version["changed_at"],
                "created_by": version["changed_by"],
            }
        ]
        if point is not None:
            items.append(
                {
                    "PK": keys.loan_pk(loan_id),
                    "SK": keys.funding_sk(point["timestamp"], point["version"]),
                    "entity": "funding_point",
                    "loan_id": loan_id,
                    **point,
                    "created_at": point["timestamp"],
                    "created_by": version["changed_by"],
                }
            )
        for item in items:
            self._put_once(item)

    def _put_once(self, item: dict[str, Any]) -> None:
        try:
            with translated_errors():
                self._client.put_item(
                    TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise


def version_of(item: dict[str, Any]) -> VersionRecord:
    return VersionRecord(
        version=int(item["version"]),
        snapshot=dict(item.get("snapshot", {})),
        changed_fields=tuple(str(name) for name in item.get("changed_fields", [])),
        changed_by=_text(item.get("changed_by")),
        changed_at=parse_time(item.get("changed_at")),
        change_reason=_text(item.get("change_reason")),
    )


def point_of(item: dict[str, Any]) -> FundingPoint:
    return FundingPoint(
        timestamp=_required_time(item["timestamp"]),
        version=int(item["version"]),
        total_funded=Decimal(item["total_funded"]),
        funding_percentage=Decimal(item["funding_percentage"]),
        participant_count=int(item["participant_count"]),
        accepted_count=int(item.get("accepted_count", 0)),
        pending_count=int(item.get("pending_count", 0)),
    )


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _required_time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("missing timestamp")
    return parsed
