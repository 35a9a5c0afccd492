"""LocalPdfReader: finds the booking-sheet fields in a text PDF without any service.

The local stage cannot reach Bedrock, so this adapter of the extraction port reads the PDF's
text layer with pypdf and looks for the fields with the patterns below. It is honest about what
it can do: it reads text PDFs only. An image (PNG, JPEG, TIFF) or a scanned PDF without a text
layer gives no fields at all, because there is no OCR here; the extraction then succeeds with
nothing found and the officer fills the sheet by hand.

How a field is found, and the confidence reported (the patterns are case-insensitive):

1. A labelled line (0.90), laid out as ``Label: value`` at the start of a line, or a table row
   (0.85): the label at the start of a line, two or more spaces, the value. Continuation lines
   indented to the value's column belong to the value. Each field has its labels (``LABELS``;
   the longest label that fits wins, so "Borrower address" is not read as "Borrower"). When the
   value has the field's shape exactly (a date alone, ``GBP 25,000,000.00``, ``2.75% p.a.``)
   the confidence is as above; when it had to be picked out of longer text (an amount followed
   by its amount in words, "Floating rate", a benchmark inside "Compounded SONIA, five banking
   days lookback", a repayment keyword such as "amortising"), 0.15 less.
2. A phrase in running text (0.50 to 0.60), e.g. ``THIS AGREEMENT is dated <date>``,
   ``an aggregate amount of <amount>``, ``Margin means <rate>``, ``Final Maturity Date, being
   <date>``, ``registered office is at <address> (the``, ``(1) <NAME>, a company``,
   ``(2) <NAME> as original guarantor``. Looser patterns get the lower figures (``PHRASES``).
3. A known reference rate named anywhere in the text (SONIA, SOFR, EURIBOR, ...) with no label:
   0.40.

For each field the most confident finding is returned (the first one on a tie), with its page
(1-based) and the line or phrase it came from as the quote. The reader does not validate: the
booking sheet validates every value (``domain.booking_sheet.normalise_value``) before it is
stored, exactly as it does for the Bedrock adapter. Text inside the document is only ever
matched against these patterns, so an instruction written in a document changes nothing.

The figures are measured on the sample documents by ``python -m tools.extraction_accuracy``
(docs/extraction.md).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from lendbridge.domain.extraction import DOCUMENT_TYPES, PDF, ExtractedField, ExtractionFailed

LABELLED = 0.90
TABLE_ROW = 0.85
PICKED_OUT = 0.15  # taken off when the value had to be picked out of longer text
MENTIONED = 0.40
MAX_PAGES = 200  # a facility agreement with schedules; beyond that the text is not worth the CPU

LABELS: dict[str, tuple[str, ...]] = {
    "borrower_legal_name": ("borrower", "borrower name", "borrower legal name", "name of borrower", "obligor"),
    "borrower_address": ("borrower address", "registered address", "registered office", "address of borrower"),
    "borrower_tax_id": (
        "tax identification number",
        "tax id",
        "taxpayer identification number",
        "tin",
        "vat number",
        "vat registration number",
        "employer identification number",
        "ein",
    ),
    "facility_amount": (
        "facility amount",
        "amount",
        "commitment",
        "total commitments",
        "principal amount",
        "loan amount",
        "facility limit",
    ),
    "currency": ("currency", "base currency", "facility currency"),
    "interest_rate_type": ("interest rate type", "interest basis", "rate type", "interest type"),
    "interest_rate_or_margin": ("margin", "applicable margin", "interest rate", "fixed rate", "rate of interest"),
    "reference_rate": ("reference rate", "benchmark", "benchmark rate", "base rate"),
    "maturity_date": ("maturity date", "final maturity date", "termination date", "final repayment date", "maturity"),
    "repayment_type": ("repayment", "repayment type", "repayment profile", "amortisation", "amortization"),
    "collateral_description": ("security", "collateral", "collateral description", "security package"),
    "guarantors": ("guarantor", "guarantors", "guarantee"),
    "financial_covenants": ("financial covenants", "financial covenant", "covenants"),
    "signing_date": ("date of signing", "signing date", "signed on", "date of this agreement", "dated"),
}
_LABEL_OF = {label: field for field, labels in LABELS.items() for label in labels}
_LABEL_LINE = re.compile(
    r"(?P<label>"
    + "|".join(re.escape(label) for label in sorted(_LABEL_OF, key=len, reverse=True))
    + r")(?:(?P<colon>\s*:\s*)|(?P<gap>\s{2,}))(?P<value>\S.*)$",
    re.IGNORECASE,
)

BENCHMARKS = (
    "TERM SOFR",
    "SOFR",
    "SONIA",
    "EURIBOR",
    "ESTR",
    "€STR",
    "SARON",
    "TONA",
    "TIBOR",
    "CORRA",
    "BBSW",
    "HIBOR",
)
_BENCHMARK = re.compile(
    r"(?<![A-Za-z])(" + "|".join(re.escape(b) for b in BENCHMARKS) + r")(?![A-Za-z])", re.IGNORECASE
)
_CURRENCY_NAMES = {
    "sterling": "GBP",
    "pounds sterling": "GBP",
    "euro": "EUR",
    "euros": "EUR",
    "us dollars": "USD",
    "us dollar": "USD",
    "swiss francs": "CHF",
    "yen": "JPY",
}
_SYMBOLS = {"£": "GBP", "€": "EUR"}  # "$" names too many currencies to guess

_NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]{2})?|[0-9]+(?:\.[0-9]{2})?"
_AMOUNT = re.compile(
    rf"(?:(?P<code>\b[A-Z]{{3}})\s?|(?P<symbol>[£€]))(?P<number>{_NUMBER})\b|(?P<number2>{_NUMBER})\s?(?P<code2>[A-Z]{{3}})\b"
)
_RATE = re.compile(r"([0-9]{1,2}(?:\.[0-9]{1,4})?)\s*(?:%|per\s?cent\.?)", re.IGNORECASE)
_RATE_ALONE = re.compile(rf"{_RATE.pattern}(?:\s*(?:per annum|p\.a\.))?\.?", re.IGNORECASE)
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_DAY = r"[0-9]{1,2}(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"\b(?:[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}|{_DAY} {_MONTH},? [0-9]{{4}}|{_MONTH} {_DAY},? [0-9]{{4}})\b",
    re.IGNORECASE,
)
_TAX_ID = re.compile(r"\b[A-Z]{0,2} ?[0-9][0-9 ./-]{3,30}[0-9A-Z]\b")
_REPAYMENT_WORDS = (
    ("INTEREST_ONLY", re.compile(r"interest[ -]only", re.IGNORECASE)),
    ("BALLOON", re.compile(r"balloon", re.IGNORECASE)),
    ("BULLET", re.compile(r"bullet", re.IGNORECASE)),
    ("REVOLVING", re.compile(r"revolving", re.IGNORECASE)),
    ("AMORTIZING", re.compile(r"amorti[sz]", re.IGNORECASE)),
)
_FOOTER = re.compile(r"\bpage [0-9]+(?: of [0-9]+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class _Finding:
    name: str
    value: str
    confidence: float
    page: int
    quote: str


Interpreter = Callable[[str], "tuple[str, bool] | None"]


def _as_text(value: str) -> tuple[str, bool] | None:
    return value, True


def _tax_id(value: str) -> tuple[str, bool] | None:
    found = _TAX_ID.search(value)
    return (found.group().strip(), found.group().strip() == value) if found else None


def _date(value: str) -> tuple[str, bool] | None:
    found = _DATE.search(value)
    return (found.group(), found.group() == value.rstrip(".")) if found else None


def _rate(value: str) -> tuple[str, bool] | None:
    found = _RATE.search(value)
    if not found:
        return None
    return f"{found.group(1)}%", bool(_RATE_ALONE.fullmatch(value))


def _rate_type(value: str) -> tuple[str, bool] | None:
    words = value.lower()
    kinds = {
        kind for word, kind in (("floating", "FLOATING"), ("variable", "FLOATING"), ("fixed", "FIXED")) if word in words
    }
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    return kind, words.strip(" .") in {"floating", "variable", "fixed"}


def _benchmark(value: str) -> tuple[str, bool] | None:
    found = _BENCHMARK.search(value)
    if not found:
        return value, True
    return _canonical_benchmark(found.group()), found.group() == value


def _canonical_benchmark(name: str) -> str:
    upper = name.upper()
    return "ESTR" if upper == "€STR" else upper


def _repayment(value: str) -> tuple[str, bool] | None:
    kinds = [kind for kind, pattern in _REPAYMENT_WORDS if pattern.search(value)]
    if len(kinds) != 1:  # none, or a mix ("amortising with a balloon"): a person decides
        return None
    return kinds[0], value.strip(" .").lower().replace("-", " ") in {"bullet", "balloon", "interest only", "revolving"}


def _currency(value: str) -> tuple[str, bool] | None:
    code = re.search(r"\b[A-Z]{3}\b", value)
    if code:
        return code.group(), code.group() == value
    for name, iso in _CURRENCY_NAMES.items():
        if name in value.lower():
            return iso, False
    return None


INTERPRETERS: dict[str, Interpreter] = {
    "borrower_legal_name": _as_text,
    "borrower_address": _as_text,
    "borrower_tax_id": _tax_id,
    "currency": _currency,
    "interest_rate_type": _rate_type,
    "interest_rate_or_margin": _rate,
    "reference_rate": _benchmark,
    "maturity_date": _date,
    "repayment_type": _repayment,
    "collateral_description": _as_text,
    "guarantors": _as_text,
    "financial_covenants": _as_text,
    "signing_date": _date,
}

# Phrases in running text (the page's text with line breaks folded into spaces).
_NAME = r"[A-Z][A-Z0-9 .,&'-]{2,120}?"
PHRASES: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("signing_date", re.compile(rf"\b(?:is|was) dated (?:as of )?({_DATE.pattern})", re.IGNORECASE), 0.60),
    (
        "facility_amount",
        re.compile(r"\b(?:aggregate|principal|total) amount of ([A-Z]{3} ?(?:" + _NUMBER + r"))"),
        0.60,
    ),
    ("interest_rate_or_margin", re.compile(rf"\bMargin (?:means|is|of) ({_RATE.pattern})", re.IGNORECASE), 0.60),
    ("maturity_date", re.compile(rf"\bMaturity Date,? (?:being|is|means) ({_DATE.pattern})", re.IGNORECASE), 0.60),
    ("interest_rate_type", re.compile(r"\brate of interest is (floating|fixed|variable)\b", re.IGNORECASE), 0.55),
    ("borrower_address", re.compile(r"\bregistered office is at (.{5,200}?) \(the\b", re.IGNORECASE), 0.50),
    ("borrower_legal_name", re.compile(rf"\(1\) ({_NAME}), an? (?:company|corporation|limited|partnership)\b"), 0.50),
    ("guarantors", re.compile(rf"\(\d\) ({_NAME}) as (?:original )?guarantor\b"), 0.50),
    (
        "repayment_type",
        re.compile(r"\brepay\b.{0,80}?\b(amorti[sz]ing|bullet|balloon) (?:instalments|repayment)", re.I),
        0.50,
    ),
)


class LocalPdfReader:
    """The extraction port's local adapter (see the module docstring for what it finds)."""

    name = "local-pdf"

    def read(self, content: bytes, content_type: str) -> list[ExtractedField]:
        if content_type not in DOCUMENT_TYPES:
            raise ExtractionFailed("The document's type cannot be read")
        if content_type != PDF:
            return []  # an image: no OCR in the local reader
        pages = _pages(content)
        best: dict[str, _Finding] = {}
        for finding in _findings(pages):
            held = best.get(finding.name)
            if held is None or finding.confidence > held.confidence:
                best[finding.name] = finding
        return [
            ExtractedField(name=f.name, value=f.value, confidence=f.confidence, page=f.page, quote=f.quote)
            for f in best.values()
        ]


def _pages(content: bytes) -> list[tuple[str, str]]:
    """Each page's text twice: laid out (columns kept as spaces, for labels and tables) and plain
    (for phrases)."""
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractionFailed("The PDF is encrypted")
        return [(page.extract_text(extraction_mode="layout"), page.extract_text()) for page in reader.pages[:MAX_PAGES]]
    except ExtractionFailed:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise ExtractionFailed("The PDF could not be read") from None


def _findings(pages: list[tuple[str, str]]) -> Iterator[_Finding]:
    for number, (layout, plain) in enumerate(pages, start=1):
        yield from _labelled(layout, number)
        folded = " ".join(plain.split())
        yield from _phrases(folded, number)
        mention = _BENCHMARK.search(folded)
        if mention:
            yield _Finding(
                "reference_rate", _canonical_benchmark(mention.group()), MENTIONED, number, _around(folded, mention)
            )


def _labelled(layout: str, page: int) -> Iterator[_Finding]:
    lines = layout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(" "):
            continue  # labels start a line; an indented line is a continuation or a footer
        match = _LABEL_LINE.match(line.rstrip())
        if not match:
            continue
        column = match.start("value")
        parts = [match["value"].strip()]
        for following in lines[index + 1 :]:
            indent = len(following) - len(following.lstrip(" "))
            if not following.strip() or abs(indent - column) > 2 or _FOOTER.search(following):
                break
            parts.append(following.strip())
        value = " ".join(parts)
        quote = " ".join(" ".join([line, *parts[1:]]).split())  # the text as printed, spacing folded
        base = LABELLED if match["colon"] else TABLE_ROW
        yield from _interpret(_LABEL_OF[match["label"].lower()], value, base, page, quote)


def _interpret(field: str, value: str, base: float, page: int, quote: str) -> Iterator[_Finding]:
    if field == "facility_amount":
        amount = _AMOUNT.search(value)
        if not amount:
            return
        number = amount["number"] or amount["number2"]
        code = amount["code"] or amount["code2"] or _SYMBOLS.get(amount["symbol"] or "")
        confidence = base if amount.group() == value else base - PICKED_OUT
        yield _Finding("facility_amount", number, confidence, page, quote)
        if code:
            yield _Finding("currency", code, confidence, page, quote)
        return
    found = INTERPRETERS[field](value)
    if found is not None:
        text, exact = found
        yield _Finding(field, text, base if exact else base - PICKED_OUT, page, quote)


def _phrases(text: str, page: int) -> Iterator[_Finding]:
    for field, pattern, confidence in PHRASES:
        found = pattern.search(text)
        if not found:
            continue
        value = found.group(1)
        if field == "facility_amount":
            yield from _interpret(field, value, confidence, page, _around(text, found))
            continue
        if field == "interest_rate_or_margin":
            value = f"{found.group(2)}%"
        yield _Finding(field, value, confidence, page, _around(text, found))


def _around(text: str, found: re.Match[str]) -> str:
    """The phrase that matched with a little context, cut at word boundaries."""
    start = text.rfind(" ", 0, max(found.start() - 40, 0)) + 1
    end = text.find(" ", min(found.end() + 40, len(text)))
    return text[start : end if end != -1 else len(text)].strip()
