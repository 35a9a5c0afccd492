"""Referential integrity of the main table: which records need which others, and the report.

Pure rules over records the data layer has already parsed from keys (see
``lendbridge.data.integrity_scan``); nothing here knows a key format or touches a table.
Nothing is ever deleted: an orphan is reported for a person to look at, never repaired here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

DEFAULT_SAMPLE_LIMIT = 10
ALL_KINDS = "All"  # the Kind dimension value of the total


class RecordType(StrEnum):
    LOAN = "loan"
    PARTICIPANT = "participant"
    INVITEE_GUARD = "invitee_guard"
    BANK_RECORD = "bank_record"
    LOAN_VERSION = "loan_version"
    FUNDING_POINT = "funding_point"
    USER = "user"
    EMAIL_LOOKUP = "email_lookup"
    OTHER = "other"  # anything the rules say nothing about (legacy rows, checkpoints)


class OrphanKind(StrEnum):
    """The metric's ``Kind`` dimension values."""

    PARTICIPANT = "Participant"  # a participant whose loan is missing
    EMAIL_LOOKUP = "EmailLookup"  # an email lookup whose user profile is missing
    INVITEE_GUARD = "InviteeGuard"  # an invitee guard whose participant is missing
    BANK_RECORD = "BankRecord"  # a sealed bank record whose participant is missing
    LOAN_VERSION = "LoanVersion"  # a version snapshot whose loan is missing
    FUNDING_POINT = "FundingPoint"  # a funding point whose loan is missing


_KIND_OF = {
    RecordType.PARTICIPANT: OrphanKind.PARTICIPANT,
    RecordType.EMAIL_LOOKUP: OrphanKind.EMAIL_LOOKUP,
    RecordType.INVITEE_GUARD: OrphanKind.INVITEE_GUARD,
    RecordType.BANK_RECORD: OrphanKind.BANK_RECORD,
    RecordType.LOAN_VERSION: OrphanKind.LOAN_VERSION,
    RecordType.FUNDING_POINT: OrphanKind.FUNDING_POINT,
}

Entity = Literal["loan", "participant", "user"]


@dataclass(frozen=True)
class Ref:
    """An entity a record needs: ``("loan", (loan_id,))``, ``("participant", (loan_id,
    participant_id))`` or ``("user", (user_id,))``."""

    entity: Entity
    ids: tuple[str, ...]

    @property
    def resolvable(self) -> bool:
        """False when the record does not even name what it points to (an attribute is missing):
        such a record is an orphan without looking anything up."""
        return all(self.ids)


@dataclass(frozen=True)
class Record:
    """One item as the rules see it. ``ids`` holds identifiers only (loan, participant and user
    ids), never emails, email hashes or ciphertext, because samples of it reach the logs."""

    type: RecordType
    ids: Mapping[str, str] = field(default_factory=dict)

    def id_of(self, name: str) -> str:
        return self.ids.get(name, "")


def requirement(record: Record) -> Ref | None:
    """What must exist for ``record`` not to be an orphan (None: it needs nothing)."""
    loan_id = record.id_of("loan_id")
    if record.type in (RecordType.PARTICIPANT, RecordType.LOAN_VERSION, RecordType.FUNDING_POINT):
        return Ref("loan", (loan_id,))
    if record.type in (RecordType.INVITEE_GUARD, RecordType.BANK_RECORD):
        return Ref("participant", (loan_id, record.id_of("participant_id")))
    if record.type == RecordType.EMAIL_LOOKUP:
        return Ref("user", (record.id_of("user_id"),))
    return None


def provides(record: Record) -> Ref | None:
    """The entity ``record`` itself is, so records read together can satisfy each other."""
    if record.type == RecordType.LOAN:
        return Ref("loan", (record.id_of("loan_id"),))
    if record.type == RecordType.PARTICIPANT:
        return Ref("participant", (record.id_of("loan_id"), record.id_of("participant_id")))
    if record.type == RecordType.USER:
        return Ref("user", (record.id_of("user_id"),))
    return None


def find_orphans(records: Iterable[Record], exists: Callable[[Ref], bool]) -> list[tuple[OrphanKind, Record]]:
    """The records whose requirement does not exist, each with its kind."""
    found: list[tuple[OrphanKind, Record]] = []
    for record in records:
        needed = requirement(record)
        if needed is not None and not (needed.resolvable and exists(needed)):
            found.append((_KIND_OF[record.type], record))
    return found


@dataclass
class IntegrityReport:
    """Counts per orphan kind, a few samples of each (ids only), and how much was read."""

    sample_limit: int = DEFAULT_SAMPLE_LIMIT
    orphans: dict[OrphanKind, int] = field(default_factory=lambda: dict.fromkeys(OrphanKind, 0))
    samples: dict[OrphanKind, list[dict[str, str]]] = field(default_factory=lambda: {k: [] for k in OrphanKind})
    scanned: dict[RecordType, int] = field(default_factory=lambda: dict.fromkeys(RecordType, 0))
    lookups: int = 0  # references checked with the database (not satisfied within a page)
    batch_get_calls: int = 0
    pages: int = 0
    complete: bool = True

    @property
    def total(self) -> int:
        return sum(self.orphans.values())

    def count_scanned(self, records: Iterable[Record]) -> None:
        for record in records:
            self.scanned[record.type] += 1

    def add_orphan(self, kind: OrphanKind, record: Record) -> None:
        self.orphans[kind] += 1
        if len(self.samples[kind]) < self.sample_limit:
            self.samples[kind].append(dict(record.ids))

    def merge(self, other: IntegrityReport) -> None:
        for kind in OrphanKind:
            self.orphans[kind] += other.orphans[kind]
            room = self.sample_limit - len(self.samples[kind])
            self.samples[kind].extend(other.samples[kind][: max(room, 0)])
        for record_type in RecordType:
            self.scanned[record_type] += other.scanned[record_type]
        self.lookups += other.lookups
        self.batch_get_calls += other.batch_get_calls
        self.pages += other.pages
        self.complete = self.complete and other.complete

    def as_dict(self) -> dict[str, Any]:
        return {
            "orphans_total": self.total,
            "orphans": {kind.value: count for kind, count in self.orphans.items()},
            "samples": {kind.value: rows for kind, rows in self.samples.items() if rows},
            "scanned": {t.value: n for t, n in self.scanned.items() if n},
            "scanned_total": sum(self.scanned.values()),
            "lookups": self.lookups,
            "batch_get_calls": self.batch_get_calls,
            "pages": self.pages,
            "complete": self.complete,
        }
