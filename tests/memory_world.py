"""The lending core on the in-memory store, shaped like the DynamoDB ``World`` of the
integration tests so one suite can run on either."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lendbridge.data.memory import MemoryLoanStore, MemoryUserStore
from lendbridge.domain.accounts import UserProfile
from lendbridge.domain.lending import InvitationClaims, Lending
from lendbridge.domain.loans import AchDetails, SealedBankAccount
from lendbridge.domain.ports import Actor, new_id

START = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


class TickingClock:
    """A millisecond later at every reading: every write gets its own, ordered timestamp."""

    def __init__(self, start: datetime = START) -> None:
        self._ticks = itertools.count()
        self._start = start

    def __call__(self) -> datetime:
        return self._start + timedelta(milliseconds=next(self._ticks))


class CountingVault:
    def __init__(self) -> None:
        self.sealed: list[tuple[str, str]] = []

    def seal(self, loan_id: str, participant_id: str, ach: AchDetails) -> SealedBankAccount:
        self.sealed.append((loan_id, participant_id))
        blob = f"sealed:{loan_id}:{participant_id}:{len(ach.account_number)}".encode()
        return SealedBankAccount(participant_id=participant_id, ciphertext=blob, key_id="test-key")


class MemoryWorld:
    def __init__(self, sleep: Callable[[float], None] | None = None, retry_budget_s: float = 6.0) -> None:
        self.users = MemoryUserStore()
        self.store = MemoryLoanStore(self.users)
        self.vault = CountingVault()
        self.clock = TickingClock()
        self.sleeps: list[float] = []
        self.lending = Lending(
            store=self.store,
            vault=self.vault,
            clock=self.clock,
            new_id=new_id,
            retry_budget_s=retry_budget_s,
            sleep=sleep or self.sleeps.append,
        )
        self.claims = InvitationClaims(self.store, self.clock)

    def process_stream(self) -> int:
        """The memory store records versions and funding points as it writes."""
        return 0

    def user(self, name: str = "user") -> Any:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        profile = UserProfile(str(uuid.uuid4()), email, name.title(), self.clock())
        actor = Actor(user_id=profile.user_id, request_id=f"req-{uuid.uuid4().hex[:8]}", ip_address="198.51.100.1")
        self.users.create(profile, actor)
        return profile, actor
