"""The participant-id migration on DynamoDB Local: 5,000 old-shape rows, a dry run, an
interrupted run resumed from its checkpoint, a second run that changes nothing, a crash in the
middle of a page, and the rows it must refuse."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from lendbridge.data import keys
from lendbridge.data.dynamo import from_item
from lendbridge.data.integrity_scan import IntegrityScanner
from lendbridge.data.loans import DynamoLoanStore
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.errors import DependencyUnavailable
from local.template import Assembly
from tests.integration.conftest_legacy import (
    START,
    Legacy,
    OldRow,
    generate,
    old_row_item,
    snapshot,
    totals,
    user_items,
    write_all,
)
from tests.integration.conftest_tables import create_main_table, item_count
from tests.integration.faults import _RawBody
from tools.migrations import participant_ids
from tools.migrations.checkpoints import FileCheckpoint, TableCheckpoint
from tools.migrations.legacy_participants import (
    Conversion,
    convert,
    is_migrated,
    is_old_participant,
    participant_id_for,
)
from tools.migrations.participant_ids import NAME, ParticipantIdMigration
from tools.migrations.participant_writes import ConversionWriter


@pytest.fixture
def table(dynamodb: Any, dev_assembly: Assembly) -> Iterator[str]:
    name = create_main_table(dynamodb, dev_assembly, prefix="lendbridge-migration")
    yield name
    dynamodb.delete_table(TableName=name)


def migration(dynamodb: Any, table: str, audit_table: str | None, **options: Any) -> ParticipantIdMigration:
    checkpoint = options.pop("checkpoint", None) or TableCheckpoint(dynamodb, table, NAME)
    return ParticipantIdMigration(dynamodb, table, checkpoint=checkpoint, audit_table=audit_table, **options)


def participants_by_loan(items: dict[tuple[str, str], dict[str, Any]]) -> dict[str, tuple[int, Decimal]]:
    return totals(
        (item["loan_id"], Decimal(item["contribution_amount"]))
        for (_, sk), item in items.items()
        if sk.startswith("PART#")
    )


def assert_migrated(dynamodb: Any, legacy: Legacy, before: dict[tuple[str, str], dict[str, Any]]) -> None:
    """No row lost, every row converted exactly once, counts and sums per loan unchanged, loans
    untouched, each participant readable through the store with its email and user id."""
    after = snapshot(dynamodb, legacy.table)
    assert set(before) <= set(after), "an item disappeared"
    for key, item in before.items():
        if key[1] == keys.LOAN or key[0].startswith(("USER#", "EMAIL#")):
            assert after[key] == item, f"{key} changed"
    old_rows = {(keys.loan_pk(row.loan_id), row.sort_key): row for row in legacy.rows}
    for key, row in old_rows.items():
        assert after[key]["migrated_to"] == participant_id_for(row.loan_id, row.sort_key)
        assert after[key]["contribution_amount"] == row.amount  # the old row is kept as it was
    assert participants_by_loan(after) == legacy.by_loan()
    live = sum(1 for row in legacy.rows if row.status != "DECLINED")
    checkpoint = 1 if (f"MIGRATION#{NAME}", "CHECKPOINT") in after else 0
    assert len(after) == len(before) + len(legacy.rows) + live + checkpoint
    store = DynamoLoanStore(dynamodb, legacy.table, "unused", new_id)
    expected = {participant_id_for(row.loan_id, row.sort_key): row for row in legacy.rows}
    with ThreadPoolExecutor(max_workers=4) as pool:
        loans = list(pool.map(store.get, legacy.loan_ids))
    for loan in loans:
        assert loan is not None
        assert (loan.total_invited, loan.participant_count) == (
            sum((p.contribution_amount for p in loan.participants if p.is_live), Decimal(0)),
            len(loan.participants),
        )
        for participant in loan.participants:
            row = expected[participant.participant_id]
            assert (participant.lender_email, participant.lender_id) == (row.email, row.user_id)
            assert (participant.contribution_amount, participant.status.value) == (row.amount, row.status)


class Writes:
    """Counts every DynamoDB write call a client sends, whatever the code that sends it."""

    OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")

    def __init__(self, client: Any) -> None:
        self.count = 0
        self._client = client

    def __enter__(self) -> Writes:
        for operation in self.OPERATIONS:
            self._client.meta.events.register(f"before-call.dynamodb.{operation}", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        for operation in self.OPERATIONS:
            self._client.meta.events.unregister(f"before-call.dynamodb.{operation}", self._seen)

    def _seen(self, **_: Any) -> None:
        self.count += 1


def test_5000_old_rows_migrate_once_with_dry_run_interruption_resume_and_a_no_op_rerun(
    dynamodb: Any, table: str
) -> None:
    """Without audit entries, to keep the test quick; they are checked on the smaller tables."""
    started = time.monotonic()
    legacy = generate(dynamodb, table, loans=500, per_loan=10)
    assert len(legacy.rows) == 5000
    before = snapshot(dynamodb, table)
    generated = time.monotonic()

    with Writes(dynamodb) as dry_writes:
        dry = migration(dynamodb, table, None).run(dry_run=True)
    assert (dry.this_run.converted, dry.this_run.old_rows, dict(dry.this_run.skipped)) == (5000, 5000, {})
    assert dry.writes == dry_writes.count == 0

    interrupted = migration(dynamodb, table, None).run(max_pages=3)
    assert not interrupted.complete
    assert 0 < interrupted.this_run.converted < 5000
    resumed = migration(dynamodb, table, None).run()
    assert resumed.resumed
    assert resumed.complete
    # The resumed run started where the first stopped: together they read the table once.
    assert interrupted.this_run.pages + resumed.this_run.pages == dry.this_run.pages
    assert resumed.overall.old_rows == resumed.overall.converted == 5000
    assert interrupted.this_run.converted + resumed.this_run.converted == 5000
    migrated = time.monotonic()
    assert_migrated(dynamodb, legacy, before)
    assert IntegrityScanner(dynamodb, table).run().total == 0
    verified = time.monotonic()

    with Writes(dynamodb) as second_writes:
        again = migration(dynamodb, table, None).run()
    assert again.complete
    assert not again.resumed
    assert (again.this_run.converted, again.this_run.already_migrated) == (0, 5000)
    assert (again.transactions, again.checkpoint_writes, again.writes, second_writes.count) == (0, 0, 0, 0)
    print(
        f"\n5,000 old rows: generated in {generated - started:.1f} s; dry run {dry.seconds:.1f} s; "
        f"migrated in {interrupted.seconds:.1f} s (3 pages, interrupted) + {resumed.seconds:.1f} s (resumed), "
        f"{interrupted.transactions + resumed.transactions} transactions and "
        f"{interrupted.checkpoint_writes + resumed.checkpoint_writes} checkpoint writes "
        f"({migrated - generated:.1f} s with the dry run); verified in {verified - migrated:.1f} s; "
        f"second run {again.seconds:.1f} s with {again.writes} writes"
    )


@contextmanager
def transactions_failing_after(client: Any, successes: int) -> Iterator[list[int]]:
    """Let ``successes`` TransactWriteItems through, then answer every attempt with a 500."""
    seen: list[int] = []

    def respond(request: Any, **_: Any) -> AWSResponse | None:
        seen.append(1)
        if len(seen) <= successes:
            return None
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected"}'
        return AWSResponse(request.url, 500, {"x-amzn-RequestId": "injected"}, _RawBody(body))

    event = "before-send.dynamodb.TransactWriteItems"
    client.meta.events.register(event, respond)
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, respond)


def test_a_crash_in_the_middle_of_a_page_resumes_from_the_file_checkpoint(
    dynamodb: Any, tables: dict[str, str], table: str, tmp_path: Path
) -> None:
    legacy = generate(dynamodb, table, loans=40, per_loan=5, users=20, seed=11)
    before = snapshot(dynamodb, table)
    checkpoint = FileCheckpoint(tmp_path / "participant_ids.json")
    run = migration(dynamodb, table, tables["AuditTable"], checkpoint=checkpoint, page_size=60)
    # A page of 60 items holds about 45 old rows, five transactions of about ten: the eighth
    # transaction, in the middle of the second page, fails.
    with transactions_failing_after(dynamodb, 7), pytest.raises(DependencyUnavailable):
        run.run()
    state = checkpoint.load()
    assert state is not None
    assert state.status == "RUNNING"
    assert state.last_key
    resumed = migration(dynamodb, table, tables["AuditTable"], checkpoint=checkpoint, page_size=60).run()
    assert resumed.resumed
    assert resumed.complete
    overall = resumed.overall
    assert overall.old_rows == 200 == overall.converted + overall.already_migrated
    assert overall.already_migrated > 0, "the crashed page had committed part of its rows"
    assert_migrated(dynamodb, legacy, before)
    # Each conversion was audited in its own transaction, exactly once, crash or not.
    loan_id = legacy.loan_ids[0]
    entries = [
        from_item(item)
        for item in dynamodb.query(
            TableName=tables["AuditTable"],
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.loan_pk(loan_id)}},
            ConsistentRead=True,
        )["Items"]
    ]
    rows = {participant_id_for(row.loan_id, row.sort_key): row for row in legacy.rows if row.loan_id == loan_id}
    assert sorted(entry["entity_id"] for entry in entries) == sorted(rows)
    for entry in entries:
        assert (entry["entity"], entry["action"], entry["user_id"]) == (
            "participant",
            "CREATE",
            "migration:participant_ids",
        )
        assert entry["changes"]["after"]["migrated_from"] == rows[entry["entity_id"]].sort_key
        assert entry["changes"]["after"]["lender_email"] == rows[entry["entity_id"]].email
    final = checkpoint.load()
    assert final is not None
    assert final.status == "DONE"


def test_rows_it_cannot_convert_are_reported_left_as_they_are_and_predicted_by_the_dry_run(
    dynamodb: Any,
    tables: dict[str, str],
    table: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    legacy = generate(dynamodb, table, loans=3, per_loan=2, users=10, seed=3)
    loan_id = legacy.loan_ids[0]
    loan_pk = keys.loan_pk(loan_id)
    dup_user, ghost_user = "dup-user-0000", "ghost-user-0000"
    odd = [
        # The same person twice: invited by email, then again by user id once registered.
        OldRow(loan_id, "pending:dup@example.com", "dup@example.com", None, Decimal("10"), "PENDING"),
        OldRow(loan_id, dup_user, "dup@example.com", dup_user, Decimal("20"), "PENDING"),
        OldRow(loan_id, ghost_user, "", ghost_user, Decimal("30"), "PENDING"),  # no profile
        OldRow("no-such-loan", "pending:x@example.com", "x@example.com", None, Decimal("40"), "PENDING"),
    ]
    items = [old_row_item(row, "b", START) for row in odd]
    items += user_items(dup_user, "dup@example.com", "Dup")
    items.append({"PK": loan_pk, "SK": "pending:weird@example.com", "contribution_amount": Decimal(5), "status": "X"})
    items.append({"PK": loan_pk, "SK": "pending:nothing@example.com", "status": "PENDING"})
    write_all(dynamodb, table, items)
    expected_skips = {
        "duplicate_invitee": 1,
        "lender_profile_missing": 1,
        "loan_missing": 1,
        "unknown_status": 1,
        "malformed": 1,
    }

    # DynamoDB Local keeps tables per access key and region: the command line must use the
    # fixture's, whatever an earlier test left in the environment.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert participant_ids.main(["--table", table, "--dry-run", "--endpoint", dynamodb.meta.endpoint_url]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["this_run"]["skipped"] == expected_skips
    assert dry["this_run"]["converted"] == len(legacy.rows) + 1
    real = migration(dynamodb, table, tables["AuditTable"]).run()
    assert dict(real.this_run.skipped) == expected_skips
    assert real.this_run.converted == len(legacy.rows) + 1
    # Left exactly as they were, for a person to resolve (the first of the duplicates, by key
    # order, was converted).
    unconverted = {
        item["SK"] for item in snapshot(dynamodb, table).values() if is_old_participant(item) and not is_migrated(item)
    }
    assert unconverted == {
        "pending:dup@example.com",
        ghost_user,
        "pending:nothing@example.com",
        "pending:weird@example.com",
        "pending:x@example.com",
    }
    again = migration(dynamodb, table, tables["AuditTable"]).run()
    assert dict(again.this_run.skipped) == expected_skips
    assert again.writes == 0


def test_converting_rows_another_run_already_converted_writes_nothing(
    dynamodb: Any, tables: dict[str, str], table: str
) -> None:
    """Two runs racing: the loser's transactions are cancelled by their conditions, and each of
    its conversions is recognised as already migrated rather than as a failure."""
    legacy = generate(dynamodb, table, loans=4, per_loan=10, users=20, seed=5)
    stale = snapshot(dynamodb, table)  # what the slower run read
    migration(dynamodb, table, tables["AuditTable"]).run()
    loans = {key[0]: item for key, item in stale.items() if key[1] == keys.LOAN}
    profiles = {item["user_id"]: item for key, item in stale.items() if key[0].startswith("USER#")}
    now = utc_now()
    conversions = [
        planned
        for key, item in stale.items()
        if key[0].startswith("LOAN#") and key[1] != keys.LOAN
        if isinstance(planned := convert(item, loans[key[0]], profiles.get(key[1]), now), Conversion)
    ]
    assert len(conversions) == len(legacy.rows)
    settled = item_count(dynamodb, table)
    outcome = ConversionWriter(dynamodb, table, tables["AuditTable"], new_id).write(conversions, "2026-01-01T00:00:00Z")
    assert (outcome.converted, outcome.already_migrated, outcome.transactions) == (0, len(legacy.rows), 0)
    assert item_count(dynamodb, table) == settled
