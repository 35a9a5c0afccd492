"""Query parameters shared by list and single-resource routes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from lendbridge.errors import ValidationFailed

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page, 1-100")]
NextToken = Annotated[str | None, Query(max_length=2048, description="Opaque cursor from the previous page")]
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
