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
from typing import Any, cast

from lendbridge.data import keys
from lendbridge.data.items import audited_participant, participant_item
from lendbridge.data.transactions import Transaction
from lendbridge.domain.loans import Participant
from lendbridge.domain.ports import Actor, IdGenerator
from lendbridge.timestamps import iso
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

    def _add(self, txn: Transaction, conversion: Conversion, now_iso: str) -> None:
        """One conversion's actions, each tagged with the conversion and its role in it."""
        participant = conversion.participant
        txn.put(participant_item(participant), tag=(conversion, "participant"))
        pk, sk = conversion.old_key
        txn.update(
            (pk, sk),
            "SET #mark = :pid, migrated_at = :now",
            "attribute_exists(PK) AND attribute_not_exists(#mark) "
            "AND #status = :status AND contribution_amount = :amount",
            names={"#mark": MIGRATED_MARK, "#status": "status"},
            values={
                ":pid": participant.participant_id,
                ":now": now_iso,
                ":status": conversion.old_status,
                ":amount": conversion.old_amount,
            },
            tag=(conversion, "source"),
        )
        if participant.is_live:
            # The guard item invitations took when these rows were written: a loan from then
            # keeps them until its first invitation since builds its set of live invitees from
            # the participant items (data/loan_writes.py), so both refuse the same duplicates.
            txn.put(
                _guard_item(participant),
                "attribute_not_exists(PK) OR active = :inactive",
                values={":inactive": False},
                tag=(conversion, "guard"),
            )
        if self._audit_table is not None:
            after = {**(audited_participant(participant) or {}), "migrated_from": conversion.old_key[1]}
            txn.audit(
                ACTOR,
                now_iso,
                "participant",
                participant.participant_id,
                "CREATE",
                None,
                after,
                scope_pk=keys.loan_pk(participant.loan_id),
            )

    def _transact(self, group: list[Conversion], now_iso: str) -> dict[Conversion, SkipReason | None] | None:
        """None when written; else the conversions whose conditions failed, each with why
        (None: it was already migrated). An empty dict: cancelled for no condition, retry."""
        txn = Transaction(self._client, self._table, audit_table=self._audit_table, new_id=self._new_id)
        for conversion in group:
            self._add(txn, conversion, now_iso)
        cancelled = txn.send()
        if cancelled is None:
            return None
        failed_roles: dict[Conversion, set[str]] = {}
        for reason in cancelled.failed:
            conversion, role = cast(tuple[Conversion, str], reason.tag)
            failed_roles.setdefault(conversion, set()).add(role)
        return {conversion: _why(roles) for conversion, roles in failed_roles.items()}


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


def _guard_item(participant: Participant) -> dict[str, Any]:
    invited = iso(participant.invited_at)
    return {
        "PK": keys.loan_pk(participant.loan_id),
        "SK": keys.invitee_sk(participant.lender_email),
        "entity": "invitee_guard",
        "participant_id": participant.participant_id,
        "active": True,
        "created_at": invited,
        "created_by": participant.created_by,
        "updated_at": invited,
        "updated_by": participant.created_by,
        "version": 1,
    }
