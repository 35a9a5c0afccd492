"""The lender's side: pending invitations, accept, decline, portfolio."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.domain.loans import AchDetails, Loan, LoanStatus, Participant, ParticipantStatus
from lendbridge.domain.money import as_text
from lendbridge.http import current, envelope
from lendbridge.http.app import build_app, serve
from lendbridge.http.idempotency import IdempotencyKey, LegacyIdempotencyKey, replayable
from lendbridge.http.params import Limit, NextToken, ResourceId
from lendbridge.lazy import Lazy
from lendbridge.schemas.common import Success, responses
from lendbridge.schemas.loans import (
    AcceptRequest,
    DeclineRequest,
    InvestmentList,
    InvitationList,
    ResponseOut,
    present_participant,
    present_summary,
)
from lendbridge.timestamps import iso
from lendbridge.wiring.lending import LendingServices, build_lending_services

TAG = "Lenders"
app = build_app()
logger = Logger()
tracer = Tracer()
services: Lazy[LendingServices] = Lazy(build_lending_services)

ParticipantId = ResourceId


def _page(
    status: ParticipantStatus, list_name: str, limit: int, next_token: str | None
) -> tuple[list[tuple[Participant, Loan]], bool, str | None]:
    caller = current.caller(app).user_id
    cursors = services.get().cursors
    page = services.get().lending.lender_participations(
        caller, status, limit, cursors.decode(list_name, caller, next_token)
    )
    return list(page.items), page.has_more, cursors.encode(list_name, caller, page.next_position)


@app.get(
    "/v1/lender/pending",
    summary="My pending invitations",
    description="Invitations to the caller still PENDING, each once, with a summary of its loan; newest first.",
    tags=[TAG],
    responses=responses(200, Success[InvitationList], 401),
)
def pending(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[InvitationList]]:
    rows, more, token = _page(ParticipantStatus.PENDING, "pending", limit, next_token)
    invitations = [
        {
            "participant_id": p.participant_id,
            "contribution_amount": as_text(p.contribution_amount),
            "invited_at": iso(p.invited_at),
            "loan": present_summary(loan),
        }
        for p, loan in rows
    ]
    return envelope.success(
        {"invitations": invitations, "count": len(invitations), "has_more": more, "next_token": token}
    )


@app.get(
    "/v1/lender/portfolio",
    summary="My investments",
    description="The caller's accepted participations with loan summaries (bank details as last four digits only).",
    tags=[TAG],
    responses=responses(200, Success[InvestmentList], 401),
)
def portfolio(limit: Limit = 20, next_token: NextToken = None) -> Response[Success[InvestmentList]]:
    rows, more, token = _page(ParticipantStatus.ACCEPTED, "portfolio", limit, next_token)
    investments = []
    for p, loan in rows:
        shown = present_participant(p)
        investments.append(
            {
                "participant_id": p.participant_id,
                "contribution_amount": shown["contribution_amount"],
                "invited_at": shown["invited_at"],
                "responded_at": shown["responded_at"],
                "ach": shown["ach"],
                "loan": present_summary(loan),
            }
        )
    return envelope.success(
        {"investments": investments, "count": len(investments), "has_more": more, "next_token": token}
    )


def _responded(participant: Participant, loan: Loan) -> dict[str, Any]:
    return {
        "participant": present_participant(participant),
        "loan": {
            "loan_id": loan.loan_id,
            "status": loan.status.value,
            "total_funded": as_text(loan.total_funded),
            "funding_percentage": as_text(loan.funding_percentage),
        },
    }


@app.post(
    "/v1/lender/invitations/<participant_id>/accept",
    summary="Accept an invitation",
    description=(
        "Accepts with the bank account to fund from (routing number with a valid ABA checksum; stored "
        "encrypted, only the last four digits ever shown). The loan becomes FUNDED when accepted "
        "contributions reach its amount. Not your invitation: 404; not PENDING or the loan not FUNDING: 409."
    ),
    tags=[TAG],
    responses=replayable(responses(200, Success[ResponseOut], 401, 404, 409, 422, body=True)),
)
def accept(
    participant_id: ParticipantId,
    body: Annotated[AcceptRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    legacy_idempotency_key: LegacyIdempotencyKey = None,
) -> Response[Success[ResponseOut]]:
    actor = current.actor(app)

    def execute() -> Response:
        ach = AchDetails(
            body.ach.account_holder_name, body.ach.routing_number, body.ach.account_number, body.ach.account_type
        )
        participant, loan = services.get().lending.accept(actor, participant_id, ach)
        logger.info("invitation_accepted", extra={"loan_id": loan.loan_id, "participant_id": participant_id})
        if loan.status == LoanStatus.FUNDED:
            logger.info("loan_funded", extra={"loan_id": loan.loan_id})
        return envelope.success(_responded(participant, loan))

    return services.get().idempotency.run(app, "AcceptInvitation", actor.user_id, execute)


@app.post(
    "/v1/lender/invitations/<participant_id>/decline",
    summary="Decline an invitation",
    description="Declines, with an optional reason. Not your invitation: 404; not PENDING: 409.",
    tags=[TAG],
    responses=replayable(responses(200, Success[ResponseOut], 401, 404, 409, 422, body=True)),
)
def decline(
    participant_id: ParticipantId,
    body: Annotated[DeclineRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
    legacy_idempotency_key: LegacyIdempotencyKey = None,
) -> Response[Success[ResponseOut]]:
    actor = current.actor(app)

    def execute() -> Response:
        participant, loan = services.get().lending.decline(actor, participant_id, body.reason if body else None)
        logger.info("invitation_declined", extra={"loan_id": loan.loan_id, "participant_id": participant_id})
        return envelope.success(_responded(participant, loan))

    return services.get().idempotency.run(app, "DeclineInvitation", actor.user_id, execute)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)
