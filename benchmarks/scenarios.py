"""The benchmarked requests, seeded and then driven through the in-process handlers.

(a) GET /v1/loans/my-loans?limit=N for a borrower whose loans have 3 lenders each; the
    borrower has more loans than the largest page, so every page has a next one.
(b) POST /v1/loans/{id}/lenders adding k new lenders to a loan seeded with 50 participants,
    without and with an Idempotency-Key (alternating, so both meet the same loans), and the
    replay of keys already used; see ``benchmarks.plan`` for which loan each request meets.
Plus GET /v1/lender/pending?limit=20 (the lender's side of the same data), for reference.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from benchmarks.inprocess import InProcessApi, Result
from benchmarks.plan import ADD_AMOUNT, EXISTING_PARTICIPANTS, AddPlan, seed_plans
from benchmarks.samples import Sample, Scenario
from benchmarks.seed import Person, Seeder, unregistered_email
from benchmarks.sizes import SizedRunner, SizedWorld, seed_sized

MY_LOANS_LIMITS = (10, 20, 50, 100)
ADD_SIZES = (1, 10, 20)
LENDERS_PER_LOAN = 3
LENDER_POOL = 6
BORROWER_LOANS = max(MY_LOANS_LIMITS) + 10
PENDING_LIMIT = 20
MY_LOANS_TARGET = 1
# The lender's lists still read their loans with a BatchGetItem (see docs/decisions.md).
LENDER_LIST_TARGET = 2
ADD_LENDERS_TARGET = 4
# The client's old system (seeds 000 and 001): 13 calls for 10 loans x 3 lenders; 27 calls to
# add 10 lenders to a loan with 50 participants.
CLIENT_MY_LOANS_10 = 13
CLIENT_ADD_LENDERS_10 = 27
REPLAYED_SIZE = 10
MY_LOANS_PATH = "/v1/loans/my-loans"
LENDERS_ROUTE = "POST /v1/loans/{id}/lenders"
LENDERS_RESOURCE = "/v1/loans/{loan_id}/lenders"


@dataclass(frozen=True)
class World:
    borrower: Person  # owns only the my-loans loans, so every page has 3 lenders per loan
    owner: Person  # owns the add-lenders loans
    lender: Person  # one of the my-loans lenders, with pending invitations
    plans: dict[int, AddPlan]  # k -> the loans its requests go to
    warmup_loan: str
    sized: SizedWorld


def seed(seeder: Seeder, repetitions: int, progress: Callable[[str], None]) -> World:
    borrower, owner = seeder.person("borrower"), seeder.person("owner")
    lenders = seeder.people("lender", LENDER_POOL)
    progress(f"seeding {BORROWER_LOANS} loans x {LENDERS_PER_LOAN} lenders for my-loans")
    lender_sets = [
        [lenders[(index + offset) % LENDER_POOL].email for offset in range(LENDERS_PER_LOAN)]
        for index in range(BORROWER_LOANS)
    ]
    seeder.loans(borrower, lender_sets, Decimal("50000.00"))
    progress(f"seeding loans of {EXISTING_PARTICIPANTS} participants for add-lenders")
    plans = seed_plans(seeder, owner, ADD_SIZES, 2 * repetitions)  # plain and keyed requests
    warmup_loan = seeder.loan(owner, [unregistered_email("warmup")], ADD_AMOUNT)
    sized = seed_sized(seeder, seeder.client, seeder.main_table, repetitions, progress)
    return World(borrower, owner, lenders[0], plans, warmup_loan, sized)


class Runner:
    def __init__(self, api: InProcessApi, world: World, repetitions: int) -> None:
        self.api = api
        self.world = world
        self.repetitions = repetitions

    def run_all(self, progress: Callable[[str], None]) -> list[Scenario]:
        self._warm_up()
        scenarios: list[Scenario] = []
        for limit in MY_LOANS_LIMITS:
            progress(f"my-loans limit={limit}")
            scenarios.append(self.my_loans(limit))
        for k in ADD_SIZES:
            progress(f"add-lenders k={k}, without and with Idempotency-Key")
            plain, keyed, sent = self.add_lenders(k)
            scenarios += [plain, keyed]
            if k == REPLAYED_SIZE:
                progress(f"add-lenders k={k} replayed")
                scenarios.append(self.replays(sent))
        progress(f"lender pending limit={PENDING_LIMIT}")
        scenarios.append(self.pending())
        scenarios += SizedRunner(self.api, self.world.sized, self.repetitions, self._sample).run_all(progress)
        return scenarios

    # -- the scenarios ---------------------------------------------------------------------

    def my_loans(self, limit: int) -> Scenario:
        scenario = Scenario(
            key=f"my-loans-{limit}",
            route="GET /v1/loans/my-loans",
            label=f"limit={limit} ({limit} loans x {LENDERS_PER_LOAN} lenders)",
            target=MY_LOANS_TARGET,
            client_old=CLIENT_MY_LOANS_10 if limit == 10 else None,
        )
        for _ in range(self.repetitions):
            result = self._my_loans(limit)
            page = _data(result, 200)
            if page["count"] != limit or not page["has_more"]:
                raise RuntimeError(
                    f"my-loans limit={limit} returned {page['count']} loans, has_more={page['has_more']}"
                )
            if any(len(loan["participants"]) != LENDERS_PER_LOAN for loan in page["loans"]):
                raise RuntimeError("my-loans returned a loan without its 3 participants")
            scenario.samples.append(self._sample(result))
        return scenario

    def add_lenders(self, k: int) -> tuple[Scenario, Scenario, list[Sent]]:
        """Plain and keyed requests alternate over the same loans, so both meet the same sizes."""
        plain, keyed = (
            Scenario(
                key=f"add-lenders-{k}{'-key' if with_key else ''}",
                route=LENDERS_ROUTE,
                label=f"k={k} new on a loan with {EXISTING_PARTICIPANTS}" + (", Idempotency-Key" if with_key else ""),
                target=ADD_LENDERS_TARGET,
                client_old=CLIENT_ADD_LENDERS_10 if k == 10 and not with_key else None,
            )
            for with_key in (False, True)
        )
        sent: list[Sent] = []
        plan = self.world.plans[k]
        for _ in range(self.repetitions):
            for scenario in (plain, keyed):
                invitation = plan.next()
                body = {"lenders": [{"email": email, "contribution_amount": "100.00"} for email in invitation.emails]}
                key = f"bench-{uuid.uuid4()}" if scenario is keyed else None
                result = self._add(invitation.loan_id, body, key)
                added = _data(result, 200)["lenders_added"]
                if len(added) != k:
                    raise RuntimeError(f"add-lenders added {len(added)} lenders, not {k}")
                scenario.samples.append(self._sample(result))
                scenario.loan_sizes.append(invitation.existing)
                if key is not None:
                    sent.append(Sent(invitation.loan_id, key, body))
        return plain, keyed, sent

    def replays(self, sent: Sequence[Sent]) -> Scenario:
        """The same Idempotency-Key and body again: the stored response, nothing re-done."""
        scenario = Scenario(
            key=f"add-lenders-{REPLAYED_SIZE}-replay",
            route=LENDERS_ROUTE,
            label=f"k={REPLAYED_SIZE}, same Idempotency-Key again (replay)",
            target=ADD_LENDERS_TARGET,
        )
        for request in sent:
            result = self._add(request.loan_id, request.body, request.key)
            _data(result, 200)
            if result.headers.get("Idempotent-Replayed") != "true":
                raise RuntimeError("a replayed Idempotency-Key was not answered from the store")
            scenario.samples.append(self._sample(result))
        return scenario

    def pending(self) -> Scenario:
        scenario = Scenario(
            key=f"pending-{PENDING_LIMIT}",
            route="GET /v1/lender/pending",
            label=f"limit={PENDING_LIMIT} (invitations with their loans)",
            target=LENDER_LIST_TARGET,
        )
        for _ in range(self.repetitions):
            result = self.api.call(
                "lender",
                "GET",
                "/v1/lender/pending",
                user_id=self.world.lender.user_id,
                query={"limit": str(PENDING_LIMIT)},
            )
            if _data(result, 200)["count"] != PENDING_LIMIT:
                raise RuntimeError("lender pending returned a short page")
            scenario.samples.append(self._sample(result))
        return scenario

    # -- requests ----------------------------------------------------------------------------

    def _warm_up(self) -> None:
        """First calls build the resolvers' validation models and open connections: kept out
        of every scenario (a Lambda cold start is not what this measures)."""
        self._my_loans(10)
        body = {"lenders": [{"email": unregistered_email("warm"), "contribution_amount": "1.00"}]}
        _data(self._add(self.world.warmup_loan, body, None), 200)
        body = {"lenders": [{"email": unregistered_email("warm"), "contribution_amount": "1.00"}]}
        _data(self._add(self.world.warmup_loan, body, f"bench-warm-{uuid.uuid4()}"), 200)
        self.api.call("lender", "GET", "/v1/lender/pending", user_id=self.world.lender.user_id)

    def _my_loans(self, limit: int) -> Result:
        return self.api.call(
            "loans", "GET", MY_LOANS_PATH, user_id=self.world.borrower.user_id, query={"limit": str(limit)}
        )

    def _add(self, loan_id: str, body: dict[str, Any], key: str | None) -> Result:
        return self.api.call(
            "loans",
            "POST",
            f"/v1/loans/{loan_id}/lenders",
            resource=LENDERS_RESOURCE,
            path_parameters={"loan_id": loan_id},
            user_id=self.world.owner.user_id,
            body=body,
            headers={"Idempotency-Key": key} if key else None,
        )

    def _sample(self, result: Result) -> Sample:
        return Sample.of(result.window, self.api.idempotency_table, result.elapsed_ms)


@dataclass(frozen=True)
class Sent:
    loan_id: str
    key: str
    body: dict[str, Any]


def _data(result: Result, status: int) -> Any:
    if result.status != status:
        raise RuntimeError(f"expected HTTP {status}, got {result.status}: {result.body}")
    return result.body["data"]
