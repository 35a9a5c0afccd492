"""The scheduled referential-integrity job: the scanner of the main table."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.data.integrity_scan import IntegrityScanner
from lendbridge.settings import FunctionSettings, TableName

SEGMENTS = 4


class IntegritySettings(FunctionSettings):
    main_table: TableName


def build_scanner() -> IntegrityScanner:
    return IntegrityScanner(client("dynamodb"), IntegritySettings.from_env().main_table, segments=SEGMENTS)
