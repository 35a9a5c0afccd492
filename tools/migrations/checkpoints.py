"""Where a migration records how far it got, so an interrupted run resumes there.

A checkpoint holds the scan position after the last finished page (DynamoDB's
``LastEvaluatedKey``, as DynamoDB JSON), the running totals, and whether the run finished.
Either an item in a table (default: the migrated table itself, under ``MIGRATION#<name>``) or a
local JSON file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from lendbridge.data.dynamo import from_item, to_item, translated_errors

Status = Literal["RUNNING", "DONE"]


@dataclass
class Checkpoint:
    status: Status
    last_key: dict[str, Any] | None  # where the next page starts; None: from the beginning
    totals: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    updated_at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        return cls(**json.loads(text))


class CheckpointStore(Protocol):
    def load(self) -> Checkpoint | None: ...

    def save(self, checkpoint: Checkpoint) -> None: ...


class TableCheckpoint:
    """One item, ``PK = MIGRATION#<name>``, ``SK = CHECKPOINT``. Outside every loan, user and
    email partition, so neither the migration's scan nor the integrity rules look at it."""

    def __init__(self, client: Any, table: str, name: str) -> None:
        self._client = client
        self._table = table
        self._key = {"PK": f"MIGRATION#{name}", "SK": "CHECKPOINT"}

    def load(self) -> Checkpoint | None:
        with translated_errors():
            item = self._client.get_item(TableName=self._table, Key=to_item(self._key), ConsistentRead=True).get("Item")
        return Checkpoint.from_json(from_item(item)["state"]) if item else None

    def save(self, checkpoint: Checkpoint) -> None:
        item = {
            **self._key,
            "entity": "migration_checkpoint",
            "status": checkpoint.status,
            "state": checkpoint.to_json(),
            "updated_at": checkpoint.updated_at,
        }
        with translated_errors():
            self._client.put_item(TableName=self._table, Item=to_item(item))


class FileCheckpoint:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self) -> Checkpoint | None:
        return Checkpoint.from_json(self._path.read_text()) if self._path.exists() else None

    def save(self, checkpoint: Checkpoint) -> None:
        # Write then rename: an interruption mid-write leaves the previous checkpoint intact.
        partial = self._path.with_suffix(self._path.suffix + ".partial")
        partial.write_text(checkpoint.to_json())
        os.replace(partial, self._path)
