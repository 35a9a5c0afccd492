"""Commercial loan bookings over HTTP on the local stack: products, bookings, documents,
extractions and the booking sheet, with the issue's API-side bad inputs. (The whole loan
officer's story with real uploads and extraction is tests/e2e/test_booking_story.py.)"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "documents"
BOOKING = {
    "customer_name": "  Northwind Traders Ltd.  ",
    "product_id": "term-loan-eur",
    "amount": "2500000.00",
    "currency": "EUR",
    "term_months": 60,
    "notes": "Refinancing of the Rotterdam warehouse",
}


@pytest.fixture(scope="module")
def officer(api: Api) -> User:
    return register_and_login(api, "officer")


@pytest.fixture(scope="module")
def stranger(api: Api) -> User:
    return register_and_login(api, "stranger")


def create(api: Api, user: User, **changes: Any) -> dict[str, Any]:
    response = api.post("/v1/loan-bookings", json={**BOOKING, **changes}, headers=user.bearer)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


def document_body(**changes: Any) -> dict[str, Any]:
    return {"file_name": "facility-agreement.pdf", "content_type": "application/pdf", "size_bytes": 48213, **changes}


def test_products_come_from_the_stage_configuration_and_are_cacheable(api: Api, officer: User) -> None:
    response = api.get("/v1/products", headers=officer.bearer)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    data = response.json()["data"]
    products = {product["product_id"]: product for product in data["products"]}
    assert products["term-loan-eur"] == {
        "product_id": "term-loan-eur",
        "name": "Commercial term loan (EUR)",
        "description": "Amortising term loan for investment in plant, property or acquisitions",
        "currency": "EUR",
        "min_amount": "50000.00",
        "max_amount": "25000000.00",
        "min_term_months": 12,
        "max_term_months": 120,
        "rate_type": "FIXED",
    }
    assert (data["count"], data["has_more"], data["next_token"]) == (len(products), False, None)

    tag = response.headers["ETag"]
    unchanged = api.get("/v1/products", headers={**officer.bearer, "If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert (unchanged.headers["ETag"], unchanged.headers["Cache-Control"]) == (tag, "public, max-age=3600")
    other = api.get("/v1/products", headers={**officer.bearer, "If-None-Match": '"0000"'})
    assert other.status_code == 200


def test_a_booking_is_created_read_listed_changed_and_cancelled(api: Api, officer: User) -> None:
    response = api.post("/v1/loan-bookings", json=BOOKING, headers=officer.bearer)
    assert response.status_code == 201, response.text
    booking = response.json()["data"]
    booking_id = booking["booking_id"]
    assert response.headers["Location"] == f"/v1/loan-bookings/{booking_id}"
    assert response.headers["ETag"] == '"1"'
    assert booking["customer_name"] == "Northwind Traders Ltd."  # trimmed
    assert {k: booking[k] for k in ("product_name", "amount", "currency", "status", "document_count", "version")} == {
        "product_name": "Commercial term loan (EUR)",
        "amount": "2500000.00",
        "currency": "EUR",
        "status": "DRAFT",
        "document_count": 0,
        "version": 1,
    }
    assert booking["created_by"] == officer.user_id

    read = api.get(f"/v1/loan-bookings/{booking_id}", headers=officer.bearer)
    assert (read.status_code, read.headers["ETag"], read.json()["data"]) == (200, '"1"', booking)
    assert (
        api.get(f"/v1/loan-bookings/{booking_id}", headers={**officer.bearer, "If-None-Match": '"1"'}).status_code
        == 304
    )

    missing = api.request("PATCH", f"/v1/loan-bookings/{booking_id}", json={"notes": "x"}, headers=officer.bearer)
    assert_error_envelope(missing, 428, "PRECONDITION_REQUIRED")
    stale = api.request(
        "PATCH", f"/v1/loan-bookings/{booking_id}", json={"notes": "x"}, headers={**officer.bearer, **if_match(9)}
    )
    assert_error_envelope(stale, 412, "PRECONDITION_FAILED")
    changed = api.request(
        "PATCH",
        f"/v1/loan-bookings/{booking_id}",
        json={"amount": 2750000, "notes": "Raised after committee"},
        headers={**officer.bearer, **if_match(1)},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["amount"], changed.headers["ETag"]) == ("2750000.00", '"2"')

    listed = api.get("/v1/loan-bookings", headers=officer.bearer).json()["data"]
    assert listed["bookings"][0]["booking_id"] == booking_id

    assert api.request("DELETE", f"/v1/loan-bookings/{booking_id}", headers=officer.bearer).status_code == 204
    cancelled = api.get(f"/v1/loan-bookings/{booking_id}", headers=officer.bearer).json()["data"]
    assert (cancelled["status"], cancelled["deleted_by"]) == ("CANCELLED", officer.user_id)
    live = api.get("/v1/loan-bookings", headers=officer.bearer).json()["data"]["bookings"]
    assert booking_id not in [b["booking_id"] for b in live]
    only_cancelled = api.get("/v1/loan-bookings?status=CANCELLED", headers=officer.bearer).json()["data"]["bookings"]
    assert [b["booking_id"] for b in only_cancelled] == [booking_id]
    again = api.request(
        "PATCH", f"/v1/loan-bookings/{booking_id}", json={"notes": "x"}, headers={**officer.bearer, **if_match(3)}
    )
    assert_error_envelope(again, 409, "CONFLICT")


def test_the_list_pages_with_signed_tokens_bound_to_the_caller_and_the_list(
    api: Api, officer: User, stranger: User
) -> None:
    owner = register_and_login(api, "pager")
    made = [create(api, owner, notes=f"n{i}")["booking_id"] for i in range(3)]
    first = api.get("/v1/loan-bookings?limit=2", headers=owner.bearer).json()["data"]
    assert (first["count"], first["has_more"]) == (2, True)
    token = first["next_token"]
    second = api.get(f"/v1/loan-bookings?limit=2&next_token={token}", headers=owner.bearer).json()["data"]
    assert [b["booking_id"] for b in first["bookings"] + second["bookings"]] == made[::-1]
    assert (second["has_more"], second["next_token"]) == (False, None)

    stolen = api.get(f"/v1/loan-bookings?limit=2&next_token={token}", headers=stranger.bearer)
    assert_error_envelope(stolen, 400, "VALIDATION_ERROR")
    other_list = api.get(f"/v1/loan-bookings?status=DRAFT&limit=2&next_token={token}", headers=owner.bearer)
    assert_error_envelope(other_list, 400, "VALIDATION_ERROR")
    bad_status = api.get("/v1/loan-bookings?status=LOST", headers=owner.bearer)
    assert_error_envelope(bad_status, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer_name": "Robert'); DROP TABLE--"}, "customer_name"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_name": "N" * 101}, "customer_name"),
        ({"customer_name": "Northwind\u202etxt.exe"}, "customer_name"),
        ({"currency": "USD"}, "currency"),
        ({"currency": "eur"}, "currency"),
        ({"amount": "10.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "\u0661\u0662\u0663"}, "amount"),
        ({"term_months": 6}, "term_months"),
        ({"product_id": "no-such-product"}, "product_id"),
        ({"notes": "line\u0000break"}, "notes"),
        ({"term_months": None}, "term_months"),
    ],
)
def test_a_booking_that_breaks_a_rule_is_refused_naming_the_field(
    api: Api, officer: User, changes: dict[str, Any], field: str
) -> None:
    response = api.post("/v1/loan-bookings", json={**BOOKING, **changes}, headers=officer.bearer)
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert field in body["field_errors"], body


def test_another_users_booking_and_its_parts_are_not_found(api: Api, officer: User, stranger: User) -> None:
    booking_id = create(api, officer)["booking_id"]
    base = f"/v1/loan-bookings/{booking_id}"
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", base, None),
        ("PATCH", base, {"notes": "mine"}),
        ("DELETE", base, None),
        ("POST", f"{base}/book", None),
        ("POST", f"{base}/documents", document_body()),
        ("GET", f"{base}/documents", None),
        ("GET", f"{base}/booking-sheet", None),
        ("PATCH", f"{base}/booking-sheet", {"fields": {"reference_rate": "SONIA"}}),
        ("GET", f"{base}/extractions/{uuid.uuid4()}", None),
    ]
    for method, path, body in attempts:
        response = api.request(method, path, json=body, headers={**stranger.bearer, **if_match(1)})
        assert_error_envelope(response, 404, "NOT_FOUND")
    assert api.get(base, headers=officer.bearer).json()["data"]["version"] == 1


def test_the_booking_sheet_is_read_and_corrected_with_if_match(api: Api, officer: User) -> None:
    booking_id = create(api, officer)["booking_id"]
    path = f"/v1/loan-bookings/{booking_id}/booking-sheet"
    empty = api.get(path, headers=officer.bearer)
    assert empty.status_code == 200, empty.text
    assert empty.json()["data"]["status"] == "EMPTY"
    assert empty.json()["data"]["fields"] == {}
    assert "borrower_tax_id" in empty.json()["data"]["missing_fields"]
    assert api.get(path, headers={**officer.bearer, "If-None-Match": empty.headers["ETag"]}).status_code == 304

    def patch(fields: dict[str, Any], version: int | None = 0) -> requests.Response:
        headers = {**officer.bearer, **(if_match(version) if version is not None else {})}
        return api.request("PATCH", path, json={"fields": fields}, headers=headers)

    assert_error_envelope(patch({"reference_rate": "SONIA"}, None), 428, "PRECONDITION_REQUIRED")
    unknown = assert_error_envelope(patch({"customer_pin": "1234"}), 400, "VALIDATION_ERROR")
    assert list(unknown["field_errors"]) == ["fields.customer_pin"]
    malformed = assert_error_envelope(
        patch({"facility_amount": "twelve million", "maturity_date": "31/06/2031"}), 400, "VALIDATION_ERROR"
    )
    assert set(malformed["field_errors"]) == {"fields.facility_amount", "fields.maturity_date"}

    corrected = patch({"borrower_tax_id": "DE 123 456 789", "facility_amount": 2500000, "maturity_date": "2031-06-30"})
    assert corrected.status_code == 200, corrected.text
    sheet = corrected.json()["data"]
    assert corrected.headers["ETag"] == '"1"'
    assert sheet["status"] == "PARTIAL"
    tax_id = sheet["fields"]["borrower_tax_id"]
    assert tax_id["value"].endswith(" 789")  # the last 4 characters of "DE 123 456 789"
    assert "456" not in tax_id["value"]
    assert (tax_id["confidence"], tax_id["corrected_by"]) == (1.0, officer.user_id)
    assert sheet["fields"]["facility_amount"]["value"] == "2500000.00"
    assert "123 456" not in api.get(path, headers=officer.bearer).text
    assert_error_envelope(patch({"reference_rate": "SONIA"}, 0), 412, "PRECONDITION_FAILED")

    refused = api.post(f"/v1/loan-bookings/{booking_id}/book", headers={**officer.bearer, **if_match(1)})
    body = assert_error_envelope(refused, 409, "CONFLICT")
    assert body["details"]["sheet_status"] == "PARTIAL"


def test_a_complete_sheet_books_the_booking_which_is_then_read_only(api: Api, officer: User) -> None:
    booking_id = create(api, officer)["booking_id"]
    base = f"/v1/loan-bookings/{booking_id}"
    complete = {
        "borrower_legal_name": "Northwind Traders Ltd",
        "borrower_address": "Havenstraat 1, 3011 Rotterdam, Netherlands",
        "borrower_tax_id": "NL123456789B01",
        "facility_amount": "2500000.00",
        "currency": "EUR",
        "interest_rate_type": "FIXED",
        "interest_rate_or_margin": "4.25",
        "reference_rate": "None (fixed rate)",
        "maturity_date": "2031-06-30",
        "repayment_type": "AMORTIZING",
        "collateral_description": "Mortgage over the Rotterdam warehouse",
        "signing_date": "2026-06-30",
    }
    sheet = api.request(
        "PATCH", f"{base}/booking-sheet", json={"fields": complete}, headers={**officer.bearer, **if_match(0)}
    )
    assert sheet.status_code == 200, sheet.text
    assert sheet.json()["data"]["status"] == "COMPLETE"

    missing = api.post(f"{base}/book", headers=officer.bearer)
    assert_error_envelope(missing, 428, "PRECONDITION_REQUIRED")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    booked = api.post(f"{base}/book", headers={**officer.bearer, **if_match(1), **key})
    assert booked.status_code == 200, booked.text
    assert (booked.json()["data"]["status"], booked.headers["ETag"]) == ("BOOKED", '"2"')
    replayed = api.post(f"{base}/book", headers={**officer.bearer, **if_match(1), **key})
    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (200, "true")
    assert replayed.json()["data"] == booked.json()["data"]

    after = [
        api.request("PATCH", base, json={"notes": "late"}, headers={**officer.bearer, **if_match(2)}),
        api.request(
            "PATCH",
            f"{base}/booking-sheet",
            json={"fields": {"reference_rate": "EURIBOR"}},
            headers={**officer.bearer, **if_match(1)},
        ),
        api.post(f"{base}/documents", json=document_body(), headers=officer.bearer),
        api.request("DELETE", base, headers=officer.bearer),
    ]
    for response in after:
        assert_error_envelope(response, 409, "CONFLICT")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"content_type": "application/x-msdownload"}, "content_type"),
        ({"size_bytes": 0}, "size_bytes"),
        ({"size_bytes": 20 * 1024 * 1024 + 1}, "size_bytes"),
        ({"file_name": "../"}, "file_name"),
        ({"file_name": "a\u0000.pdf"}, "file_name"),
    ],
)
def test_a_document_that_breaks_a_rule_is_refused(api: Api, officer: User, changes: dict[str, Any], field: str) -> None:
    booking_id = create(api, officer)["booking_id"]
    response = api.post(
        f"/v1/loan-bookings/{booking_id}/documents", json=document_body(**changes), headers=officer.bearer
    )
    body = assert_error_envelope(response, 400, "VALIDATION_ERROR")
    assert field in body["field_errors"], body


def test_unknown_documents_and_extractions_are_not_found(api: Api, officer: User) -> None:
    booking_id = create(api, officer)["booking_id"]
    base = f"/v1/loan-bookings/{booking_id}"
    listed = api.get(f"{base}/documents", headers=officer.bearer)
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == {"documents": [], "count": 0, "has_more": False, "next_token": None}
    missing = str(uuid.uuid4())
    for method, path in (
        ("GET", f"{base}/documents/{missing}"),
        ("DELETE", f"{base}/documents/{missing}"),
        ("POST", f"{base}/documents/{missing}/extraction"),
        ("GET", f"{base}/extractions/{missing}"),
    ):
        assert_error_envelope(api.request(method, path, headers=officer.bearer), 404, "NOT_FOUND")


def wait_for(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        current = read()
        if done(current) or time.monotonic() > deadline:
            return current
        time.sleep(0.5)


def test_a_document_goes_straight_to_storage_is_extracted_and_deleted(api: Api, officer: User) -> None:
    booking_id = create(api, officer)["booking_id"]
    base = f"/v1/loan-bookings/{booking_id}"
    content = (SAMPLES / "facility_agreement.pdf").read_bytes()
    created = api.post(f"{base}/documents", json=document_body(size_bytes=len(content)), headers=officer.bearer)
    assert created.status_code == 201, created.text
    upload = created.json()["data"]
    document_id = upload["document_id"]
    assert created.headers["Location"] == f"{base}/documents/{document_id}"
    assert (upload["upload_method"], upload["upload_headers"]["Content-Type"]) == ("PUT", "application/pdf")
    assert upload["upload_headers"]["Content-Length"] == str(len(content))
    assert f"documents/{booking_id}/{document_id}" in upload["upload_url"]  # server ids only
    assert "facility-agreement" not in upload["upload_url"]
    assert upload["document"]["status"] == "AWAITING_UPLOAD"
    assert api.get(base, headers=officer.bearer).json()["data"]["document_count"] == 1

    path = f"{base}/documents/{document_id}"
    waiting = api.get(path, headers=officer.bearer).json()["data"]
    assert (waiting["status"], waiting["download_url"]) == ("AWAITING_UPLOAD", None)
    early = api.post(f"{path}/extraction", headers=officer.bearer)
    assert_error_envelope(early, 409, "CONFLICT")

    put = requests.put(upload["upload_url"], data=content, headers=upload["upload_headers"], timeout=30)
    assert put.status_code == 200, put.text
    document = wait_for(
        lambda: api.get(path, headers=officer.bearer).json()["data"], lambda d: d["status"] != "AWAITING_UPLOAD"
    )
    assert document["status"] == "UPLOADED", document
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    downloaded = requests.get(document["download_url"], timeout=30)
    assert (downloaded.status_code, downloaded.content) == (200, content)
    read = api.get(path, headers=officer.bearer)
    assert api.get(path, headers={**officer.bearer, "If-None-Match": read.headers["ETag"]}).status_code == 304
    listed = api.get(f"{base}/documents", headers=officer.bearer).json()["data"]
    assert [d["document_id"] for d in listed["documents"]] == [document_id]

    queued = api.post(f"{path}/extraction", headers=officer.bearer)
    assert queued.status_code == 202, queued.text
    extraction = queued.json()["data"]
    assert (extraction["status"], extraction["document_id"]) == ("QUEUED", document_id)
    where = f"{base}/extractions/{extraction['extraction_id']}"
    assert queued.headers["Location"] == where
    finished = wait_for(
        lambda: api.get(where, headers=officer.bearer).json()["data"], lambda e: e["status"] in ("SUCCEEDED", "FAILED")
    )
    assert finished["status"] == "SUCCEEDED", finished
    assert finished["fields_found"] > 0
    sheet = api.get(f"{base}/booking-sheet", headers=officer.bearer).json()["data"]
    assert sheet["status"] in ("PARTIAL", "COMPLETE")
    assert {field["source"]["document_id"] for field in sheet["fields"].values()} == {document_id}
    assert "284 7719" not in api.get(f"{base}/booking-sheet", headers=officer.bearer).text  # the tax id, masked

    assert api.request("DELETE", path, headers=officer.bearer).status_code == 204
    assert_error_envelope(api.get(path, headers=officer.bearer), 404, "NOT_FOUND")
    assert api.get(base, headers=officer.bearer).json()["data"]["document_count"] == 0
    # Soft-deleted: the record stays for the audit trail, but nothing shows or acts on it again.
    assert api.get(f"{base}/documents", headers=officer.bearer).json()["data"]["documents"] == []
    assert_error_envelope(api.post(f"{path}/extraction", headers=officer.bearer), 404, "NOT_FOUND")
    assert_error_envelope(api.request("DELETE", path, headers=officer.bearer), 404, "NOT_FOUND")
