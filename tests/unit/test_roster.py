"""The loan item's roster: what a participant's entry keeps, and how a loan without one reads."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from lendbridge.data.items import ROSTER_COMPLETE, loan_item, roster_entry, roster_name, roster_of
from lendbridge.domain.loans import BankSummary, Invitee, Loan, LoanStatus, ParticipantStatus, invite

NOW = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)


def _loan() -> Loan:
    loan = Loan(
        "loan-1",
        "borrower-1",
        "Bo",
        Decimal("1000.00"),
        Decimal("5"),
        12,
        None,
        LoanStatus.FUNDING,
        NOW,
        "borrower-1",
        NOW,
        "borrower-1",
    )
    after, _ = invite(
        loan,
        [Invitee("a@example.com", Decimal("10")), Invitee("b@example.com", Decimal("20.50"))],
        {},
        new_ids=["p-1", "p-2"],
        now=NOW,
        actor_id="borrower-1",
    )
    return after


def test_a_new_loan_lists_every_participant_it_shows_as_the_participant_itself() -> None:
    loan = _loan()
    accepted = replace(
        loan.participants[0],
        status=ParticipantStatus.ACCEPTED,
        lender_id="lender-1",
        lender_name="Lee",
        responded_at=NOW,
        version=3,
        bank=BankSummary("Lee", "checking", "0015", "6789"),
    )
    removed = replace(loan.participants[1], participant_id="p-3", status=ParticipantStatus.REMOVED)
    item = loan_item(replace(loan, participants=(accepted, loan.participants[1], removed)))

    listed = {p.participant_id: p for p in roster_of(item) or ()}

    assert item[ROSTER_COMPLETE] == 1
    assert set(listed) == {"p-1", "p-2"}  # a withdrawn invitation is not listed
    assert listed["p-1"] == replace(accepted, created_by="", updated_at=None, updated_by="")
    assert listed["p-2"].contribution_amount == Decimal("20.50")
    assert listed["p-2"].lender_id is None


def test_a_loan_without_the_marker_has_no_roster_to_read() -> None:
    item = loan_item(_loan())
    del item[ROSTER_COMPLETE]
    assert roster_of(item) is None


def test_a_damaged_entry_is_left_out_and_the_rest_read() -> None:
    item = loan_item(_loan())
    item[roster_name("p-1")] = ["PENDING"]
    assert [p.participant_id for p in roster_of(item) or ()] == ["p-2"]


def test_an_entry_is_positional_and_keeps_no_attribute_names() -> None:
    entry = roster_entry(_loan().participants[0])
    invited = calendar.timegm((2026, 11, 30, 1, 2, 3)) * 1_000_000 + 456789  # 2026-11-30T01:02:03.456789Z
    assert entry == ["P", "a@example.com", None, None, Decimal("10.00"), invited, None, 1, None]
