"""OpenAPI links: how a created resource's id feeds the operations on it (for clients and for
the stateful contract tests, which follow them from create to read, change and delete)."""

from __future__ import annotations

from typing import Any

_LOAN_ID = {"loan_id": "$response.body#/data/loan_id"}


def _link(operation_id: str, description: str, **extra: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": {**_LOAN_ID, **extra}, "description": description}


# From a loan as answered (201 on create, 200 on read or change).
LOAN_LINKS: dict[str, Any] = {
    "GetLoan": _link("GetLoan", "Read the loan"),
    "UpdateLoan": _link(
        "UpdateLoan", "Change the loan's terms at the version just read", **{"header.If-Match": "$response.header.ETag"}
    ),
    "CancelLoan": _link("CancelLoan", "Cancel the loan"),
    "AddLenders": _link("AddLenders", "Invite lenders to the loan"),
    "BatchParticipants": _link("BatchParticipants", "Invite lenders one by one"),
    "GetLoanHistory": _link("GetLoanHistory", "The loan's versions"),
    "GetFundingHistory": _link("GetFundingHistory", "The loan's funding over time"),
    "GetAuditLog": _link("GetAuditLog", "The loan's audit log"),
}

# From invited lenders (200 of AddLenders): withdraw the first invitation.
INVITATION_LINKS: dict[str, Any] = {
    "RemoveParticipant": {
        "operationId": "RemoveParticipant",
        "parameters": {
            "loan_id": "$response.body#/data/loan_id",
            "participant_id": "$response.body#/data/lenders_added/0/participant_id",
        },
        "description": "Withdraw the first invitation just sent",
    },
}


# ---- commercial loan bookings ----------------------------------------------------------------

_BOOKING_ID = {"booking_id": "$response.body#/data/booking_id"}


def _booking_link(operation_id: str, description: str, **extra: str) -> dict[str, Any]:
    return {"operationId": operation_id, "parameters": {**_BOOKING_ID, **extra}, "description": description}


# From a booking as answered (201 on create, 200 on read or change).
BOOKING_LINKS: dict[str, Any] = {
    "GetBooking": _booking_link("GetBooking", "Read the booking"),
    "UpdateBooking": _booking_link(
        "UpdateBooking", "Change the booking at the version just read", **{"header.If-Match": "$response.header.ETag"}
    ),
    "CancelBooking": _booking_link("CancelBooking", "Cancel the booking"),
    "CreateDocument": _booking_link("CreateDocument", "Add a document to the booking"),
    "ListDocuments": _booking_link("ListDocuments", "The booking's documents"),
    "GetBookingSheet": _booking_link("GetBookingSheet", "The booking's sheet"),
}

# From a document just registered (201 of CreateDocument).
_DOCUMENT = {
    "booking_id": "$response.body#/data/document/booking_id",
    "document_id": "$response.body#/data/document_id",
}
DOCUMENT_LINKS: dict[str, Any] = {
    name: {"operationId": name, "parameters": dict(_DOCUMENT), "description": description}
    for name, description in (
        ("GetDocument", "Read the document"),
        ("DeleteDocument", "Delete the document"),
        ("RequestExtraction", "Extract the booking fields from the document (once it is UPLOADED)"),
    )
}

# From an extraction just queued (202 of RequestExtraction).
EXTRACTION_LINKS: dict[str, Any] = {
    "GetExtraction": {
        "operationId": "GetExtraction",
        "parameters": {
            "booking_id": "$response.body#/data/booking_id",
            "extraction_id": "$response.body#/data/extraction_id",
        },
        "description": "Follow the extraction",
    }
}
