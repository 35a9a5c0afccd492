"""The one place a ``DynamoLoanStore`` is built (the lending functions and the claim worker)."""

from __future__ import annotations

from typing import Any

from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.ports import new_id


def loan_store(dynamodb: Any, main_table: str, audit_table: str) -> DynamoLoanStore:
    return DynamoLoanStore(dynamodb, main_table, audit_table, new_id)
