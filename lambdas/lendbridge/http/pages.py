"""One page of a list as every list route answers it: the items presented under the list's own
name, their count, ``has_more`` and a ``next_token`` signed for the caller and the list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from lendbridge.domain.pages import Page, Position
from lendbridge.http import envelope

T = TypeVar("T")


class Cursors(Protocol):
    """Signs and checks list positions (``lendbridge.data.cursors.SignedCursors``)."""

    def encode(self, list_name: str, caller_id: str, position: Position | None) -> str | None: ...

    def decode(self, list_name: str, caller_id: str, token: str | None) -> Position | None: ...


def list_page(
    cursors: Cursors,
    caller_id: str,
    list_name: str,
    next_token: str | None,
    read: Callable[[Position | None], Page[T]],
    *,
    items: str,
    present: Callable[[T], BaseModel],
) -> tuple[Response, int]:
    """Read the page after ``next_token`` and answer it; also the number of items shown.

    ``list_name`` binds a token to its list: a token of another list (or another loan's) is
    refused. ``items`` is the contract's name of the list in the body (``loans``, ``points``...).
    """
    page = read(cursors.decode(list_name, caller_id, next_token))
    shown: list[dict[str, Any]] = [present(item).model_dump() for item in page.items]
    body = {
        items: shown,
        "count": len(shown),
        "has_more": page.has_more,
        "next_token": cursors.encode(list_name, caller_id, page.next_position),
    }
    return envelope.success(body), len(shown)
