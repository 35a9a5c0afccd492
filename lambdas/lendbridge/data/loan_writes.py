"""Writing loans and their participants: every change is one transaction, built with
``Transaction``: the loan (conditional on the version that was read, and on ``remaining`` for
new money, and on its set of live invitees so an email is on a loan once), the participants,
the sealed bank account and the audit entries. Versions and funding points follow from the
table's stream (``lendbridge.data.history``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from lendbridge.data import keys
from lendbridge.data.audit import Action
from lendbridge.data.dynamo import from_item, to_values, translated_errors
from lendbridge.data.items import (
    INVITEES,
    INVITEES_KEPT,
    audited_loan,
    audited_participant,
    invitee_tag,
    is_live,
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
    already_invited,
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


class _InviteesNotKept(Exception):
    """The loan predates its set of live invitees (see ``add_participants``)."""


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
        and refuses the write unless ``remaining`` still covers the new contributions,
        ``open_slots`` the new participants (the cap) and no email is already live on the loan,
        so concurrent requests never over-commit, never exceed the cap, never invite an email
        twice and never retry."""
        try:
            self._invite_all(loan, created, actor, now, live=None)
        except _InviteesNotKept:
            # A loan from before the set: its first invitation builds the set from its
            # participants, valid only if the loan has not changed since it was read.
            live = self._live_tags(loan.loan_id)
            for participant in created:
                if invitee_tag(participant.lender_email) in live:
                    raise already_invited(participant.lender_email) from None
            self._invite_all(loan, created, actor, now, live=live)

    def _invite_all(
        self, loan: Loan, created: Sequence[Participant], actor: Actor, now: datetime, *, live: set[bytes] | None
    ) -> None:
        """One transaction: the loan's update, the participants and one audit entry. ``live``
        None: the loan keeps its set (each new email must be absent from it); else the tags of
        the live participants of a loan from before the set, written whole with the new ones."""
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
        tags = {invitee_tag(p.lender_email): p.lender_email for p in created}
        roster_names = {f"#r{index}": roster_name(p.participant_id) for index, p in enumerate(created)}
        roster_values = {f":r{index}": roster_entry(p) for index, p in enumerate(created)}
        roster = "".join(f", #r{index} = :r{index}" for index in range(count))
        tag_values = {f":t{index}": tag for index, tag in enumerate(tags)}
        if live is None:
            invitees = f"{''.join(f' AND NOT contains(#inv, :t{index})' for index in range(len(tags)))}"
            set_update, set_condition = ", #inv :tags", f"attribute_exists(#kept){invitees}"
            set_values: dict[str, Any] = {**tag_values, ":tags": set(tags)}
        else:
            set_update = ""
            set_condition = "attribute_not_exists(#kept) AND #version = :read"
            set_values = {":all": live | set(tags), ":kept": 1}
            roster += ", #inv = :all, #kept = :kept"
        txn = self._transaction()
        txn.update(
            (keys.loan_pk(loan.loan_id), keys.LOAN),
            "SET #rem = #rem - :added, #slots = if_not_exists(#slots, :slots) - :n, "
            f"updated_at = :now, updated_by = :by{roster} REMOVE change_reason "
            f"ADD total_invited :added, pending_count :n, participant_count :n, #version :one{set_update}",
            # A loan written before the cap existed has no ``open_slots``: it gets the figure
            # computed from what was read, valid only if nothing changed since.
            "#status = :open AND borrower_id = :by AND #rem >= :added AND "
            f"(#slots >= :n OR (attribute_not_exists(#slots) AND #version = :read)) AND {set_condition}",
            names={
                "#rem": "remaining",
                "#slots": "open_slots",
                "#version": "version",
                "#status": "status",
                "#inv": INVITEES,
                "#kept": INVITEES_KEPT,
                **roster_names,
            },
            values={
                **roster_values,
                **set_values,
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
            if old and live is None and not old.get(INVITEES_KEPT):
                return _InviteesNotKept()
            taken = old.get(INVITEES) or set()
            for tag, email in tags.items():
                if tag in taken:
                    return already_invited(email)
            return invitations_refused(
                status=str(old.get("status")) if old else None,
                remaining=Decimal(old.get("remaining", 0)),
                open_slots=int(old["open_slots"]) if "open_slots" in old else None,
                added=added,
                count=count,
            )

        txn.commit(refused)

    def _live_tags(self, loan_id: str) -> set[bytes]:
        """The tags of a loan's live participants, from its participant items (strongly
        consistent): the record every loan has, whatever its age."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :part)",
            "ExpressionAttributeValues": to_values({":pk": keys.loan_pk(loan_id), ":part": keys.participant_sk("")}),
            "ExpressionAttributeNames": {"#status": "status"},
            "ProjectionExpression": "lender_email, #status",
            "ConsistentRead": True,
        }
        live: set[bytes] = set()
        while True:
            with translated_errors():
                page = self._client.query(**request)
            for item in page.get("Items", []):
                row = from_item(item)
                if row.get("status") in (ParticipantStatus.PENDING, ParticipantStatus.ACCEPTED):
                    live.add(invitee_tag(str(row["lender_email"])))
            if "LastEvaluatedKey" not in page:
                return live
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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
        """A new invitation's actions: the participant and its audit entry (its email's place is
        in the new loan's set of invitees)."""
        txn.put(participant_item(participant))
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
            # A cancelled loan leaves the borrower's lists: drop its index keys (a sparse index).
            # GSI3's, on loans stored while that index existed, go too: nothing reads them.
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
        # An email whose invitation stops being live may be invited again. Only a participant
        # that was live holds its email's place: a removed DECLINED one must not free the place
        # of the same email's newer invitation.
        released = {invitee_tag(b.lender_email) for b, a in change.updated if is_live(b) and not is_live(a)}
        if released:
            names["#inv"] = INVITEES
            values[":released"] = released
            expression += " DELETE #inv :released"
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
