"""The committed sample documents are what tools/sample_documents.py writes (byte for byte), their
expected values are valid booking-sheet values, and tools/extraction_accuracy.py measures them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from lendbridge.domain.booking_sheet import SHEET_FIELDS, normalise_value
from tools import extraction_accuracy, sample_documents

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "documents"


def test_the_committed_samples_are_reproduced_byte_for_byte(tmp_path: Path) -> None:
    written = sample_documents.write(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in SAMPLES.iterdir())
    for path in written:
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name


def test_expected_values_are_canonical_booking_sheet_values() -> None:
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    assert set(expected) == set(sample_documents.SAMPLES)
    for fields in expected.values():
        for name, value in fields.items():
            assert name in SHEET_FIELDS
            assert normalise_value(name, value) == value


def test_the_scanned_page_is_an_image_a_document_reader_accepts() -> None:
    with Image.open(SAMPLES / "execution_page.png") as image:
        assert image.format == "PNG"
        assert max(image.size) <= 8000
    assert (SAMPLES / "execution_page.png").stat().st_size <= 3_750_000


def test_the_injection_sample_carries_the_instruction() -> None:
    from pypdf import PdfReader

    text = " ".join(PdfReader(SAMPLES / "injection_letter.pdf").pages[0].extract_text().split())
    assert sample_documents.INJECTION in text


def test_the_accuracy_figures_count_right_missed_and_wrong_fields(tmp_path: Path) -> None:
    sample_documents.write(tmp_path)
    expected = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    expected["term_sheet.pdf"]["facility_amount"] = "24000000.00"  # a deliberately wrong expectation
    (tmp_path / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    figures = extraction_accuracy.report(extraction_accuracy.score(tmp_path))
    rows = {row["document"]: row for row in figures["documents"]}
    assert rows["term_sheet.pdf"]["wrong"] == ["facility_amount"]
    assert rows["execution_page.png"]["right"] == 0
    assert rows["execution_page.png"]["missed"] == sorted(expected["execution_page.png"])
    assert figures["total"]["expected"] == sum(len(v) for v in expected.values())
    assert figures["total"]["right"] == figures["total"]["expected"] - 5 - 1


@pytest.mark.parametrize(
    ("name", "found", "expected", "equal"),
    [
        ("borrower_legal_name", "HARBOURLINE  LOGISTICS LIMITED", "Harbourline Logistics Limited", True),
        ("facility_amount", "25000000.00", "25000000.0", False),
        ("currency", "gbp", "GBP", False),
    ],
)
def test_text_fields_compare_without_case_and_others_exactly(name: str, found: str, expected: str, equal: bool) -> None:
    assert extraction_accuracy.same(name, found, expected) is equal
