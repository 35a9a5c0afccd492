"""Request bodies as JSON, with bounds on the work a body can ask of the parser.

Numbers parse as Decimal, so money never passes through a binary float. A body nested deeper
than any request schema needs, or with an integer longer than Python converts, is a 400: left
alone, the first exhausts the recursion limit (in the parser or, just below it, in validation
and serialisation) and the second raises a ValueError that is not a JSON error; both were 500s.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lendbridge.errors import ValidationFailed

# The deepest request schema nests three levels ({"lenders": [{...}]}); this leaves room.
MAX_DEPTH = 32


def parse(text: str) -> Any:
    try:
        value = json.loads(text, parse_float=Decimal)
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
    return value


def _too_deep() -> ValidationFailed:
    reason = f"Nested more than {MAX_DEPTH} levels deep"
    return ValidationFailed(f"The request body is {reason.lower()}", field_errors={"body": [reason]})


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
