"""Bodies of the loan and lender routes (``lendbridge.schemas.presenters`` fills the responses)."""

# No postponed annotations (`from __future__ import annotations`) in schema modules: pydantic
# would evaluate each field's type from its text at class creation, in every cold start.

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from lendbridge.schemas.common import (
    ASCII_DECIMAL,
    Email,
    Omittable,
    PlainText,
    Schema,
    Strict,
    TermMonths,
    selection_of,
)

# The bounds and places of money and rates as text, so that the document states exactly what
# the server accepts: leading and trailing zeros are fine ("0005.50", "5.000"), more significant
# places or a value out of bounds are not. A unit test checks each pattern against the model.
MONEY_PATTERN = r"^(?:0*[1-9][0-9]{0,6}(?:\.[0-9]{1,2}0*)?|0*10000000(?:\.0+)?|0+\.(?:0[1-9]|[1-9][0-9]?)0*)$"
RATE_PATTERN = r"^(?:0*[0-9]{1,2}(?:\.[0-9]{1,4}0*)?|0*100(?:\.0+)?)$"

Money = Annotated[
    Decimal,
    Field(
        gt=0,
        le=Decimal("10000000"),
        max_digits=10,
        decimal_places=2,
        examples=["5000.00"],
        description="More than 0 and at most 10,000,000, with at most two decimal places",
    ),
    ASCII_DECIMAL.documenting(MONEY_PATTERN, "0.01"),
]
Rate = Annotated[
    Decimal,
    Field(
        ge=0,
        le=100,
        max_digits=7,
        decimal_places=4,
        examples=["7.5"],
        description="Percent a year, 0 to 100, with at most four decimal places",
    ),
    ASCII_DECIMAL.documenting(RATE_PATTERN, "0.0001"),
]


class LenderIn(Strict):
    EXAMPLE = {"email": "grace@example.com", "contribution_amount": "2500.00"}

    email: Email
    contribution_amount: Money


class CreateLoanRequest(Strict):
    EXAMPLE = {
        "amount": "5000.00",
        "interest_rate": "7.5",
        "term_months": 36,
        "purpose": "Kitchen renovation",
        "lenders": [{"email": "grace@example.com", "contribution_amount": "2500.00"}],
    }

    amount: Money
    interest_rate: Rate
    term_months: TermMonths
    purpose: Omittable[Annotated[PlainText, Field(max_length=500)]] = None
    lenders: Annotated[list[LenderIn], Field(max_length=20)] = []


class AddLendersRequest(Strict):
    EXAMPLE = {"lenders": [{"email": "katherine@example.com", "contribution_amount": "1000.00"}]}

    lenders: Annotated[list[LenderIn], Field(min_length=1, max_length=20)]


def _aba_checksum(value: str) -> str:
    digits = [int(c) for c in value]
    weighted = 3 * (digits[0] + digits[3] + digits[6]) + 7 * (digits[1] + digits[4] + digits[7])
    if (weighted + digits[2] + digits[5] + digits[8]) % 10:
        raise ValueError("Not a valid ABA routing number (checksum)")
    return value


class AchIn(Strict):
    EXAMPLE = {
        "account_holder_name": "Grace Hopper",
        "routing_number": "021000021",
        "account_number": "000123456789",
        "account_type": "checking",
    }

    account_holder_name: Annotated[PlainText, Field(min_length=1, max_length=100)]
    # [0-9], not \d: the pattern engine's \d also matches other scripts' digits.
    routing_number: Annotated[str, Field(pattern=r"^[0-9]{9}$"), AfterValidator(_aba_checksum)]
    account_number: Annotated[str, Field(pattern=r"^[0-9]{4,17}$")]
    account_type: Literal["checking", "savings"]

    def __repr__(self) -> str:  # pydantic's default repr would print the numbers
        return f"AchIn(account_type={self.account_type!r})"

    __str__ = __repr__


class AcceptRequest(Strict):
    EXAMPLE = {
        "ach": {
            "account_holder_name": "Grace Hopper",
            "routing_number": "021000021",
            "account_number": "000123456789",
            "account_type": "checking",
        }
    }

    ach: AchIn


class DeclineRequest(Strict):
    EXAMPLE = {"reason": "Fully invested this quarter"}

    reason: Omittable[Annotated[PlainText, Field(max_length=500)]] = None


class AchOut(Schema):
    account_holder_name: str
    account_type: str
    routing_number_last4: str
    account_number_last4: str


class ParticipantOut(Schema):
    participant_id: str
    loan_id: str
    lender_id: str | None
    lender_email: str
    lender_name: str | None
    contribution_amount: str
    status: str
    invited_at: str
    responded_at: str | None
    ach: AchOut | None = None


class LoanOut(Schema):
    loan_id: str
    borrower_id: str
    borrower_name: str
    amount: str
    # null only for a damaged stored loan that lost the value (see docs/runbook.md)
    interest_rate: str | None
    term_months: int | None
    purpose: str | None
    status: str
    total_invited: str
    total_funded: str
    remaining_amount: str
    funding_percentage: str
    participant_count: int
    accepted_participant_count: int
    pending_participant_count: int
    declined_participant_count: int
    is_fully_funded: bool
    average_contribution: str | None
    largest_contribution: str | None
    smallest_contribution: str | None
    version: int
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    deleted_at: str | None = Field(None, description="Set once the loan is CANCELLED")
    deleted_by: str | None = Field(None, description="Set once the loan is CANCELLED")
    deletion_reason: str | None = Field(None, description="The reason given when it was cancelled")
    participants: list[ParticipantOut]


class LoanList(Schema):
    loans: list[LoanOut]
    count: int
    has_more: bool
    next_token: str | None


class AddLendersOut(Schema):
    loan_id: str
    lenders_added: list[ParticipantOut]
    total_invited: str
    remaining_amount: str


class LoanSummary(Schema):
    loan_id: str
    borrower_name: str
    amount: str
    interest_rate: str | None
    term_months: int | None
    status: str
    funding_percentage: str


class InvitationOut(Schema):
    participant_id: str
    contribution_amount: str
    invited_at: str
    loan: LoanSummary


class InvitationList(Schema):
    invitations: list[InvitationOut]
    count: int
    has_more: bool
    next_token: str | None


class InvestmentOut(Schema):
    participant_id: str
    contribution_amount: str
    invited_at: str
    responded_at: str | None
    ach: AchOut | None
    loan: LoanSummary


class InvestmentList(Schema):
    investments: list[InvestmentOut]
    count: int
    has_more: bool
    next_token: str | None


class LoanFundingOut(Schema):
    loan_id: str
    status: str
    total_funded: str
    funding_percentage: str


class ResponseOut(Schema):
    participant: ParticipantOut
    loan: LoanFundingOut


LOAN_FIELDS = frozenset(LoanOut.model_fields)


# What ``GET /v1/loans/{id}?fields=a,b`` answers: any of a loan's fields, none required.
LoanSelection = selection_of(LoanOut)


class PatchLoanRequest(Strict):
    EXAMPLE = {"interest_rate": "6.25", "term_months": 48, "change_reason": "Agreed a lower rate over a longer term"}

    # Each may be left out, never null: null used to reach the store as "remove the attribute".
    interest_rate: Omittable[Rate] = None
    term_months: Omittable[TermMonths] = None
    purpose: Omittable[Annotated[PlainText, Field(max_length=500)]] = None
    change_reason: Annotated[PlainText, Field(min_length=1, max_length=500)]

    AT_LEAST_ONE_OF = ("interest_rate", "term_months", "purpose")

    def terms(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in ("interest_rate", "term_months", "purpose")
            if name in self.model_fields_set
        }

    @model_validator(mode="after")
    def _something_to_change(self) -> "PatchLoanRequest":
        if not self.terms():
            raise ValueError("Name at least one of interest_rate, term_months, purpose")
        return self


class CancelLoanRequest(Strict):
    EXAMPLE = {"reason": "Found other financing"}

    reason: Omittable[Annotated[PlainText, Field(max_length=500)]] = None


MAX_BATCH_ITEMS = 50


class BatchParticipantsRequest(Strict):
    EXAMPLE = {
        "participants": [
            {"email": "dorothy@example.com", "contribution_amount": "500.00"},
            {"email": "barbara@example.com", "contribution_amount": 750},
        ]
    }

    # Items are validated one by one, so a bad item fails alone instead of failing the batch.
    participants: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]


class BatchItemResult(Schema):
    email: str | None
    status: Literal["created", "failed"]
    participant_id: str | None = None
    error: str | None = None


class BatchSummary(Schema):
    total: int
    succeeded: int
    failed: int


class BatchOut(Schema):
    results: list[BatchItemResult]
    summary: BatchSummary


class VersionOut(Schema):
    version: int
    snapshot: dict[str, Any]
    changed_fields: list[str]
    changed_by: str | None
    changed_at: str | None
    change_reason: str | None


class VersionList(Schema):
    versions: list[VersionOut]
    count: int
    has_more: bool
    next_token: str | None


class FundingPointOut(Schema):
    timestamp: str
    total_funded: str
    funding_percentage: str
    participant_count: int
    accepted_participant_count: int
    pending_participant_count: int


class FundingHistory(Schema):
    points: list[FundingPointOut]
    count: int
    has_more: bool
    next_token: str | None


class AuditEntryOut(Schema):
    audit_id: str
    timestamp: str
    entity: str
    entity_id: str
    action: Literal["CREATE", "UPDATE", "DELETE"]
    user_id: str
    changes: dict[str, Any]
    ip_address: str | None
    user_agent: str | None
    request_id: str | None


class AuditLog(Schema):
    entries: list[AuditEntryOut]
    count: int
    has_more: bool
    next_token: str | None
