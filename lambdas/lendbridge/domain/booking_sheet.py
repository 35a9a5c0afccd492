"""The booking sheet: the fields a commercial loan is booked from, their rules, and how an
extraction or a person's correction changes them.

Every value goes through ``normalise_value`` before it is kept, whoever supplied it: a reader's
output is untrusted text (it came from a document, possibly through a language model), so an
amount must parse as a decimal, a date as a date, a currency as ISO 4217, and so on. A value
that fails is dropped with a reason and never stored. A field a person corrected is never
overwritten by a later extraction. Reasons never repeat the value itself (it may be personal
data, and it is untrusted).

Values are stored as text in one canonical form per kind:
- amounts: a decimal string with two places ("25000000.00"), ASCII digits, at most two places
  in the source (a value with more is refused, not rounded);
- rates: percent per annum as a decimal string with at least two places ("3.25" is 3.25 %);
  "3.25%", "3.25 per cent" and "325 bps" are read too;
- dates: ISO 8601 ("2031-06-30"); "30 June 2031" and "June 30, 2031" are read too, numeric
  day/month forms are refused (ambiguous);
- currency: an ISO 4217 code (``domain.currencies``);
- interest_rate_type: FIXED or FLOATING ("variable" reads as FLOATING);
- repayment_type: AMORTIZING, BULLET, BALLOON, INTEREST_ONLY or REVOLVING;
- text: Unicode NFC, runs of white space (line breaks included) folded into one space, no
  control, bidirectional-override or zero-width characters, a length limit per field;
  guarantors and financial_covenants may arrive as a list, kept joined by "; ".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from lendbridge.domain.currencies import is_currency
from lendbridge.domain.extraction import ExtractedField
from lendbridge.domain.money import as_text
from lendbridge.errors import ValidationFailed

SHEET_FIELDS: tuple[str, ...] = (
    "borrower_legal_name",
    "borrower_address",
    "borrower_tax_id",
    "facility_amount",
    "currency",
    "interest_rate_type",
    "interest_rate_or_margin",
    "reference_rate",
    "maturity_date",
    "repayment_type",
    "collateral_description",
    "guarantors",
    "financial_covenants",
    "signing_date",
)
OPTIONAL_FIELDS: frozenset[str] = frozenset({"guarantors", "financial_covenants"})
REQUIRED_FIELDS: frozenset[str] = frozenset(SHEET_FIELDS) - OPTIONAL_FIELDS

TAX_ID_FIELD = "borrower_tax_id"
MAX_QUOTE_LENGTH = 200
# Anything longer is refused before any other work: no field is near this, and a reader that
# returns megabytes of text for one field is broken or being abused.
MAX_RAW_LENGTH = 4000
MAX_AMOUNT = Decimal("1000000000000")  # one trillion in any currency: beyond any single facility


class SheetStatus(StrEnum):
    EMPTY = "EMPTY"
    PARTIAL = "PARTIAL"
    COMPLETE = "COMPLETE"


class RateType(StrEnum):
    FIXED = "FIXED"
    FLOATING = "FLOATING"


class RepaymentType(StrEnum):
    AMORTIZING = "AMORTIZING"
    BULLET = "BULLET"
    BALLOON = "BALLOON"
    INTEREST_ONLY = "INTEREST_ONLY"
    REVOLVING = "REVOLVING"


@dataclass(frozen=True)
class FieldSource:
    document_id: str
    page: int | None
    quote: str | None


@dataclass(frozen=True)
class SheetField:
    value: str
    confidence: float
    source: FieldSource | None
    extracted_at: datetime
    corrected_by: str | None = None


@dataclass(frozen=True)
class DroppedField:
    name: str
    reason: str


@dataclass(frozen=True)
class MergeResult:
    fields: dict[str, SheetField]
    dropped: list[DroppedField]


def _field_path(name: str) -> str:
    # The PATCH body is {"fields": {<name>: value}}: the same dotted path pydantic would report.
    return f"fields.{name[:100]}"


class InvalidSheetValue(ValidationFailed):
    """A value breaks its field's rule. ``field``/``reason`` name the first problem;
    ``field_errors`` carries every field's (``of`` builds one for several)."""

    def __init__(self, field: str, reason: str, *, others: Mapping[str, str] | None = None) -> None:
        problems = {field: reason, **(others or {})}
        super().__init__(
            f"Invalid value for {field[:100]}: {reason}",
            field_errors={_field_path(name): [why] for name, why in problems.items()},
        )
        self.field = field
        self.reason = reason

    @classmethod
    def of(cls, problems: Mapping[str, str]) -> InvalidSheetValue:
        (first, reason), *rest = problems.items()
        return cls(first, reason, others=dict(rest))


class UnknownSheetField(ValidationFailed):
    def __init__(self, field: str) -> None:
        super().__init__("Not a booking-sheet field", field_errors={_field_path(field): ["Not a booking-sheet field"]})
        self.field = field


# --- text -----------------------------------------------------------------------------------

# What a person cannot see but that changes what a reader sees: controls (C0, DEL, C1), the
# bidirectional marks, embeddings, overrides and isolates ("Trojan Source"), zero-width
# characters and the byte-order mark. The same set the API's text fields refuse, plus the
# zero-width ones, which a PDF's text layer is known to contain. (Written here again: the
# domain may not import the request schemas.)
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")


def _fold_text(value: str) -> str:
    """NFC, white space folded to single spaces, trimmed; refuses what cannot be shown honestly."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Not valid Unicode text (an unpaired surrogate)") from None
    folded = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()
    found = _HIDDEN.search(folded)
    if found:
        raise ValueError(f"Contains a control or invisible formatting character (U+{ord(found.group()):04X})")
    return folded


# The validators below are plain functions bound at module level (no factories building
# closures): the rules table is built at import, and only code that runs per value can be
# checked by mutation testing.


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text")
    return _fold_text(value)


def _text_or_list(value: Any) -> str:
    """A list of names (guarantors, covenants) is kept as one text, items joined by "; "."""
    if isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise ValueError("A list must hold text only")
        value = "; ".join(item.strip() for item in value if item.strip())
    return _text(value)


_TEXT = BeforeValidator(_text)
_TEXT_OR_LIST = BeforeValidator(_text_or_list)


_TAX_ID = re.compile(r"[A-Z0-9](?:[A-Z0-9 ./-]{3,38})[A-Z0-9]")


def _tax_id(value: str) -> str:
    value = value.upper()
    if not _TAX_ID.fullmatch(value) or not any(ch.isdigit() for ch in value):
        raise ValueError("A tax id has 5 to 40 letters, digits, spaces, '.', '/' or '-', with at least one digit")
    return value


# --- numbers --------------------------------------------------------------------------------

_DECIMAL_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_PERCENT_SUFFIX = re.compile(r"\s*(?:%|per ?cent)(?:\s*(?:p\.?a\.?|per annum))?$", re.IGNORECASE)
_BPS_SUFFIX = re.compile(r"\s*(?:bps|bp|basis points)$", re.IGNORECASE)


def _number(value: Any) -> Decimal:
    """A JSON number or ASCII decimal text (thousands commas allowed) as a Decimal. Decimal()
    alone would also read other scripts' digits, exponents, "NaN" and "Infinity"."""
    if isinstance(value, bool):
        raise ValueError("Must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Must be a finite number")
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("Must be a finite number")
        return value
    if not isinstance(value, str):
        raise ValueError("Must be a number or decimal text")
    text = value.strip()
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _DECIMAL_TEXT.fullmatch(text):
        raise ValueError("Must be a decimal number written with ASCII digits, e.g. 25000000.00")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError("Must be a decimal number") from None


def _rate(value: Any) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        bps = _BPS_SUFFIX.search(text)
        if bps:
            return _number(text[: bps.start()]) / 100
        return _number(_PERCENT_SUFFIX.sub("", text))
    return _number(value)


def _rate_text(value: Decimal) -> str:
    """At least two places, no trailing zeros beyond them: 2.5 and 2.50000 are both "2.50". A rate
    is never negative, but the float -0.0 passes that rule and must not be stored as "-0.00"."""
    value = value.normalize().copy_abs()
    if value.as_tuple().exponent >= -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


# --- dates ----------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?(?: day of)? ([A-Za-z]+),? ([0-9]{4})", re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]+) ([0-9]{1,2})(?:st|nd|rd|th)?,? ([0-9]{4})", re.IGNORECASE)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("Must be a date without a time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("Must be a date, e.g. 2031-06-30")
    text = _SPACES.sub(" ", value.strip())
    iso = _ISO_DATE.fullmatch(text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        written = _DAY_MONTH_YEAR.fullmatch(text)
        if written:
            day, month_name, year = int(written[1]), written[2], int(written[3])
        else:
            written = _MONTH_DAY_YEAR.fullmatch(text)
            if not written:
                raise ValueError("Must be a date such as 2031-06-30 or 30 June 2031")
            month_name, day, year = written[1], int(written[2]), int(written[3])
        month = _MONTHS.get(month_name.lower(), 0)
        if not month:
            raise ValueError("Not a month name")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError("Not a calendar date") from None


# --- codes ----------------------------------------------------------------------------------


def _code(value: Any, aliases: Mapping[str, str]) -> str:
    """Upper case, spaces and hyphens as underscores, then a known alias replaced by its code."""
    if not isinstance(value, str):
        raise ValueError("Must be text")
    code = re.sub(r"[\s-]+", "_", value.strip().upper())
    return aliases.get(code, code)


def _currency(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Must be text")
    code = value.strip().upper()
    if not is_currency(code):
        raise ValueError("Must be an ISO 4217 currency code, e.g. EUR")
    return code


_RATE_TYPE_ALIASES = {"VARIABLE": "FLOATING", "FLOATING_RATE": "FLOATING", "FIXED_RATE": "FIXED", "FLOAT": "FLOATING"}
_REPAYMENT_ALIASES = {
    "AMORTISING": "AMORTIZING",
    "AMORTISATION": "AMORTIZING",
    "AMORTIZATION": "AMORTIZING",
    "AMORTISED": "AMORTIZING",
    "AMORTIZED": "AMORTIZING",
    "BULLET_REPAYMENT": "BULLET",
    "BALLOON_PAYMENT": "BALLOON",
    "BALLOON_REPAYMENT": "BALLOON",
    "REVOLVING_CREDIT": "REVOLVING",
}

_Amount = Annotated[
    Decimal,
    BeforeValidator(_number),
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2),
]
_Rate = Annotated[Decimal, BeforeValidator(_rate), Field(ge=0, le=100, decimal_places=4)]
_Date = Annotated[date, BeforeValidator(_date), Field(ge=date(1900, 1, 1), le=date(2199, 12, 31))]


def _rule(kind: Any) -> TypeAdapter[Any]:
    # Each field's validator is built the first time a value of that field is checked, like the
    # API models: a function that never checks one (the upload worker, a GET) never pays the
    # ~35 ms of CPU building all fourteen costs at import.
    return TypeAdapter(kind, config=ConfigDict(defer_build=True))


_RULES: dict[str, TypeAdapter[Any]] = {
    "borrower_legal_name": _rule(Annotated[str, StringConstraints(min_length=1, max_length=200), _TEXT]),
    "borrower_address": _rule(Annotated[str, StringConstraints(min_length=1, max_length=500), _TEXT]),
    "borrower_tax_id": _rule(Annotated[str, _TEXT, AfterValidator(_tax_id)]),
    "facility_amount": _rule(_Amount),
    "currency": _rule(Annotated[str, BeforeValidator(_currency)]),
    "interest_rate_type": _rule(Annotated[RateType, BeforeValidator(partial(_code, aliases=_RATE_TYPE_ALIASES))]),
    "interest_rate_or_margin": _rule(_Rate),
    "reference_rate": _rule(Annotated[str, StringConstraints(min_length=1, max_length=100), _TEXT]),
    "maturity_date": _rule(_Date),
    "repayment_type": _rule(Annotated[RepaymentType, BeforeValidator(partial(_code, aliases=_REPAYMENT_ALIASES))]),
    "collateral_description": _rule(Annotated[str, StringConstraints(min_length=1, max_length=1000), _TEXT]),
    "guarantors": _rule(Annotated[str, StringConstraints(min_length=1, max_length=1000), _TEXT_OR_LIST]),
    "financial_covenants": _rule(Annotated[str, StringConstraints(min_length=1, max_length=2000), _TEXT_OR_LIST]),
    "signing_date": _rule(_Date),
}


def _canonical(value: Any) -> str:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _reason(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    message = str(first["msg"])
    return message.removeprefix("Value error, ")


def normalise_value(name: str, raw: object) -> str:
    """The canonical text of ``raw`` for field ``name``; raises ``UnknownSheetField`` or
    ``InvalidSheetValue`` (whose reason never repeats the value)."""
    rule = _RULES.get(name)
    if rule is None:
        raise UnknownSheetField(name)
    if raw is None:
        raise InvalidSheetValue(name, "No value")
    if isinstance(raw, str) and len(raw) > MAX_RAW_LENGTH:
        raise InvalidSheetValue(name, f"Longer than {MAX_RAW_LENGTH} characters")
    try:
        parsed = rule.validate_python(raw)
    except ValidationError as error:
        raise InvalidSheetValue(name, _reason(error)) from None
    if name == "facility_amount":
        return as_text(parsed)
    if name == "interest_rate_or_margin":
        return _rate_text(parsed)
    return _canonical(parsed)


# --- tax id masking -------------------------------------------------------------------------

_MASK = "****"
# In a quote: any run of letters, digits and id punctuation that holds a digit.
_ID_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9./-]*[0-9][A-Za-z0-9./-]*(?: [0-9][A-Za-z0-9./-]*)*")


def mask_tax_id(value: str) -> str:
    """Only the last four characters show; the length is hidden too. A value of four characters
    or fewer shows nothing."""
    visible = value.strip()
    return _MASK + visible[-4:] if len(visible) > 4 else _MASK


def _mask_ids_in(quote: str) -> str:
    # Runs of four or fewer are left alone: they show no more than the mask does (and the mask's
    # own last four characters must survive a second pass).
    return _ID_LIKE.sub(lambda match: mask_tax_id(match.group()) if len(match.group()) > 4 else match.group(), quote)


# A tax id named as one in any quote ("EIN 12-3456789", "VAT No. GB123456789"), whether or not
# the sheet knows the borrower's tax id yet.
_TAX_LABELLED = re.compile(
    r"\b(?:EIN|TIN|VAT(?: reg(?:istration)?\.?)?(?: no\.?| number)?|tax (?:id|identification number|number)"
    r"|employer identification number)[ :#.]*((?:[A-Z]{2} )?" + _ID_LIKE.pattern + ")",
    re.IGNORECASE,
)


def _mask_labelled_ids(quote: str) -> str:
    def masked_id(match: re.Match[str]) -> str:
        label = match.group()[: match.start(1) - match.start()]
        return label + (mask_tax_id(match.group(1)) if len(match.group(1)) > 4 else match.group(1))

    return _TAX_LABELLED.sub(masked_id, quote)


def _without_tax_ids(quote: str, tax_ids: Sequence[str]) -> str:
    for tax_id in tax_ids:
        for form in {tax_id, tax_id.replace(" ", ""), tax_id.replace("-", "")}:
            if len(form) > 4:
                quote = re.sub(re.escape(form), mask_tax_id(form), quote, flags=re.IGNORECASE)
    return quote


def _shown_quote(quote: object, tax_ids: Sequence[str], *, is_tax_id: bool) -> str | None:
    """The quote as it may be stored and shown: NFC, spacing folded, hidden characters removed,
    tax ids masked (before the cut, so no part of one survives at the edge), at most 200
    characters."""
    if not quote or not isinstance(quote, str) or len(quote) > MAX_RAW_LENGTH:
        return None
    cleaned = _HIDDEN.sub("", _SPACES.sub(" ", unicodedata.normalize("NFC", quote))).strip()
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        return None
    cleaned = _mask_labelled_ids(_without_tax_ids(cleaned, tax_ids))
    if is_tax_id:
        cleaned = _mask_ids_in(cleaned)
    if len(cleaned) > MAX_QUOTE_LENGTH:
        cleaned = cleaned[: MAX_QUOTE_LENGTH - 1].rstrip() + "…"
    return cleaned or None


def _page(page: object) -> int | None:
    return page if isinstance(page, int) and not isinstance(page, bool) and 1 <= page <= 100_000 else None


# --- merging --------------------------------------------------------------------------------


def _confidence(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def merge_extraction(
    current: Mapping[str, SheetField],
    found: Sequence[ExtractedField],
    document_id: str,
    now: datetime,
) -> MergeResult:
    """The sheet after an extraction of ``document_id``, and what was dropped, with why.

    A found value replaces the current one only when the current one was not corrected by a
    person, and the new one is at least as confident or re-reads the same document. When a
    reader reports a field twice, the more confident reading wins (the first on a tie).
    Quotes are cleaned and cut to 200 characters, and any tax id in them is masked.
    """
    fields = dict(current)
    dropped: list[DroppedField] = []
    best: dict[str, tuple[str, float, ExtractedField]] = {}
    for item in found:
        name = item.name if isinstance(item.name, str) else repr(item.name)
        if name not in _RULES:
            dropped.append(DroppedField(name[:100], "Not a booking-sheet field"))
            continue
        confidence = _confidence(item.confidence)
        if confidence is None:
            dropped.append(DroppedField(name, "Confidence is not a number between 0 and 1"))
            continue
        try:
            value = normalise_value(name, item.value)
        except InvalidSheetValue as error:
            dropped.append(DroppedField(name, error.reason))
            continue
        if name not in best or confidence > best[name][1]:
            best[name] = (value, confidence, item)

    # Every form of the borrower's tax id known here, a reading that was dropped included.
    tax_ids = [v for v in (_value_of(current, TAX_ID_FIELD), best.get(TAX_ID_FIELD, ("",))[0]) if v] + [
        item.value.strip()
        for item in found
        if item.name == TAX_ID_FIELD and isinstance(item.value, str) and len(item.value) <= 100
    ]
    for name, (value, confidence, item) in best.items():
        existing = fields.get(name)
        if existing is not None and existing.corrected_by is not None:
            dropped.append(DroppedField(name, "Kept the value a person corrected"))
            continue
        same_document = _source_document(existing) == document_id
        if existing is not None and not same_document and confidence < existing.confidence:
            dropped.append(DroppedField(name, "A more confident value from another document is kept"))
            continue
        quote = _shown_quote(item.quote, tax_ids, is_tax_id=name == TAX_ID_FIELD)
        fields[name] = SheetField(
            value=value,
            confidence=confidence,
            source=FieldSource(document_id=document_id, page=_page(item.page), quote=quote),
            extracted_at=now,
        )
    return MergeResult(fields=fields, dropped=dropped)


def _source_document(held: SheetField | None) -> str | None:
    return held.source.document_id if held is not None and held.source is not None else None


def _value_of(fields: Mapping[str, SheetField], name: str) -> str | None:
    held = fields.get(name)
    return held.value if held is not None else None


def apply_corrections(
    current: Mapping[str, SheetField], corrections: Mapping[str, object], actor_id: str, now: datetime
) -> dict[str, SheetField]:
    """A person's corrections: each validated like an extraction, kept with confidence 1.0 and
    ``corrected_by``. Nothing changes unless every correction is valid; an unknown name is
    reported before invalid values."""
    for name in corrections:
        if name not in _RULES:
            raise UnknownSheetField(name)
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name, raw in corrections.items():
        try:
            values[name] = normalise_value(name, raw)
        except InvalidSheetValue as error:
            problems[name] = error.reason
    if problems:
        raise InvalidSheetValue.of(problems)
    fields = dict(current)
    for name, value in values.items():
        fields[name] = SheetField(value=value, confidence=1.0, source=None, extracted_at=now, corrected_by=actor_id)
    return fields


def missing_fields(fields: Mapping[str, SheetField]) -> list[str]:
    """The required fields without a value, in the contract's order."""
    return [name for name in SHEET_FIELDS if name in REQUIRED_FIELDS and not _has_value(fields.get(name))]


def sheet_status(fields: Mapping[str, SheetField]) -> SheetStatus:
    if not any(_has_value(fields.get(name)) for name in SHEET_FIELDS):
        return SheetStatus.EMPTY
    return SheetStatus.PARTIAL if missing_fields(fields) else SheetStatus.COMPLETE


def _has_value(held: SheetField | None) -> bool:
    return held is not None and bool(held.value)


def masked(fields: Mapping[str, SheetField]) -> dict[str, SheetField]:
    """The sheet as it may be shown or logged: the tax id masked to its last four characters."""
    shown = dict(fields)
    held = shown.get(TAX_ID_FIELD)
    if held is not None:
        shown[TAX_ID_FIELD] = replace(held, value=mask_tax_id(held.value))
    return shown
