"""A page of a list, before its cursor is signed for the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
Position = dict[str, str]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_position: Position | None

    @property
    def has_more(self) -> bool:
        return self.next_position is not None
