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
