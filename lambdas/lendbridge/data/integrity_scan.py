"""Reads the main table for the referential-integrity job; never writes to it.

The table is scanned in parallel segments (one thread each), page by page, reading only the
keys and the two attributes a reference needs. A page's references that the page itself does
not satisfy are looked up with BatchGetItem (at most 100 keys a call), never one GetItem each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lendbridge.data import keys
from lendbridge.data.dynamo import Key, batch_get, from_item, translated_errors
from lendbridge.domain.integrity import (
    DEFAULT_SAMPLE_LIMIT,
    IntegrityReport,
    Record,
    RecordType,
    Ref,
    find_orphans,
    provides,
    requirement,
)

DEFAULT_SEGMENTS = 4
DEFAULT_PAGE_SIZE = 1000

_NAMES = {"#pk": "PK", "#sk": "SK", "#uid": "user_id", "#pid": "participant_id"}
_SCAN_PROJECTION = "#pk, #sk, #uid, #pid"
_KEYS_ONLY_NAMES = {"#pk": "PK", "#sk": "SK"}
_KEYS_ONLY = "#pk, #sk"


def _prefix(built: str) -> str:
    return built.split("#", 1)[0] + "#"


# Key prefixes, taken from the key builders so the two never disagree.
_LOAN = _prefix(keys.loan_pk("x"))
_PART = _prefix(keys.participant_sk("x"))
_BANK = _prefix(keys.bank_sk("x"))
_INVITEE = _prefix(keys.invitee_sk("x"))
_VERSION = _prefix(keys.version_sk(0))
_FUNDING = _prefix(keys.funding_sk("x", 0))
_USER = _prefix(keys.user_pk("x"))
_EMAIL = _prefix(keys.email_pk("x"))


def record_of(item: Mapping[str, Any]) -> Record:
    """What the integrity rules need to know about one item, read from its key."""
    pk, sk = str(item["PK"]), str(item["SK"])
    if pk.startswith(_LOAN):
        return _loan_collection_record(pk.removeprefix(_LOAN), sk, item)
    if pk.startswith(_USER) and sk == keys.PROFILE:
        return Record(RecordType.USER, {"user_id": pk.removeprefix(_USER)})
    if pk.startswith(_EMAIL) and sk == keys.PROFILE:
        # The lookup's own key is an email hash: only the user id it points to is reported.
        return Record(RecordType.EMAIL_LOOKUP, {"user_id": str(item.get("user_id", ""))})
    return Record(RecordType.OTHER)


_LOAN_COLLECTION = (
    (_PART, RecordType.PARTICIPANT),
    (_BANK, RecordType.BANK_RECORD),
    (_INVITEE, RecordType.INVITEE_GUARD),
    (_VERSION, RecordType.LOAN_VERSION),
    (_FUNDING, RecordType.FUNDING_POINT),
)


def _loan_collection_record(loan_id: str, sk: str, item: Mapping[str, Any]) -> Record:
    if sk == keys.LOAN:
        return Record(RecordType.LOAN, {"loan_id": loan_id})
    for prefix, record_type in _LOAN_COLLECTION:
        if not sk.startswith(prefix):
            continue
        ids = {"loan_id": loan_id}
        if record_type in (RecordType.PARTICIPANT, RecordType.BANK_RECORD):
            ids["participant_id"] = sk.removeprefix(prefix)  # the id is in the key
        elif record_type == RecordType.INVITEE_GUARD:
            ids["participant_id"] = str(item.get("participant_id", ""))  # the key is an email hash
        elif record_type == RecordType.LOAN_VERSION:
            ids["version"] = sk.removeprefix(prefix)
        return Record(record_type, ids)
    return Record(RecordType.OTHER)


def key_of(ref: Ref) -> Key:
    if ref.entity == "loan":
        return keys.loan_pk(ref.ids[0]), keys.LOAN
    if ref.entity == "participant":
        return keys.loan_pk(ref.ids[0]), keys.participant_sk(ref.ids[1])
    return keys.user_pk(ref.ids[0]), keys.PROFILE


class IntegrityScanner:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        segments: int = DEFAULT_SEGMENTS,
        page_size: int = DEFAULT_PAGE_SIZE,
        sample_limit: int = DEFAULT_SAMPLE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._table = table
        self._segments = segments
        self._page_size = page_size
        self._sample_limit = sample_limit
        self._clock = clock

    def run(self, deadline: float | None = None) -> IntegrityReport:
        """Scan every segment and report. Past ``deadline`` (on ``clock``) no new page is read
        and the report says it is incomplete, rather than the function timing out with nothing."""
        with ThreadPoolExecutor(max_workers=self._segments, thread_name_prefix="integrity") as pool:
            parts = list(pool.map(lambda segment: self._scan_segment(segment, deadline), range(self._segments)))
        report = IntegrityReport(sample_limit=self._sample_limit)
        for part in parts:
            report.merge(part)
        return report

    def _scan_segment(self, segment: int, deadline: float | None) -> IntegrityReport:
        report = IntegrityReport(sample_limit=self._sample_limit)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Segment": segment,
            "TotalSegments": self._segments,
            "ProjectionExpression": _SCAN_PROJECTION,
            "ExpressionAttributeNames": _NAMES,
            "Limit": self._page_size,
        }
        while True:
            if deadline is not None and self._clock() >= deadline:
                report.complete = False
                return report
            with translated_errors():
                response = self._client.scan(**request)
            self._check_page([record_of(from_item(item)) for item in response["Items"]], report)
            last = response.get("LastEvaluatedKey")
            if not last:
                return report
            request["ExclusiveStartKey"] = last

    def _check_page(self, records: list[Record], report: IntegrityReport) -> None:
        report.pages += 1
        report.count_scanned(records)
        # Items are never deleted, so what this page just read exists: only the rest is looked up.
        present = {ref for record in records if (ref := provides(record)) is not None}
        wanted = {
            ref
            for record in records
            if (ref := requirement(record)) is not None and ref.resolvable and ref not in present
        }
        report.lookups += len(wanted)
        found = self._existing(wanted, report)
        for kind, record in find_orphans(records, lambda ref: ref in present or ref in found):
            report.add_orphan(kind, record)

    def _existing(self, wanted: set[Ref], report: IntegrityReport) -> set[Ref]:
        if not wanted:
            return set()
        by_key = {key_of(ref): ref for ref in wanted}

        def counted() -> None:
            report.batch_get_calls += 1

        items = batch_get(
            self._client, self._table, by_key, projection=_KEYS_ONLY, names=_KEYS_ONLY_NAMES, on_call=counted
        )
        return {by_key[(item["PK"], item["SK"])] for item in items}
