"""The extraction port's failures (domain/extraction.py) and the sheet's refusals, as the rest of
the code base sees them."""

from __future__ import annotations

from http import HTTPStatus

from lendbridge import errors
from lendbridge.domain.booking_sheet import InvalidSheetValue, UnknownSheetField
from lendbridge.domain.extraction import ExtractionFailed, ExtractionThrottled


def test_extraction_failures_stay_out_of_the_apis_error_tables_and_alarm() -> None:
    # The API errors alarm pages on every loaded LendbridgeError subclass answered with a 5xx
    # or throttled by a dependency; these two only ever happen behind the extraction queue.
    for failure in (ExtractionThrottled, ExtractionFailed):
        assert not issubclass(failure, errors.LendbridgeError)


def test_extraction_failures_carry_what_the_extractor_needs() -> None:
    throttled = ExtractionThrottled()
    assert throttled.retry_after == 30
    assert throttled.message == "The extraction service is throttling requests"
    assert str(throttled) == throttled.message  # what a log line or a traceback shows
    slower = ExtractionThrottled("Slow down", retry_after=90)
    assert (str(slower), slower.message, slower.retry_after) == ("Slow down", "Slow down", 90)
    failed = ExtractionFailed("The PDF could not be read")
    assert (failed.reason, failed.message, str(failed)) == ("The PDF could not be read",) * 3


def test_the_sheets_refusals_are_validation_errors_with_field_paths() -> None:
    for refusal in (
        InvalidSheetValue("currency", "Must be an ISO 4217 currency code, e.g. EUR"),
        UnknownSheetField("x"),
    ):
        assert isinstance(refusal, errors.ValidationFailed)
        assert refusal.status == HTTPStatus.BAD_REQUEST
        assert refusal.code == "VALIDATION_ERROR"
        assert refusal.error_type == "ValidationError"
    assert InvalidSheetValue.of({"currency": "a", "signing_date": "b"}).field_errors == {
        "fields.currency": ["a"],
        "fields.signing_date": ["b"],
    }
