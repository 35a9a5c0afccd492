"""Old-shape participant rows for the migration tests (the shape docs/migrations.md describes).

Loans and users are in today's shape (the migration only converts participants); every loan's
running totals agree with its old rows, so "counts and sums equal before and after" is checkable.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lendbridge.data import keys
from lendbridge.data.dynamo import to_item
from lendbridge.data.items import ROSTER_COMPLETE, loan_item
from lendbridge.domain.loans import Loan, LoanStatus
from lendbridge.timestamps import iso
from tests.integration.conftest_tables import all_items

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class OldRow:
    loan_id: str
    sort_key: str  # a user id, or pending:<email>
    email: str  # normalised
    user_id: str | None
    amount: Decimal
    status: str


@dataclass
class Legacy:
    table: str
    rows: list[OldRow] = field(default_factory=list)
    loan_ids: list[str] = field(default_factory=list)

    def by_loan(self) -> dict[str, tuple[int, Decimal]]:
        return totals((row.loan_id, row.amount) for row in self.rows)


def totals(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, tuple[int, Decimal]]:
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for loan_id, amount in pairs:
        counts[loan_id] += 1
        sums[loan_id] += amount
    return {loan_id: (counts[loan_id], sums[loan_id]) for loan_id in counts}


def user_items(user_id: str, email: str, name: str) -> list[dict[str, Any]]:
    stamp = iso(START)
    audit = {"created_at": stamp, "created_by": user_id, "updated_at": stamp, "updated_by": user_id, "version": 1}
    profile = {"PK": keys.user_pk(user_id), "SK": keys.PROFILE, "entity": "user", "user_id": user_id}
    lookup = {"PK": keys.email_pk(email), "SK": keys.PROFILE, "entity": "email_lookup", "user_id": user_id}
    return [{**profile, "email": email, "full_name": name, **audit}, {**lookup, "full_name": name, **audit}]


def old_row_item(row: OldRow, borrower_id: str, invited_at: datetime) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.loan_pk(row.loan_id),
        "SK": row.sort_key,
        "loan_id": row.loan_id,
        "lender_id": row.sort_key,
        "contribution_amount": row.amount,
        "status": row.status,
        # The old code wrote naive UTC timestamps.
        "invited_at": invited_at.replace(tzinfo=None).isoformat(),
        "invited_by": borrower_id,
    }
    if row.status != "PENDING":
        item["responded_at"] = (invited_at + timedelta(hours=3)).isoformat()
    return item


def legacy_loan(loan_id: str, borrower_id: str, rows: list[OldRow], created_at: datetime) -> Loan:
    live = [r.amount for r in rows if r.status in ("PENDING", "ACCEPTED")]
    accepted = [r.amount for r in rows if r.status == "ACCEPTED"]
    return Loan(
        loan_id=loan_id,
        borrower_id=borrower_id,
        borrower_name="Borrower",
        amount=sum(live, Decimal(0)) + Decimal("1000.00"),
        interest_rate=Decimal("6.5"),
        term_months=24,
        purpose="working capital",
        status=LoanStatus.FUNDING,
        created_at=created_at,
        created_by=borrower_id,
        updated_at=created_at,
        updated_by=borrower_id,
        total_invited=sum(live, Decimal(0)),
        total_funded=sum(accepted, Decimal(0)),
        pending_count=sum(1 for r in rows if r.status == "PENDING"),
        accepted_count=len(accepted),
        declined_count=sum(1 for r in rows if r.status == "DECLINED"),
        largest_contribution=max(accepted, default=None),
        smallest_contribution=min(accepted, default=None),
    )


def generate(client: Any, table: str, *, loans: int, per_loan: int, users: int = 300, seed: int = 7) -> Legacy:
    """``loans`` x ``per_loan`` old rows: about 60 % registered lenders (by user id), the rest
    pending invitations (by email, some in mixed case), in every old status."""
    rng = random.Random(seed)
    people = [(str(uuid.UUID(int=rng.getrandbits(128))), f"lender{n}@example.com", f"Lender {n}") for n in range(users)]
    items = [item for person in people for item in user_items(*person)]
    legacy = Legacy(table)
    for n in range(loans):
        loan_id = str(uuid.UUID(int=rng.getrandbits(128)))
        borrower_id, *_ = rng.choice(people)
        created_at = START + timedelta(minutes=n)
        registered = rng.sample([p for p in people if p[0] != borrower_id], per_loan)
        rows = []
        for slot in range(per_loan):
            amount = Decimal(rng.randint(10_000, 500_000)) / 100
            if rng.random() < 0.6:
                user_id, email, _ = registered[slot]
                status = rng.choice(["PENDING", "PENDING", "ACCEPTED", "ACCEPTED", "DECLINED"])
                rows.append(OldRow(loan_id, user_id, email, user_id, amount, status))
            else:
                email = f"invitee-{n}-{slot}@example.com"
                shown = email.upper() if slot % 3 == 0 else email  # normalised by the migration
                status = rng.choice(["PENDING", "PENDING", "DECLINED"])
                rows.append(OldRow(loan_id, f"pending:{shown}", email, None, amount, status))
        loan = loan_item(legacy_loan(loan_id, borrower_id, rows, created_at))
        del loan[ROSTER_COMPLETE]  # loans of that era have no roster
        items.append(loan)
        items += [old_row_item(row, borrower_id, created_at + timedelta(seconds=i)) for i, row in enumerate(rows)]
        legacy.rows += rows
        legacy.loan_ids.append(loan_id)
    write_all(client, table, items)
    return legacy


def write_all(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    def write(chunk: list[dict[str, Any]]) -> None:
        requests = [{"PutRequest": {"Item": to_item(item)}} for item in chunk]
        while requests:
            response = client.batch_write_item(RequestItems={table: requests})
            requests = response.get("UnprocessedItems", {}).get(table, [])

    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, chunks))


def snapshot(client: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["PK"], item["SK"]): item for item in all_items(client, table)}
