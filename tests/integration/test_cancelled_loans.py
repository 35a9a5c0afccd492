"""A cancelled loan stays readable to its borrower and participants, with its deletion fields,
and stays out of every list (issue 8, item 7)."""

from __future__ import annotations

from decimal import Decimal

from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee
from tests.events import body_of
from tests.integration.conftest import World
from tests.integration.handler_calls import call, handlers_on

LOAN = "/v1/loans/{loan_id}"
ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")


def test_a_cancelled_loan_is_readable_by_its_borrower_and_participants_but_listed_nowhere(world: World) -> None:
    (borrower, actor), (accepted, accepted_actor), (invited, _), (stranger, _) = (
        world.user("borrower"),
        world.user("accepted"),
        world.user("invited"),
        world.user("stranger"),
    )
    loan = world.lending.create_loan(
        actor,
        LoanTerms(Decimal("1000"), Decimal("5"), 12, "Roof"),
        [Invitee(accepted.email, Decimal("100")), Invitee(invited.email, Decimal("200"))],
    )
    acceptance = next(p for p in loan.participants if p.lender_id == accepted.user_id)
    world.lending.accept(accepted_actor, acceptance.participant_id, ACH)
    params = {"loan_id": loan.loan_id}

    with handlers_on(world):
        deleted = call("DELETE", LOAN, borrower.user_id, params=params, body={"reason": "Found a cheaper offer"})
        assert deleted["statusCode"] == 204, deleted["body"]
        world.process_stream()

        for reader in (borrower.user_id, accepted.user_id):
            got = call("GET", LOAN, reader, params=params)
            assert got["statusCode"] == 200, got["body"]
            shown = body_of(got)["data"]
            assert shown["status"] == "CANCELLED"
            assert shown["deleted_by"] == borrower.user_id
            assert shown["deletion_reason"] == "Found a cheaper offer"
            assert shown["deleted_at"].endswith("Z")
            assert [p["lender_id"] for p in shown["participants"]] == [accepted.user_id]
        # The invitation it withdrew is gone, and so is the invitee's view of the loan.
        for outsider in (invited.user_id, stranger.user_id):
            assert call("GET", LOAN, outsider, params=params)["statusCode"] == 404

        assert loan.loan_id not in str(body_of(call("GET", "/v1/loans/my-loans", borrower.user_id)))
        assert loan.loan_id not in str(body_of(call("GET", "/v1/lender/portfolio", accepted.user_id)))
        assert loan.loan_id not in str(body_of(call("GET", "/v1/lender/pending", invited.user_id)))

        history = call("GET", LOAN + "/history", borrower.user_id, params=params)
        assert history["statusCode"] == 200, history["body"]
        assert body_of(history)["data"]["versions"][0]["snapshot"]["status"] == "CANCELLED"
        audit = call("GET", LOAN + "/audit-log", borrower.user_id, params=params)
        assert audit["statusCode"] == 200, audit["body"]
        assert "DELETE" in {entry["action"] for entry in body_of(audit)["data"]["entries"]}

        # Now that it is visible, changing it is a state conflict for the borrower, 403 for a participant.
        again = call("DELETE", LOAN, borrower.user_id, params=params)
        assert (again["statusCode"], body_of(again)["error"]) == (409, "CONFLICT")
        patched = call(
            "PATCH",
            LOAN,
            borrower.user_id,
            params=params,
            body={"term_months": 6, "change_reason": "late"},
            headers={"If-Match": f'"{shown["version"]}"'},
        )
        assert (patched["statusCode"], body_of(patched)["error"]) == (409, "CONFLICT")
        assert call("DELETE", LOAN, accepted.user_id, params=params)["statusCode"] == 403
