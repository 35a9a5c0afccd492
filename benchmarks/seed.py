"""Benchmark data, written through the real domain and data layer (never raw items), so the
loans, participants, invitee guards and audit entries are exactly what the API would store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lendbridge.data.loans import DynamoLoanStore
from lendbridge.data.users import DynamoUserStore
from lendbridge.domain.accounts import UserProfile
from lendbridge.domain.lending import Lending, LoanTerms
from lendbridge.domain.loans import MAX_LENDERS_PER_REQUEST, AchDetails, Invitee, SealedBankAccount
from lendbridge.domain.ports import Actor, new_id, utc_now

CONTRIBUTION = Decimal("100.00")
# Seeding is I/O bound on DynamoDB Local; a few threads keep its (2-core) JVM busy.
SEED_THREADS = 4


class BenchVault:
    """Stands in for KMS: no benchmarked route seals bank details (only accepting does)."""

    def seal(self, loan_id: str, participant_id: str, ach: AchDetails) -> SealedBankAccount:
        return SealedBankAccount(participant_id=participant_id, ciphertext=b"bench", key_id="bench-key")


@dataclass(frozen=True)
class Person:
    profile: UserProfile
    actor: Actor

    @property
    def user_id(self) -> str:
        return self.profile.user_id

    @property
    def email(self) -> str:
        return self.profile.email


def unregistered_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


class Seeder:
    def __init__(self, client: Any, tables: dict[str, str]) -> None:
        main, audit = tables["MainTable"], tables["AuditTable"]
        self.client = client
        self.main_table = main
        self.users = DynamoUserStore(client, main, audit, new_id)
        self.lending = Lending(
            store=DynamoLoanStore(client, main, audit, new_id), vault=BenchVault(), clock=utc_now, new_id=new_id
        )

    def person(self, name: str, user_id: str | None = None, email: str | None = None) -> Person:
        """A registered user (profile and email lookup), or only the actor of one that exists."""
        profile = UserProfile(
            user_id or str(uuid.uuid4()), email or unregistered_email(name), name.title(), datetime.now(UTC)
        )
        actor = Actor(user_id=profile.user_id, request_id=f"seed-{uuid.uuid4().hex[:8]}", ip_address="198.51.100.1")
        if user_id is None:
            self.users.create(profile, actor)
        return Person(profile, actor)

    def people(self, name: str, count: int) -> list[Person]:
        with ThreadPoolExecutor(SEED_THREADS, thread_name_prefix="seed") as pool:
            return list(pool.map(lambda index: self.person(f"{name}{index}"), range(count)))

    def loan(self, borrower: Person, emails: Sequence[str], amount: Decimal) -> str:
        """A loan in FUNDING with a participant per email: created with the first 20, then
        invited in batches of 20, as the API allows."""
        first, rest = emails[:MAX_LENDERS_PER_REQUEST], emails[MAX_LENDERS_PER_REQUEST:]
        terms = LoanTerms(amount, Decimal("7.5"), 12, "benchmark")
        loan = self.lending.create_loan(borrower.actor, terms, _invitees(first))
        for start in range(0, len(rest), MAX_LENDERS_PER_REQUEST):
            batch = rest[start : start + MAX_LENDERS_PER_REQUEST]
            self.lending.add_lenders(borrower.actor, loan.loan_id, _invitees(batch))
        return loan.loan_id

    def loans(self, borrower: Person, lender_sets: Sequence[Sequence[str]], amount: Decimal) -> list[str]:
        with ThreadPoolExecutor(SEED_THREADS, thread_name_prefix="seed") as pool:
            return list(pool.map(lambda emails: self.loan(borrower, emails, amount), lender_sets))


def _invitees(emails: Sequence[str]) -> list[Invitee]:
    return [Invitee(email=email, contribution=CONTRIBUTION) for email in emails]
