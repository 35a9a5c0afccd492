"""Contract fuzzing: schemathesis drives the local stack from docs/openapi.json.

Every phase runs (the document's examples, coverage of each keyword's edges, random fuzzing in
positive and negative mode, and the stateful phase that follows the document's links from
POST /v1/loans to reading, changing and cancelling that loan), with every check schemathesis
has. It passes only with no server error, no response outside its schema, no status or header
the document does not list, valid data accepted and invalid data refused.

The run is bounded (``MAX_EXAMPLES`` per operation, no shrinking, a fixed seed so a failure
replays) to stay within about five minutes on two busy cores.

What schemathesis cannot judge from the document is listed in ``EXCEPTIONS`` (per operation:
which answers are widened for which check, and why) and ``PLATFORM`` (the one check that judges
API Gateway rather than the API), each with its reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalLendbridge
from tests.e2e.support import Api, User, register_and_login

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
MAX_EXAMPLES = 12
SEED = 20261129
TIME_LIMIT_S = 360

# The answers a schema-valid request may get (schemathesis' defaults for the check).
_VALID_DATA_ANSWERS = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_MISSING_HEADER_ANSWERS = ["400", "401", "403", "406", "415", "422"]

_TOKEN = (
    "next_token is a signed cursor issued by the previous page (tamper-evident, bound to the caller and the "
    "list): any string of its alphabet is schema-valid, and a made-up one is refused with 400"
)
_KEY = (
    "the fuzzer sends the document's example Idempotency-Key (and short generated keys) with many bodies; a "
    "key already used for another request is 422 by contract, which only the key's history decides"
)
_STATE_400 = (
    "the lender rules that depend on stored state or on several fields at once are 400 by contract: an email "
    "already on the loan, the caller's own email, one email twice in a request, contributions above the "
    "amount or the remaining amount (JSON Schema has no keyword for a sum or for uniqueness by a key)"
)
_RESOLVED = (
    "a webhook url is accepted only when its host resolves to public addresses at that moment (SSRF rule of "
    "the contract): a schema-valid url whose host does not resolve, or resolves to a private, loopback or "
    "reserved address, is 400 on url, which only DNS decides"
)
_SOFT_DELETE = (
    "DELETE /v1/loans/{loan_id} is a soft delete by contract: the cancelled loan and its records stay "
    "readable by its borrower and participants (status CANCELLED), so a 200 after the delete is right"
)
_BOOKING_SOFT_DELETE = (
    "DELETE /v1/loan-bookings/{booking_id} is a soft delete by contract: the booking stays readable by its "
    "owner with status CANCELLED, so a 200 after the delete is right"
)
_PRODUCT_400 = (
    "a booking's amount, term and currency must fit the product it names (bounds and currency per product, "
    "from the stage's configuration): JSON Schema cannot tie one field's bounds to another field's value, so "
    "a schema-valid body outside its product's bounds is 400 by contract"
)
_IF_MATCH = (
    "If-Match must name the resource's current version, which only its history decides (stale: 412), and a "
    "missing If-Match is 428 Precondition Required (RFC 6585, the contract), not the 400 schemathesis expects"
)


def _valid(*statuses: str) -> dict[str, Any]:
    return {"positive_data_acceptance": {"expected-statuses": [*_VALID_DATA_ANSWERS, *statuses]}}


# Operation id -> (check settings for that operation alone, why the document cannot show the rule).
EXCEPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    **{operation: (_valid("400"), _TOKEN) for operation in ("GetMyLoans", "GetPendingInvitations", "GetPortfolio")},
    **{
        operation: ({**_valid("400"), "use_after_free": {"enabled": False}}, f"{_TOKEN}; {_SOFT_DELETE}")
        for operation in ("GetLoanHistory", "GetFundingHistory", "GetAuditLog")
    },
    "GetLoan": ({"use_after_free": {"enabled": False}}, _SOFT_DELETE),
    "CreateLoan": (_valid("400", "422"), f"{_STATE_400}; {_KEY}"),
    "AddLenders": (_valid("400", "422"), f"{_STATE_400}; {_KEY}"),
    "BatchParticipants": (_valid("422"), _KEY),
    "DeclineInvitation": (_valid("422"), _KEY),
    "AcceptInvitation": (
        _valid("400", "422"),
        "the routing number's ABA checksum is not a schema keyword (it is in the field's description): a "
        f"random 9-digit number fails it with 400; and {_KEY}",
    ),
    "UpdateLoan": (
        {
            **_valid("412"),
            "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_ANSWERS, "428"]},
        },
        "If-Match must name the loan's current version, which only the loan's history decides (stale: 412; "
        "the stateful phase sends the ETag just read, through the document's link); and a missing If-Match "
        "is 428 Precondition Required (RFC 6585, the contract), not the 400 schemathesis expects of a "
        "missing header",
    ),
    "ConfirmEmail": (_valid("400"), "whether an emailed verification code is right is known only to the user pool"),
    # Commercial loan bookings
    **{operation: (_valid("400"), _TOKEN) for operation in ("ListBookings", "ListDocuments")},
    "GetBooking": ({"use_after_free": {"enabled": False}}, _BOOKING_SOFT_DELETE),
    "CreateBooking": (_valid("400", "422"), f"{_PRODUCT_400}; {_KEY}"),
    "UpdateBooking": (
        {**_valid("400", "412"), "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_ANSWERS, "428"]}},
        f"{_PRODUCT_400}; {_IF_MATCH}",
    ),
    "BookBooking": (
        {**_valid("412", "422"), "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_ANSWERS, "428"]}},
        f"{_IF_MATCH}; {_KEY}",
    ),
    "CreateDocument": (
        _valid("400", "422"),
        "a booking holds at most 20 documents (400 by contract, as the loan's participant cap), a count only the "
        f"booking's history decides; and {_KEY}",
    ),
    "RequestExtraction": (_valid("422"), _KEY),
    "CorrectBookingSheet": (
        {**_valid("400", "412"), "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_ANSWERS, "428"]}},
        "each booking-sheet field has its own value rule (an amount, a date, an ISO 4217 code, one of a few rate "
        "or repayment types, read in several written forms), which JSON Schema cannot tie to a property name of "
        f"a free-form map; a value breaking it is 400 by contract; and {_IF_MATCH}",
    ),
    **{operation: (_valid("400"), _TOKEN) for operation in ("ListWebhooks", "ListWebhookDeliveries")},
    "CreateWebhook": (_valid("400"), _RESOLVED),
    "UpdateWebhook": (
        {
            **_valid("400", "412"),
            "missing_required_header": {"expected-statuses": [*_MISSING_HEADER_ANSWERS, "428"]},
        },
        f"{_RESOLVED}; If-Match must name the webhook's current version (stale: 412, missing: 428, as for loans)",
    ),
    "SendWebhookTest": (_valid("422"), _KEY),
    "ResetPassword": (_valid("400"), "whether an emailed reset code is right is known only to the user pool"),
}

# Checks turned off for every operation, because the answer comes from the platform, not the API.
PLATFORM: dict[str, str] = {
    "unsupported_method": (
        "API Gateway answers a method a resource does not define with its MISSING_AUTHENTICATION_TOKEN "
        "gateway response (404 NOT_FOUND in this API), never 405, and the local gateway does the same "
        "(tests/e2e/test_gateway.py); the API cannot change it. A 5xx to such a method is still caught "
        "by not_a_server_error"
    ),
}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    raise TypeError(value)


def _config(base_url: str, token: str) -> str:
    lines = [
        f"base-url = {_toml(base_url)}",
        f"seed = {SEED}",
        # One worker: hypothesis builds strategies with ast.parse, which CPython 3.11.7 breaks when
        # two threads do it at once ("AST constructor recursion depth mismatch").
        "workers = 1",
        "request-timeout = 30",
        # Nothing kept between runs (crash files, learnt data): each run stands alone, and
        # nothing is written into the working tree.
        "[cache]",
        "enabled = false",
        "[headers]",
        f"Authorization = {_toml('Bearer ' + token)}",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "no-shrink = true",
        'database = "none"',
        # Every check is on unless turned off here (schemathesis' default; naming them on the
        # command line would override the per-operation settings below).
        "[checks]",
        *(f"{check}.enabled = false" for check in PLATFORM),
    ]
    for operation, (checks, _reason) in EXCEPTIONS.items():
        lines += ["[[operations]]", f"include-operation-id = {_toml(operation)}"]
        for check, settings in checks.items():
            lines += [f"checks.{check}.{key} = {_toml(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fuzzer(api: Api) -> User:
    return register_and_login(api, "fuzzer")


def test_the_api_keeps_its_documented_contract_under_fuzzing(
    stack: LocalLendbridge, fuzzer: User, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(stack.api_url, fuzzer.access_token))
    started = time.monotonic()
    run = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            str(DOCUMENT),
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--report",
            "json",
            "--report-json-path",
            str(tmp_path / "report.json"),
            "--output-truncate",
            "false",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # whatever schemathesis writes stays out of the working tree
        timeout=TIME_LIMIT_S,
        check=False,
    )
    elapsed = time.monotonic() - started
    summary = run.stdout[run.stdout.rfind("=== SUMMARY") :] if "=== SUMMARY" in run.stdout else run.stdout[-3000:]
    print(f"schemathesis: {elapsed:.0f} s\n{summary}")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    # Every phase ran (a phase that found nothing to do is "skipped", which would hide a gap).
    assert {name: phase["status"] for name, phase in report["phases"].items()} == {
        "examples": "success",
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }
    assert report["operations"]["tested"] == len(_operation_ids()) == report["operations"]["total"]
    assert report["test_cases"]["with_failures"] == 0
    assert report["test_cases"]["errored"] == 0
    assert report["test_cases"]["generated"] > 25 * len(_operation_ids())
    assert elapsed < TIME_LIMIT_S


def _operation_ids() -> set[str]:
    document = json.loads(DOCUMENT.read_text())
    return {op["operationId"] for ops in document["paths"].values() for op in ops.values()}


def test_every_exception_names_a_documented_operation_and_a_reason() -> None:
    assert set(EXCEPTIONS) <= _operation_ids()
    for checks, reason in EXCEPTIONS.values():
        assert len(reason) > 40
        if "positive_data_acceptance" in checks:  # widened, never narrowed
            assert set(_VALID_DATA_ANSWERS) < set(checks["positive_data_acceptance"]["expected-statuses"])
    assert all(len(reason) > 40 for reason in PLATFORM.values())
