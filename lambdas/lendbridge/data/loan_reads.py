"""Reading loans, their participants, history and audit entries from the main and audit tables.
Every read is strongly consistent where DynamoDB allows it (not on the indexes); an item that
cannot be read is left out of a list (logged and counted), never the whole page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lendbridge.data import keys
from lendbridge.data.audit import audit_entry_of
from lendbridge.data.dynamo import batch_get, from_item, to_item, to_values, translated_errors
from lendbridge.data.history import point_of, version_of
from lendbridge.data.items import (
    INVITEES,
    INVITEES_KEPT,
    DamagedItem,
    invitee_tag,
    is_live,
    loan_of,
    participant_of,
    readable,
    roster_of,
)
from lendbridge.data.users import profile_of as user_profile
from lendbridge.domain.history import AuditEntry, FundingPoint, HistoryKind, VersionRecord
from lendbridge.domain.loans import Lender, Loan, Participant, ParticipantStatus
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import InvitationContext

_HIGH = "\uffff"
_HISTORY_PREFIXES = {HistoryKind.VERSION: keys.VERSION_PREFIX, HistoryKind.FUNDING: keys.FUNDING_PREFIX}


class DynamoLoanReads:
    def __init__(self, client: Any, table: str, audit_table: str) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table

    def get(self, loan_id: str) -> Loan | None:
        """The loan with its participants, strongly consistent: the loan item alone (its roster
        lists the participants), whatever the loan's size; a loan from before the roster is
        read with its item collection."""
        with translated_errors():
            found = self._client.get_item(
                TableName=self._table, Key=to_item({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN}), ConsistentRead=True
            ).get("Item")
        if found is None:
            return None
        item = from_item(found)
        listed = roster_of(item)
        if listed is not None:
            return loan_of(item, _newest_first(listed))
        return self._collection(loan_id)

    def _collection(self, loan_id: str) -> Loan | None:
        """A loan from before the roster, with its participant items, in one query."""
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
        are already on it (from the loan's set of live invitees; for a loan from before the set,
        from its roster, which the write re-checks), which belong to registered users, and the
        caller's profile."""
        wanted: list[dict[str, str]] = []
        if loan_id:
            wanted.append({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN})
        if profile_of:
            wanted.append({"PK": keys.user_pk(profile_of), "SK": keys.PROFILE})
        wanted += [{"PK": keys.email_pk(email), "SK": keys.PROFILE} for email in emails]
        found = {(item["PK"], item["SK"]): item for item in self._batch_get(wanted)}
        loan = found.get((keys.loan_pk(loan_id), keys.LOAN)) if loan_id else None
        on_loan = _live_on(loan, emails) if loan else frozenset()
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
        """A page of the borrower's loans with participants, newest first, in one Query: the
        borrower index holds loan items only, each with its roster. A page over 1 MB takes one
        more call per MB; a loan from before the roster costs one query of its own."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.BORROWER_COLLECTION,
            "KeyConditionExpression": "GSI1PK = :b",
            "ExpressionAttributeValues": to_values({":b": keys.borrower_key(borrower_id)}),
            "ScanIndexForward": False,
        }
        if position:
            request["ExclusiveStartKey"] = to_item(
                {
                    "PK": position["pk"],
                    "SK": keys.LOAN,
                    "GSI1PK": keys.borrower_key(borrower_id),
                    "GSI1SK": position["ik"],
                }
            )
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            # One more than the page, to know whether another page follows.
            request["Limit"] = limit + 1 - len(found)
            with translated_errors():
                response = self._client.query(**request)
            # Participant rows written before the roster still carry borrower-index keys.
            found += [item for item in map(from_item, response["Items"]) if item["SK"] == keys.LOAN]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        page, more = found[:limit], len(found) > limit
        loans = list(readable(page, self._with_participants, "loan"))
        last = page[-1] if page else None
        return Page(loans, {"pk": last["PK"], "ik": last["GSI1SK"]} if more and last else None)

    def _with_participants(self, item: dict[str, Any]) -> Loan:
        listed = roster_of(item)
        if listed is not None:
            return loan_of(item, _newest_first(listed))
        legacy = self._collection(item["loan_id"])
        if legacy is None:
            raise DamagedItem(item, KeyError("loan"))
        return legacy

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
        # The list itself comes from an index (eventually consistent), so its loans may be too:
        # half the read units of a consistent read.
        loan_items = batch_get(
            self._client,
            self._table,
            ((keys.loan_pk(loan_id), keys.LOAN) for loan_id in dict.fromkeys(p.loan_id for p in participants)),
            consistent=False,
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
        invitations = list(readable((from_item(item) for item in response["Items"]), participant_of, "participant"))
        return Page(invitations, from_item(last) if last else None)

    # ---- writes ------------------------------------------------------------------------

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


def _newest_first(participants: tuple[Participant, ...]) -> tuple[Participant, ...]:
    return tuple(sorted(participants, key=lambda p: (p.invited_at, p.participant_id), reverse=True))


def _live_on(item: dict[str, Any], emails: Sequence[str]) -> frozenset[str]:
    """Which of ``emails`` have a live invitation on the loan ``item``."""
    if item.get(INVITEES_KEPT):
        taken = item.get(INVITEES) or set()
        return frozenset(email for email in emails if invitee_tag(email) in taken)
    live = {p.lender_email.lower() for p in roster_of(item) or () if is_live(p)}
    return frozenset(email for email in emails if email.lower() in live)
