"""The referential-integrity job on DynamoDB Local: a healthy loan made through the real domain
reports nothing; each kind of orphan planted by hand is found; nothing is ever written."""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.data import keys
from lendbridge.data.dynamo import batch_get, from_item, to_item
from lendbridge.data.history import DynamoHistoryWriter
from lendbridge.data.integrity_scan import IntegrityScanner
from lendbridge.domain.history import funding_point, version_entry
from lendbridge.domain.integrity import OrphanKind
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import AchDetails, Invitee, Loan
from lendbridge.handlers import integrity
from local.template import Assembly
from tests.events import FakeContext
from tests.integration.conftest import World
from tests.integration.conftest_tables import all_items, create_main_table

ACH = AchDetails("Grace Hopper", "011000015", "000123456789", "checking")
TERMS = LoanTerms(Decimal("10000.00"), Decimal("7.5"), 36, "Bakery equipment")
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "GetItem")


@pytest.fixture
def table(dynamodb: Any, dev_assembly: Assembly) -> Iterator[str]:
    name = create_main_table(dynamodb, dev_assembly)
    yield name
    dynamodb.delete_table(TableName=name)


@pytest.fixture
def world(dynamodb: Any, tables: dict[str, str], table: str) -> World:
    """The real domain and stores, writing to this test's own main table."""
    return World(dynamodb, {**tables, "MainTable": table})


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The job's log lines (its Powertools logger holds the stdout it was created with)."""
    handler = integrity.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    previous = handler.setStream(captured)
    yield captured
    handler.setStream(previous)


def report_lines(captured: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.getvalue().splitlines() if '"integrity"' in line]


def healthy_loan(world: World) -> Loan:
    """A loan with a registered lender who accepted (bank record), an invitee without an account,
    a lender who declined (its email free again), and its version and funding history."""
    (_, borrower), (lender, lender_actor), (decliner, decliner_actor) = (
        world.user("borrower"),
        world.user("lender"),
        world.user("decliner"),
    )
    outsider = f"outsider-{uuid.uuid4().hex[:8]}@example.com"
    loan = world.lending.create_loan(
        borrower,
        TERMS,
        [
            Invitee(lender.email, Decimal("2500")),
            Invitee(outsider, Decimal("1000")),
            Invitee(decliner.email, Decimal("500")),
        ],
    )
    stored = world.store.get(loan.loan_id)
    assert stored is not None
    by_email = {p.lender_email: p for p in stored.participants}
    world.lending.accept(lender_actor, by_email[lender.email].participant_id, ACH)
    world.lending.decline(decliner_actor, by_email[decliner.email].participant_id, "not now")
    record_history(world, loan.loan_id)
    return loan


def record_history(world: World, loan_id: str) -> None:
    """What the stream consumer writes, from the loan item as stored."""
    item = world.dynamodb.get_item(
        TableName=world.tables["MainTable"], Key=to_item({"PK": keys.loan_pk(loan_id), "SK": keys.LOAN})
    )["Item"]
    image = from_item(item)
    DynamoHistoryWriter(world.dynamodb, world.tables["MainTable"]).record(
        loan_id, version_entry(None, image), funding_point(None, image)
    )


def put(world: World, pk: str, sk: str, **attributes: Any) -> None:
    item = {"PK": pk, "SK": sk, **attributes}
    world.dynamodb.put_item(TableName=world.tables["MainTable"], Item=to_item(item))


def plant_orphans(world: World, loan: Loan) -> dict[OrphanKind, int]:
    """One or two of each kind, written directly (as a bug or a hand edit would)."""
    gone_loan, gone_user, gone_participant = (str(uuid.uuid4()) for _ in range(3))
    loan_pk = keys.loan_pk(loan.loan_id)
    put(world, keys.loan_pk(gone_loan), keys.participant_sk(str(uuid.uuid4())), entity="participant")
    put(world, keys.email_pk(f"ghost-{gone_user}@example.com"), keys.PROFILE, entity="email_lookup", user_id=gone_user)
    guard_email = f"guarded-{gone_participant}@example.com"
    put(world, loan_pk, keys.invitee_sk(guard_email), entity="invitee_guard", participant_id=gone_participant)
    put(world, loan_pk, keys.invitee_sk("no-id@example.com"), entity="invitee_guard", active=True)
    put(world, loan_pk, keys.bank_sk(gone_participant), entity="bank_account", ciphertext=b"secret")
    put(world, keys.loan_pk(gone_loan), keys.version_sk(1), entity="loan_version")
    put(world, keys.loan_pk(gone_loan), keys.funding_sk("2026-01-01T00:00:00.000000Z", 1), entity="funding_point")
    return {
        OrphanKind.PARTICIPANT: 1,
        OrphanKind.EMAIL_LOOKUP: 1,
        OrphanKind.INVITEE_GUARD: 2,
        OrphanKind.BANK_RECORD: 1,
        OrphanKind.LOAN_VERSION: 1,
        OrphanKind.FUNDING_POINT: 1,
    }


class CallCounter:
    """Counts DynamoDB operations as botocore sends them."""

    def __init__(self, client: Any) -> None:
        self.calls: dict[str, int] = {}
        self._client = client
        self._lock = threading.Lock()  # the scanner's segments call from several threads

    def __enter__(self) -> CallCounter:
        self._client.meta.events.register("before-call.dynamodb", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        self._client.meta.events.unregister("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] = self.calls.get(model.name, 0) + 1


def test_a_healthy_loan_has_no_orphans_even_read_in_tiny_pages(world: World) -> None:
    healthy_loan(world)
    # Pages of 3 items split a loan's collection, so most references are checked with BatchGetItem.
    for page_size in (1000, 3):
        report = IntegrityScanner(world.dynamodb, world.tables["MainTable"], page_size=page_size).run()
        assert report.total == 0, report.as_dict()
        assert report.complete
    scanned = report.as_dict()["scanned"]
    assert scanned == {
        "loan": 1,
        "participant": 3,
        "bank_record": 1,
        "loan_version": 1,
        "funding_point": 1,
        "user": 3,
        "email_lookup": 3,
    }
    assert report.batch_get_calls >= 1


def test_every_kind_of_orphan_is_found_and_nothing_is_written(world: World) -> None:
    loan = healthy_loan(world)
    expected = plant_orphans(world, loan)
    table = world.tables["MainTable"]
    before = sorted(json.dumps(item, sort_keys=True, default=repr) for item in all_items(world.dynamodb, table))
    with CallCounter(world.dynamodb) as counter:
        report = IntegrityScanner(world.dynamodb, table, segments=3, page_size=4).run()
    assert report.orphans == expected
    assert report.total == sum(expected.values()) == 7
    # Read-only, and references checked in batches, never one GetItem each.
    assert not set(counter.calls) & set(WRITES), counter.calls
    assert set(counter.calls) == {"Scan", "BatchGetItem"}
    assert counter.calls["BatchGetItem"] == report.batch_get_calls
    after = sorted(json.dumps(item, sort_keys=True, default=repr) for item in all_items(world.dynamodb, table))
    assert after == before
    # Samples carry ids only: no email, no email hash, no ciphertext.
    samples = json.dumps(report.as_dict()["samples"])
    assert "@" not in samples
    assert "secret" not in samples
    assert keys.email_digest("no-id@example.com") not in samples
    assert {"loan_id": loan.loan_id, "participant_id": ""} in report.samples[OrphanKind.INVITEE_GUARD]


def test_the_job_emits_one_metric_per_kind_and_the_total_and_one_report_line(
    world: World, capsys: pytest.CaptureFixture[str], log_lines: io.StringIO
) -> None:
    loan = healthy_loan(world)
    plant_orphans(world, loan)
    capsys.readouterr()
    integrity.run_job(IntegrityScanner(world.dynamodb, world.tables["MainTable"]))
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [(m["Kind"], m["OrphanedRecords"]) for m in metrics] == [
        ("Participant", [1.0]),
        ("EmailLookup", [1.0]),
        ("InviteeGuard", [2.0]),
        ("BankRecord", [1.0]),
        ("LoanVersion", [1.0]),
        ("FundingPoint", [1.0]),
        ("All", [7.0]),
    ]
    for metric in metrics:
        (directive,) = metric["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PrivateLending/API"
        assert directive["Dimensions"] == [["Kind"]]  # no Powertools "service" dimension
        assert directive["Metrics"] == [{"Name": "OrphanedRecords", "Unit": "Count"}]
    (report_line,) = report_lines(log_lines)
    assert report_line["level"] == "WARNING"
    assert report_line["integrity"]["orphans"]["InviteeGuard"] == 2
    assert report_line["integrity"]["complete"] is True


def test_the_scheduled_handler_reports_a_clean_table_at_info(
    world: World, capsys: pytest.CaptureFixture[str], log_lines: io.StringIO
) -> None:
    healthy_loan(world)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    integrity.scanner.override(IntegrityScanner(world.dynamodb, world.tables["MainTable"]))
    try:
        assert integrity.handler(event, FakeContext()) == {"orphans_total": 0, "complete": True}  # type: ignore[arg-type]
    finally:
        integrity.scanner.reset()
    (report_line,) = report_lines(log_lines)
    assert report_line["level"] == "INFO"
    assert report_line["function_request_id"] == FakeContext.aws_request_id
    assert '"Kind":"All","OrphanedRecords":[0.0]' in capsys.readouterr().out


def test_past_its_deadline_the_scan_stops_and_says_it_is_incomplete(world: World) -> None:
    healthy_loan(world)
    report = IntegrityScanner(world.dynamodb, world.tables["MainTable"]).run(deadline=0.0)
    assert not report.complete
    assert report.pages == 0


def test_unprocessed_keys_are_retried_until_every_key_is_answered() -> None:
    class Stingy:
        """Answers one key per call and leaves the rest unprocessed, as a throttled table may."""

        def __init__(self) -> None:
            self.calls = 0

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # boto3's parameter name
            self.calls += 1
            ((table, request),) = RequestItems.items()
            first, *rest = request["Keys"]
            return {
                "Responses": {table: [first]},
                "UnprocessedKeys": {table: {"Keys": rest}} if rest else {},
            }

    stingy = Stingy()
    wanted = [(f"LOAN#{n}", "LOAN") for n in range(4)]
    found = batch_get(stingy, "t", wanted)
    assert sorted(item["PK"] for item in found) == [pk for pk, _ in wanted]
    assert stingy.calls == 4


def test_local_integrity_check_reports_and_exits_zero_with_orphans(
    world: World, dynamodb_local: Any, capsys: pytest.CaptureFixture[str], log_lines: io.StringIO
) -> None:
    from local import integrity_check

    loan = healthy_loan(world)
    plant_orphans(world, loan)
    code = integrity_check.main(["--endpoint", dynamodb_local.endpoint, "--table", world.tables["MainTable"]])
    out = capsys.readouterr().out
    assert code == 0
    assert "orphaned records: 7" in out
    assert integrity_check.main(["--endpoint", "http://127.0.0.1:9", "--table", "missing"]) == 1
