"""The claim worker's rule, on an in-memory store: every page is followed, claimed invitations
are skipped, and an invitation whose claim is refused (read from a lagging index) makes the
claim fail so the queue delivers it again, after the rest were claimed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lendbridge.domain.claims import ClaimRequest
from lendbridge.domain.lending import ClaimsPending, InvitationClaims
from lendbridge.domain.loans import Lender, Participant, ParticipantStatus
from lendbridge.domain.pages import Page, Position
from lendbridge.domain.ports import Actor

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
REQUEST = ClaimRequest("user-1", "ab" * 32, "Ada", "req-1")


def invitation(number: int, lender_id: str | None = None) -> Participant:
    return Participant(
        participant_id=f"p{number:03d}",
        loan_id=f"loan-{number}",
        borrower_id="borrower",
        loan_created_at=NOW,
        lender_email="ada@example.com",
        contribution_amount=Decimal("10.00"),
        status=ParticipantStatus.PENDING,
        invited_at=NOW,
        lender_id=lender_id,
    )


@dataclass
class PagedStore:
    invitations: list[Participant]
    refuse: set[str] = field(default_factory=set)
    pages_read: list[Position | None] = field(default_factory=list)
    claimed: list[tuple[str, Lender, Actor, datetime]] = field(default_factory=list)

    def invitations_page(self, email_digest: str, limit: int, position: Position | None) -> Page[Participant]:
        assert email_digest == REQUEST.email_digest
        self.pages_read.append(position)
        start = int(position["next"]) if position else 0
        items = self.invitations[start : start + limit]
        more = start + limit < len(self.invitations)
        return Page(items, {"next": str(start + limit)} if more else None)

    def claim(self, participant: Participant, lender: Lender, actor: Actor, now: datetime) -> bool:
        if participant.participant_id in self.refuse:
            return False
        self.claimed.append((participant.participant_id, lender, actor, now))
        return True


def claims(store: PagedStore, page_size: int) -> InvitationClaims:
    return InvitationClaims(store, lambda: NOW, page_size=page_size)  # type: ignore[arg-type]


def test_every_page_is_followed_and_claimed_invitations_are_skipped() -> None:
    store = PagedStore([invitation(n) for n in range(7)] + [invitation(7, lender_id="someone")])
    assert claims(store, page_size=3).claim(REQUEST) == 7
    assert store.pages_read == [None, {"next": "3"}, {"next": "6"}]
    assert [pid for pid, *_ in store.claimed] == [f"p{n:03d}" for n in range(7)]
    _, lender, actor, stamp = store.claimed[0]
    assert lender == Lender(user_id="user-1", full_name="Ada")
    assert actor == Actor(user_id="user-1", request_id="req-1")
    assert stamp == NOW


def test_a_refused_claim_fails_the_message_after_claiming_the_rest() -> None:
    store = PagedStore([invitation(n) for n in range(5)], refuse={"p001"})
    with pytest.raises(ClaimsPending) as raised:
        claims(store, page_size=2).claim(REQUEST)
    assert raised.value.retry_after > 0
    assert [pid for pid, *_ in store.claimed] == ["p000", "p002", "p003", "p004"]
    # Delivered again once the index caught up: the claimed ones are off the list.
    store.invitations = [replace(invitation(1))]
    store.refuse.clear()
    assert claims(store, page_size=2).claim(REQUEST) == 1


def test_an_invitation_claimed_already_is_skipped_and_the_rest_of_its_page_claimed() -> None:
    store = PagedStore([invitation(0), invitation(1, lender_id="someone"), invitation(2)])
    assert claims(store, page_size=10).claim(REQUEST) == 2
    assert [pid for pid, *_ in store.claimed] == ["p000", "p002"]


def test_a_pending_claim_says_how_many_invitations_are_left_for_later() -> None:
    store = PagedStore([invitation(n) for n in range(4)], refuse={"p000", "p002"})
    with pytest.raises(ClaimsPending) as raised:
        claims(store, page_size=10).claim(REQUEST)
    assert raised.value.message.startswith("2 invitation(s)")
