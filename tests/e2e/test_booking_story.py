"""The loan officer's story over HTTP on the local stack, with the sample documents: products,
a booking, three presigned uploads PUT straight to S3 (moto, signatures checked), UPLOADED on
S3's event, extractions by the local reader, the booking sheet with its sources, a correction
that a later extraction keeps, and the booking BOOKED. Then the bad inputs of the upload and
extraction path: a PUT larger than declared (403 from S3), a non-PDF renamed .pdf (REJECTED,
object deleted), and an extraction of a document not yet uploaded (409)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
import requests

from local.stack import LocalLendbridge
from tests.e2e.support import Api, User, assert_error_envelope, register_and_login

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "documents"
EXPECTED: dict[str, dict[str, str]] = json.loads((SAMPLES / "expected.json").read_text())
PDF, PNG = "application/pdf", "image/png"
WAIT_S = 90  # the workers run on a shared 2-core machine
T = TypeVar("T")


def data(response: requests.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


def eventually(read: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + WAIT_S
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT_S} s; last: {value}")
        time.sleep(0.5)


class Officer:
    """A loan officer's calls, on one booking."""

    def __init__(self, api: Api, user: User, booking_id: str = "") -> None:
        self.api, self.user, self.booking_id = api, user, booking_id

    def call(self, method: str, path: str = "", *, if_match: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {**self.user.bearer, **({"If-Match": if_match} if if_match else {})}
        return self.api.request(method, f"/v1/loan-bookings/{self.booking_id}{path}", headers=headers, **kwargs)

    def new_document(self, file_name: str, content_type: str, size: int) -> dict[str, Any]:
        body = {"file_name": file_name, "content_type": content_type, "size_bytes": size}
        return data(self.call("POST", "/documents", json=body), 201)

    def document(self, document_id: str) -> dict[str, Any]:
        return data(self.call("GET", f"/documents/{document_id}"))

    def settled(self, document_id: str) -> dict[str, Any]:
        return eventually(
            lambda: self.document(document_id),
            lambda document: document["status"] != "AWAITING_UPLOAD",
            f"S3's event for {document_id}",
        )

    def extract(self, document_id: str) -> dict[str, Any]:
        queued = data(self.call("POST", f"/documents/{document_id}/extraction"), 202)
        assert queued["status"] == "QUEUED"
        return eventually(
            lambda: data(self.call("GET", f"/extractions/{queued['extraction_id']}")),
            lambda extraction: extraction["status"] in ("SUCCEEDED", "FAILED"),
            f"extraction of {document_id}",
        )

    def sheet(self) -> tuple[dict[str, Any], str]:
        response = self.call("GET", "/booking-sheet")
        return data(response), response.headers["ETag"]


def put(upload: dict[str, Any], body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    assert upload["upload_method"] == "PUT"
    return requests.put(upload["upload_url"], data=body, headers=headers or upload["upload_headers"], timeout=30)


def object_exists(stack: LocalLendbridge, upload_url: str) -> bool:
    """Asked of S3 directly: the URL is path-style on the local endpoint (/bucket/key)."""
    bucket, key = urlsplit(upload_url).path.lstrip("/").split("/", 1)
    listed = stack.aws_client("s3").list_objects_v2(Bucket=bucket, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


@pytest.fixture(scope="module")
def officer(api: Api) -> Officer:
    return Officer(api, register_and_login(api, "officer"))


@pytest.fixture(scope="module")
def booking(officer: Officer) -> Officer:
    products = data(officer.api.get("/v1/products", headers=officer.user.bearer))["products"]
    [bridge] = [product for product in products if product["currency"] == "GBP"]
    created = officer.api.post(
        "/v1/loan-bookings",
        headers=officer.user.bearer,
        json={
            "customer_name": "Harbourline Logistics Limited",
            "product_id": bridge["product_id"],
            "amount": bridge["max_amount"],
            "currency": "GBP",
            "term_months": bridge["max_term_months"],
        },
    )
    booking = data(created, 201)
    assert booking["status"] == "DRAFT"
    return Officer(officer.api, officer.user, booking["booking_id"])


def test_the_loan_officers_story(booking: Officer, stack: LocalLendbridge) -> None:
    # Three documents: two text PDFs and a scanned-looking execution page.
    samples = {"facility_agreement.pdf": PDF, "term_sheet.pdf": PDF, "execution_page.png": PNG}
    documents: dict[str, dict[str, Any]] = {}
    for name, content_type in samples.items():
        content = (SAMPLES / name).read_bytes()
        upload = booking.new_document(name, content_type, len(content))
        assert upload["upload_headers"]["Content-Type"] == content_type
        assert upload["upload_headers"]["Content-Length"] == str(len(content))
        assert booking.document(upload["document_id"])["status"] == "AWAITING_UPLOAD"
        stored = put(upload, content)
        assert stored.status_code == 200, stored.text
        documents[name] = {**upload, "content": content}

    # UPLOADED on S3's word, with the SHA-256 of what S3 holds and a 5-minute download URL.
    for name, document in documents.items():
        uploaded = booking.settled(document["document_id"])
        assert uploaded["status"] == "UPLOADED", uploaded
        assert uploaded["sha256"] == hashlib.sha256(document["content"]).hexdigest()
        assert uploaded["uploaded_at"]
        download = uploaded["download_url"]
        assert "X-Amz-Expires=300" in download
        fetched = requests.get(download, timeout=30)
        assert (fetched.status_code, fetched.content) == (200, document["content"]), name
    listed = data(booking.call("GET", "/documents"))["documents"]
    assert {d["document_id"] for d in listed} == {d["document_id"] for d in documents.values()}

    # Extraction of each: the local reader reads text PDFs; it has no OCR, so the scanned page
    # succeeds with nothing found (in AWS, Bedrock reads the image).
    facility = documents["facility_agreement.pdf"]["document_id"]
    first = booking.extract(facility)
    assert first["status"] == "SUCCEEDED", first
    assert first["fields_found"] >= 10
    assert first["started_at"]
    assert first["finished_at"]
    assert booking.extract(documents["term_sheet.pdf"]["document_id"])["status"] == "SUCCEEDED"
    scanned = booking.extract(documents["execution_page.png"]["document_id"])
    assert (scanned["status"], scanned["fields_found"]) == ("SUCCEEDED", 0)

    sheet, _ = booking.sheet()
    assert sheet["status"] in ("PARTIAL", "COMPLETE")
    expected = EXPECTED["facility_agreement.pdf"]
    fields = sheet["fields"]
    assert fields["borrower_legal_name"]["value"] == expected["borrower_legal_name"]
    assert fields["facility_amount"]["value"] == expected["facility_amount"]
    source = fields["facility_amount"]["source"]
    assert source["document_id"] in {facility, documents["term_sheet.pdf"]["document_id"]}
    assert source["page"] >= 1
    assert source["quote"]
    for field in fields.values():
        assert 0 <= field["confidence"] <= 1
    tax_id = fields["borrower_tax_id"]["value"]
    assert tax_id.endswith(expected["borrower_tax_id"][-4:])
    assert expected["borrower_tax_id"] not in json.dumps(sheet)

    # A person's correction: confidence 1.0, who made it, and a later extraction keeps it.
    sheet, tag = booking.sheet()
    corrections: dict[str, str] = {"interest_rate_or_margin": "2.80"}
    corrections.update({name: EXPECTED["facility_agreement.pdf"][name] for name in sheet["missing_fields"]})
    corrected = data(booking.call("PATCH", "/booking-sheet", if_match=tag, json={"fields": corrections}))
    assert corrected["fields"]["interest_rate_or_margin"]["value"] == "2.80"
    assert corrected["fields"]["interest_rate_or_margin"]["confidence"] == 1.0
    assert corrected["fields"]["interest_rate_or_margin"]["corrected_by"] == booking.user.user_id
    again = booking.extract(facility)
    assert again["status"] == "SUCCEEDED"
    sheet, _ = booking.sheet()
    assert sheet["fields"]["interest_rate_or_margin"]["value"] == "2.80"
    assert sheet["fields"]["interest_rate_or_margin"]["corrected_by"] == booking.user.user_id
    assert sheet["status"] == "COMPLETE", sheet["missing_fields"]

    # Book it: BOOKED, and read-only from then on.
    current = booking.call("GET")
    booked = data(booking.call("POST", "/book", if_match=current.headers["ETag"]))
    assert booked["status"] == "BOOKED"
    _, tag = booking.sheet()
    late = booking.call("PATCH", "/booking-sheet", if_match=tag, json={"fields": {"guarantors": "Nobody"}})
    assert_error_envelope(late, 409, "CONFLICT")


# --- bad inputs of the upload and extraction path ------------------------------------------------


@pytest.fixture
def draft(officer: Officer) -> Officer:
    products = data(officer.api.get("/v1/products", headers=officer.user.bearer))["products"]
    product = products[0]
    created = officer.api.post(
        "/v1/loan-bookings",
        headers=officer.user.bearer,
        json={
            "customer_name": "Kestrel Marine Services B.V.",
            "product_id": product["product_id"],
            "amount": product["min_amount"],
            "currency": product["currency"],
        },
    )
    return Officer(officer.api, officer.user, data(created, 201)["booking_id"])


def test_a_put_larger_than_declared_is_refused_by_s3(draft: Officer, stack: LocalLendbridge) -> None:
    content = (SAMPLES / "term_sheet.pdf").read_bytes()
    upload = draft.new_document("term_sheet.pdf", PDF, len(content) - 100)
    # The client sends what it has, with its true length: the signature bound the declared one.
    headers = {key: value for key, value in upload["upload_headers"].items() if key != "Content-Length"}
    refused = put(upload, content, headers)
    assert refused.status_code == 403
    assert b"SignatureDoesNotMatch" in refused.content
    assert not object_exists(stack, upload["upload_url"])
    assert draft.document(upload["document_id"])["status"] == "AWAITING_UPLOAD"


def test_a_put_without_the_signed_headers_is_refused(draft: Officer) -> None:
    content = (SAMPLES / "term_sheet.pdf").read_bytes()
    upload = draft.new_document("term_sheet.pdf", PDF, len(content))
    other_type = {**upload["upload_headers"], "Content-Type": "image/png"}
    assert put(upload, content, other_type).status_code == 403
    untagged = {key: value for key, value in upload["upload_headers"].items() if key != "x-amz-tagging"}
    assert put(upload, content, untagged).status_code == 403


def test_a_stored_document_cannot_be_replaced_through_its_url(draft: Officer) -> None:
    content = (SAMPLES / "term_sheet.pdf").read_bytes()
    upload = draft.new_document("term_sheet.pdf", PDF, len(content))
    assert put(upload, content).status_code == 200
    assert draft.settled(upload["document_id"])["status"] == "UPLOADED"
    same_size = b"%PDF-1.7\n" + b"0" * (len(content) - 9)
    assert put(upload, same_size).status_code == 412
    downloaded = requests.get(draft.document(upload["document_id"])["download_url"], timeout=30)
    assert downloaded.content == content


def test_a_non_pdf_renamed_pdf_is_rejected_and_its_object_deleted(draft: Officer, stack: LocalLendbridge) -> None:
    disguised = (SAMPLES / "execution_page.png").read_bytes()
    upload = draft.new_document("signed-agreement.pdf", PDF, len(disguised))
    assert put(upload, disguised).status_code == 200
    rejected = draft.settled(upload["document_id"])
    assert rejected["status"] == "REJECTED"
    assert rejected.get("download_url") is None
    assert rejected.get("sha256") is None
    eventually(lambda: object_exists(stack, upload["upload_url"]), lambda exists: not exists, "the deletion")
    refused = draft.call("POST", f"/documents/{upload['document_id']}/extraction")
    assert_error_envelope(refused, 409, "CONFLICT")


def test_extracting_a_document_not_yet_uploaded_is_a_conflict(draft: Officer) -> None:
    upload = draft.new_document("facility_agreement.pdf", PDF, 1000)
    refused = draft.call("POST", f"/documents/{upload['document_id']}/extraction")
    body = assert_error_envelope(refused, 409, "CONFLICT")
    assert body["details"] == {"document_status": "AWAITING_UPLOAD"}
