"""The extraction port: what the extractor is given to read a document's booking-sheet fields.

Two adapters implement it (``lendbridge.data.bedrock_reader`` in AWS, ``lendbridge.data.pdf_reader``
locally). A reader reports what it found as raw text with its confidence and source; it does not
validate: ``booking_sheet.merge_extraction`` validates every value before anything is stored, so
an adapter cannot smuggle an invalid value in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Content types a document may be declared with (the contract's list).
PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
DOCUMENT_TYPES: frozenset[str] = frozenset({PDF, PNG, JPEG, TIFF})


@dataclass(frozen=True)
class ExtractedField:
    """One value a reader found. ``value`` is the text as read (normalised later); ``confidence``
    the reader's own estimate in 0-1; ``page`` 1-based; ``quote`` a short excerpt around it."""

    name: str
    value: str
    confidence: float
    page: int | None
    quote: str | None


class DocumentReader(Protocol):
    """Reads a document and returns the booking-sheet fields it found (possibly none)."""

    name: str

    def read(self, content: bytes, content_type: str) -> list[ExtractedField]:
        """Raises ``ExtractionThrottled`` when the service asks to slow down (the queue retries)
        and ``ExtractionFailed`` when the document cannot be read at all."""
        ...


_THROTTLED = "The extraction service is throttling requests"


# Neither failure below is a LendbridgeError: both happen in the extractor, behind the queue,
# never as an API answer, so they stay out of the API's error tables and its errors alarm (which
# are derived from every LendbridgeError subclass); the extractor counts them in its own metrics.


class ExtractionThrottled(Exception):
    """The extraction service refused for now; the message goes back to the queue, which
    retries after ``retry_after`` seconds or later."""

    def __init__(self, message: str = _THROTTLED, *, retry_after: int = 30) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ExtractionFailed(Exception):
    """The document cannot be read; ``reason`` is a sentence safe to store and show the officer
    (no document content, no service internals)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.message = reason
        self.reason = reason
