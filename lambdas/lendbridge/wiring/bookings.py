"""Builds what the bookings function (and the upload and extraction workers) need from the
environment, on first use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from lendbridge.aws import client
from lendbridge.data.bookings import DynamoBookingStore
from lendbridge.data.cursors import SignedCursors
from lendbridge.domain.booking_service import Bookings
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.domain.products import Product, catalogue_from_json
from lendbridge.http.conditional import content_tag
from lendbridge.http.idempotency import Idempotency
from lendbridge.lazy import Lazy
from lendbridge.schemas import booking_presenters
from lendbridge.settings import FunctionSettings, ResourceId, TableName
from lendbridge.wiring.documents import (
    DocumentSettings,
    QueueOnFirstUse,
    StorageOnFirstUse,
    document_storage,
    extraction_queue,
)
from lendbridge.wiring.secrets import secret_key


class BookingSettings(FunctionSettings):
    main_table: TableName
    audit_table: TableName
    idempotency_table: TableName
    pagination_secret_id: ResourceId
    idempotency_secret_id: ResourceId
    # The stage's product catalogue as JSON (lendbridge.domain.products), checked again here.
    products: str


@dataclass(frozen=True)
class Catalogue:
    """The products as served: built once per instance from the environment, never read from
    the database, with the ETag of exactly what is shown."""

    products: tuple[Product, ...]
    payload: dict[str, Any]
    etag: str


def catalogue_of(products: tuple[Product, ...]) -> Catalogue:
    shown = [booking_presenters.product(product).model_dump() for product in products]
    payload = {"products": shown, "count": len(shown), "has_more": False, "next_token": None}
    return Catalogue(products, payload, content_tag(payload))


@dataclass
class BookingServices:
    bookings: Bookings
    catalogue: Catalogue
    cursors: SignedCursors
    idempotency: Idempotency


def build_booking_services(make_client: Callable[[str], Any] = client) -> BookingServices:
    settings = BookingSettings.from_env()
    dynamodb = make_client("dynamodb")
    products = catalogue_from_json(settings.products)
    documents = DocumentSettings.from_env()
    bookings = Bookings(
        store=DynamoBookingStore(dynamodb, settings.main_table, settings.audit_table, new_id),
        products=products,
        storage=StorageOnFirstUse(lambda: document_storage(documents)),
        queue=QueueOnFirstUse(lambda: extraction_queue(documents)) if documents.extraction_queue_url else None,
        clock=utc_now,
        new_id=new_id,
    )
    persistence = Lazy(lambda: DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb))
    return BookingServices(
        bookings=bookings,
        catalogue=catalogue_of(products),
        cursors=SignedCursors(lambda: secret_key(settings.pagination_secret_id), utc_now),
        idempotency=Idempotency(persistence, lambda: secret_key(settings.idempotency_secret_id)),
    )
