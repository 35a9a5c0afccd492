"""Loans, participants, their history and funding points in the main table.

Every change is one TransactWriteItems: the loan (conditional on the version that was read,
and on ``remaining`` for new money), the participants, the invitee guards that keep an email
on a loan once, the version snapshot, the funding point and the audit entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data import keys
from lendbridge.data.audit import audit_entry_of, audit_put
from lendbridge.data.dynamo import (
    batch_get,
    cancellation_codes,
    error_code,
    from_item,
    put_action,
    to_item,
    to_values,
    translated_errors,
)
from lendbridge.data.history import point_of, version_of
from lendbridge.data.items import (
    GUARD_CONDITION,
    DamagedItem,
    audited_participant,
    invitee_guard_item,
    loan_item,
    loan_of,
    loan_state,
    participant_item,
    participant_of,
    readable,
    report_damaged,
)
from lendbridge.data.users import profile_of as user_profile
from lendbridge.domain.history import AuditEntry, FundingPoint, HistoryKind, VersionRecord
from lendbridge.domain.loans import (
    Change,
    InsufficientRoom,
    InviteeAlreadyOnLoan,
    Lender,
    Loan,
    Participant,
    ParticipantStatus,
    SealedBankAccount,
    VersionConflict,
    changed_fields,
    too_many_participants,
)
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor, IdGenerator, InvitationContext
from lendbridge.errors import Conflict
from lendbridge.timestamps import iso

_HIGH = "\uffff"
_HISTORY_PREFIXES = {HistoryKind.VERSION: keys.VERSION_PREFIX, HistoryKind.FUNDING: keys.FUNDING_PREFIX}
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


class DynamoLoanStore:
    def __init__(self, client: Any, table: str, audit_table: str, new_id: IdGenerator) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id

    # ---- reads -------------------------------------------------------------------------

    def get(self, loan_id: str) -> Loan | None:
        """The loan with its participants, strongly consistent, in one query."""
        items = self._query_all(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND SK BETWEEN :loan AND :parts",
            ExpressionAttributeValues=to_values(
                {":pk": keys.loan_pk(loan_id), ":loan": keys.LOAN, ":parts": f"PART#{_HIGH}"}
            ),
            ConsistentRead=True,
        )
        loan_items = [item for item in items if item["SK"] == keys.LOAN]
        if not loan_items:
            return None
        participants = tuple(
            readable((item for item in items if item["SK"].startswith("PART#")), participant_of, "participant")
        )
        return loan_of(loan_items[0], _newest_first(participants))

    def invitation_context(
        self, emails: Sequence[str], *, loan_id: str | None = None, profile_of: str | None = None
    ) -> InvitationContext:
        """Everything adding lenders needs, in one BatchGetItem: the loan, which of the emails
        are already on it, which belong to registered users, and the caller's profile."""
        wanted: list[dict[str, str]] = []
        if loan_id:
            wanted.append({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN})
            wanted += [{"PK": keys.loan_pk(loan_id), "SK": keys.invitee_sk(email)} for email in emails]
        if profile_of:
            wanted.append({"PK": keys.user_pk(profile_of), "SK": keys.PROFILE})
        wanted += [{"PK": keys.email_pk(email), "SK": keys.PROFILE} for email in emails]
        found = {(item["PK"], item["SK"]): item for item in self._batch_get(wanted)}
        loan = found.get((keys.loan_pk(loan_id), keys.LOAN)) if loan_id else None
        on_loan = frozenset(
            email
            for email in emails
            if loan_id and found.get((keys.loan_pk(loan_id), keys.invitee_sk(email)), {}).get("active")
        )
        users = {
            email: Lender(user_id=item["user_id"], full_name=item["full_name"])
            for email in emails
            if (item := found.get((keys.email_pk(email), keys.PROFILE)))
        }
        profile = found.get((keys.user_pk(profile_of), keys.PROFILE)) if profile_of else None
        return InvitationContext(
            loan_of(loan) if loan else None, on_loan, users, user_profile(profile) if profile else None
        )

    def borrower_page(self, borrower_id: str, limit: int, position: Position | None) -> Page[Loan]:
        """A page of the borrower's loans with participants, newest first, in two queries:
        the loans' keys from a keys-only index, then exactly their item collection."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.BORROWER_LOANS,
            "KeyConditionExpression": "GSI3PK = :b",
            "ExpressionAttributeValues": to_values({":b": keys.borrower_key(borrower_id)}),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if position:
            request["ExclusiveStartKey"] = to_item(
                {
                    "PK": position["pk"],
                    "SK": keys.LOAN,
                    "GSI3PK": keys.borrower_key(borrower_id),
                    "GSI3SK": position["ik"],
                }
            )
        with translated_errors():
            found = [from_item(item) for item in self._client.query(**request)["Items"]]
        page, more = found[:limit], len(found) > limit
        if not page:
            return Page([], None)
        items = self._query_all(
            TableName=self._table,
            IndexName=keys.BORROWER_COLLECTION,
            KeyConditionExpression="GSI1PK = :b AND GSI1SK BETWEEN :low AND :high",
            ExpressionAttributeValues=to_values(
                {":b": keys.borrower_key(borrower_id), ":low": page[-1]["GSI3SK"], ":high": f"{page[0]['GSI3SK']}#~"}
            ),
            ScanIndexForward=False,
        )
        loans = _assemble(items)
        ordered = [loans[item["PK"]] for item in page if item["PK"] in loans]
        last = page[-1]
        return Page(ordered, {"pk": last["PK"], "ik": last["GSI3SK"]} if more else None)

    def lender_page(
        self, lender_id: str, status: ParticipantStatus, limit: int, position: Position | None
    ) -> Page[tuple[Participant, Loan]]:
        """A lender's participations in one status, newest first, with their loans (two calls)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.LENDER_INVITATIONS,
            "KeyConditionExpression": "GSI2PK = :l AND begins_with(GSI2SK, :status)",
            "ExpressionAttributeValues": to_values({":l": keys.lender_key(lender_id), ":status": f"{status.value}#"}),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if position:
            request["ExclusiveStartKey"] = to_item(
                {
                    "PK": position["pk"],
                    "SK": position["sk"],
                    "GSI2PK": keys.lender_key(lender_id),
                    "GSI2SK": position["ik"],
                }
            )
        with translated_errors():
            found = [from_item(item) for item in self._client.query(**request)["Items"]]
        page, more = found[:limit], len(found) > limit
        participants = list(readable(page, participant_of, "participant"))
        loan_items = self._batch_get(
            [
                {"PK": keys.loan_pk(loan_id), "SK": keys.LOAN}
                for loan_id in dict.fromkeys(p.loan_id for p in participants)
            ]
        )
        loans = {loan.loan_id: loan for loan in readable(loan_items, loan_of, "loan")}
        rows = [(p, loans[p.loan_id]) for p in participants if p.loan_id in loans]
        last = page[-1] if page else None
        next_position = {"pk": last["PK"], "sk": last["SK"], "ik": last["GSI2SK"]} if more and last else None
        return Page(rows, next_position)

    def find_participant(self, participant_id: str) -> tuple[Loan, Participant] | None:
        with translated_errors():
            keys_found = self._client.query(
                TableName=self._table,
                IndexName=keys.PARTICIPANT_BY_ID,
                KeyConditionExpression="GSI4PK = :p",
                ExpressionAttributeValues=to_values({":p": f"PARTICIPANT#{participant_id}"}),
            )["Items"]
        if not keys_found:
            return None
        located = from_item(keys_found[0])
        items = {
            item["SK"]: item
            for item in self._batch_get(
                [{"PK": located["PK"], "SK": keys.LOAN}, {"PK": located["PK"], "SK": located["SK"]}]
            )
        }
        if keys.LOAN not in items or located["SK"] not in items:
            return None
        participant = next(readable([items[located["SK"]]], participant_of, "participant"), None)
        return (loan_of(items[keys.LOAN]), participant) if participant else None

    def header(self, loan_id: str) -> Loan | None:
        """The loan item alone (no participants), strongly consistent."""
        with translated_errors():
            item = self._client.get_item(
                TableName=self._table, Key=to_item({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN}), ConsistentRead=True
            ).get("Item")
        return loan_of(from_item(item)) if item else None

    def versions_page(self, loan_id: str, limit: int, position: Position | None) -> Page[VersionRecord]:
        page = self._history(HistoryKind.VERSION, loan_id, limit, position)
        return Page(list(readable(page.items, version_of, "loan_version")), page.next_position)

    def funding_page(self, loan_id: str, limit: int, position: Position | None) -> Page[FundingPoint]:
        page = self._history(HistoryKind.FUNDING, loan_id, limit, position)
        return Page(list(readable(page.items, point_of, "funding_point")), page.next_position)

    def audit_page(self, loan_id: str, limit: int, position: Position | None) -> Page[AuditEntry]:
        """A loan's audit entries (its own and its participants'), newest first."""
        page = self._page(
            table=self._audit_table,
            key_condition="PK = :pk",
            values={":pk": keys.loan_pk(loan_id)},
            limit=limit,
            position=position,
            newest_first=True,
        )
        return Page(list(readable(page.items, audit_entry_of, "audit_entry")), page.next_position)

    def _history(self, kind: HistoryKind, loan_id: str, limit: int, position: Position | None) -> Page[dict[str, Any]]:
        """A page of a loan's version or funding items: versions newest first, points oldest first."""
        return self._page(
            table=self._table,
            key_condition="PK = :pk AND begins_with(SK, :kind)",
            values={":pk": keys.loan_pk(loan_id), ":kind": _HISTORY_PREFIXES[kind]},
            limit=limit,
            position=position,
            newest_first=kind == HistoryKind.VERSION,
        )

    def _page(
        self,
        *,
        table: str,
        key_condition: str,
        values: dict[str, Any],
        limit: int,
        position: Position | None,
        newest_first: bool,
    ) -> Page[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_values(values),
            "ScanIndexForward": not newest_first,
            "Limit": limit + 1,
            "ConsistentRead": True,
        }
        if position:
            request["ExclusiveStartKey"] = to_item({"PK": position["pk"], "SK": position["sk"]})
        with translated_errors():
            found = [from_item(item) for item in self._client.query(**request)["Items"]]
        page = found[:limit]
        more = len(found) > limit
        return Page(page, {"pk": page[-1]["PK"], "sk": page[-1]["SK"]} if more else None)

    def invitations_page(self, email_digest: str, limit: int, position: Position | None) -> Page[Participant]:
        """One page of the invitations sent to an email that had no account (claimed once it is
        verified), found by the email's digest. The position stays inside the claim worker."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.LENDER_INVITATIONS,
            "KeyConditionExpression": "GSI2PK = :i",
            "ExpressionAttributeValues": to_values({":i": keys.invitee_key_of_digest(email_digest)}),
            "Limit": limit,
        }
        if position:
            request["ExclusiveStartKey"] = to_item(position)
        with translated_errors():
            response = self._client.query(**request)
        last = response.get("LastEvaluatedKey")
        invitations = list(readable(response["Items"], participant_of, "participant"))
        return Page(invitations, from_item(last) if last else None)

    # ---- writes ------------------------------------------------------------------------

    def apply(self, change: Change, actor: Actor, *, bank: SealedBankAccount | None = None) -> None:
        """Write one change atomically, or raise VersionConflict / InviteeAlreadyOnLoan."""
        timestamp = iso(change.after.updated_at)
        actions: list[dict[str, Any]] = [self._loan_action(change)]
        guards: dict[int, str] = {}
        for participant in change.created:
            self._invite(actions, guards, participant, actor, timestamp)
        for before, after in change.updated:
            actions.append(
                self._put(
                    participant_item(after),
                    "#version = :pv AND #status = :ps",
                    names={"#version": "version", "#status": "status"},
                    values={":pv": before.version, ":ps": before.status.value},
                )
            )
            if after.status in (ParticipantStatus.DECLINED, ParticipantStatus.REMOVED):
                actions.append(self._guard_release(after))
            action = "DELETE" if after.status == ParticipantStatus.REMOVED else "UPDATE"
            actions.append(
                self._audit(
                    actor,
                    timestamp,
                    "participant",
                    after.participant_id,
                    action,
                    audited_participant(before),
                    audited_participant(after),
                    after.loan_id,
                )
            )
        if bank is not None:
            actions.append(self._put(self._bank_item(change.after, bank, actor), "attribute_not_exists(PK)"))
        loan_action = (
            "CREATE" if change.before is None else ("DELETE" if change.after.status.value == "CANCELLED" else "UPDATE")
        )
        fields = change.changed_fields or changed_fields(change.before, change.after)
        actions.append(
            self._audit(
                actor,
                timestamp,
                "loan",
                change.after.loan_id,
                loan_action,
                _pick(loan_state(change.before), fields) if change.before else None,
                _pick(loan_state(change.after), fields),
                change.after.loan_id,
            )
        )
        self._transact(actions, guards)

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
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": to_item({"PK": keys.loan_pk(loan.loan_id), "SK": keys.LOAN}),
                    "UpdateExpression": (
                        "SET #rem = #rem - :added, #slots = if_not_exists(#slots, :slots) - :n, "
                        "updated_at = :now, updated_by = :by REMOVE change_reason "
                        "ADD total_invited :added, pending_count :n, participant_count :n, #version :one"
                    ),
                    # A loan written before the cap existed has no ``open_slots``: it gets the
                    # figure computed from what was read, valid only if nothing changed since.
                    "ConditionExpression": (
                        "#status = :open AND borrower_id = :by AND #rem >= :added AND "
                        "(#slots >= :n OR (attribute_not_exists(#slots) AND #version = :read))"
                    ),
                    "ExpressionAttributeNames": {
                        "#rem": "remaining",
                        "#slots": "open_slots",
                        "#version": "version",
                        "#status": "status",
                    },
                    "ExpressionAttributeValues": to_values(
                        {
                            ":added": added,
                            ":n": count,
                            ":one": 1,
                            ":slots": loan.open_slots,
                            ":read": loan.version,
                            ":now": now_iso,
                            ":by": actor.user_id,
                            ":open": "FUNDING",
                        }
                    ),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]
        guards: dict[int, str] = {}
        for participant in created:
            self._invite(actions, guards, participant, actor, now_iso)
        # The loan's entry records the increments DynamoDB applied; the exact resulting figures
        # are in the version history, which the table's stream writes from the new image.
        actions.append(
            self._audit(actor, now_iso, "loan", loan.loan_id, "UPDATE", None, {"increments": increments}, loan.loan_id)
        )
        self._transact(actions, guards, refused=lambda error: _raise_refusal(error, added, count))

    def claim(self, participant: Participant, lender: Lender, actor: Actor, now: datetime) -> bool:
        """Make an email's invitation the new user's: same participant id, lender filled in place."""
        now_iso = iso(now)
        claimed = participant_of(
            {
                **participant_item(participant),
                "lender_id": lender.user_id,
                "lender_name": lender.full_name,
                "version": participant.version + 1,
                "updated_at": now_iso,
                "updated_by": actor.user_id,
            }
        )
        actions = [
            self._put(
                participant_item(claimed),
                "#version = :pv AND attribute_not_exists(lender_id)",
                names={"#version": "version"},
                values={":pv": participant.version},
            ),
            self._audit(
                actor,
                now_iso,
                "participant",
                participant.participant_id,
                "UPDATE",
                {"lender_id": None},
                {"lender_id": lender.user_id},
                participant.loan_id,
            ),
        ]
        try:
            self._transact(actions, {})
        except VersionConflict:
            return False
        return True

    # ---- helpers -----------------------------------------------------------------------

    def _invite(
        self,
        actions: list[dict[str, Any]],
        guards: dict[int, str],
        participant: Participant,
        actor: Actor,
        timestamp: str,
    ) -> None:
        """A new invitation's actions: the participant, its email's guard (whose position is
        remembered to name the email if it fails) and its audit entry."""
        actions.append(self._put(participant_item(participant), "attribute_not_exists(PK)"))
        guards[len(actions)] = participant.lender_email
        actions.append(self._guard_put(participant))
        audited = audited_participant(participant)
        actions.append(
            self._audit(
                actor,
                timestamp,
                "participant",
                participant.participant_id,
                "CREATE",
                None,
                audited,
                participant.loan_id,
            )
        )

    def _loan_action(self, change: Change) -> dict[str, Any]:
        after = change.after
        if change.before is None:
            return self._put(loan_item(after), "attribute_not_exists(PK)")
        before = change.before
        invited = after.total_invited - before.total_invited
        funded = after.total_funded - before.total_funded
        state = {k: v for k, v in loan_state(after).items() if k not in _RUNNING_TOTALS}
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
        if after.status.value == "CANCELLED":
            # A cancelled loan leaves the borrower's lists: drop its index keys (sparse indexes).
            removals += ["GSI1PK", "GSI1SK", "GSI3PK", "GSI3SK"]
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item({"PK": keys.loan_pk(after.loan_id), "SK": keys.LOAN}),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_values(values),
            }
        }

    def _put(
        self,
        item: dict[str, Any],
        condition: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return put_action(self._table, item, condition, names=names, values=values)

    def _guard_put(self, participant: Participant) -> dict[str, Any]:
        return self._put(invitee_guard_item(participant), GUARD_CONDITION, values={":inactive": False})

    def _guard_release(self, participant: Participant) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": to_item(
                    {"PK": keys.loan_pk(participant.loan_id), "SK": keys.invitee_sk(participant.lender_email)}
                ),
                "UpdateExpression": "SET active = :inactive, updated_at = :now, updated_by = :by ADD version :one",
                "ConditionExpression": "participant_id = :pid",
                "ExpressionAttributeValues": to_values(
                    {
                        ":inactive": False,
                        ":pid": participant.participant_id,
                        ":one": 1,
                        ":now": iso(participant.updated_at or participant.invited_at),
                        ":by": participant.updated_by,
                    }
                ),
            }
        }

    def _bank_item(self, loan: Loan, bank: SealedBankAccount, actor: Actor) -> dict[str, Any]:
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

    def _audit(
        self,
        actor: Actor,
        timestamp: str,
        entity: str,
        entity_id: str,
        action: Any,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        loan_id: str,
    ) -> dict[str, Any]:
        return audit_put(
            table=self._audit_table,
            audit_id=self._new_id(),
            timestamp=timestamp,
            entity=entity,
            entity_id=entity_id,
            action=action,
            actor=actor,
            before=before,
            after=after,
            scope_pk=keys.loan_pk(loan_id),
        )

    def _transact(
        self,
        actions: list[dict[str, Any]],
        guards: dict[int, str],
        refused: Callable[[ClientError], None] | None = None,
    ) -> None:
        """``refused`` explains a failed condition on the first action (the loan)."""
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed" and refused is not None:
                refused(error)
            for index, code in enumerate(codes):
                if code == "ConditionalCheckFailed" and index in guards:
                    email = guards[index]
                    raise InviteeAlreadyOnLoan(
                        f"Lender {email} is already invited to this loan",
                        field_errors={"lenders": [f"{email} is already invited to this loan"]},
                        details={"email": email},
                    ) from error
            if any(code in ("ConditionalCheckFailed", "TransactionConflict") for code in codes):
                raise VersionConflict("The loan changed while this request ran") from error
            raise

    def _batch_get(self, wanted: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
        return batch_get(self._client, self._table, ((key["PK"], key["SK"]) for key in wanted))

    def _query_all(self, **request: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            with translated_errors():
                response = self._client.query(**request)
            items += [from_item(item) for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _raise_refusal(error: ClientError, added: Decimal, count: int) -> None:
    """Why DynamoDB refused new invitations, from the loan as it was (ALL_OLD)."""
    reasons = error.response.get("CancellationReasons") or [{}]
    old = from_item(reasons[0].get("Item") or {})
    if not old:
        raise VersionConflict("The loan changed while this request ran") from error
    if old.get("status") != "FUNDING":
        raise Conflict(f"The loan is {old.get('status')}; it no longer takes changes") from error
    remaining = Decimal(old.get("remaining", 0))
    if remaining < added:
        raise InsufficientRoom(
            f"Contributions exceed the {remaining:.2f} still open on this loan",
            field_errors={"lenders": [f"Total contributions exceed the remaining amount {remaining:.2f}"]},
            details={"remaining": f"{remaining:.2f}"},
        ) from error
    if "open_slots" in old and int(old["open_slots"]) < count:
        raise too_many_participants(int(old["open_slots"])) from error
    raise VersionConflict("The loan changed while this request ran") from error


def _pick(values: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    return {name: values.get(name) for name in fields}


def _newest_first(participants: tuple[Participant, ...]) -> tuple[Participant, ...]:
    return tuple(sorted(participants, key=lambda p: (p.invited_at, p.participant_id), reverse=True))


def _assemble(items: list[dict[str, Any]]) -> dict[str, Loan]:
    """Loans with their participants; a damaged loan or participant is left out (and logged),
    never the page."""
    loans: dict[str, dict[str, Any]] = {}
    participants: dict[str, list[Participant]] = {}
    for item in items:
        if item["SK"] == keys.LOAN:
            loans[item["PK"]] = item
    parts = (item for item in items if item["SK"].startswith("PART#"))
    for participant in readable(parts, participant_of, "participant"):
        participants.setdefault(keys.loan_pk(participant.loan_id), []).append(participant)
    assembled: dict[str, Loan] = {}
    for pk, item in loans.items():
        try:
            assembled[pk] = loan_of(item, _newest_first(tuple(participants.get(pk, []))))
        except DamagedItem as damaged:
            report_damaged("loan", damaged.key, damaged.problem)
    return assembled


def _removals(state: dict[str, Any]) -> list[str]:
    """The attributes a loan update removes; refuses, before anything is written, to remove one
    that every loan must have."""
    absent = [name for name, value in state.items() if value is None]
    required = sorted(set(absent) - _OPTIONAL_LOAN_ATTRIBUTES)
    if required:
        raise ValueError(f"Refusing to remove required loan attributes: {', '.join(required)}")
    return absent
