"""The borrower's side: create loans, list them, read one, invite lenders."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge import observability
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee
from lendbridge.domain.money import as_text
from lendbridge.http import current, envelope
from lendbridge.http.app import build_app, serve
from lendbridge.http.params import Fields, Limit, NextToken, select_fields
from lendbridge.lazy import Lazy
from lendbridge.schemas.common import Success, responses
from lendbridge.schemas.loans import (
    LOAN_FIELDS,
    AddLendersOut,
    AddLendersRequest,
    CreateLoanRequest,
    LenderIn,
    LoanList,
    LoanOut,
    present_loan,
    present_participant,
)
from lendbridge.wiring import LendingServices, build_lending_services

app = build_app()
logger = Logger()
tracer = Tracer()
services: Lazy[LendingServices] = Lazy(build_lending_services)

LoanId = Annotated[str, Path(min_length=1, max_length=64)]
MY_LOANS = "my-loans"


def _invitees(lenders: list[LenderIn]) -> list[Invitee]:
    return [Invitee(email=lender.email, contribution=lender.contribution_amount) for lender in lenders]


@app.post("/v1/loans", responses=responses(201, Success[LoanOut], 401, 404, 409, 422))
def create_loan(body: Annotated[CreateLoanRequest, Body()]) -> Response[Success[LoanOut]]:
    actor = current.actor(app)

    def execute() -> Response:
        terms = LoanTerms(body.amount, body.interest_rate, body.term_months, body.purpose)
        loan = services.get().lending.create_loan(actor, terms, _invitees(body.lenders))
        logger.info("loan_created", extra={"loan_id": loan.loan_id, "lender_count": len(body.lenders)})
        return envelope.created(present_loan(loan))

    return services.get().idempotency.run(app, "CreateLoan", actor.user_id, execute)


@app.get("/v1/loans/my-loans", responses=responses(200, Success[LoanList], 401))
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


@app.get("/v1/loans/<loan_id>", responses=responses(200, Success[LoanOut], 401, 404))
def get_loan(loan_id: LoanId, fields: Fields = None) -> Response[Success[LoanOut]]:
    loan = services.get().lending.get_loan(current.caller(app).user_id, loan_id)
    return envelope.success(select_fields(present_loan(loan), fields, LOAN_FIELDS))


@app.post("/v1/loans/<loan_id>/lenders", responses=responses(200, Success[AddLendersOut], 401, 404, 409, 422))
def add_lenders(loan_id: LoanId, body: Annotated[AddLendersRequest, Body()]) -> Response[Success[AddLendersOut]]:
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


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)
