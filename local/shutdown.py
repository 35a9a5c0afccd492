"""Stopping many parts of the local stack at once: every part is asked to stop first, then all
are waited for against one deadline. Stopped one after another, each waiting its own timeout,
the event sources and worker pools took the sum of their waits (over 30 s once on a loaded
machine); together they take about the longest."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Protocol


class Stoppable(Protocol):
    def request_stop(self) -> None:
        """Ask the part to stop, without waiting for it."""

    def join(self, deadline: float) -> None:
        """Wait for the part to stop until ``deadline`` (``time.monotonic()``); what still runs
        then is ended (a process is killed) or left to the interpreter's exit (a daemon thread)."""


def stop_together(parts: Sequence[Stoppable], timeout_s: float, log: Callable[[str], None]) -> None:
    deadline = time.monotonic() + timeout_s
    for part in parts:
        _guarded(part.request_stop, log)
    for part in parts:
        _guarded(functools.partial(part.join, deadline), log)


def _guarded(step: Callable[[], None], log: Callable[[str], None]) -> None:
    # One part failing to stop must not leave the others running.
    try:
        step()
    except Exception as error:  # noqa: BLE001 - logged; the other parts still stop
        log(f"while stopping: {error!r}")


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline``, never negative."""
    return max(0.0, deadline - time.monotonic())
