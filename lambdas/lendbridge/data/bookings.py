"""DynamoDB store of commercial bookings (``BookingStore``): every write one transaction built
with the lending core's ``Transaction``, its audit entry inside it; every read strongly
consistent except the owner's lists (indexes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lendbridge.data import keys
from lendbridge.data.audit import Action
from lendbridge.data.booking_items import (
    BOOKING,
    DOCUMENT_PREFIX,
    SHEET,
    audited_booking,
    audited_document,
    audited_extraction,
    audited_sheet_change,
    booking_item,
    booking_of,
    booking_pk,
    document_item,
    document_of,
    document_sk,
    extraction_item,
    extraction_of,
    extraction_sk,
    owner_key,
    sheet_item,
    sheet_of,
)
from lendbridge.data.dynamo import NEW_ITEM, batch_get, from_item, to_item, to_values, translated_errors
from lendbridge.data.transactions import Cancellation, Transaction, tagged_conflict
from lendbridge.domain.bookings import (
    ACTIVE_EXTRACTION,
    Booking,
    BookingChanged,
    BookingStatus,
    DocumentRecord,
    DocumentStatus,
    ExtractionRecord,
    Sheet,
    TooManyDocuments,
)
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor, IdGenerator
from lendbridge.errors import Conflict
from lendbridge.timestamps import iso

_VERSION = {"#version": "version"}
_NOT_DRAFT = "The booking is no longer a DRAFT: it and its documents are read-only"


def _changed(what: str) -> BookingChanged:
    return BookingChanged(f"The {what} changed while this request ran; read it again")


class DynamoBookingStore:
    def __init__(self, client: Any, table: str, audit_table: str, new_id: IdGenerator) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id

    # ---- reads ------------------------------------------------------------------------------

    def get_booking(self, booking_id: str) -> Booking | None:
        with translated_errors():
            found = self._client.get_item(
                TableName=self._table,
                Key=to_item({"PK": booking_pk(booking_id), "SK": BOOKING}),
                ConsistentRead=True,
            ).get("Item")
        return booking_of(from_item(found)) if found else None

    def booking_parts(
        self, booking_id: str, *, document_id: str | None = None, extraction_id: str | None = None, sheet: bool = False
    ) -> tuple[Booking | None, DocumentRecord | None, ExtractionRecord | None, Sheet | None]:
        pk = booking_pk(booking_id)
        wanted = [(pk, BOOKING)]
        if document_id:
            wanted.append((pk, document_sk(document_id)))
        if extraction_id:
            wanted.append((pk, extraction_sk(extraction_id)))
        if sheet:
            wanted.append((pk, SHEET))
        found = {item["SK"]: item for item in batch_get(self._client, self._table, wanted)}
        # A deleted document's item stays for the record; to every reader it is gone.
        found = {sk: item for sk, item in found.items() if not (sk.startswith(DOCUMENT_PREFIX) and _deleted(item))}
        booking = found.get(BOOKING)
        document = found.get(document_sk(document_id)) if document_id else None
        extraction = found.get(extraction_sk(extraction_id)) if extraction_id else None
        sheet_found = found.get(SHEET)
        return (
            booking_of(booking) if booking else None,
            document_of(document) if document else None,
            extraction_of(extraction) if extraction else None,
            sheet_of(sheet_found) if sheet_found else None,
        )

    def bookings_page(
        self, owner_id: str, status: BookingStatus | None, limit: int, position: Position | None
    ) -> Page[Booking]:
        """One query of an index that holds whole booking items: GSI1 (all but cancelled) or
        GSI2 (``<status>#`` prefix), descending, one item more than the page to tell
        whether another page follows."""
        owner = owner_key(owner_id)
        if status is None:
            index, pk_name, sk_name = keys.BORROWER_COLLECTION, "GSI1PK", "GSI1SK"
            condition, values = "GSI1PK = :o", {":o": owner}
        else:
            index, pk_name, sk_name = keys.LENDER_INVITATIONS, "GSI2PK", "GSI2SK"
            condition, values = "GSI2PK = :o AND begins_with(GSI2SK, :s)", {":o": owner, ":s": f"{status.value}#"}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_values(values),
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if position:
            request["ExclusiveStartKey"] = to_item(
                {"PK": position["pk"], "SK": BOOKING, pk_name: owner, sk_name: position["ik"]}
            )
        with translated_errors():
            items = [from_item(item) for item in self._client.query(**request)["Items"]]
        page, more = items[:limit], len(items) > limit
        next_position = {"pk": page[-1]["PK"], "ik": page[-1][sk_name]} if more else None
        return Page([booking_of(item) for item in page], next_position)

    def documents(self, booking_id: str) -> list[DocumentRecord]:
        """The live documents: at most 20, so one query unless the booking's deleted documents
        (kept, filtered out here) fill DynamoDB's 1 MB page; then the query goes on, so no
        document is ever missed."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :doc)",
            "FilterExpression": "attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": to_values({":pk": booking_pk(booking_id), ":doc": DOCUMENT_PREFIX}),
            "ConsistentRead": True,
        }
        found: list[DocumentRecord] = []
        while True:
            with translated_errors():
                response = self._client.query(**request)
            found.extend(document_of(from_item(item)) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ---- writes -----------------------------------------------------------------------------

    def create_booking(self, booking: Booking, actor: Actor) -> None:
        txn = self._transaction()
        txn.put(booking_item(booking), NEW_ITEM, tag=_changed("booking"))
        self._audit(txn, actor, booking.created_at, "booking", booking.booking_id, "CREATE", None, booking)
        txn.commit(_decode)

    def save_booking(self, before: Booking, after: Booking, actor: Actor, *, sheet_version: int | None = None) -> None:
        txn = self._transaction()
        txn.put(
            booking_item(after),
            "#version = :v AND #status = :s",
            names={**_VERSION, "#status": "status"},
            values={":v": before.version, ":s": before.status.value},
            tag=_changed("booking"),
        )
        if sheet_version is not None:
            self._sheet_unchanged(txn, after.booking_id, sheet_version)
        action: Action = "DELETE" if after.status == BookingStatus.CANCELLED else "UPDATE"
        self._audit(txn, actor, after.updated_at, "booking", after.booking_id, action, before, after)
        txn.commit(_decode)

    def add_document(self, booking: Booking, document: DocumentRecord, max_documents: int, actor: Actor) -> None:
        """The count moves in DynamoDB under ``document_count < max``: concurrent requests can
        never take a booking past the limit."""
        txn = self._transaction()
        txn.update(
            (booking_pk(booking.booking_id), BOOKING),
            "SET #version = #version + :one, updated_at = :now, updated_by = :by ADD document_count :one",
            "#status = :draft AND (attribute_not_exists(document_count) OR document_count < :max)",
            names={**_VERSION, "#status": "status"},
            values={
                ":one": 1,
                ":now": iso(document.created_at),
                ":by": actor.user_id,
                ":draft": BookingStatus.DRAFT.value,
                ":max": max_documents,
            },
            return_old=True,
            tag=_DocumentSlots(max_documents),
        )
        txn.put(document_item(document), NEW_ITEM, tag=_changed("document"))
        self._audit_record(txn, actor, document.created_at, "document", document, "CREATE", None, document)
        txn.commit(_decode)

    def remove_document(self, booking: Booking, document: DocumentRecord, actor: Actor, now: datetime) -> None:
        """A soft delete: the item stays, marked, and leaves the booking's count (and its limit)."""
        txn = self._transaction()
        txn.update(
            (booking_pk(document.booking_id), document_sk(document.document_id)),
            "SET deleted_at = :now, deleted_by = :by, #version = #version + :one, updated_at = :now, updated_by = :by",
            "#version = :v AND attribute_not_exists(active_extraction) AND attribute_not_exists(deleted_at)",
            names=_VERSION,
            values={":v": document.version, ":one": 1, ":now": iso(now), ":by": actor.user_id},
            tag=_changed("document"),
        )
        txn.update(
            (booking_pk(booking.booking_id), BOOKING),
            "SET #version = #version + :one, updated_at = :now, updated_by = :by ADD document_count :minus",
            "#status = :draft",
            names={**_VERSION, "#status": "status"},
            values={
                ":one": 1,
                ":minus": -1,
                ":now": iso(now),
                ":by": actor.user_id,
                ":draft": BookingStatus.DRAFT.value,
            },
            tag=Conflict(_NOT_DRAFT),
        )
        self._audit_record(txn, actor, now, "document", document, "DELETE", document, None)
        txn.commit(_decode)

    def save_document(self, before: DocumentRecord, after: DocumentRecord, actor: Actor) -> None:
        txn = self._transaction()
        txn.put(
            document_item(after),
            "#version = :v AND attribute_not_exists(deleted_at)",
            names=_VERSION,
            values={":v": before.version},
            tag=_changed("document"),
        )
        self._audit_record(txn, actor, after.updated_at, "document", after, "UPDATE", before, after)
        txn.commit(_decode)

    def start_extraction(
        self, booking: Booking, document: DocumentRecord, extraction: ExtractionRecord, actor: Actor
    ) -> None:
        """At most one extraction QUEUED or RUNNING a document: the document names it, set only
        while nothing else is named there."""
        txn = self._transaction()
        txn.update(
            (booking_pk(document.booking_id), document_sk(document.document_id)),
            "SET active_extraction = :x, #version = #version + :one, updated_at = :now, updated_by = :by",
            "#status = :uploaded AND attribute_not_exists(active_extraction)",
            names={**_VERSION, "#status": "status"},
            values={
                ":x": extraction.extraction_id,
                ":one": 1,
                ":now": iso(extraction.created_at),
                ":by": actor.user_id,
                ":uploaded": DocumentStatus.UPLOADED.value,
            },
            tag=Conflict("An extraction of this document is already queued or running"),
        )
        self._booking_is_draft(txn, booking.booking_id)
        txn.put(extraction_item(extraction), NEW_ITEM, tag=_changed("extraction"))
        self._audit_record(txn, actor, extraction.created_at, "extraction", extraction, "CREATE", None, extraction)
        txn.commit(_decode)

    def finish_extraction(
        self,
        before: ExtractionRecord,
        after: ExtractionRecord,
        actor: Actor,
        *,
        sheet: tuple[Sheet, Sheet] | None = None,
        release_document: bool = True,
    ) -> None:
        txn = self._transaction()
        txn.put(
            extraction_item(after),
            "#version = :v",
            names=_VERSION,
            values={":v": before.version},
            tag=_changed("extraction"),
        )
        if after.status not in ACTIVE_EXTRACTION and release_document:
            txn.update(
                (booking_pk(after.booking_id), document_sk(after.document_id)),
                "REMOVE active_extraction SET #version = #version + :one, updated_at = :now",
                "active_extraction = :x",
                names=_VERSION,
                values={":x": after.extraction_id, ":one": 1, ":now": iso(after.updated_at)},
                tag=_changed("document"),
            )
        if sheet is not None:
            old, new = sheet
            self._put_sheet(txn, old, new)
            self._booking_is_draft(txn, after.booking_id)
            self._audit_sheet(txn, actor, old, new)
        self._audit_record(txn, actor, after.updated_at, "extraction", after, "UPDATE", before, after)
        txn.commit(_decode)

    def save_sheet(self, booking: Booking, before: Sheet, after: Sheet, actor: Actor) -> None:
        txn = self._transaction()
        self._put_sheet(txn, before, after)
        self._booking_is_draft(txn, booking.booking_id)
        self._audit_sheet(txn, actor, before, after)
        txn.commit(_decode)

    # ---- helpers ----------------------------------------------------------------------------

    def _transaction(self) -> Transaction:
        return Transaction(self._client, self._table, audit_table=self._audit_table, new_id=self._new_id)

    def _put_sheet(self, txn: Transaction, before: Sheet, after: Sheet) -> None:
        if before.version == 0:
            txn.put(sheet_item(after), NEW_ITEM, tag=_changed("booking sheet"))
        else:
            txn.put(
                sheet_item(after),
                "#version = :v",
                names=_VERSION,
                values={":v": before.version},
                tag=_changed("booking sheet"),
            )

    def _audit_sheet(self, txn: Transaction, actor: Actor, before: Sheet, after: Sheet) -> None:
        shown_before, shown_after = audited_sheet_change(before, after)
        at = after.updated_at or before.updated_at
        txn.audit(
            actor,
            iso(at) if at else "",
            "booking_sheet",
            after.booking_id,
            "UPDATE" if before.version else "CREATE",
            shown_before,
            shown_after,
            scope_pk=booking_pk(after.booking_id),
        )

    def _sheet_unchanged(self, txn: Transaction, booking_id: str, version: int) -> None:
        key = (booking_pk(booking_id), SHEET)
        tag = _changed("booking sheet")
        if version == 0:
            txn.check(key, "attribute_not_exists(PK)", tag=tag)
        else:
            txn.check(key, "#version = :v", names=_VERSION, values={":v": version}, tag=tag)

    def _booking_is_draft(self, txn: Transaction, booking_id: str) -> None:
        txn.check(
            (booking_pk(booking_id), BOOKING),
            "#status = :draft",
            names={"#status": "status"},
            values={":draft": BookingStatus.DRAFT.value},
            tag=Conflict(_NOT_DRAFT),
        )

    def _audit(
        self,
        txn: Transaction,
        actor: Actor,
        at: datetime,
        entity: str,
        booking_id: str,
        action: Action,
        before: Booking | None,
        after: Booking | None,
    ) -> None:
        txn.audit(
            actor,
            iso(at),
            entity,
            booking_id,
            action,
            audited_booking(before),
            audited_booking(after),
            scope_pk=booking_pk(booking_id),
        )

    def _audit_record(
        self,
        txn: Transaction,
        actor: Actor,
        at: datetime,
        entity: str,
        record: DocumentRecord | ExtractionRecord,
        action: Action,
        before: Any,
        after: Any,
    ) -> None:
        """A document's or an extraction's entry, filed under its booking."""
        if isinstance(record, DocumentRecord):
            entity_id, images = record.document_id, (audited_document(before), audited_document(after))
        else:
            entity_id, images = record.extraction_id, (audited_extraction(before), audited_extraction(after))
        txn.audit(
            actor,
            iso(at),
            entity,
            entity_id,
            action,
            *images,
            scope_pk=booking_pk(record.booking_id),
        )


def _deleted(item: dict[str, Any]) -> bool:
    return item.get("deleted_at") is not None


class _DocumentSlots:
    """The booking's update when adding a document: refused because it is full or not a DRAFT."""

    def __init__(self, max_documents: int) -> None:
        self.max_documents = max_documents


def _decode(cancellation: Cancellation) -> Exception | None:
    for reason in cancellation.failed:
        if isinstance(reason.tag, _DocumentSlots):
            old = reason.old_item or {}
            if old.get("status") == BookingStatus.DRAFT.value:
                return TooManyDocuments()
            return Conflict(_NOT_DRAFT)
    found = tagged_conflict(cancellation)
    if found is not None:
        return found
    if cancellation.raced:
        return BookingChanged("Another request changed the booking at the same time; try again")
    return None
