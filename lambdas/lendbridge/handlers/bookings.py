"""Commercial loan bookings: products, a loan officer's bookings, their documents (uploaded
straight to S3), extractions and the booking sheet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol, TypeVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel

from lendbridge.domain.bookings import Booking, BookingStatus, BookingTerms, DocumentRecord
from lendbridge.domain.pages import Page, Position
from lendbridge.http import current, envelope
from lendbridge.http.app import ApiFunction
from lendbridge.http.conditional import (
    CONTENT_TAG_HEADER,
    ETAG_HEADER,
    LOCATION_HEADER,
    IfMatch,
    IfNoneMatch,
    documented,
    etag,
    if_match_versions,
    stop_if_current,
)
from lendbridge.http.idempotency import IdempotentRoutes
from lendbridge.http.links import BOOKING_LINKS, DOCUMENT_LINKS, EXTRACTION_LINKS
from lendbridge.http.pages import list_page
from lendbridge.http.params import Limit, NextToken, ResourceId, fields_query, select_fields
from lendbridge.schemas import booking_presenters
from lendbridge.schemas.bookings import (
    BOOKING_FIELDS,
    DOCUMENT_FIELDS,
    EXTRACTION_FIELDS,
    SHEET_TOP_FIELDS,
    BookingList,
    BookingOut,
    BookingSelection,
    CreateBookingRequest,
    CreateDocumentRequest,
    DocumentList,
    DocumentOut,
    DocumentSelection,
    ExtractionOut,
    ExtractionSelection,
    PatchBookingRequest,
    PatchSheetRequest,
    ProductList,
    SheetOut,
    SheetSelection,
    UploadOut,
)
from lendbridge.schemas.common import Success, responses
from lendbridge.wiring.bookings import build_booking_services
from lendbridge.wiring.rate_limits import rate_limiter

api = ApiFunction(build_booking_services, rate_limiter)
app, logger, services = api.app, api.logger, api.services
keyed = IdempotentRoutes(app, lambda: services.get().idempotency)

BOOKINGS_TAG = "Loan bookings"
DOCUMENTS_TAG = "Booking documents"
BookingId = ResourceId
DocumentId = ResourceId
ExtractionId = ResourceId
StatusFilter = Annotated[
    Literal["DRAFT", "BOOKED", "CANCELLED"] | None,
    Query(description="Only bookings in this status (without it: all but CANCELLED)"),
]
CACHE_CONTROL = "public, max-age=3600"
CACHE_CONTROL_HEADER: dict[str, Any] = {
    "description": "The catalogue changes only with a deployment: caches may keep it an hour",
    "schema": {"type": "string", "enum": [CACHE_CONTROL]},
}
BOOKINGS_LIST = "bookings"
BookingFields = Annotated[str | None, fields_query(BOOKING_FIELDS)]
DocumentFields = Annotated[str | None, fields_query(DOCUMENT_FIELDS)]
ExtractionFields = Annotated[str | None, fields_query(EXTRACTION_FIELDS)]
SheetFields = Annotated[str | None, fields_query(SHEET_TOP_FIELDS)]


def _booking_path(booking_id: str, rest: str = "") -> str:
    return f"/v1/loan-bookings/{booking_id}{rest}"


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


Read = TypeVar("Read", bound=_Versioned)


def _as_read(
    record: Read,
    present: Callable[[Read], BaseModel],
    if_none_match: str | None,
    fields: str | None,
    allowed: frozenset[str],
) -> Response[Any]:
    """The answer of every read of a booking's resource: 304 when the caller's copy is current
    (its ETag is the record's version), else the record as ``present`` shows it (only the
    top-level ``fields`` asked for, if any), with that ETag."""
    shown = select_fields(present(record).model_dump(), fields, allowed)
    tag = etag(record.version)
    stop_if_current(if_none_match, tag)
    return envelope.success(shown, headers={"ETag": tag})


@app.get(
    "/v1/products",
    summary="List the products",
    description=(
        "The commercial loan products this stage offers (its configuration): currency, amount and term "
        "bounds, rate type. Cacheable for an hour; `If-None-Match` with the ETag answers 304."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[ProductList], 401),
        headers={200: {"ETag": CONTENT_TAG_HEADER, "Cache-Control": CACHE_CONTROL_HEADER}},
        not_modified=True,
        tag_header=CONTENT_TAG_HEADER,
    ),
)
def list_products(if_none_match: IfNoneMatch = None) -> Response[Success[ProductList]]:
    catalogue = services.get().catalogue
    stop_if_current(if_none_match, catalogue.etag, headers={"Cache-Control": CACHE_CONTROL})
    return envelope.success(catalogue.payload, headers={"ETag": catalogue.etag, "Cache-Control": CACHE_CONTROL})


@keyed.post(
    "/v1/loan-bookings",
    summary="Create a booking",
    description=(
        "Creates a DRAFT booking owned by the caller. The amount and term must fall within the product's "
        "bounds and the currency must be the product's (400 naming the field otherwise). Answers 201 with "
        "the booking, its `Location` and `ETag`."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(201, Success[BookingOut], 401, 409, 422, body=True),
        headers={201: {"Location": LOCATION_HEADER, "ETag": ETAG_HEADER}},
        links={201: BOOKING_LINKS},
    ),
)
def create_booking(body: Annotated[CreateBookingRequest, Body()]) -> Response[Success[BookingOut]]:
    terms = BookingTerms(
        customer_name=body.customer_name,
        product_id=body.product_id,
        amount=body.amount,
        currency=body.currency,
        term_months=body.term_months,
        notes=body.notes,
    )
    booking = services.get().bookings.create(current.actor(app), terms)
    logger.info("booking_created", extra={"booking_id": booking.booking_id, "product_id": body.product_id})
    where = envelope.location(app.current_event.raw_event, _booking_path(booking.booking_id))
    return envelope.created(booking_presenters.booking(booking), where, headers={"ETag": etag(booking.version)})


@app.get(
    "/v1/loan-bookings",
    summary="List my bookings",
    description=(
        "The caller's bookings, newest first; `status=` keeps one status (without it, CANCELLED ones are left out)."
    ),
    tags=[BOOKINGS_TAG],
    responses=responses(200, Success[BookingList], 401),
)
def list_bookings(
    status: StatusFilter = None, limit: Limit = 20, next_token: NextToken = None
) -> Response[Success[BookingList]]:
    bookings = services.get().bookings
    wanted = BookingStatus(status) if status else None

    def read(caller: str, at: Position | None) -> Page[Booking]:
        return bookings.page(caller, wanted, limit, at)

    list_name = f"{BOOKINGS_LIST}:{status or 'live'}"
    return list_page(
        app, services.get().cursors, list_name, next_token, read, items="bookings", present=booking_presenters.booking
    )


@app.get(
    "/v1/loan-bookings/<booking_id>",
    summary="Read a booking",
    description=(
        "The booking, to its owner only (anyone else: 404). `fields=a,b` returns only those top-level fields; "
        "`If-None-Match` with the current ETag answers 304."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[BookingOut | BookingSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
        links={200: BOOKING_LINKS},
    ),
)
def get_booking(
    booking_id: BookingId, fields: BookingFields = None, if_none_match: IfNoneMatch = None
) -> Response[dict[str, Any]]:
    booking = services.get().bookings.get(current.caller(app).user_id, booking_id)
    return _as_read(booking, booking_presenters.booking, if_none_match, fields, BOOKING_FIELDS)


@app.patch(
    "/v1/loan-bookings/<booking_id>",
    summary="Change a booking",
    description=(
        "Changes any of the booking's fields (each may be omitted, never null); the result must still fit "
        "the product. Needs `If-Match` with the version read (missing: 428, stale: 412). Only while DRAFT "
        "(409 once BOOKED or CANCELLED)."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[BookingOut], 401, 404, 409, body=True),
        headers={200: {"ETag": ETAG_HEADER}},
        preconditions=True,
    ),
)
def patch_booking(
    booking_id: BookingId, body: Annotated[PatchBookingRequest, Body()], if_match: IfMatch = None
) -> Response[Success[BookingOut]]:
    actor = current.actor(app)
    booking = services.get().bookings.revise(actor, booking_id, if_match_versions(if_match), body.changes())
    logger.info("booking_updated", extra={"booking_id": booking_id, "version": booking.version})
    return envelope.success(booking_presenters.booking(booking), headers={"ETag": etag(booking.version)})


@app.delete(
    "/v1/loan-bookings/<booking_id>",
    summary="Cancel a booking",
    description="Soft delete: the booking becomes CANCELLED and leaves the default list. Not once BOOKED (409).",
    tags=[BOOKINGS_TAG],
    responses=responses(204, None, 401, 404, 409),
)
def cancel_booking(booking_id: BookingId) -> Response[None]:
    services.get().bookings.cancel(current.actor(app), booking_id)
    logger.info("booking_cancelled", extra={"booking_id": booking_id})
    return envelope.no_content()


@keyed.post(
    "/v1/loan-bookings/<booking_id>/book",
    summary="Book a booking",
    description=(
        "Books the facility: only when the booking sheet is COMPLETE (409 with the missing fields otherwise). "
        "Needs `If-Match` with the booking's version. The booking becomes BOOKED; it and its sheet are then "
        "read-only."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[BookingOut], 401, 404, 409, 422),
        headers={200: {"ETag": ETAG_HEADER}},
        preconditions=True,
    ),
)
def book_booking(booking_id: BookingId, if_match: IfMatch = None) -> Response[Success[BookingOut]]:
    booking = services.get().bookings.book(current.actor(app), booking_id, if_match_versions(if_match))
    logger.info("booking_booked", extra={"booking_id": booking_id})
    return envelope.success(booking_presenters.booking(booking), headers={"ETag": etag(booking.version)})


# ---- documents --------------------------------------------------------------------------------


@keyed.post(
    "/v1/loan-bookings/<booking_id>/documents",
    summary="Add a document",
    description=(
        "Registers a document and answers with a presigned S3 PUT: upload the file there with exactly "
        "`upload_headers` (the signature binds its type and length, so S3 refuses anything else). The file "
        "never passes through the API. The document becomes UPLOADED when S3 reports the object and it "
        "matches what was declared (size, and the file's type by its content), else REJECTED. At most 20 "
        "documents a booking (400); only while the booking is DRAFT (409)."
    ),
    tags=[DOCUMENTS_TAG],
    responses=documented(
        responses(201, Success[UploadOut], 401, 404, 409, 422, body=True),
        headers={201: {"Location": LOCATION_HEADER}},
        links={201: DOCUMENT_LINKS},
    ),
)
def create_document(
    booking_id: BookingId, body: Annotated[CreateDocumentRequest, Body()]
) -> Response[Success[UploadOut]]:
    added = services.get().bookings.add_document(
        current.actor(app), booking_id, body.file_name, body.content_type, body.size_bytes
    )
    document, upload = added.document, added.upload
    logger.info(
        "document_registered",
        extra={"booking_id": booking_id, "document_id": document.document_id, "size_bytes": body.size_bytes},
    )
    where = envelope.location(
        app.current_event.raw_event, _booking_path(booking_id, f"/documents/{document.document_id}")
    )
    shown = UploadOut(
        document_id=document.document_id,
        upload_url=upload.url,
        upload_method="PUT",
        upload_headers=upload.headers,
        expires_in=upload.expires_in,
        document=booking_presenters.document(document),
    )
    return envelope.created(shown, where)


@app.get(
    "/v1/loan-bookings/<booking_id>/documents",
    summary="List a booking's documents",
    description="The booking's documents, newest first (at most 20).",
    tags=[DOCUMENTS_TAG],
    responses=responses(200, Success[DocumentList], 401, 404),
)
def list_documents(
    booking_id: BookingId, limit: Limit = 20, next_token: NextToken = None
) -> Response[Success[DocumentList]]:
    bookings = services.get().bookings

    def read(caller: str, at: Position | None) -> Page[DocumentRecord]:
        return bookings.documents_page(caller, booking_id, limit, at)

    return list_page(
        app,
        services.get().cursors,
        f"documents:{booking_id}",
        next_token,
        read,
        items="documents",
        present=booking_presenters.document,
    )


@app.get(
    "/v1/loan-bookings/<booking_id>/documents/<document_id>",
    summary="Read a document",
    description=(
        "The document's metadata and, once UPLOADED, a presigned `download_url` valid 5 minutes. `fields=a,b` "
        "returns only those top-level fields."
    ),
    tags=[DOCUMENTS_TAG],
    responses=documented(
        responses(200, Success[DocumentOut | DocumentSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
    ),
)
def get_document(
    booking_id: BookingId, document_id: DocumentId, fields: DocumentFields = None, if_none_match: IfNoneMatch = None
) -> Response[dict[str, Any]]:
    view = services.get().bookings.document(current.caller(app).user_id, booking_id, document_id)
    return _as_read(
        view.document,
        lambda document: booking_presenters.document(document, view.download_url),
        if_none_match,
        fields,
        DOCUMENT_FIELDS,
    )


@app.delete(
    "/v1/loan-bookings/<booking_id>/documents/<document_id>",
    summary="Delete a document",
    description=(
        "Deletes the document and its file. Only while the booking is DRAFT and no extraction of it runs (409)."
    ),
    tags=[DOCUMENTS_TAG],
    responses=responses(204, None, 401, 404, 409),
)
def delete_document(booking_id: BookingId, document_id: DocumentId) -> Response[None]:
    services.get().bookings.remove_document(current.actor(app), booking_id, document_id)
    logger.info("document_deleted", extra={"booking_id": booking_id, "document_id": document_id})
    return envelope.no_content()


# ---- extraction -----------------------------------------------------------------------------


@keyed.post(
    "/v1/loan-bookings/<booking_id>/documents/<document_id>/extraction",
    summary="Extract the booking fields from a document",
    description=(
        "Queues the extraction of the booking-sheet fields from an UPLOADED document and answers 202 at once; "
        "follow it at `GET /v1/loan-bookings/{booking_id}/extractions/{extraction_id}`. A document not yet "
        "uploaded, or one with an extraction already QUEUED or RUNNING: 409."
    ),
    tags=[DOCUMENTS_TAG],
    responses=documented(
        responses(202, Success[ExtractionOut], 401, 404, 409, 422),
        headers={202: {"Location": LOCATION_HEADER}},
        links={202: EXTRACTION_LINKS},
    ),
)
def request_extraction(booking_id: BookingId, document_id: DocumentId) -> Response[Success[ExtractionOut]]:
    extraction = services.get().bookings.request_extraction(current.actor(app), booking_id, document_id)
    logger.info(
        "extraction_queued",
        extra={"booking_id": booking_id, "document_id": document_id, "extraction_id": extraction.extraction_id},
    )
    where = envelope.location(
        app.current_event.raw_event, _booking_path(booking_id, f"/extractions/{extraction.extraction_id}")
    )
    return envelope.success(booking_presenters.extraction(extraction), 202, headers={"Location": where})


@app.get(
    "/v1/loan-bookings/<booking_id>/extractions/<extraction_id>",
    summary="Read an extraction",
    description=(
        "Where the extraction stands: QUEUED, RUNNING, SUCCEEDED (with the number of fields found) or FAILED "
        "(with why). `fields=a,b` returns only those top-level fields."
    ),
    tags=[DOCUMENTS_TAG],
    responses=documented(
        responses(200, Success[ExtractionOut | ExtractionSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
    ),
)
def get_extraction(
    booking_id: BookingId,
    extraction_id: ExtractionId,
    fields: ExtractionFields = None,
    if_none_match: IfNoneMatch = None,
) -> Response[dict[str, Any]]:
    extraction = services.get().bookings.extraction(current.caller(app).user_id, booking_id, extraction_id)
    return _as_read(extraction, booking_presenters.extraction, if_none_match, fields, EXTRACTION_FIELDS)


# ---- booking sheet ----------------------------------------------------------------------------


@app.get(
    "/v1/loan-bookings/<booking_id>/booking-sheet",
    summary="Read the booking sheet",
    description=(
        "The booking's fields as extracted or corrected: per field its value, confidence (0-1), source "
        "(document, page, quote) and who corrected it; the sheet's status and its missing required fields. "
        "The borrower's tax id only ever shows its last 4 characters. `fields=a,b` returns only those "
        "top-level fields."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[SheetOut | SheetSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
    ),
)
def get_sheet(
    booking_id: BookingId, fields: SheetFields = None, if_none_match: IfNoneMatch = None
) -> Response[dict[str, Any]]:
    sheet = services.get().bookings.sheet(current.caller(app).user_id, booking_id)
    return _as_read(sheet, booking_presenters.sheet, if_none_match, fields, SHEET_TOP_FIELDS)


@app.patch(
    "/v1/loan-bookings/<booking_id>/booking-sheet",
    summary="Correct the booking sheet",
    description=(
        "A person's corrections, by field name: each becomes the field's value with confidence 1.0 and "
        "`corrected_by` set, and a later extraction never overwrites it. An unknown field, or a value of the "
        "wrong form (an amount that is not a decimal, a date that is not YYYY-MM-DD), is 400. Needs `If-Match` "
        "with the sheet's version (missing: 428, stale: 412); only while the booking is DRAFT (409)."
    ),
    tags=[BOOKINGS_TAG],
    responses=documented(
        responses(200, Success[SheetOut], 401, 404, 409, body=True),
        headers={200: {"ETag": ETAG_HEADER}},
        preconditions=True,
    ),
)
def patch_sheet(
    booking_id: BookingId, body: Annotated[PatchSheetRequest, Body()], if_match: IfMatch = None
) -> Response[Success[SheetOut]]:
    actor = current.actor(app)
    sheet = services.get().bookings.correct(actor, booking_id, if_match_versions(if_match), body.fields)
    # Field names only: a value (the tax id above all) never reaches the logs.
    logger.info("booking_sheet_corrected", extra={"booking_id": booking_id, "fields": sorted(body.fields)})
    return envelope.success(booking_presenters.sheet(sheet), headers={"ETag": etag(sheet.version)})


handler = api.handler
