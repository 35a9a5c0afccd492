"""Migrate participants to stable ids: old rows keyed ``LOAN#<loan_id>`` / ``<lender_id>`` (a user
id, or ``pending:<email>``) become ``PART#<participant_id>`` items with ``lender_email`` and a
nullable ``lender_id``, plus their invitee guards. See docs/migrations.md.

    python -m tools.migrations.participant_ids --table NAME --dry-run
    python -m tools.migrations.participant_ids --table NAME --audit-table NAME

Idempotent and resumable: ids derive from the old key, every write is conditional, old rows are
marked (never deleted) in the same transaction, and the scan position is checkpointed after
each page. A run with nothing to do writes nothing, not even its checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from lendbridge.aws import BOTO_CONFIG
from lendbridge.data import keys
from lendbridge.data.dynamo import batch_get, from_item, to_values, translated_errors
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.timestamps import iso
from tools.migrations.checkpoints import Checkpoint, CheckpointStore, FileCheckpoint, TableCheckpoint
from tools.migrations.legacy_participants import (
    LOAN_PK_PREFIX,
    NEW_SHAPE_PREFIXES,
    Conversion,
    Skip,
    SkipReason,
    convert,
    is_migrated,
    is_old_participant,
    lender_user_id,
    loan_id_of,
)
from tools.migrations.participant_writes import ConversionWriter

NAME = "participant_ids"
DEFAULT_PAGE_SIZE = 500

# Old rows only: in a loan's partition, not a new-shape sort key. Rows already migrated are read
# too (and counted as such), so every pass accounts for each old row exactly once.
_NEW_SHAPE = " OR ".join(f"begins_with(SK, :new{i})" for i in range(len(NEW_SHAPE_PREFIXES)))
_SCAN_FILTER = f"begins_with(PK, :loan) AND SK <> :loan_sk AND NOT ({_NEW_SHAPE})"
_SCAN_VALUES = to_values(
    {":loan": LOAN_PK_PREFIX, ":loan_sk": keys.LOAN, **{f":new{i}": p for i, p in enumerate(NEW_SHAPE_PREFIXES)}}
)


@dataclass
class Totals:
    pages: int = 0
    old_rows: int = 0  # old-shape rows read: converted + already_migrated + skipped
    converted: int = 0  # written; in a dry run, that would be written
    already_migrated: int = 0  # marked by an earlier run (or by a concurrent one, first)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, other: Totals) -> None:
        self.pages += other.pages
        self.old_rows += other.old_rows
        self.converted += other.converted
        self.already_migrated += other.already_migrated
        self.skipped.update(other.skipped)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "old_rows": self.old_rows,
            "converted": self.converted,
            "already_migrated": self.already_migrated,
            "skipped": dict(sorted(self.skipped.items())),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Totals:
        return cls(
            pages=int(values.get("pages", 0)),
            old_rows=int(values.get("old_rows", 0)),
            converted=int(values.get("converted", 0)),
            already_migrated=int(values.get("already_migrated", 0)),
            skipped=Counter(values.get("skipped", {})),
        )


@dataclass
class RunResult:
    dry_run: bool
    resumed: bool
    complete: bool
    this_run: Totals
    overall: Totals  # since the run that started from the beginning, resumes included
    transactions: int = 0
    checkpoint_writes: int = 0
    seconds: float = 0.0

    @property
    def writes(self) -> int:
        return self.transactions + self.checkpoint_writes

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "complete": self.complete,
            "this_run": self.this_run.as_dict(),
            "overall": self.overall.as_dict(),
            "transactions": self.transactions,
            "checkpoint_writes": self.checkpoint_writes,
            "seconds": round(self.seconds, 2),
        }


class ParticipantIdMigration:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        checkpoint: CheckpointStore,
        audit_table: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._table = table
        self._checkpoint = checkpoint
        self._page_size = page_size
        self._clock = clock
        self._writer = ConversionWriter(client, table, audit_table, new_id)

    def run(self, *, dry_run: bool = False, max_pages: int | None = None, restart: bool = False) -> RunResult:
        """Migrate page by page from the checkpoint (or the beginning). ``max_pages`` stops early,
        leaving the checkpoint to resume from; ``restart`` ignores an unfinished checkpoint."""
        started = time.monotonic()
        # A dry run starts from the beginning and never reads or writes the checkpoint.
        state = None if dry_run else self._checkpoint.load()
        unfinished = state is not None and state.status == "RUNNING"
        resumed = unfinished and not restart
        result = RunResult(
            dry_run=dry_run,
            resumed=resumed,
            complete=False,
            this_run=Totals(),
            overall=Totals.from_dict(state.totals) if state and resumed else Totals(),
        )
        run_id = state.run_id if state and resumed else str(uuid.uuid4())
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": _SCAN_FILTER,
            "ExpressionAttributeValues": _SCAN_VALUES,
            "Limit": self._page_size,
            "ConsistentRead": True,
        }
        if state and resumed and state.last_key:
            request["ExclusiveStartKey"] = state.last_key
        claimed_guards: set[tuple[str, str]] = set()  # a dry run's view of guards it would write
        while max_pages is None or result.this_run.pages < max_pages:
            with translated_errors():
                response = self._client.scan(**request)
            page, transactions = self._page([from_item(i) for i in response["Items"]], dry_run, claimed_guards)
            result.this_run.add(page)
            result.overall.add(page)
            result.transactions += transactions
            last = response.get("LastEvaluatedKey")
            result.complete = last is None
            # Once a run has written anything (or an unfinished checkpoint exists) it records
            # every page; a run that has changed nothing has nothing to resume and writes nothing.
            if not dry_run and (result.transactions or unfinished):
                self._checkpoint.save(
                    Checkpoint(
                        status="DONE" if last is None else "RUNNING",
                        last_key=last,
                        totals=result.overall.as_dict(),
                        run_id=run_id,
                        updated_at=iso(self._clock()),
                    )
                )
                result.checkpoint_writes += 1
            if last is None:
                break
            request["ExclusiveStartKey"] = last
        result.seconds = time.monotonic() - started
        return result

    def _page(
        self, items: list[dict[str, Any]], dry_run: bool, claimed_guards: set[tuple[str, str]]
    ) -> tuple[Totals, int]:
        rows = [item for item in items if is_old_participant(item)]
        old = [item for item in rows if not is_migrated(item)]
        totals = Totals(pages=1, old_rows=len(rows), already_migrated=len(rows) - len(old))
        if not old:
            return totals, 0
        loans, profiles = self._context(old)
        now = self._clock()
        conversions: list[Conversion] = []
        for planned in (convert(i, loans.get(loan_id_of(i)), profiles.get(lender_user_id(i) or ""), now) for i in old):
            if isinstance(planned, Skip):
                totals.skipped[planned.reason.value] += 1
            else:
                conversions.append(planned)
        if dry_run:
            for conversion in self._predict_duplicates(conversions, claimed_guards):
                conversions.remove(conversion)
                totals.skipped[SkipReason.DUPLICATE_INVITEE.value] += 1
            totals.converted += len(conversions)
            return totals, 0
        outcome = self._writer.write(conversions, iso(now))
        totals.converted += outcome.converted
        totals.already_migrated += outcome.already_migrated
        totals.skipped.update(outcome.skipped)
        return totals, outcome.transactions

    def _context(self, old: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """The rows' loans and their user-id lenders' profiles, in BatchGetItem calls."""
        loan_ids = {loan_id_of(item) for item in old}
        user_ids = {user_id for item in old if (user_id := lender_user_id(item))}
        wanted = [(keys.loan_pk(loan_id), keys.LOAN) for loan_id in loan_ids]
        wanted += [(keys.user_pk(user_id), keys.PROFILE) for user_id in user_ids]
        loans: dict[str, dict[str, Any]] = {}
        profiles: dict[str, dict[str, Any]] = {}
        for item in batch_get(self._client, self._table, wanted):
            if item["SK"] == keys.LOAN:
                loans[str(item["PK"]).removeprefix(LOAN_PK_PREFIX)] = item
            else:
                profiles[str(item["user_id"])] = item
        return loans, profiles

    def _predict_duplicates(self, conversions: Sequence[Conversion], claimed: set[tuple[str, str]]) -> list[Conversion]:
        """What the guards' conditions would refuse: an email already live on the loan (an
        active guard in the table) or claimed by an earlier row of this run."""
        live = [c for c in conversions if c.participant.is_live]
        guards = batch_get(self._client, self._table, [c.guard_key for c in live])
        # A guard released by a decline or removal is inactive and lets the email be invited again.
        active = {(item["PK"], item["SK"]) for item in guards if item.get("active")}
        refused = []
        for conversion in live:
            if conversion.guard_key in active or conversion.guard_key in claimed:
                refused.append(conversion)
            claimed.add(conversion.guard_key)
        return refused


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A session of its own, from the environment as it is now: boto3's default session keeps
    # whatever credentials and region the process first gave it.
    client = boto3.session.Session().client("dynamodb", endpoint_url=args.endpoint, config=BOTO_CONFIG)
    store: CheckpointStore
    if args.checkpoint_file:
        store = FileCheckpoint(Path(args.checkpoint_file))
    else:
        store = TableCheckpoint(client, args.checkpoint_table or args.table, NAME)
    migration = ParticipantIdMigration(
        client, args.table, checkpoint=store, audit_table=args.audit_table, page_size=args.page_size
    )
    result = migration.run(dry_run=args.dry_run, max_pages=args.max_pages, restart=args.restart)
    print(json.dumps(result.as_dict(), indent=2))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.migrations.participant_ids", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--table", required=True, help="the main table")
    parser.add_argument("--audit-table", help="also write an audit entry per converted participant (recommended)")
    parser.add_argument("--dry-run", action="store_true", help="read and report; write nothing")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--checkpoint-table",
        nargs="?",
        const="",
        help="keep the checkpoint as an item in this table (default: in --table itself)",
    )
    where.add_argument("--checkpoint-file", help="keep the checkpoint in this local JSON file instead")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="items read per Scan page")
    parser.add_argument("--max-pages", type=int, help="stop after this many pages (resume later)")
    parser.add_argument("--restart", action="store_true", help="ignore an unfinished checkpoint; rescan from the start")
    parser.add_argument("--endpoint", help="DynamoDB endpoint URL (default: AWS_ENDPOINT_URL_DYNAMODB or AWS)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
