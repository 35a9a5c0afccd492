"""Request bodies as JSON, with bounds on the work a body can ask of the parser.

Numbers parse as Decimal, so money never passes through a binary float. A body nested deeper
than any request schema needs, or with an integer longer than Python converts, is a 400: left
alone, the first exhausts the recursion limit (in the parser or, just below it, in validation
and serialisation) and the second raises a ValueError that is not a JSON error; both were 500s.

Every request body is an object (or absent, or ``null`` where the body is optional): Powertools
validates a top-level array as its first element and let a bare number pass an optional body, so
``[{...}]`` created a loan. A string escaping half of a UTF-16 surrogate pair (``"\\ud800"``) is
refused too: it has no UTF-8 form, so echoing it back (a batch item's email) made a response
the runtime could not send. So is an object that names a key twice: the parser kept the last
value, while a proxy, log reader or signing client in front may read the first.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from lendbridge.errors import ValidationFailed

# The deepest request schema nests three levels ({"lenders": [{...}]}); this leaves room.
MAX_DEPTH = 32
# No request object has more than a few dozen members (the booking sheet's fields, 14); each
# unknown one was a field error, so a 1 MB body of short keys made a 6 MB answer.
MAX_MEMBERS = 100
# The escape of a high or low surrogate; only a body with one can hold an unpaired surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse(text: str) -> Any:
    try:
        value = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise  # Powertools reports it as malformed JSON
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        raise ValidationFailed(
            "A number in the body is too long", field_errors={"body": ["A number in the body is too long"]}
        ) from error
    # Only a body with more brackets than the limit can be nested deeper than it.
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    if value is not None and not isinstance(value, dict):
        raise _refused("The request body must be a JSON object", "Must be a JSON object")
    if _SURROGATE_ESCAPE.search(text) and _has_unpaired_surrogate(value):
        raise _refused("The request body has text that is not valid Unicode", "Must not contain unpaired surrogates")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_MEMBERS:
        reason = f"An object has more than {MAX_MEMBERS} members"
        raise _refused(f"The request body is invalid: {reason.lower()}", reason)
    value = dict(pairs)
    if len(value) != len(pairs):
        # The key is not named: it may be any text, an unpaired surrogate included.
        raise _refused("The request body names a key twice in one object", "Must not repeat a key in an object")
    return value


def _refused(message: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={"body": [reason]})


def _too_deep() -> ValidationFailed:
    reason = f"Nested more than {MAX_DEPTH} levels deep"
    return _refused(f"The request body is {reason.lower()}", reason)


def _has_unpaired_surrogate(value: Any) -> bool:
    """Keys and strings at every level (the depth is already bounded), iteratively."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not _encodes(item):
            return True
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deeper_than(value: Any, limit: int) -> bool:
    """Level by level over containers only: iterative, so measuring a deep document cannot
    itself hit the recursion limit, and quick on a wide one."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True
