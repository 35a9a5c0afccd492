"""The bookings domain as the upload and extraction workers use it."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.data.bookings import DynamoBookingStore
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.settings import FunctionSettings, TableName
from lendbridge.wiring.documents import DocumentSettings, document_storage


class BookingTables(FunctionSettings):
    """What the bookings store needs: the main table and the audit log."""

    main_table: TableName
    audit_table: TableName


def worker_bookings() -> Bookings:
    """The bookings domain for the upload and extraction workers: no catalogue (they create no
    booking) and no queue (they queue nothing)."""
    settings = BookingTables.from_env()
    documents = DocumentSettings.from_env()
    return Bookings(
        store=DynamoBookingStore(client("dynamodb"), settings.main_table, settings.audit_table, new_id),
        products=(),
        storage=document_storage(documents),
        queue=None,
        clock=utc_now,
        new_id=new_id,
    )
