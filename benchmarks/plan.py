"""Which loan each add-lenders request goes to, and whom it invites.

Every request must meet a loan of about 50 participants, but seeding one costs most of a
second on DynamoDB Local (three transactions of up to 62 actions), too slow for one per
request. So each k gets a few loans seeded with exactly 50, requests go round-robin over them,
and the number of loans is chosen so none grows by more than ``MAX_GROWTH`` participants: the
first request on each loan meets exactly 50 (its capacity is the one reported), later ones at
most 50 + ``MAX_GROWTH``, which the contract's cap of 100 open participants per loan bounds.
The growth matters: the loan item carries its participants' roster, so the reads and writes of
the loan item cost more as the loan grows (see docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from benchmarks.seed import Person, Seeder, unregistered_email

EXISTING_PARTICIPANTS = 50
PARTICIPANT_CAP = 100  # PENDING or ACCEPTED participants a loan may hold (the contract)
MAX_GROWTH = PARTICIPANT_CAP - EXISTING_PARTICIPANTS
MIN_LOANS = 2  # so the first plain and the first keyed request both meet exactly 50
ADD_AMOUNT = Decimal("1000000.00")  # room for every request's contributions


@dataclass(frozen=True)
class Invitation:
    loan_id: str
    existing: int  # participants on the loan before this request
    emails: list[str]


@dataclass
class AddPlan:
    k: int
    loans: list[str]
    registered: list[Person]
    made: dict[str, int] = field(default_factory=dict)  # requests sent per loan
    turn: int = 0

    def next(self) -> Invitation:
        loan_id = self.loans[self.turn % len(self.loans)]
        self.turn += 1
        earlier = self.made.get(loan_id, 0)
        self.made[loan_id] = earlier + 1
        # Half registered users (whose email lookup DynamoDB finds), half new emails (invited
        # before they register): both kinds the client invites. A registered user is invited
        # once per loan, so each loan's n-th request takes the n-th slice of the pool.
        half = math.ceil(self.k / 2)
        invited = [p.email for p in self.registered[earlier * half : (earlier + 1) * half]]
        if len(invited) < half:
            raise RuntimeError("the registered invitee pool is too small for this plan")
        emails = invited + [unregistered_email("new") for _ in range(self.k - half)]
        return Invitation(loan_id, EXISTING_PARTICIPANTS + earlier * self.k, emails)


def loans_needed(k: int, requests: int) -> int:
    """Enough loans that round-robin never sends one loan more requests than its growth allows."""
    per_loan = max(1, MAX_GROWTH // k)
    return max(MIN_LOANS, math.ceil(requests / per_loan))


def registered_needed(sizes: tuple[int, ...], requests: int) -> int:
    return max(math.ceil(requests / loans_needed(k, requests)) * math.ceil(k / 2) for k in sizes)


def seed_plans(seeder: Seeder, owner: Person, sizes: tuple[int, ...], requests: int) -> dict[int, AddPlan]:
    """Loans of exactly 50 participants for ``requests`` add-lenders requests of each size."""
    registered = seeder.people("invitee", registered_needed(sizes, requests))
    counts = {k: loans_needed(k, requests) for k in sizes}
    existing = [
        [unregistered_email("existing") for _ in range(EXISTING_PARTICIPANTS)] for k in sizes for _ in range(counts[k])
    ]
    loan_ids = iter(seeder.loans(owner, existing, ADD_AMOUNT))
    return {k: AddPlan(k, [next(loan_ids) for _ in range(counts[k])], registered) for k in sizes}
