"""What the front door learns about the answer being built, without reading the answer back.

The error handlers record the failure's ErrorType (for the APIError metric), the idempotency
decorator that the answer is a replay (for ``Idempotent-Replayed``) and, for a replayed refusal,
the request id and time of the first answer, so that the replay's body is the stored one.
``lendbridge.http.app.serve`` starts a fresh record per request and reads it at the end.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class Answer:
    error_type: str | None = None
    replayed: bool = False
    first_request_id: str | None = None
    first_timestamp: str | None = None


_current: ContextVar[Answer | None] = ContextVar("lendbridge_answer", default=None)


def begin() -> Answer:
    answer = Answer()
    _current.set(answer)
    return answer


def current() -> Answer:
    """The record of the request being served (a fresh one when a resolver runs outside ``serve``)."""
    answer = _current.get()
    return answer if answer is not None else begin()
