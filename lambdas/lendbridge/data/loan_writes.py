"""Writing loans and their participants: every change is one transaction, built with
``Transaction``: the loan (conditional on the version that was read, and on ``remaining`` for
new money), the participants, the invitee guards that keep an email on a loan once, the
sealed bank account and the audit entries. Versions and funding points follow from the
table's stream (``lendbridge.data.history``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from lendbridge.data import keys
from lendbridge.data.audit import Action
from lendbridge.data.items import (
    audited_loan,
    audited_participant,
    lender_partition,
    lender_sort_key,
    loan_item,
    loan_state,
    participant_item,
    roster_entry,
    roster_name,
)
from lendbridge.data.transactions import CONDITION_FAILED, Cancellation, Transaction, loan_conflict
from lendbridge.domain.loans import (
    Change,
    Lender,
    Loan,
    LoanStatus,
    Participant,
    ParticipantStatus,
    SealedBankAccount,
    VersionConflict,
    changed_fields,
    invitations_refused,
)
from lendbridge.domain.ports import Actor, IdGenerator
from lendbridge.timestamps import iso

# Written with arithmetic in the update expression, so the database, not Python, moves money.
_RUNNING_TOTALS = ("total_invited", "remaining", "total_funded")
# The loan attributes a write may remove (a None in the new state); any other None is a bug
# upstream, and writing it would leave a loan that no read can load.
_OPTIONAL_LOAN_ATTRIBUTES = frozenset(
    {
        "purpose",
        "change_reason",
        "deleted_at",
        "deleted_by",
        "deletion_reason",
        "average_contribution",
        "largest_contribution",
        "smallest_contribution",
    }
)


class DynamoLoanWrites:
    def __init__(self, client: Any, table: str, audit_table: str, new_id: IdGenerator) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id

    def apply(self, change: Change, actor: Actor, *, bank: SealedBankAccount | None = None) -> None:
        """Write one change atomically, or raise VersionConflict / InviteeAlreadyOnLoan."""
        timestamp = iso(change.after.updated_at)
        txn = self._transaction()
        self._loan_action(txn, change)
        for participant in change.created:
            self._invite(txn, participant, actor, timestamp)
        for before, after in change.updated:
            _participant_update(txn, before, after)
            if after.status in (ParticipantStatus.DECLINED, ParticipantStatus.REMOVED):
                txn.release(after)
            action: Action = "DELETE" if after.status == ParticipantStatus.REMOVED else "UPDATE"
            self._audit(
                txn,
                actor,
                timestamp,
                "participant",
                after.participant_id,
                action,
                audited_participant(before),
                audited_participant(after),
                after.loan_id,
            )
        if bank is not None:
            txn.put(_bank_item(change.after, bank, actor))
        loan_action: Action = (
            "CREATE"
            if change.before is None
            else ("DELETE" if change.after.status == LoanStatus.CANCELLED else "UPDATE")
        )
        fields = change.changed_fields or changed_fields(change.before, change.after)
        self._audit(
            txn,
            actor,
            timestamp,
            "loan",
            change.after.loan_id,
            loan_action,
            audited_loan(change.before, fields),
            audited_loan(change.after, fields),
            change.after.loan_id,
        )
        txn.commit(loan_conflict)

    def add_participants(self, loan: Loan, created: Sequence[Participant], actor: Actor, now: datetime) -> None:
        """Invite lenders without locking the loan: DynamoDB itself moves the running totals
        and refuses the write unless ``remaining`` still covers the new contributions and
        ``open_slots`` the new participants (the cap), so concurrent requests never
        over-commit, never exceed the cap and never retry."""
        now_iso = iso(now)
        added = sum((p.contribution_amount for p in created), Decimal("0"))
        count = len(created)
        increments = {
            "total_invited": added,
            "pending_count": count,
            "participant_count": count,
            "open_slots": -count,
            "version": 1,
        }
        roster_names = {f"#r{index}": roster_name(p.participant_id) for index, p in enumerate(created)}
        roster_values = {f":r{index}": roster_entry(p) for index, p in enumerate(created)}
        roster = "".join(f", #r{index} = :r{index}" for index in range(count))
        txn = self._transaction()
        txn.update(
            (keys.loan_pk(loan.loan_id), keys.LOAN),
            "SET #rem = #rem - :added, #slots = if_not_exists(#slots, :slots) - :n, "
            f"updated_at = :now, updated_by = :by{roster} REMOVE change_reason "
            "ADD total_invited :added, pending_count :n, participant_count :n, #version :one",
            # A loan written before the cap existed has no ``open_slots``: it gets the figure
            # computed from what was read, valid only if nothing changed since.
            "#status = :open AND borrower_id = :by AND #rem >= :added AND "
            "(#slots >= :n OR (attribute_not_exists(#slots) AND #version = :read))",
            names={
                "#rem": "remaining",
                "#slots": "open_slots",
                "#version": "version",
                "#status": "status",
                **roster_names,
            },
            values={
                **roster_values,
                ":added": added,
                ":n": count,
                ":one": 1,
                ":slots": loan.open_slots,
                ":read": loan.version,
                ":now": now_iso,
                ":by": actor.user_id,
                ":open": "FUNDING",
            },
            return_old=True,
        )
        for participant in created:
            txn.put(participant_item(participant))
            txn.guard(participant)
        # One entry for the request (not one per lender: each is 2 write units in a transaction):
        # the increments DynamoDB applied and every invitation made. The exact resulting
        # figures are in the version history, which the table's stream writes from the new image.
        invited = [{"participant_id": p.participant_id, **(audited_participant(p) or {})} for p in created]
        self._audit(
            txn,
            actor,
            now_iso,
            "loan",
            loan.loan_id,
            "UPDATE",
            None,
            {"increments": increments, "participants_invited": invited},
            loan.loan_id,
        )

        def refused(cancellation: Cancellation) -> Exception | None:
            """Why the loan refused, from the loan as it was (ALL_OLD)."""
            first = cancellation.reasons[0] if cancellation.reasons else None
            if first is None or first.code != CONDITION_FAILED:
                return loan_conflict(cancellation)
            old = first.old_item or {}
            return invitations_refused(
                status=str(old.get("status")) if old else None,
                remaining=Decimal(old.get("remaining", 0)),
                open_slots=int(old["open_slots"]) if "open_slots" in old else None,
                added=added,
                count=count,
            )

        txn.commit(refused)

    def claim(self, participant: Participant, lender: Lender, actor: Actor, now: datetime) -> bool:
        """Make an email's invitation the new user's: same participant id, lender filled in place."""
        claimed = replace(
            participant,
            lender_id=lender.user_id,
            lender_name=lender.full_name,
            version=participant.version + 1,
            updated_at=now,
            updated_by=actor.user_id,
        )
        txn = self._transaction()
        txn.put(
            participant_item(claimed),
            "#version = :pv AND attribute_not_exists(lender_id)",
            names={"#version": "version"},
            values={":pv": participant.version},
        )
        # The loan's roster shows the lender too. Not conditioned: the participant's own
        # condition already refuses a claim that lost a race, and a loan from before the roster
        # merely gains an entry.
        txn.update(
            (keys.loan_pk(participant.loan_id), keys.LOAN),
            "SET #entry = :entry",
            "attribute_exists(PK)",
            names={"#entry": roster_name(participant.participant_id)},
            values={":entry": roster_entry(claimed)},
        )
        self._audit(
            txn,
            actor,
            iso(now),
            "participant",
            participant.participant_id,
            "UPDATE",
            {"lender_id": None},
            {"lender_id": lender.user_id},
            participant.loan_id,
        )
        try:
            txn.commit(loan_conflict)
        except VersionConflict:
            return False
        return True

    # ---- helpers -----------------------------------------------------------------------

    def _transaction(self) -> Transaction:
        return Transaction(self._client, self._table, audit_table=self._audit_table, new_id=self._new_id)

    def _invite(self, txn: Transaction, participant: Participant, actor: Actor, timestamp: str) -> None:
        """A new invitation's actions: the participant, its email's guard and its audit entry."""
        txn.put(participant_item(participant))
        txn.guard(participant)
        self._audit(
            txn,
            actor,
            timestamp,
            "participant",
            participant.participant_id,
            "CREATE",
            None,
            audited_participant(participant),
            participant.loan_id,
        )

    def _audit(
        self,
        txn: Transaction,
        actor: Actor,
        timestamp: str,
        entity: str,
        entity_id: str,
        action: Action,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        loan_id: str,
    ) -> None:
        """Filed under the loan, so one query reads a loan's whole audit log."""
        txn.audit(actor, timestamp, entity, entity_id, action, before, after, scope_pk=keys.loan_pk(loan_id))

    def _loan_action(self, txn: Transaction, change: Change) -> None:
        after = change.after
        if change.before is None:
            txn.put(loan_item(after))
            return
        before = change.before
        invited = after.total_invited - before.total_invited
        funded = after.total_funded - before.total_funded
        # An attribute the stored loan had already lost (read as None) is left as it is: a
        # damaged loan stays cancellable; only removing one it still has is refused.
        lost = {k for k, v in loan_state(before).items() if v is None}
        state = {
            k: v for k, v in loan_state(after).items() if k not in _RUNNING_TOTALS and (v is not None or k not in lost)
        }
        names = {f"#{k}": k for k in state}
        values: dict[str, Any] = {f":{k}": v for k, v in state.items() if v is not None}
        assignments = [f"#{k} = :{k}" for k, v in state.items() if v is not None]
        removals = [f"#{k}" for k in _removals(state)]
        names.update({"#ti": "total_invited", "#rem": "remaining", "#tf": "total_funded"})
        values.update({":invited": invited, ":funded": funded, ":expected": before.version})
        assignments += ["#ti = #ti + :invited", "#rem = #rem - :invited", "#tf = #tf + :funded"]
        condition = "#version = :expected"
        if invited > 0:
            condition += " AND #rem >= :invited"  # the money rule, enforced by DynamoDB
        if after.status == LoanStatus.CANCELLED:
            # A cancelled loan leaves the borrower's lists: drop its index keys (sparse indexes).
            removals += ["GSI1PK", "GSI1SK", "GSI3PK", "GSI3SK"]
        # The roster moves in the same write as the participants it mirrors.
        for index, (_, participant) in enumerate(change.updated):
            name = f"#r{index}"
            names[name] = roster_name(participant.participant_id)
            if participant.status == ParticipantStatus.REMOVED:
                removals.append(name)
            else:
                values[f":r{index}"] = roster_entry(participant)
                assignments.append(f"{name} = :r{index}")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        txn.update((keys.loan_pk(after.loan_id), keys.LOAN), expression, condition, names=names, values=values)


def _participant_update(txn: Transaction, before: Participant, after: Participant) -> None:
    """A participant's status change, in place: the attributes it moves, nothing read from the
    roster overwrites the rest of the item. Its rows leave the borrower index (an item from
    before the roster still has those keys) and, once removed, the lender's lists."""
    names = {"#version": "version", "#status": "status"}
    values: dict[str, Any] = {
        ":pv": before.version,
        ":ps": before.status.value,
        ":v": after.version,
        ":s": after.status.value,
        ":now": iso(after.updated_at or after.invited_at),
        ":by": after.updated_by,
    }
    assignments = ["#version = :v", "#status = :s", "updated_at = :now", "updated_by = :by"]
    removals = ["GSI1PK", "GSI1SK"]
    if after.responded_at is not None:
        assignments.append("responded_at = :responded")
        values[":responded"] = iso(after.responded_at)
    if after.bank is not None:
        assignments.append("bank = :bank")
        values[":bank"] = participant_item(after)["bank"]
    if after.status == ParticipantStatus.REMOVED:
        removals += ["GSI2PK", "GSI2SK"]
    else:
        assignments += ["GSI2PK = :lpk", "GSI2SK = :lsk"]
        values.update({":lpk": lender_partition(after), ":lsk": lender_sort_key(after)})
    txn.update(
        (keys.loan_pk(after.loan_id), keys.participant_sk(after.participant_id)),
        "SET " + ", ".join(assignments) + " REMOVE " + ", ".join(removals),
        "#version = :pv AND #status = :ps",
        names=names,
        values=values,
    )


def _bank_item(loan: Loan, bank: SealedBankAccount, actor: Actor) -> dict[str, Any]:
    return {
        "PK": keys.loan_pk(loan.loan_id),
        "SK": keys.bank_sk(bank.participant_id),
        "entity": "bank_account",
        "participant_id": bank.participant_id,
        "ciphertext": bank.ciphertext,
        "key_id": bank.key_id,
        "created_at": iso(loan.updated_at),
        "created_by": actor.user_id,
        "updated_at": iso(loan.updated_at),
        "updated_by": actor.user_id,
        "version": 1,
    }


def _removals(state: dict[str, Any]) -> list[str]:
    """The attributes a loan update removes; refuses, before anything is written, to remove one
    that every loan must have."""
    absent = [name for name, value in state.items() if value is None]
    required = sorted(set(absent) - _OPTIONAL_LOAN_ATTRIBUTES)
    if required:
        raise ValueError(f"Refusing to remove required loan attributes: {', '.join(required)}")
    return absent
