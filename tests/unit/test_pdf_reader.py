"""LocalPdfReader (data/pdf_reader.py) on real PDFs: the committed samples, and small PDFs made
here to pin each pattern's confidence, the injection sample, and the documents it cannot read."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from lendbridge.data.pdf_reader import LABELLED, LABELS, MENTIONED, PICKED_OUT, TABLE_ROW, LocalPdfReader
from lendbridge.domain.booking_sheet import SHEET_FIELDS, merge_extraction, normalise_value
from lendbridge.domain.extraction import ExtractedField, ExtractionFailed
from tools.extraction_accuracy import same

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "documents"
EXPECTED: dict[str, dict[str, str]] = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
T0 = datetime(2026, 11, 30, tzinfo=UTC)


def _pdf(*pages: list[str]) -> bytes:
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    for lines in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT", align="L")
    return bytes(pdf.output())


def _read(content: bytes) -> dict[str, ExtractedField]:
    return {f.name: f for f in LocalPdfReader().read(content, "application/pdf")}


@pytest.mark.parametrize("document", ["facility_agreement.pdf", "term_sheet.pdf", "injection_letter.pdf"])
def test_every_value_read_from_a_sample_pdf_is_the_one_it_contains(document: str) -> None:
    found = LocalPdfReader().read((SAMPLES / document).read_bytes(), "application/pdf")
    sheet = merge_extraction({}, found, document, T0)
    assert sheet.dropped == []
    expected = EXPECTED[document]
    assert set(sheet.fields) == set(expected)
    for name, held in sheet.fields.items():
        assert same(name, held.value, expected[name]), name
        assert held.source is not None
        assert held.source.page is not None
        assert held.source.quote


def test_sources_name_the_page_and_the_printed_line() -> None:
    found = _read((SAMPLES / "facility_agreement.pdf").read_bytes())
    amount = found["facility_amount"]
    assert (amount.value, amount.confidence, amount.page) == ("25,000,000.00", LABELLED, 3)
    assert amount.quote == "Facility amount: GBP 25,000,000.00"
    assert found["signing_date"].page == 1  # only the prose on page 1 dates the agreement
    assert found["signing_date"].quote is not None
    assert "is dated 30 June 2026" in found["signing_date"].quote
    security = found["collateral_description"]
    assert security.value.endswith("Avonmouth Dock, Bristol BS11 9DQ")  # the continuation line joined
    assert "page 3" not in found["financial_covenants"].value  # the footer is not part of the value


def test_a_table_row_reads_lower_than_a_labelled_line_and_picked_out_values_lower_still() -> None:
    found = _read((SAMPLES / "term_sheet.pdf").read_bytes())
    assert found["borrower_legal_name"].confidence == TABLE_ROW
    assert found["borrower_legal_name"].quote == "Borrower Harbourline Logistics Limited"
    assert found["interest_rate_or_margin"].confidence == TABLE_ROW  # "2.75% p.a." is a rate alone
    # "GBP 25,000,000 (twenty-five million pounds sterling)": the amount is picked out of the text
    assert found["facility_amount"].confidence == pytest.approx(TABLE_ROW - PICKED_OUT)
    assert found["reference_rate"].value == "SONIA"
    assert found["reference_rate"].confidence == pytest.approx(TABLE_ROW - PICKED_OUT)
    assert "maturity_date" not in found  # "Five years from the date of signing" is not a date
    assert "signing_date" not in found  # the term sheet's own date is not a signing date


def test_phrases_in_running_text_are_found_with_lower_confidence() -> None:
    content = _pdf(
        [
            "THIS AGREEMENT is dated 1 March 2027 and made between:",
            "(1) NORTHWIND FOODS LIMITED, a company incorporated in Scotland, whose registered office is at "
            '9 Mill Lane, Perth PH1 5AA (the "Borrower");',
            '(2) NORTHWIND GROUP PLC as original guarantor (the "Guarantor").',
            "The Lender makes available a term loan facility in an aggregate amount of EUR 4,000,000.00.",
            "The rate of interest is floating. Margin means 3.10 per cent. per annum over EURIBOR.",
            "The Borrower shall repay the Loan in one bullet repayment on the Final Maturity Date, being 1 March 2032.",
        ]
    )
    found = _read(content)
    values = {name: (f.value, f.confidence) for name, f in found.items()}
    assert values == {
        "signing_date": ("1 March 2027", 0.60),
        "borrower_legal_name": ("NORTHWIND FOODS LIMITED", 0.50),
        "borrower_address": ("9 Mill Lane, Perth PH1 5AA", 0.50),
        "guarantors": ("NORTHWIND GROUP PLC", 0.50),
        "facility_amount": ("4,000,000.00", 0.60),
        "currency": ("EUR", 0.60),
        "interest_rate_type": ("floating", 0.55),
        "interest_rate_or_margin": ("3.10%", 0.60),
        "reference_rate": ("EURIBOR", MENTIONED),
        "repayment_type": ("bullet", 0.50),
        "maturity_date": ("1 March 2032", 0.60),
    }
    for name, (value, _) in values.items():
        normalise_value(name, value)  # each is a value the sheet accepts


def test_a_labelled_value_wins_over_a_phrase_for_the_same_field() -> None:
    content = _pdf(["THIS AGREEMENT is dated 1 March 2027.", "", "Signing date: 2 March 2027"])
    found = _read(content)
    assert (found["signing_date"].value, found["signing_date"].confidence) == ("2 March 2027", LABELLED)


def test_the_longest_label_wins() -> None:
    found = _read(_pdf(["Borrower address: 1 High Street, Leeds LS1 1AA", "Interest rate type: Fixed"]))
    assert "borrower_legal_name" not in found
    assert found["borrower_address"].value == "1 High Street, Leeds LS1 1AA"
    assert found["interest_rate_type"].value == "FIXED"
    assert "interest_rate_or_margin" not in found


def test_an_ambiguous_repayment_description_is_left_to_a_person() -> None:
    found = _read(_pdf(["Repayment: amortising instalments with a balloon at maturity"]))
    assert "repayment_type" not in found


def test_the_injection_sample_changes_nothing_but_the_fields_it_truly_contains() -> None:
    content = (SAMPLES / "injection_letter.pdf").read_bytes()
    found = _read(content)
    assert found["facility_amount"].value == "3,500,000.00"
    assert found["currency"].value == "EUR"
    assert all(f.confidence < 1.0 for f in found.values())
    sheet = merge_extraction({}, list(found.values()), "letter", T0).fields
    assert sheet["facility_amount"].value == "3500000.00"
    assert sheet["currency"].value == "EUR"
    assert {name: held.value for name, held in sheet.items()} == EXPECTED["injection_letter.pdf"]


def test_an_image_gives_no_fields_because_there_is_no_ocr_here() -> None:
    content = (SAMPLES / "execution_page.png").read_bytes()
    assert LocalPdfReader().read(content, "image/png") == []
    assert LocalPdfReader().read(b"\xff\xd8\xff", "image/jpeg") == []
    assert LocalPdfReader().read(b"II*\x00", "image/tiff") == []


def test_a_pdf_without_a_text_layer_gives_no_fields() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert LocalPdfReader().read(buffer.getvalue(), "application/pdf") == []


@pytest.mark.parametrize("content", [b"%PDF-1.7\nnot really a pdf", b"", b"\x00" * 64])
def test_a_broken_pdf_fails_with_a_reason(content: bytes) -> None:
    with pytest.raises(ExtractionFailed) as caught:
        LocalPdfReader().read(content, "application/pdf")
    assert caught.value.reason == "The PDF could not be read"


def test_an_encrypted_pdf_fails_with_a_reason() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("owner-and-user")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractionFailed) as caught:
        LocalPdfReader().read(buffer.getvalue(), "application/pdf")
    assert caught.value.reason == "The PDF is encrypted"


def test_an_unsupported_type_fails() -> None:
    with pytest.raises(ExtractionFailed):
        LocalPdfReader().read(b"<html>", "text/html")


@pytest.mark.parametrize(
    ("line", "field", "value", "confidence"),
    [
        ("Currency: GBP", "currency", "GBP", LABELLED),
        ("Currency: Pounds sterling (GBP)", "currency", "GBP", LABELLED - PICKED_OUT),
        ("Currency: euro", "currency", "EUR", LABELLED - PICKED_OUT),
        ("Reference rate: Bank of England base rate", "reference_rate", "Bank of England base rate", LABELLED),
        ("TIN: 12-3456789", "borrower_tax_id", "12-3456789", LABELLED),
        ("Commitment: 1,250,000.00 USD", "facility_amount", "1,250,000.00", LABELLED),
        ("Loan amount: £2,000,000.00", "currency", "GBP", LABELLED),
        ("Maturity date: 2030-12-31", "maturity_date", "2030-12-31", LABELLED),
        ("Repayment: Bullet", "repayment_type", "BULLET", LABELLED),
    ],
)
def test_label_values_of_each_shape(line: str, field: str, value: str, confidence: float) -> None:
    found = _read(_pdf([line]))
    assert (found[field].value, found[field].confidence) == (value, pytest.approx(confidence))


@pytest.mark.parametrize(
    "line",
    [
        "Currency: to be agreed",
        "Tax ID: to follow",
        "Facility amount: to be confirmed",
        "Interest rate type: fixed or floating at the Borrower's option",
        "Maturity date: five years after signing",
        "Margin: to be agreed",
    ],
)
def test_a_label_without_a_value_of_its_shape_gives_nothing(line: str) -> None:
    assert _read(_pdf([line])) == {}


ALL_LABELS = sorted({label for labels in LABELS.values() for label in labels})
LATIN_TEXT = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=60
)


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.one_of(
            st.builds(
                lambda label, sep, value: f"{label}{sep}{value}",
                st.sampled_from(ALL_LABELS),
                st.sampled_from([": ", "   ", " "]),
                LATIN_TEXT,
            ),
            LATIN_TEXT,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_whatever_the_text_the_reader_reports_sheet_fields_with_known_confidences(lines: list[str]) -> None:
    found = LocalPdfReader().read(_pdf([line or "." for line in lines]), "application/pdf")
    assert len({f.name for f in found}) == len(found)
    for item in found:
        assert item.name in SHEET_FIELDS
        assert item.page == 1
        assert 0 < item.confidence < 1
        assert item.quote


@settings(max_examples=40, deadline=None)
@given(tail=st.binary(max_size=400))
def test_random_bytes_after_a_pdf_header_fail_cleanly_or_give_nothing(tail: bytes) -> None:
    try:
        found = LocalPdfReader().read(b"%PDF-1.7\n" + tail, "application/pdf")
    except ExtractionFailed as error:
        failure: ExtractionFailed | None = error
    else:
        failure = None
        assert found == []
    if failure is not None:
        assert failure.reason in {"The PDF could not be read", "The PDF is encrypted"}
