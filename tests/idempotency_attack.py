"""Someone with read access to the idempotency table (or a backup of it) tries to recover an
account number from a stored accept record, knowing everything about the request but the digits
the API never shows. Shared by the DynamoDB Local and the local-stack tests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from lendbridge.http.idempotency import fingerprint

ACCEPT = "/v1/lender/invitations/{participant_id}/accept"
# A short account number: the response shows its last four digits, so 10^4 candidates remain.
HIDDEN, SHOWN = "4821", "7305"
ACH = {
    "account_holder_name": "Ada Lender",
    "routing_number": "011000015",
    "account_number": HIDDEN + SHOWN,
    "account_type": "checking",
}
CANDIDATES = 10 ** len(HIDDEN)


def scan_record(dynamodb: Any, table: str, participant_id: str) -> dict[str, Any]:
    """The one record whose stored response is about this participant, as DynamoDB returns it."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=table)
    records = [item for page in pages for item in page["Items"] if participant_id in item.get("data", {}).get("S", "")]
    assert len(records) == 1, records
    return records[0]


def stored_strings(item: dict[str, Any]) -> set[str]:
    return {value for attribute in item.values() for kind, value in attribute.items() if kind == "S"}


def candidate_bodies() -> Iterator[tuple[str, str]]:
    """Every account number ending in the shown digits, in the body the attacker knows the
    rest of (holder name, type and routing number are assumed known: the strongest attacker)."""
    for prefix in range(CANDIDATES):
        number = f"{prefix:0{len(HIDDEN)}d}{SHOWN}"
        body = {"ach": {**ACH, "account_number": number}}
        yield number, json.dumps(body, sort_keys=True, separators=(",", ":"))


def unkeyed_guesses(canonical_body: str) -> Iterator[str]:
    """What a table reader can compute without any key: MD5 and SHA-256 of the body, raw and in
    the shape Powertools hashes a validated payload (the JSON of the value)."""
    for text in (canonical_body, json.dumps(canonical_body), json.dumps(json.loads(canonical_body), sort_keys=True)):
        for algorithm in ("md5", "sha256"):
            yield hashlib.new(algorithm, text.encode()).hexdigest()


def keyed_guesser(key: bytes, participant_id: str) -> Callable[[str], list[str]]:
    """What only a holder of the fingerprint key can compute: the positive control showing the
    search covers the right space and reads the right attribute."""

    def guesses(canonical_body: str) -> list[str]:
        request = {
            "operation": "AcceptInvitation",
            "method": "POST",
            "resource": ACCEPT,
            "path": {"participant_id": participant_id},
            "body": canonical_body,
        }
        return [hashlib.sha256(json.dumps(fingerprint(key, request)).encode()).hexdigest()]

    return guesses


def brute_force(item: dict[str, Any], guesses_of: Callable[[str], Any]) -> list[str]:
    """Account numbers whose guessed hashes appear among the record's stored values."""
    stored = stored_strings(item)
    return [number for number, body in candidate_bodies() if any(g in stored for g in guesses_of(body))]


def assert_nothing_in_clear(item: dict[str, Any]) -> None:
    """The stored response shows only what the API shows: no full number anywhere in the record."""
    assert item["status"]["S"] == "COMPLETED"
    assert "validation" in item  # the fingerprint is written, so it is what an attacker would try
    for secret in (ACH["account_number"], ACH["routing_number"]):
        assert not any(secret in value for value in stored_strings(item))
