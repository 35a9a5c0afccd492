"""The main table's stream consumer: the history writer."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.data.history import DynamoHistoryWriter
from lendbridge.settings import FunctionSettings, TableName


class StreamSettings(FunctionSettings):
    main_table: TableName


def build_history_writer() -> DynamoHistoryWriter:
    return DynamoHistoryWriter(client("dynamodb"), StreamSettings.from_env().main_table)
