"""The loan store on DynamoDB: the ``LoanStore`` port, read by ``DynamoLoanReads`` and written
by ``DynamoLoanWrites`` (one ``Transaction`` per change) on the same tables."""

from __future__ import annotations

from typing import Any

from lendbridge.data.loan_reads import DynamoLoanReads
from lendbridge.data.loan_writes import DynamoLoanWrites
from lendbridge.domain.ports import IdGenerator


class DynamoLoanStore(DynamoLoanReads, DynamoLoanWrites):
    def __init__(self, client: Any, table: str, audit_table: str, new_id: IdGenerator) -> None:
        DynamoLoanReads.__init__(self, client, table, audit_table)
        DynamoLoanWrites.__init__(self, client, table, audit_table, new_id)
