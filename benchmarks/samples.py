"""What one measured request cost, and the summary of a scenario's repetitions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from benchmarks.meter import Call, Window


@dataclass(frozen=True)
class Cost:
    calls: int
    operations: tuple[str, ...]
    described: tuple[str, ...]  # operations with their size: "BatchGetItem(11 keys)"
    read_units: float  # as DynamoDB Local reported them
    write_units: float
    min_read: float  # the least AWS would charge (see benchmarks.meter)
    min_write: float
    bytes_read: int  # the items the responses carried
    retries: int
    errors: tuple[str, ...]
    detail: tuple[Call, ...]

    @classmethod
    def of(cls, calls: Sequence[Call]) -> Cost:
        return cls(
            detail=tuple(calls),
            calls=len(calls),
            operations=tuple(call.operation for call in calls),
            described=tuple(call.describe() for call in calls),
            read_units=sum(call.read_units for call in calls),
            write_units=sum(call.write_units for call in calls),
            # Per call: what AWS's rules charge for the items involved (see benchmarks.meter).
            min_read=sum(call.aws_read for call in calls),
            min_write=sum(call.aws_write for call in calls),
            bytes_read=sum(call.bytes_read for call in calls),
            retries=sum(call.retries for call in calls),
            errors=tuple(call.error for call in calls if call.error),
        )


@dataclass(frozen=True)
class Sample:
    request: Cost  # the route's own calls (main and audit tables)
    idempotency: Cost  # the Powertools idempotency store's calls (its table only)
    elapsed_ms: float

    @classmethod
    def of(cls, window: Window, idempotency_table: str, elapsed_ms: float) -> Sample:
        return cls(
            request=Cost.of(window.part(idempotency=False, idempotency_table=idempotency_table)),
            idempotency=Cost.of(window.part(idempotency=True, idempotency_table=idempotency_table)),
            elapsed_ms=elapsed_ms,
        )


@dataclass
class Scenario:
    key: str  # stable id, e.g. "my-loans-10"
    route: str
    label: str
    target: int | None = None  # most round trips allowed (the route's own calls)
    client_old: int | None = None  # the client's old system, same request shape
    samples: list[Sample] = field(default_factory=list)
    loan_sizes: list[int] = field(default_factory=list)  # add-lenders: participants each request met

    @property
    def first(self) -> Sample:
        """The request on the data exactly as seeded (later add-lenders requests meet loans
        that earlier ones grew): the one whose capacity is reported."""
        return self.samples[0]

    @property
    def heaviest(self) -> Sample:
        """The repetition that consumed the most capacity."""
        return max(self.samples, key=lambda s: (s.request.read_units + s.request.write_units, s.request.min_read))

    def worst(self) -> Sample:
        """The repetition with the most round trips (all should be equal; see ``same_calls``)."""
        return max(self.samples, key=lambda s: (s.request.calls + s.idempotency.calls, s.request.operations))

    @property
    def same_calls(self) -> bool:
        """Every repetition made the same sequence of operations."""
        return len({(s.request.operations, s.idempotency.operations) for s in self.samples}) == 1

    @property
    def same_capacity(self) -> bool:
        return len({(s.request.read_units, s.request.write_units) for s in self.samples}) == 1

    def latency(self, quantile: float) -> float:
        return percentile([s.elapsed_ms for s in self.samples], quantile)


def percentile(values: Sequence[float], quantile: float) -> float:
    """Nearest-rank percentile: a value that was actually observed, no interpolation."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(quantile * len(ordered)))
    return ordered[rank - 1]
