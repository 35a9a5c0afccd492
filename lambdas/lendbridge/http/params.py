"""Query parameters shared by list and single-resource routes."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from lendbridge.errors import ValidationFailed
from lendbridge.schemas.common import ASCII_INTEGER

# Ids are this API's own (UUIDs): anything outside this alphabet cannot name a resource, and
# refusing it here keeps odd text (controls, bidirectional marks, key separators) out of keys.
ID_PATTERN = r"^[A-Za-z0-9._~:-]{1,64}$"
ResourceId = Annotated[str, Path(pattern=ID_PATTERN, description="A resource id, as returned by the API")]

# The bounds go in a Field before ASCII_INTEGER so that they stay native integer bounds.
Limit = Annotated[int, Field(ge=1, le=100), ASCII_INTEGER, Query(description="Items per page, 1-100")]
NextToken = Annotated[
    str | None,
    Query(max_length=2048, pattern=r"^[A-Za-z0-9._-]+$", description="Opaque cursor from the previous page"),
]


def fields_pattern(allowed: frozenset[str]) -> str:
    """``fields``: known names separated by commas, spaces allowed around them, nothing else."""
    name = " *(?:" + "|".join(sorted(allowed)) + ") *"
    return f"^{name}(?:,{name})*$"


def fields_query(allowed: frozenset[str]) -> Any:
    """The ``fields`` query parameter of a resource whose top-level fields are ``allowed``
    (``Annotated[str | None, fields_query(...)]``). The pattern is documented, and checked by
    ``select_fields`` after the names, so that an unknown name is named in the error."""
    return Query(
        max_length=1000,
        description="Comma-separated top-level fields to return, e.g. `status,total_funded`",
        json_schema_extra={"pattern": fields_pattern(allowed)},
    )


def select_fields(payload: dict[str, object], fields: str | None, allowed: frozenset[str]) -> dict[str, object]:
    """``fields=a,b,c``: only those top-level fields; an unknown name is a 400 naming it."""
    if fields is None:
        return payload
    wanted = [name.strip() for name in fields.split(",") if name.strip()]
    unknown = sorted(set(wanted) - allowed)
    if unknown or not wanted:
        message = f"Unknown field(s): {', '.join(unknown)}" if unknown else "Name at least one field"
        raise ValidationFailed(message, field_errors={"fields": [message]})
    if not re.fullmatch(fields_pattern(allowed), fields):
        message = "Separate the field names with commas (spaces around them are fine), without empty names"
        raise ValidationFailed(message, field_errors={"fields": [message]})
    return {name: payload[name] for name in wanted}
