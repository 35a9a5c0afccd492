"""The borrower's side: create loans, list them, read one, invite lenders."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import ValidationError

from lendbridge import observability
from lendbridge.domain.history import HistoryKind
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee, Loan
from lendbridge.domain.pages import Page, Position
from lendbridge.http import current, envelope
from lendbridge.http.app import ApiFunction
from lendbridge.http.conditional import (
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
from lendbridge.http.links import INVITATION_LINKS, LOAN_LINKS
from lendbridge.http.pages import list_page
from lendbridge.http.params import Limit, NextToken, ResourceId, fields_query, select_fields
from lendbridge.schemas import presenters
from lendbridge.schemas.common import Success, responses
from lendbridge.schemas.loans import (
    LOAN_FIELDS,
    AddLendersOut,
    AddLendersRequest,
    AuditLog,
    BatchOut,
    BatchParticipantsRequest,
    CancelLoanRequest,
    CreateLoanRequest,
    FundingHistory,
    LenderIn,
    LoanList,
    LoanOut,
    LoanSelection,
    PatchLoanRequest,
    VersionList,
)
from lendbridge.wiring.lending import build_lending_services
from lendbridge.wiring.rate_limits import rate_limiter

api = ApiFunction(build_lending_services, rate_limiter)
app, logger, services = api.app, api.logger, api.services
keyed = IdempotentRoutes(app, lambda: services.get().idempotency)

TAG = "Loans"
LoanId = ResourceId
LoanFields = Annotated[str | None, fields_query(LOAN_FIELDS)]
ParticipantId = ResourceId
MY_LOANS = "my-loans"


def _invitees(lenders: list[LenderIn]) -> list[Invitee]:
    return [Invitee(email=lender.email, contribution=lender.contribution_amount) for lender in lenders]


@keyed.post(
    "/v1/loans",
    summary="Create a loan",
    description=(
        "Creates a loan in FUNDING with the caller as borrower, optionally inviting lenders (the rules of "
        "`POST /v1/loans/{loan_id}/lenders` apply: at most 20, no self-invitation, no duplicate email, "
        "contributions within the amount). Answers 201 with the loan, its `Location` and `ETag`."
    ),
    tags=[TAG],
    responses=documented(
        responses(201, Success[LoanOut], 401, 404, 409, 422, body=True),
        headers={201: {"Location": LOCATION_HEADER, "ETag": ETAG_HEADER}},
        links={201: LOAN_LINKS},
    ),
)
def create_loan(body: Annotated[CreateLoanRequest, Body()]) -> Response[Success[LoanOut]]:
    terms = LoanTerms(body.amount, body.interest_rate, body.term_months, body.purpose)
    loan = services.get().lending.create_loan(current.actor(app), terms, _invitees(body.lenders))
    logger.info("loan_created", extra={"loan_id": loan.loan_id, "lender_count": len(body.lenders)})
    where = envelope.location(app.current_event.raw_event, f"/v1/loans/{loan.loan_id}")
    return envelope.created(presenters.loan(loan), where, headers={"ETag": etag(loan.version)})


@app.get(
    "/v1/loans/my-loans",
    summary="List my loans",
    description="The caller's loans as borrower, with their participants, newest first; cancelled loans are left out.",
    tags=[TAG],
    responses=responses(200, Success[LoanList], 401),
)
def my_loans(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[LoanList]]:
    lending = services.get().lending

    def read(caller: str, at: Position | None) -> Page[Loan]:
        page = lending.my_loans(caller, limit, at)
        observability.record_count("LoansReturned", "GetMyLoans", len(page.items))
        return page

    return list_page(app, services.get().cursors, MY_LOANS, next_token, read, items="loans", present=presenters.loan)


@app.get(
    "/v1/loans/<loan_id>",
    summary="Read a loan",
    description=(
        "The loan with its participants, to its borrower and its participants only (anyone else: 404), "
        "including a CANCELLED one. A lender sees `ach` on its own participation only (the borrower sees "
        "every one). `fields=a,b` returns only those top-level fields; `If-None-Match` with the current "
        "ETag answers 304."
    ),
    tags=[TAG],
    responses=documented(
        responses(200, Success[LoanOut | LoanSelection], 401, 404),
        headers={200: {"ETag": ETAG_HEADER}},
        not_modified=True,
        links={200: LOAN_LINKS},
    ),
)
def get_loan(loan_id: LoanId, fields: LoanFields = None, if_none_match: IfNoneMatch = None) -> Response[dict[str, Any]]:
    # Annotated loosely because ``fields`` returns a subset of LoanOut; the full schema is
    # documented in ``responses`` above.
    loan = services.get().lending.get_loan(current.caller(app).user_id, loan_id)
    payload = select_fields(presenters.loan(loan).model_dump(), fields, LOAN_FIELDS)
    tag = etag(loan.version)
    stop_if_current(if_none_match, tag)
    return envelope.success(payload, headers={"ETag": tag})


@keyed.post(
    "/v1/loans/<loan_id>/lenders",
    summary="Invite lenders",
    description=(
        "Invites lenders by email, all or nothing: at most 20 a request and 100 pending or accepted "
        "participants a loan, no self-invitation, no email twice (in the request or already on the loan), "
        "and the total invited never above the amount, also under concurrent requests. Borrower only "
        "(a participant gets 403); not once the loan is FUNDED or CANCELLED (409)."
    ),
    tags=[TAG],
    responses=documented(
        responses(200, Success[AddLendersOut], 401, 403, 404, 409, 422, body=True),
        links={200: INVITATION_LINKS},
    ),
)
def add_lenders(loan_id: LoanId, body: Annotated[AddLendersRequest, Body()]) -> Response[Success[AddLendersOut]]:
    loan, added = services.get().lending.add_lenders(current.actor(app), loan_id, _invitees(body.lenders))
    logger.info("lenders_added", extra={"loan_id": loan_id, "lender_count": len(added)})
    observability.record_count("LendersAdded", "AddLenders", len(added))
    return envelope.success(presenters.lenders_added(loan, added))


@app.patch(
    "/v1/loans/<loan_id>",
    summary="Change a loan's terms",
    description=(
        "Changes interest_rate, term_months or purpose (each may be omitted, never null) with a "
        "change_reason, and records a history version. Needs `If-Match` with the version read "
        "(missing: 428, stale: 412). Borrower only; only while no invitation is accepted (409)."
    ),
    tags=[TAG],
    responses=documented(
        responses(200, Success[LoanOut], 401, 403, 404, 409, body=True),
        headers={200: {"ETag": ETAG_HEADER}},
        preconditions=True,
    ),
)
def patch_loan(
    loan_id: LoanId, body: Annotated[PatchLoanRequest, Body()], if_match: IfMatch = None
) -> Response[Success[LoanOut]]:
    actor = current.actor(app)
    versions = if_match_versions(if_match)
    loan = services.get().lending.revise(actor, loan_id, versions, body.terms(), body.change_reason)
    logger.info("loan_updated", extra={"loan_id": loan_id, "version": loan.version})
    return envelope.success(presenters.loan(loan), headers={"ETag": etag(loan.version)})


@app.delete(
    "/v1/loans/<loan_id>",
    summary="Cancel a loan",
    description=(
        "Soft delete: the loan becomes CANCELLED (deleted_at, deleted_by and the optional reason are kept) "
        "and leaves the lists. Borrower only; not once FUNDED (409)."
    ),
    tags=[TAG],
    responses=responses(204, None, 401, 403, 404, 409, body=True),
)
def cancel_loan(loan_id: LoanId, body: Annotated[CancelLoanRequest | None, Body()] = None) -> Response[None]:
    actor = current.actor(app)
    services.get().lending.cancel(actor, loan_id, body.reason if body else None)
    logger.info("loan_cancelled", extra={"loan_id": loan_id})
    return envelope.no_content()


@app.delete(
    "/v1/loans/<loan_id>/participants/<participant_id>",
    summary="Withdraw an invitation",
    description="Removes a PENDING participant (others: 409). Borrower only.",
    tags=[TAG],
    responses=responses(204, None, 401, 403, 404, 409),
)
def remove_participant(loan_id: LoanId, participant_id: ParticipantId) -> Response[None]:
    actor = current.actor(app)
    services.get().lending.remove_participant(actor, loan_id, participant_id)
    logger.info("participant_removed", extra={"loan_id": loan_id, "participant_id": participant_id})
    return envelope.no_content()


@keyed.post(
    "/v1/loans/<loan_id>/participants/batch",
    summary="Invite lenders one by one",
    description=(
        "Like inviting lenders, but each item stands alone: the answer lists, per item, `created` with "
        "its participant_id or `failed` with the reason, and a summary. Borrower only."
    ),
    tags=[TAG],
    responses=responses(200, Success[BatchOut], 401, 403, 404, 409, 422, body=True),
)
def batch_participants(
    loan_id: LoanId, body: Annotated[BatchParticipantsRequest, Body()]
) -> Response[Success[BatchOut]]:
    actor = current.actor(app)
    valid: list[tuple[int, Invitee]] = []
    results: list[dict[str, Any] | None] = [None] * len(body.participants)
    for index, raw in enumerate(body.participants):
        try:
            item = LenderIn.model_validate(raw)
        except ValidationError as invalid:
            email = raw.get("email") if isinstance(raw.get("email"), str) else None
            reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in invalid.errors())
            results[index] = {"email": email, "status": "failed", "error": reasons}
            continue
        valid.append((index, Invitee(item.email, item.contribution_amount)))
    outcomes = services.get().lending.add_each(actor, loan_id, [invitee for _, invitee in valid]) if valid else []
    for (index, _), outcome in zip(valid, outcomes, strict=True):
        results[index] = (
            {"email": outcome.email, "status": "created", "participant_id": outcome.participant_id}
            if outcome.error is None
            else {"email": outcome.email, "status": "failed", "error": outcome.error}
        )
    succeeded = sum(1 for result in results if result and result["status"] == "created")
    observability.record_count("LendersAdded", "BatchParticipants", succeeded)
    logger.info("lenders_added", extra={"loan_id": loan_id, "lender_count": succeeded})
    return envelope.success(
        {
            "results": results,
            "summary": {"total": len(results), "succeeded": succeeded, "failed": len(results) - succeeded},
        }
    )


@app.get(
    "/v1/loans/<loan_id>/history",
    summary="A loan's versions",
    description="Every version of the loan's terms (snapshot, changed fields, who, when, why), newest first.",
    tags=[TAG],
    responses=responses(200, Success[VersionList], 401, 404),
)
def history(loan_id: LoanId, limit: Limit = 20, next_token: NextToken = None) -> Response[Success[VersionList]]:
    lending = services.get().lending
    return list_page(
        app,
        services.get().cursors,
        f"{HistoryKind.VERSION}:{loan_id}",
        next_token,
        lambda caller, at: lending.versions(caller, loan_id, limit, at),
        items="versions",
        present=presenters.version,
    )


@app.get(
    "/v1/loans/<loan_id>/funding-history",
    summary="A loan's funding over time",
    description="One point per change of the funded total (total, percentage, participant counts), oldest first.",
    tags=[TAG],
    responses=responses(200, Success[FundingHistory], 401, 404),
)
def funding_history(
    loan_id: LoanId, limit: Limit = 20, next_token: NextToken = None
) -> Response[Success[FundingHistory]]:
    lending = services.get().lending
    return list_page(
        app,
        services.get().cursors,
        f"{HistoryKind.FUNDING}:{loan_id}",
        next_token,
        lambda caller, at: lending.funding_points(caller, loan_id, limit, at),
        items="points",
        present=presenters.funding_point,
    )


@app.get(
    "/v1/loans/<loan_id>/audit-log",
    summary="A loan's audit log",
    description=(
        "Who created, changed or deleted what on the loan and its participants (before and after), newest first."
    ),
    tags=[TAG],
    responses=responses(200, Success[AuditLog], 401, 404),
)
def audit_log(loan_id: LoanId, limit: Limit = 20, next_token: NextToken = None) -> Response[Success[AuditLog]]:
    lending = services.get().lending
    return list_page(
        app,
        services.get().cursors,
        f"{HistoryKind.AUDIT}:{loan_id}",
        next_token,
        lambda caller, at: lending.audit_log(caller, loan_id, limit, at),
        items="entries",
        present=presenters.audit_entry,
    )


handler = api.handler
