"""Measures the local extraction adapter on the sample documents: fields right / fields expected.

    .venv/bin/python -m tools.extraction_accuracy [--samples samples/documents] [--json]

Each sample goes through the same path as in the extractor: ``LocalPdfReader.read``, then
``booking_sheet.merge_extraction`` onto an empty sheet (so a value the sheet would drop counts
as not found). A field is right when its stored value equals the expected one
(``expected.json``); text fields are compared ignoring case and runs of white space, every other
field exactly in its canonical form. A value found but not expected counts as a false find.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples" / "documents"
TEXT_FIELDS = frozenset(
    {
        "borrower_legal_name",
        "borrower_address",
        "reference_rate",
        "collateral_description",
        "guarantors",
        "financial_covenants",
    }
)
_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


@dataclass
class Score:
    document: str
    expected: int
    right: int
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.expected if self.expected else 1.0


def same(name: str, found: str, expected: str) -> bool:
    if name in TEXT_FIELDS:
        return " ".join(found.split()).casefold() == " ".join(expected.split()).casefold()
    return found == expected


def score(samples: Path) -> list[Score]:
    # The Lambda code lives under lambdas/ (its own import root), as tools/openapi.py does.
    sys.path.insert(0, str(PROJECT_ROOT / "lambdas"))
    from lendbridge.data.pdf_reader import LocalPdfReader
    from lendbridge.domain.booking_sheet import merge_extraction

    expected_all: dict[str, dict[str, str]] = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    reader = LocalPdfReader()
    scores = []
    for document, expected in sorted(expected_all.items()):
        content = (samples / document).read_bytes()
        found = reader.read(content, _TYPES[Path(document).suffix.lower()])
        sheet = merge_extraction({}, found, document, datetime.now(UTC)).fields
        result = Score(document, expected=len(expected), right=0)
        for name, value in expected.items():
            held = sheet.get(name)
            if held is None:
                result.missed.append(name)
            elif same(name, held.value, value):
                result.right += 1
            else:
                result.wrong.append(name)
        result.unexpected = sorted(set(sheet) - set(expected))
        scores.append(result)
    return scores


def report(scores: list[Score]) -> dict[str, Any]:
    expected = sum(s.expected for s in scores)
    right = sum(s.right for s in scores)
    return {
        "documents": [
            {
                "document": s.document,
                "right": s.right,
                "expected": s.expected,
                "accuracy": round(s.accuracy, 3),
                "wrong": s.wrong,
                "missed": s.missed,
                "unexpected": s.unexpected,
            }
            for s in scores
        ],
        "total": {"right": right, "expected": expected, "accuracy": round(right / expected, 3) if expected else 1.0},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Accuracy of the local extraction adapter on the samples")
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = report(score(args.samples))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{'document':<26} {'right':>5} / {'expected':<8} {'accuracy':>8}  notes")
    for row in figures["documents"]:
        notes = "; ".join(
            f"{label}: {', '.join(row[key])}"
            for key, label in (("wrong", "wrong"), ("missed", "missed"), ("unexpected", "not expected"))
            if row[key]
        )
        print(f"{row['document']:<26} {row['right']:>5} / {row['expected']:<8} {row['accuracy']:>8.1%}  {notes}")
    total = figures["total"]
    print(f"{'total':<26} {total['right']:>5} / {total['expected']:<8} {total['accuracy']:>8.1%}")


if __name__ == "__main__":
    main()
