"""The lender's side: pending invitations, accept, decline, portfolio."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from lendbridge.domain.loans import AchDetails, Loan, LoanStatus, Participant, ParticipantStatus
from lendbridge.domain.pages import Page, Position
from lendbridge.http import current, envelope
from lendbridge.http.app import ApiFunction
from lendbridge.http.idempotency import IdempotentRoutes
from lendbridge.http.pages import list_page
from lendbridge.http.params import Limit, NextToken, ResourceId
from lendbridge.schemas import presenters
from lendbridge.schemas.common import Success, responses
from lendbridge.schemas.loans import AcceptRequest, DeclineRequest, InvestmentList, InvitationList, ResponseOut
from lendbridge.wiring.lending import build_lending_services
from lendbridge.wiring.rate_limits import rate_limiter

TAG = "Lenders"
api = ApiFunction(build_lending_services, rate_limiter)
app, logger, services = api.app, api.logger, api.services
keyed = IdempotentRoutes(app, lambda: services.get().idempotency)

ParticipantId = ResourceId
Participation = tuple[Participant, Loan]


def _participations(status: ParticipantStatus, limit: int) -> Callable[[str, Position | None], Page[Participation]]:
    lending = services.get().lending
    return lambda caller, at: lending.lender_participations(caller, status, limit, at)


@app.get(
    "/v1/lender/pending",
    summary="My pending invitations",
    description="Invitations to the caller still PENDING, each once, with a summary of its loan; newest first.",
    tags=[TAG],
    responses=responses(200, Success[InvitationList], 401),
)
def pending(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[InvitationList]]:
    read = _participations(ParticipantStatus.PENDING, limit)
    cursors = services.get().cursors
    return list_page(app, cursors, "pending", next_token, read, items="invitations", present=presenters.invitation)


@app.get(
    "/v1/lender/portfolio",
    summary="My investments",
    description="The caller's accepted participations with loan summaries (bank details as last four digits only).",
    tags=[TAG],
    responses=responses(200, Success[InvestmentList], 401),
)
def portfolio(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[InvestmentList]]:
    read = _participations(ParticipantStatus.ACCEPTED, limit)
    cursors = services.get().cursors
    return list_page(app, cursors, "portfolio", next_token, read, items="investments", present=presenters.investment)


@keyed.post(
    "/v1/lender/invitations/<participant_id>/accept",
    summary="Accept an invitation",
    description=(
        "Accepts with the bank account to fund from (routing number with a valid ABA checksum; stored "
        "encrypted, only the last four digits ever shown). The loan becomes FUNDED when accepted "
        "contributions reach its amount. Not your invitation: 404; not PENDING or the loan not FUNDING: 409."
    ),
    tags=[TAG],
    responses=responses(200, Success[ResponseOut], 401, 404, 409, 422, body=True),
)
def accept(participant_id: ParticipantId, body: Annotated[AcceptRequest, Body()]) -> Response[Success[ResponseOut]]:
    ach = AchDetails(
        body.ach.account_holder_name, body.ach.routing_number, body.ach.account_number, body.ach.account_type
    )
    participant, loan = services.get().lending.accept(current.actor(app), participant_id, ach)
    logger.info("invitation_accepted", extra={"loan_id": loan.loan_id, "participant_id": participant_id})
    if loan.status == LoanStatus.FUNDED:
        logger.info("loan_funded", extra={"loan_id": loan.loan_id})
    return envelope.success(presenters.response(participant, loan))


@keyed.post(
    "/v1/lender/invitations/<participant_id>/decline",
    summary="Decline an invitation",
    description="Declines, with an optional reason. Not your invitation: 404; not PENDING: 409.",
    tags=[TAG],
    responses=responses(200, Success[ResponseOut], 401, 404, 409, 422, body=True),
)
def decline(
    participant_id: ParticipantId, body: Annotated[DeclineRequest | None, Body()] = None
) -> Response[Success[ResponseOut]]:
    reason = body.reason if body else None
    participant, loan = services.get().lending.decline(current.actor(app), participant_id, reason)
    logger.info("invitation_declined", extra={"loan_id": loan.loan_id, "participant_id": participant_id})
    return envelope.success(presenters.response(participant, loan))


handler = api.handler
