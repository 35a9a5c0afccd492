"""The cases that grow with the data: my-loans pages of 10, 50 and 100 loans whose loans have 10,
50 or 100 participants, and the routes whose reads must not grow with a loan's size (PATCH a
loan, withdraw one invitation) on loans of 10, 50, 100 and 220 participants (100 live, the
contract's cap, and 120 that declined).

These loans are written in bulk (BatchWriteItem) with the data layer's own item builders
(``loan_item``, ``participant_item``) on state the domain computes
(``invite``, ``respond``): the items are exactly what the API would store, without thousands of
transactions to seed them. Audit entries are left out: no case here reads them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from benchmarks.inprocess import InProcessApi, Result
from benchmarks.samples import Sample, Scenario
from benchmarks.seed import Person, Seeder, unregistered_email
from lendbridge.data.dynamo import to_item
from lendbridge.data.items import loan_item, participant_item
from lendbridge.domain.loans import Invitee, Loan, LoanStatus, ParticipantStatus, invite

PARTICIPANTS = (10, 50, 100)
PAGES = (10, 50, 100)
# Loans PATCH and withdraw are measured on; 220 is 100 live participants and 120 declined.
LOAN_SIZES = (10, 50, 100, 220)
LIVE_CAP = 100
_BATCH = 25
_THREADS = 4


@dataclass(frozen=True)
class SizedWorld:
    borrowers: dict[int, Person]  # participants per loan -> a borrower with max(PAGES) + 1 such loans
    owner: Person  # owns the PATCH / withdraw loans
    patch_loans: dict[int, str]
    withdraw_loans: dict[int, list[tuple[str, list[str]]]]  # size -> [(loan, its pending participants)]


class BulkWriter:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def loan(self, borrower: Person, participants: int, created_at: datetime) -> tuple[str, list[str]]:
        """A FUNDING loan with ``participants`` participants (those past the live cap declined);
        returns its id and its pending participants' ids."""
        loan = Loan(
            loan_id=str(uuid.uuid4()),
            borrower_id=borrower.user_id,
            borrower_name=borrower.profile.full_name,
            amount=Decimal("10000000.00"),
            interest_rate=Decimal("7.5"),
            term_months=12,
            purpose="benchmark",
            status=LoanStatus.FUNDING,
            created_at=created_at,
            created_by=borrower.user_id,
            updated_at=created_at,
            updated_by=borrower.user_id,
        )
        invitees = [Invitee(unregistered_email("sized"), Decimal("100.00")) for _ in range(participants)]
        after, created = invite(
            loan,
            invitees,
            {},
            new_ids=[str(uuid.uuid4()) for _ in invitees],
            now=created_at,
            actor_id=borrower.user_id,
        )
        declined = [
            replace(p, status=ParticipantStatus.DECLINED, version=2, responded_at=created_at)
            for p in created[LIVE_CAP:]
        ]
        created = created[:LIVE_CAP] + tuple(declined)
        freed = sum((p.contribution_amount for p in declined), Decimal("0"))
        after = replace(
            after,
            participants=created,
            total_invited=after.total_invited - freed,
            pending_count=after.pending_count - len(declined),
            declined_count=len(declined),
        )
        items = [loan_item(after)]
        items += [participant_item(participant) for participant in created]
        self._write(items)
        return after.loan_id, [p.participant_id for p in created if p.status == ParticipantStatus.PENDING]

    def _write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH):
            pending = {self._table: [{"PutRequest": {"Item": to_item(i)}} for i in items[start : start + _BATCH]]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def seed_sized(
    seeder: Seeder, client: Any, table: str, repetitions: int, progress: Callable[[str], None]
) -> SizedWorld:
    writer = BulkWriter(client, table)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    borrowers = {size: seeder.person(f"sized{size}") for size in PARTICIPANTS}
    jobs = [
        (borrowers[size], size, start + timedelta(minutes=index))
        for size in PARTICIPANTS
        for index in range(max(PAGES) + 1)
    ]
    progress(f"bulk-writing {len(jobs)} loans of {'/'.join(map(str, PARTICIPANTS))} participants for my-loans")
    with ThreadPoolExecutor(_THREADS, thread_name_prefix="bulk") as pool:
        list(pool.map(lambda job: writer.loan(*job), jobs))
    owner = seeder.person("sized-owner")
    patch_loans = {size: writer.loan(owner, size, start)[0] for size in LOAN_SIZES}
    withdraw_loans: dict[int, list[tuple[str, list[str]]]] = {}
    for size in LOAN_SIZES:
        pending = min(size, LIVE_CAP)
        needed = -(-repetitions // pending)
        withdraw_loans[size] = [writer.loan(owner, size, start) for _ in range(needed)]
    return SizedWorld(borrowers, owner, patch_loans, withdraw_loans)


class SizedRunner:
    def __init__(self, api: InProcessApi, world: SizedWorld, repetitions: int, sample: Callable[[Result], Sample]):
        self.api = api
        self.world = world
        self.repetitions = repetitions
        self._sample = sample

    def run_all(self, progress: Callable[[str], None]) -> list[Scenario]:
        scenarios = []
        for size in PARTICIPANTS:
            for limit in PAGES:
                progress(f"my-loans limit={limit}, {size} participants per loan")
                scenarios.append(self.my_loans(size, limit))
        for size in LOAN_SIZES:
            progress(f"PATCH and withdraw on a loan of {size} participants")
            scenarios += [self.patch(size), self.withdraw(size)]
        return scenarios

    def my_loans(self, size: int, limit: int) -> Scenario:
        scenario = Scenario(
            key=f"my-loans-{limit}x{size}",
            route="GET /v1/loans/my-loans",
            label=f"limit={limit} ({limit} loans x {size} participants)",
        )
        for _ in range(self.repetitions):
            result = self.api.call(
                "loans",
                "GET",
                "/v1/loans/my-loans",
                user_id=self.world.borrowers[size].user_id,
                query={"limit": str(limit)},
            )
            page = _data(result, 200)
            if page["count"] != limit or not page["has_more"]:
                raise RuntimeError(f"my-loans {limit}x{size}: {page['count']} loans, has_more={page['has_more']}")
            if any(len(loan["participants"]) != size for loan in page["loans"]):
                raise RuntimeError(f"my-loans {limit}x{size}: a loan without its {size} participants")
            scenario.samples.append(self._sample(result))
        return scenario

    def patch(self, size: int) -> Scenario:
        loan_id = self.world.patch_loans[size]
        scenario = Scenario(
            key=f"patch-loan-{size}",
            route="PATCH /v1/loans/{id}",
            label=f"a loan of {size} participants" + (" (100 live, 120 declined)" if size > LIVE_CAP else ""),
        )
        for index in range(self.repetitions):
            current = _data(self._loan_call("GET", loan_id, None, None), 200)
            body = {"purpose": f"benchmark {index}", "change_reason": "benchmark"}
            result = self._loan_call("PATCH", loan_id, body, {"If-Match": f'"{current["version"]}"'})
            if len(_data(result, 200)["participants"]) != size:
                raise RuntimeError(f"PATCH on a loan of {size} did not answer its participants")
            scenario.samples.append(self._sample(result))
            scenario.loan_sizes.append(size)
        return scenario

    def withdraw(self, size: int) -> Scenario:
        scenario = Scenario(
            key=f"withdraw-{size}",
            route="DELETE /v1/loans/{id}/participants/{pid}",
            label=f"a loan of {size} participants" + (" (100 live, 120 declined)" if size > LIVE_CAP else ""),
        )
        targets = [(loan_id, pid) for loan_id, pending in self.world.withdraw_loans[size] for pid in pending]
        for loan_id, participant_id in targets[: self.repetitions]:
            result = self.api.call(
                "loans",
                "DELETE",
                f"/v1/loans/{loan_id}/participants/{participant_id}",
                resource="/v1/loans/{loan_id}/participants/{participant_id}",
                path_parameters={"loan_id": loan_id, "participant_id": participant_id},
                user_id=self.world.owner.user_id,
            )
            if result.status != 204:
                raise RuntimeError(f"withdraw on a loan of {size}: HTTP {result.status}: {result.body}")
            scenario.samples.append(self._sample(result))
            scenario.loan_sizes.append(size)
        return scenario

    def _loan_call(
        self,
        method: str,
        loan_id: str,
        body: Any,
        headers: dict[str, str] | None,
    ) -> Result:
        return self.api.call(
            "loans",
            method,
            f"/v1/loans/{loan_id}",
            resource="/v1/loans/{loan_id}",
            path_parameters={"loan_id": loan_id},
            user_id=self.world.owner.user_id,
            body=body,
            headers=headers,
        )


def _data(result: Result, status: int) -> Any:
    if result.status != status:
        raise RuntimeError(f"expected HTTP {status}, got {result.status}: {result.body}")
    return result.body["data"]
