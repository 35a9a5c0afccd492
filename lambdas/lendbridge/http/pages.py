"""One page of a list as every list route answers it: the items presented under the list's own
name, their count, ``has_more`` and a ``next_token`` signed for the caller and the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel

from lendbridge.domain.pages import Page, Position
from lendbridge.http import current, envelope

T = TypeVar("T")


class Cursors(Protocol):
    """Signs and checks list positions (``lendbridge.data.cursors.SignedCursors``)."""

    def encode(self, list_name: str, caller_id: str, position: Position | None) -> str | None: ...

    def decode(self, list_name: str, caller_id: str, token: str | None) -> Position | None: ...


def list_page(
    app: APIGatewayRestResolver,
    cursors: Cursors,
    list_name: str,
    next_token: str | None,
    read: Callable[[str, Position | None], Page[T]],
    *,
    items: str,
    present: Callable[[T], BaseModel],
) -> Response:
    """Read the caller's page after ``next_token`` (``read(caller_id, position)``) and answer it.

    ``list_name`` binds a token to its list: a token of another list (or another loan's) is
    refused. ``items`` is the contract's name of the list in the body (``loans``, ``points``...).
    """
    caller_id = current.caller(app).user_id
    page = read(caller_id, cursors.decode(list_name, caller_id, next_token))
    shown: list[dict[str, Any]] = [present(item).model_dump() for item in page.items]
    body = {
        items: shown,
        "count": len(shown),
        "has_more": page.has_more,
        "next_token": cursors.encode(list_name, caller_id, page.next_position),
    }
    return envelope.success(body)
