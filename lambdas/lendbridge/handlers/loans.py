"""The borrower's side: create loans, list them, read one, invite lenders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from lendbridge import observability
from lendbridge.domain.history import HistoryKind
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.domain.money import as_text
from lendbridge.domain.pages import Page, Position
from lendbridge.http import current, envelope
from lendbridge.http.app import build_app, serve
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
from lendbridge.http.idempotency import IdempotencyKey, LegacyIdempotencyKey, replayable
from lendbridge.http.links import INVITATION_LINKS, LOAN_LINKS
from lendbridge.http.params import Limit, NextToken, ResourceId, fields_query, select_fields
from lendbridge.lazy import Lazy
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
    present_audit,
    present_loan,
    present_participant,
    present_point,
    present_version,
)
from lendbridge.wiring.lending import LendingServices, build_lending_services

app = build_app()
logger = Logger()
tracer = Tracer()
services: Lazy[LendingServices] = Lazy(build_lending_services)

TAG = "Loans"
LoanId = ResourceId
LoanFields = Annotated[str | None, fields_query(LOAN_FIELDS)]
ParticipantId = ResourceId
MY_LOANS = "my-loans"
R = TypeVar("R")


def _invitees(lenders: list[LenderIn]) -> list[Invitee]:
    return [Invitee(email=lender.email, contribution=lender.contribution_amount) for lender in lenders]


@app.post(
    "/v1/loans",
    summary="Create a loan",
    description=(
        "Creates a loan in FUNDING with the caller as borrower, optionally inviting lenders (the rules of "
        "`POST /v1/loans/{loan_id}/lenders` apply: at most 20, no self-invitation, no duplicate email, "
        "contributions within the amount). Answers 201 with the loan, its `Location` and `ETag`."
    ),
    tags=[TAG],
    responses=replayable(
        documented(
            responses(201, Success[LoanOut], 401, 404, 409, 422, body=True),
            headers={201: {"Location": LOCATION_HEADER, "ETag": ETAG_HEADER}},
            links={201: LOAN_LINKS},
        )
    ),
)
def create_loan(
    body: Annotated[CreateLoanRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    legacy_idempotency_key: LegacyIdempotencyKey = None,
) -> Response[Success[LoanOut]]:
    actor = current.actor(app)

    def execute() -> Response:
        terms = LoanTerms(body.amount, body.interest_rate, body.term_months, body.purpose)
        loan = services.get().lending.create_loan(actor, terms, _invitees(body.lenders))
        logger.info("loan_created", extra={"loan_id": loan.loan_id, "lender_count": len(body.lenders)})
        where = envelope.location(app.current_event.raw_event, f"/v1/loans/{loan.loan_id}")
        return envelope.created(present_loan(loan), where, headers={"ETag": etag(loan.version)})

    return services.get().idempotency.run(app, "CreateLoan", actor.user_id, execute)


@app.get(
    "/v1/loans/my-loans",
    summary="List my loans",
    description="The caller's loans as borrower, with their participants, newest first; cancelled loans are left out.",
    tags=[TAG],
    responses=responses(200, Success[LoanList], 401),
)
def my_loans(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[LoanList]]:
    caller = current.caller(app).user_id
    cursors = services.get().cursors
    page = services.get().lending.my_loans(caller, limit, cursors.decode(MY_LOANS, caller, next_token))
    observability.record_count("LoansReturned", "GetMyLoans", len(page.items))
    return envelope.success(
        {
            "loans": [present_loan(loan) for loan in page.items],
            "count": len(page.items),
            "has_more": page.has_more,
            "next_token": cursors.encode(MY_LOANS, caller, page.next_position),
        }
    )


@app.get(
    "/v1/loans/<loan_id>",
    summary="Read a loan",
    description=(
        "The loan with its participants, to its borrower and its participants only (anyone else: 404), "
        "including a CANCELLED one. `fields=a,b` returns only those top-level fields; `If-None-Match` "
        "with the current ETag answers 304."
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
    payload = select_fields(present_loan(loan), fields, LOAN_FIELDS)
    tag = etag(loan.version)
    stop_if_current(if_none_match, tag)
    return envelope.success(payload, headers={"ETag": tag})


@app.post(
    "/v1/loans/<loan_id>/lenders",
    summary="Invite lenders",
    description=(
        "Invites lenders by email, all or nothing: at most 20 a request and 100 pending or accepted "
        "participants a loan, no self-invitation, no email twice (in the request or already on the loan), "
        "and the total invited never above the amount, also under concurrent requests. Borrower only "
        "(a participant gets 403); not once the loan is FUNDED or CANCELLED (409)."
    ),
    tags=[TAG],
    responses=replayable(
        documented(
            responses(200, Success[AddLendersOut], 401, 403, 404, 409, 422, body=True),
            links={200: INVITATION_LINKS},
        )
    ),
)
def add_lenders(
    loan_id: LoanId,
    body: Annotated[AddLendersRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    legacy_idempotency_key: LegacyIdempotencyKey = None,
) -> Response[Success[AddLendersOut]]:
    actor = current.actor(app)

    def execute() -> Response:
        loan, added = services.get().lending.add_lenders(actor, loan_id, _invitees(body.lenders))
        logger.info("lenders_added", extra={"loan_id": loan_id, "lender_count": len(added)})
        observability.record_count("LendersAdded", "AddLenders", len(added))
        return envelope.success(
            {
                "loan_id": loan.loan_id,
                "lenders_added": [present_participant(p) for p in added],
                "total_invited": as_text(loan.total_invited),
                "remaining_amount": as_text(loan.remaining),
            }
        )

    return services.get().idempotency.run(app, "AddLenders", actor.user_id, execute)


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
    return envelope.success(present_loan(loan), headers={"ETag": etag(loan.version)})


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


@app.post(
    "/v1/loans/<loan_id>/participants/batch",
    summary="Invite lenders one by one",
    description=(
        "Like inviting lenders, but each item stands alone: the answer lists, per item, `created` with "
        "its participant_id or `failed` with the reason, and a summary. Borrower only."
    ),
    tags=[TAG],
    responses=replayable(responses(200, Success[BatchOut], 401, 403, 404, 409, 422, body=True)),
)
def batch_participants(
    loan_id: LoanId,
    body: Annotated[BatchParticipantsRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    legacy_idempotency_key: LegacyIdempotencyKey = None,
) -> Response[Success[BatchOut]]:
    actor = current.actor(app)

    def execute() -> Response:
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

    return services.get().idempotency.run(app, "BatchParticipants", actor.user_id, execute)


def _records(
    loan_id: str, kind: HistoryKind, next_token: str | None, read: Callable[[str, Position | None], Page[R]]
) -> tuple[Page[R], str | None]:
    caller = current.caller(app).user_id
    cursors = services.get().cursors
    list_name = f"{kind}:{loan_id}"
    page = read(caller, cursors.decode(list_name, caller, next_token))
    return page, cursors.encode(list_name, caller, page.next_position)


@app.get(
    "/v1/loans/<loan_id>/history",
    summary="A loan's versions",
    description="Every version of the loan's terms (snapshot, changed fields, who, when, why), newest first.",
    tags=[TAG],
    responses=responses(200, Success[VersionList], 401, 404),
)
def history(loan_id: LoanId, limit: Limit = 20, next_token: NextToken = None) -> Response[Success[VersionList]]:
    lending = services.get().lending
    page, token = _records(
        loan_id, HistoryKind.VERSION, next_token, lambda caller, at: lending.versions(caller, loan_id, limit, at)
    )
    versions = [present_version(record) for record in page.items]
    return envelope.success(
        {"versions": versions, "count": len(versions), "has_more": page.has_more, "next_token": token}
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
    page, token = _records(
        loan_id, HistoryKind.FUNDING, next_token, lambda caller, at: lending.funding_points(caller, loan_id, limit, at)
    )
    points = [present_point(point) for point in page.items]
    return envelope.success({"points": points, "count": len(points), "has_more": page.has_more, "next_token": token})


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
    page, token = _records(
        loan_id, HistoryKind.AUDIT, next_token, lambda caller, at: lending.audit_log(caller, loan_id, limit, at)
    )
    entries = [present_audit(entry) for entry in page.items]
    return envelope.success({"entries": entries, "count": len(entries), "has_more": page.has_more, "next_token": token})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)
