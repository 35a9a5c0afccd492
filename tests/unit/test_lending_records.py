"""Who, when and why: what each lending write records on the loan, on its invitations and in
its version history (the audit fields API.md shows), on the in-memory store. Also how a
lender's portfolio pages, how the optimistic retry loop spends its time budget, and that an
invitation the lender rules refuse is refused at its entry without asking the store to write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from lendbridge.domain import lending as lending_module
from lendbridge.domain.loans import (
    MAX_LENDERS_PER_REQUEST,
    MAX_LIVE_PARTICIPANTS,
    Invitee,
    ParticipantStatus,
    VersionConflict,
)
from lendbridge.errors import Conflict, Forbidden, ValidationFailed
from tests.memory_world import MemoryWorld
from tests.unit.test_lending_rules import ACH, TERMS, invitation_of, loan_with, stranger_email


@pytest.fixture
def world() -> MemoryWorld:
    return MemoryWorld()


def latest_version(world: MemoryWorld, caller_id: str, loan_id: str) -> Any:
    return world.lending.versions(caller_id, loan_id, 1, None).items[0]


def test_a_new_loan_keeps_its_terms_and_its_invitations_name_the_borrower(world: MemoryWorld) -> None:
    borrower, actor = world.user("borrower")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(stranger_email(), Decimal("100"))])
    stored = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert (stored.amount, stored.interest_rate, stored.term_months, stored.purpose) == (
        Decimal("10000.00"),
        TERMS.interest_rate,
        TERMS.term_months,
        TERMS.purpose,
    )
    [invited] = stored.participants
    assert (invited.created_by, invited.updated_by, invited.invited_at) == (
        borrower.user_id,
        borrower.user_id,
        stored.created_at,
    )


def test_a_revision_records_who_changed_the_terms_and_why(world: MemoryWorld) -> None:
    loan, (borrower, actor), _ = loan_with(world, "100")
    revised = world.lending.revise(actor, loan.loan_id, [loan.version], {"term_months": 12}, "shorter")
    assert (revised.updated_by, revised.change_reason) == (borrower.user_id, "shorter")
    version = latest_version(world, borrower.user_id, loan.loan_id)
    assert (version.version, version.changed_by, version.change_reason) == (
        revised.version,
        borrower.user_id,
        "shorter",
    )


def test_a_cancellation_records_who_when_and_why_on_the_loan_and_each_withdrawn_invitation(world: MemoryWorld) -> None:
    loan, (borrower, actor), [(_, lender)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)
    world.lending.cancel(actor, loan.loan_id, "no longer needed")
    after = world.lending.get_loan(borrower.user_id, loan.loan_id)
    assert after.deleted_at is not None
    assert after.deleted_at == after.updated_at  # one write: deleted when it was last changed
    assert (after.updated_by, after.change_reason) == (borrower.user_id, "no longer needed")
    withdrawn = world.store.participants[invitation.participant_id]
    assert (withdrawn.status, withdrawn.updated_at, withdrawn.updated_by) == (
        ParticipantStatus.REMOVED,
        after.deleted_at,
        borrower.user_id,
    )
    version = latest_version(world, borrower.user_id, loan.loan_id)
    assert (version.changed_by, version.change_reason) == (borrower.user_id, "no longer needed")


def test_a_decline_records_who_when_and_why(world: MemoryWorld) -> None:
    loan, (borrower, _), [(lender, lender_actor)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)
    participant, after = world.lending.decline(lender_actor, invitation.participant_id, "not now")
    assert participant.responded_at is not None
    assert participant.responded_at == participant.updated_at == after.updated_at
    assert (participant.updated_by, after.updated_by, after.change_reason) == (
        lender.user_id,
        lender.user_id,
        "not now",
    )
    version = latest_version(world, borrower.user_id, loan.loan_id)
    assert (version.changed_by, version.change_reason) == (lender.user_id, "not now")


def test_an_acceptance_seals_the_bank_account_for_its_loan_and_invitation(world: MemoryWorld) -> None:
    loan, _, [(lender, lender_actor)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)
    participant, after = world.lending.accept(lender_actor, invitation.participant_id, ACH)
    # The vault binds the ciphertext to both ids, so it cannot be replayed onto another invitation.
    assert world.vault.sealed == [(loan.loan_id, invitation.participant_id)]
    assert participant.responded_at is not None
    assert participant.responded_at == after.updated_at
    assert (after.updated_by, after.change_reason) == (lender.user_id, None)


def test_a_lenders_portfolio_pages_on_from_where_the_last_page_ended(world: MemoryWorld) -> None:
    lender, _ = world.user("lender")
    _, actor = world.user("borrower")
    loans = [world.lending.create_loan(actor, TERMS, [Invitee(lender.email, Decimal("10"))]) for _ in range(3)]
    first = world.lending.lender_participations(lender.user_id, ParticipantStatus.PENDING, 2, None)
    assert len(first.items) == 2
    assert first.next_position is not None
    rest = world.lending.lender_participations(lender.user_id, ParticipantStatus.PENDING, 2, first.next_position)
    assert rest.next_position is None
    seen = [participant.loan_id for participant, _ in first.items + rest.items]
    assert sorted(seen) == sorted(loan.loan_id for loan in loans)


# ---- the optimistic retry loop --------------------------------------------------------------


class FakeTime:
    """The monotonic clock the retry deadline is measured on, moved only by the backoffs."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert isinstance(seconds, float)
        self.now += seconds


class LongestBackoff:
    """The jitter source: records each range drawn from and always answers its top."""

    def __init__(self) -> None:
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, low: float, high: float) -> float:
        self.ranges.append((low, high))
        return high


def racing_world(monkeypatch: pytest.MonkeyPatch, budget: float) -> tuple[MemoryWorld, FakeTime, LongestBackoff, Any]:
    """A loan with one invitation, in a world timed by ``FakeTime`` where, from then on, every
    loan write loses a race."""
    clock, jitter = FakeTime(), LongestBackoff()
    monkeypatch.setattr(lending_module, "time", clock)
    monkeypatch.setattr(lending_module, "random", jitter)
    world = MemoryWorld(sleep=clock.sleep, retry_budget_s=budget)
    loan, _, [(lender, lender_actor)] = loan_with(world, "100")
    invitation = invitation_of(world, loan.loan_id, lender.user_id)

    def lose(*_: Any, **__: Any) -> None:
        raise VersionConflict("another write won")

    monkeypatch.setattr(world.store, "apply", lose)
    return world, clock, jitter, (lender_actor, invitation.participant_id)


def test_backoffs_double_from_10_ms_to_at_most_250_ms_with_full_jitter_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, clock, jitter, (lender, participant_id) = racing_world(monkeypatch, budget=1.0)
    with pytest.raises(Conflict):
        world.lending.decline(lender, participant_id, None)
    lows, highs = zip(*jitter.ranges, strict=True)
    assert set(lows) == {0}
    assert list(highs) == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25])
    # A further 250 ms would have ended after the 1 s budget: the loop gave up instead.
    assert clock.now == pytest.approx(0.81)


def test_a_backoff_that_ends_exactly_at_the_deadline_is_still_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # The budget ends exactly where the second backoff (10 ms, then 20 ms) ends.
    world, clock, jitter, (lender, participant_id) = racing_world(monkeypatch, budget=(0.0 + 0.01) + 0.02)
    with pytest.raises(Conflict):
        world.lending.accept(lender, participant_id, ACH)
    assert len(jitter.ranges) == 2
    assert clock.now == (0.0 + 0.01) + 0.02


# ---- invitations: the rules refuse before the store is asked ---------------------------------


def count_invitation_writes(monkeypatch: pytest.MonkeyPatch, world: MemoryWorld) -> list[int]:
    """How many invitations each write the store was asked for carried (refused ones included)."""
    writes: list[int] = []
    write = world.store.add_participants

    def counted(loan: Any, created: Any, *rest: Any, **named: Any) -> None:
        writes.append(len(created))
        write(loan, created, *rest, **named)

    monkeypatch.setattr(world.store, "add_participants", counted)
    return writes


def with_open_slots(world: MemoryWorld, actor: Any, loan_id: str, wanted: int) -> None:
    while (live := world.store.get(loan_id).live_count) < MAX_LIVE_PARTICIPANTS - wanted:  # type: ignore[union-attr]
        count = min(MAX_LENDERS_PER_REQUEST, MAX_LIVE_PARTICIPANTS - wanted - live)
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(count)])
    assert world.store.get(loan_id).open_slots == wanted  # type: ignore[union-attr]


def test_added_lenders_name_the_borrower_who_invited_them(world: MemoryWorld) -> None:
    loan, (borrower, actor), _ = loan_with(world, "100")
    _, [added] = world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("5"))])
    assert (added.created_by, added.updated_by) == (borrower.user_id, borrower.user_id)


def test_a_borrower_cannot_add_themselves_as_a_lender(monkeypatch: pytest.MonkeyPatch, world: MemoryWorld) -> None:
    loan, (borrower, actor), _ = loan_with(world, "100")
    writes = count_invitation_writes(monkeypatch, world)
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(borrower.email.upper(), Decimal("5"))])
    assert refused.value.field_errors == {
        "lenders[0].email": [f"You cannot invite yourself ({borrower.email.lower()})"]
    }
    assert writes == []


def test_an_email_already_on_the_loan_is_refused_at_its_entry_before_any_write(
    monkeypatch: pytest.MonkeyPatch, world: MemoryWorld
) -> None:
    loan, (_, actor), [(lender, _)] = loan_with(world, "100")
    writes = count_invitation_writes(monkeypatch, world)
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(
            actor, loan.loan_id, [Invitee(stranger_email(), Decimal("5")), Invitee(lender.email, Decimal("5"))]
        )
    assert list(refused.value.field_errors) == ["lenders[1].email"]
    assert writes == []


def test_a_full_loan_refuses_more_lenders_before_any_write(monkeypatch: pytest.MonkeyPatch, world: MemoryWorld) -> None:
    loan, (_, actor), _ = loan_with(world)
    with_open_slots(world, actor, loan.loan_id, 1)
    writes = count_invitation_writes(monkeypatch, world)
    with pytest.raises(ValidationFailed) as refused:
        world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("1")) for _ in range(2)])
    assert refused.value.details == {"open_slots": 1}
    assert writes == []


def test_batch_items_the_rules_refuse_never_reach_the_store(
    monkeypatch: pytest.MonkeyPatch, world: MemoryWorld
) -> None:
    loan, (_, actor), [(lender, _)] = loan_with(world, "100")
    with_open_slots(world, actor, loan.loan_id, 2)
    writes = count_invitation_writes(monkeypatch, world)
    invitees = [Invitee(lender.email, Decimal("1"))] + [Invitee(stranger_email(), Decimal("1")) for _ in range(3)]
    outcomes = world.lending.add_each(actor, loan.loan_id, invitees)
    assert [outcome.error is None for outcome in outcomes] == [False, True, True, False]
    assert writes == [1, 1]


def test_a_participant_may_not_send_a_batch_on_the_loan_they_are_invited_to(world: MemoryWorld) -> None:
    loan, _, [(_, lender)] = loan_with(world, "100")
    with pytest.raises(Forbidden):
        world.lending.add_each(lender, loan.loan_id, [Invitee(stranger_email(), Decimal("1"))])
