"""The integrity rules and report as pure functions: what each record needs, what it provides, which
records are orphans, and how reports add up. The scan over DynamoDB Local is in
tests/integration/test_integrity.py; these pin every rule and field so a changed one fails here."""

from __future__ import annotations

import pytest

from lendbridge.domain.integrity import (
    ALL_KINDS,
    DEFAULT_SAMPLE_LIMIT,
    IntegrityReport,
    OrphanKind,
    Record,
    RecordType,
    Ref,
    find_orphans,
    provides,
    requirement,
)

IDS = {"loan_id": "L1", "participant_id": "P1", "user_id": "U1"}


@pytest.mark.parametrize(
    ("record_type", "expected"),
    [
        (RecordType.PARTICIPANT, Ref("loan", ("L1",))),
        (RecordType.LOAN_VERSION, Ref("loan", ("L1",))),
        (RecordType.FUNDING_POINT, Ref("loan", ("L1",))),
        (RecordType.INVITEE_GUARD, Ref("participant", ("L1", "P1"))),
        (RecordType.BANK_RECORD, Ref("participant", ("L1", "P1"))),
        (RecordType.EMAIL_LOOKUP, Ref("user", ("U1",))),
        (RecordType.LOAN, None),
        (RecordType.USER, None),
        (RecordType.OTHER, None),
    ],
)
def test_each_record_type_requires_exactly_its_parent(record_type: RecordType, expected: Ref | None) -> None:
    assert requirement(Record(record_type, IDS)) == expected


@pytest.mark.parametrize(
    ("record_type", "expected"),
    [
        (RecordType.LOAN, Ref("loan", ("L1",))),
        (RecordType.PARTICIPANT, Ref("participant", ("L1", "P1"))),
        (RecordType.USER, Ref("user", ("U1",))),
        (RecordType.INVITEE_GUARD, None),
        (RecordType.BANK_RECORD, None),
        (RecordType.EMAIL_LOOKUP, None),
        (RecordType.LOAN_VERSION, None),
        (RecordType.FUNDING_POINT, None),
        (RecordType.OTHER, None),
    ],
)
def test_only_loans_participants_and_users_provide_an_entity(record_type: RecordType, expected: Ref | None) -> None:
    assert provides(Record(record_type, IDS)) == expected


def test_a_missing_id_reads_as_empty_and_makes_the_reference_unresolvable() -> None:
    record = Record(RecordType.INVITEE_GUARD, {"loan_id": "L1"})
    assert record.id_of("participant_id") == ""
    needed = requirement(record)
    assert needed == Ref("participant", ("L1", ""))
    assert needed is not None
    assert not needed.resolvable
    assert Ref("loan", ("L1",)).resolvable
    assert Record(RecordType.LOAN).ids == {}


def test_orphans_are_the_records_whose_requirement_is_missing_with_their_kind() -> None:
    present = {Ref("loan", ("L1",)), Ref("participant", ("L1", "P1")), Ref("user", ("U1",))}
    looked_up: list[Ref] = []

    def exists(ref: Ref) -> bool:
        looked_up.append(ref)
        return ref in present

    kept = [
        Record(RecordType.PARTICIPANT, {"loan_id": "L1", "participant_id": "P1"}),
        Record(RecordType.BANK_RECORD, {"loan_id": "L1", "participant_id": "P1"}),
        Record(RecordType.EMAIL_LOOKUP, {"user_id": "U1"}),
        Record(RecordType.LOAN, {"loan_id": "L9"}),
    ]
    orphaned = [
        Record(RecordType.PARTICIPANT, {"loan_id": "L2", "participant_id": "P2"}),
        Record(RecordType.EMAIL_LOOKUP, {"user_id": "U2"}),
        Record(RecordType.INVITEE_GUARD, {"loan_id": "L1", "participant_id": "P9"}),
        Record(RecordType.BANK_RECORD, {"loan_id": "L2", "participant_id": "P1"}),
        Record(RecordType.LOAN_VERSION, {"loan_id": "L2"}),
        Record(RecordType.FUNDING_POINT, {"loan_id": "L3"}),
    ]
    found = find_orphans([*kept, *orphaned], exists)
    assert found == [
        (OrphanKind.PARTICIPANT, orphaned[0]),
        (OrphanKind.EMAIL_LOOKUP, orphaned[1]),
        (OrphanKind.INVITEE_GUARD, orphaned[2]),
        (OrphanKind.BANK_RECORD, orphaned[3]),
        (OrphanKind.LOAN_VERSION, orphaned[4]),
        (OrphanKind.FUNDING_POINT, orphaned[5]),
    ]
    # A loan needs nothing, so nothing was looked up for it.
    assert Ref("loan", ("L9",)) not in looked_up


def test_a_record_that_does_not_name_its_parent_is_an_orphan_without_a_lookup() -> None:
    def exists(ref: Ref) -> bool:
        raise AssertionError(f"looked up {ref}")

    record = Record(RecordType.LOAN_VERSION, {})
    assert find_orphans([record], exists) == [(OrphanKind.LOAN_VERSION, record)]


def test_a_new_report_counts_nothing_and_is_complete() -> None:
    report = IntegrityReport()
    assert report.sample_limit == DEFAULT_SAMPLE_LIMIT == 10
    assert report.total == 0
    assert report.as_dict() == {
        "orphans_total": 0,
        "orphans": {kind.value: 0 for kind in OrphanKind},
        "samples": {},
        "scanned": {},
        "scanned_total": 0,
        "lookups": 0,
        "batch_get_calls": 0,
        "pages": 0,
        "complete": True,
    }
    assert ALL_KINDS == "All"


def test_a_report_counts_orphans_and_keeps_at_most_the_sample_limit_of_ids() -> None:
    report = IntegrityReport(sample_limit=2)
    for index in range(3):
        report.add_orphan(OrphanKind.PARTICIPANT, Record(RecordType.PARTICIPANT, {"loan_id": f"L{index}"}))
    report.add_orphan(OrphanKind.EMAIL_LOOKUP, Record(RecordType.EMAIL_LOOKUP, {"user_id": "U1"}))
    report.count_scanned([Record(RecordType.PARTICIPANT), Record(RecordType.PARTICIPANT), Record(RecordType.USER)])
    report.lookups, report.batch_get_calls, report.pages = 5, 2, 3

    assert report.total == 4
    assert report.as_dict() == {
        "orphans_total": 4,
        "orphans": {kind.value: {"Participant": 3, "EmailLookup": 1}.get(kind.value, 0) for kind in OrphanKind},
        "samples": {"Participant": [{"loan_id": "L0"}, {"loan_id": "L1"}], "EmailLookup": [{"user_id": "U1"}]},
        "scanned": {"participant": 2, "user": 1},
        "scanned_total": 3,
        "lookups": 5,
        "batch_get_calls": 2,
        "pages": 3,
        "complete": True,
    }


def test_merged_reports_add_every_count_and_fill_samples_only_up_to_the_limit() -> None:
    first = IntegrityReport(sample_limit=3)
    first.add_orphan(OrphanKind.LOAN_VERSION, Record(RecordType.LOAN_VERSION, {"loan_id": "A"}))
    first.add_orphan(OrphanKind.LOAN_VERSION, Record(RecordType.LOAN_VERSION, {"loan_id": "B"}))
    first.count_scanned([Record(RecordType.LOAN_VERSION)])
    first.lookups, first.batch_get_calls, first.pages = 1, 1, 1

    second = IntegrityReport(sample_limit=3)
    for name in ("C", "D", "E"):
        second.add_orphan(OrphanKind.LOAN_VERSION, Record(RecordType.LOAN_VERSION, {"loan_id": name}))
    second.add_orphan(OrphanKind.FUNDING_POINT, Record(RecordType.FUNDING_POINT, {"loan_id": "F"}))
    second.count_scanned([Record(RecordType.FUNDING_POINT), Record(RecordType.LOAN_VERSION)])
    second.lookups, second.batch_get_calls, second.pages = 10, 20, 30
    second.complete = False

    first.merge(second)
    summary = first.as_dict()
    assert summary["orphans"]["LoanVersion"] == 5
    assert summary["orphans"]["FundingPoint"] == 1
    assert summary["orphans_total"] == 6
    assert summary["samples"] == {
        "LoanVersion": [{"loan_id": "A"}, {"loan_id": "B"}, {"loan_id": "C"}],
        "FundingPoint": [{"loan_id": "F"}],
    }
    assert summary["scanned"] == {"loan_version": 2, "funding_point": 1}
    assert (summary["lookups"], summary["batch_get_calls"], summary["pages"]) == (11, 21, 31)
    assert summary["complete"] is False


def test_merging_into_a_full_sample_list_adds_no_sample_and_keeps_completeness_when_both_are_complete() -> None:
    full = IntegrityReport(sample_limit=1)
    full.add_orphan(OrphanKind.BANK_RECORD, Record(RecordType.BANK_RECORD, {"loan_id": "A"}))
    full.add_orphan(OrphanKind.BANK_RECORD, Record(RecordType.BANK_RECORD, {"loan_id": "B"}))
    other = IntegrityReport(sample_limit=1)
    other.add_orphan(OrphanKind.BANK_RECORD, Record(RecordType.BANK_RECORD, {"loan_id": "C"}))
    full.merge(other)
    assert full.samples[OrphanKind.BANK_RECORD] == [{"loan_id": "A"}]
    assert full.orphans[OrphanKind.BANK_RECORD] == 3
    assert full.complete is True
