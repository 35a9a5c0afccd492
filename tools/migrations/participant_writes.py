"""Writes converted participants: each one's items in the same transaction, every write conditional.

Per conversion: the new participant (``attribute_not_exists``), its invitee guard if it is live
(the same Put, and condition, that invitations use), the old row marked ``migrated_to``
(conditional on not being marked yet and on its status and amount as read) and, given an audit
table, the audit entry. Several conversions share one TransactWriteItems for speed; a cancelled
transaction names, per action, what failed, so the conversions at fault are classified and the
rest are written again without them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data import keys
from lendbridge.data.audit import audit_put
from lendbridge.data.dynamo import cancellation_codes, error_code, put_action, to_item, to_values, translated_errors
from lendbridge.data.items import GUARD_CONDITION, audited_participant, invitee_guard_item, participant_item
from lendbridge.domain.ports import Actor, IdGenerator
from tools.migrations.legacy_participants import MIGRATED_MARK, MIGRATION_ACTOR, Conversion, SkipReason

# DynamoDB allows 100 actions a transaction; about ten conversions (40 actions) keep round trips
# few while a cancellation (a concurrent write to one of its items) re-sends little.
MAX_TRANSACT_ACTIONS = 40
# Cancellations that name no failed condition (TransactionConflict with a concurrent writer,
# throttling inside the transaction) are retried with backoff this many times, then raised.
MAX_ATTEMPTS = 8
ACTOR = Actor(user_id=MIGRATION_ACTOR, request_id="migration-participant-ids")


@dataclass
class WriteOutcome:
    converted: int = 0
    already_migrated: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    transactions: int = 0


class ConversionWriter:
    def __init__(self, client: Any, table: str, audit_table: str | None, new_id: IdGenerator) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id

    def write(self, conversions: Sequence[Conversion], now_iso: str) -> WriteOutcome:
        outcome = WriteOutcome()
        pending = list(conversions)
        attempts = 0
        while pending:
            group, pending = _next_group(pending, self._action_count)
            failed = self._transact(group, now_iso)
            if failed is None:
                outcome.converted += len(group)
                outcome.transactions += 1
                attempts = 0
                continue
            if not failed:
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    raise RuntimeError(f"A transaction of {len(group)} conversions kept being cancelled")
                time.sleep(min(0.05 * 2**attempts, 2.0))
            for reason in failed.values():
                if reason is None:
                    outcome.already_migrated += 1
                else:
                    outcome.skipped[reason.value] += 1
            # Nothing of a cancelled transaction was written: the rest go again, without the failed.
            pending = [c for c in group if c not in failed] + pending
        return outcome

    def _action_count(self, conversion: Conversion) -> int:
        return 2 + int(conversion.participant.is_live) + int(self._audit_table is not None)

    def _actions(self, conversion: Conversion, now_iso: str) -> list[tuple[str, dict[str, Any]]]:
        participant = conversion.participant
        actions: list[tuple[str, dict[str, Any]]] = [
            ("participant", put_action(self._table, participant_item(participant))),
            ("source", self._mark_source(conversion, now_iso)),
        ]
        if participant.is_live:
            # The same guard a new invitation takes, so a migrated one is guarded exactly alike.
            guard = put_action(
                self._table, invitee_guard_item(participant), GUARD_CONDITION, values={":inactive": False}
            )
            actions.append(("guard", guard))
        if self._audit_table is not None:
            after = {**(audited_participant(participant) or {}), "migrated_from": conversion.old_key[1]}
            audit = audit_put(
                table=self._audit_table,
                audit_id=self._new_id(),
                timestamp=now_iso,
                entity="participant",
                entity_id=participant.participant_id,
                action="CREATE",
                actor=ACTOR,
                before=None,
                after=after,
                scope_pk=keys.loan_pk(participant.loan_id),
            )
            actions.append(("audit", audit))
        return actions

    def _mark_source(self, conversion: Conversion, now_iso: str) -> dict[str, Any]:
        pk, sk = conversion.old_key
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": pk, "SK": sk}),
                "UpdateExpression": "SET #mark = :pid, migrated_at = :now",
                "ConditionExpression": (
                    "attribute_exists(PK) AND attribute_not_exists(#mark) "
                    "AND #status = :status AND contribution_amount = :amount"
                ),
                "ExpressionAttributeNames": {"#mark": MIGRATED_MARK, "#status": "status"},
                "ExpressionAttributeValues": to_values(
                    {
                        ":pid": conversion.participant.participant_id,
                        ":now": now_iso,
                        ":status": conversion.old_status,
                        ":amount": conversion.old_amount,
                    }
                ),
            }
        }

    def _transact(self, group: list[Conversion], now_iso: str) -> dict[Conversion, SkipReason | None] | None:
        """None when written; else the conversions whose conditions failed, each with why
        (None: it was already migrated). An empty dict: cancelled for no condition, retry."""
        owners: list[tuple[Conversion, str]] = []
        actions: list[dict[str, Any]] = []
        for conversion in group:
            for role, action in self._actions(conversion, now_iso):
                owners.append((conversion, role))
                actions.append(action)
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            failed_roles: dict[Conversion, set[str]] = {}
            for (conversion, role), code in zip(owners, cancellation_codes(error), strict=False):
                if code == "ConditionalCheckFailed":
                    failed_roles.setdefault(conversion, set()).add(role)
            return {conversion: _why(roles) for conversion, roles in failed_roles.items()}
        return None


def _why(roles: set[str]) -> SkipReason | None:
    if "source" in roles:
        # Marked already (by an earlier or concurrent run) if its participant exists too;
        # otherwise the old row was changed or removed after it was read.
        return None if "participant" in roles else SkipReason.SOURCE_CHANGED
    if "guard" in roles:
        return SkipReason.DUPLICATE_INVITEE
    # The participant exists but the old row is unmarked: only a hand-made item could do that.
    return SkipReason.PARTICIPANT_EXISTS


def _next_group(
    pending: list[Conversion], action_count: Callable[[Conversion], int]
) -> tuple[list[Conversion], list[Conversion]]:
    """As many conversions as fit in one transaction, never two with the same guard item
    (a transaction may touch an item once); the others keep their order for the next group."""
    group: list[Conversion] = []
    rest: list[Conversion] = []
    used, guards = 0, set()
    for conversion in pending:
        size = action_count(conversion)
        guard = conversion.guard_key if conversion.participant.is_live else None
        if used + size > MAX_TRANSACT_ACTIONS or (guard is not None and guard in guards):
            rest.append(conversion)
            continue
        group.append(conversion)
        used += size
        if guard is not None:
            guards.add(guard)
    return group, rest
