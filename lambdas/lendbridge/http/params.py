"""Query parameters shared by list and single-resource routes."""

from __future__ import annotations

from typing import Annotated

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
Fields = Annotated[str | None, Query(max_length=1000, description="Comma-separated top-level fields to return")]


def select_fields(payload: dict[str, object], fields: str | None, allowed: frozenset[str]) -> dict[str, object]:
    """``fields=a,b,c``: only those top-level fields; an unknown name is a 400 naming it."""
    if fields is None:
        return payload
    wanted = [name.strip() for name in fields.split(",") if name.strip()]
    unknown = sorted(set(wanted) - allowed)
    if unknown or not wanted:
        message = f"Unknown field(s): {', '.join(unknown)}" if unknown else "Name at least one field"
        raise ValidationFailed(message, field_errors={"fields": [message]})
    return {name: payload[name] for name in wanted}
