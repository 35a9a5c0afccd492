"""Counts DynamoDB round trips and consumed capacity through botocore's event system.

Nothing in the application is patched or wrapped: the meter registers handlers on the very
client the Lambda code is given, so every call the handler makes (its own and the Powertools
idempotency store's, which shares the client) is seen exactly as botocore sends it.

* ``provide-client-params`` adds ``ReturnConsumedCapacity=TOTAL`` to every operation whose
  input accepts it, and notes in botocore's per-call context (which the later events of the
  same call receive) the tables the call touches and the size of the request.
* ``after-call`` fires once per API call, after botocore's own retries, also for calls that
  answered with an error: one API call is one round trip as the application sees it; retried
  HTTP attempts are counted apart, from ``ResponseMetadata.RetryAttempts``.

DynamoDB Local's ``ConsumedCapacity`` is recorded as reported. For transactions and batch
reads it is far below what AWS charges (ten one-attribute transactional puts report 2.0 where
AWS charges 20; batch keys that find nothing report 0 where AWS charges a read), so each call
also gets the minimum AWS's pricing rules set from the request alone: 2 WCU per
transactional write, 1 RCU per strongly consistent key read, 1 unit per single-item write.
Item sizes above 1 KB (writes) or 4 KB (reads) only add to that.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

_CONTEXT_KEY = "bench_request"
_READ_OPERATIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
_TRANSACT_WRITES = ("Put", "Update", "Delete")
_TRANSACT_ACTIONS = (*_TRANSACT_WRITES, "ConditionCheck", "Get")


@dataclass(frozen=True)
class Shape:
    """What the request asked for, known before it is sent."""

    tables: tuple[str, ...]
    size: int  # keys of a batch read, actions of a transaction, items of a batch write; else 1
    min_read: float  # the least AWS charges for it, from its pricing rules
    min_write: float


@dataclass(frozen=True)
class Call:
    operation: str
    shape: Shape
    read_units: float  # as DynamoDB (Local) reported them
    write_units: float
    items: int | None  # items returned, for reads
    retries: int
    error: str | None

    @property
    def tables(self) -> tuple[str, ...]:
        return self.shape.tables

    def describe(self) -> str:
        if self.operation == "TransactWriteItems":
            return f"TransactWriteItems({self.shape.size} actions)"
        if self.operation == "BatchGetItem":
            return f"BatchGetItem({self.shape.size} keys)"
        if self.items is not None and self.operation in ("Query", "Scan"):
            return f"{self.operation}({self.items} items)"
        return self.operation


@dataclass
class Window:
    """The calls made while one request was measured."""

    calls: list[Call] = field(default_factory=list)

    def part(self, *, idempotency: bool, idempotency_table: str) -> list[Call]:
        """The idempotency store's calls (every table they touch is its table) or the rest."""
        return [call for call in self.calls if _is_idempotency(call, idempotency_table) == idempotency]


def _is_idempotency(call: Call, idempotency_table: str) -> bool:
    return bool(call.tables) and all(table == idempotency_table for table in call.tables)


class DynamoMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window: Window | None = None

    def instrument(self, client: Any) -> Any:
        """Register the meter's handlers on ``client`` (a boto3 DynamoDB client) and return it."""
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", _prepare)
        events.register("after-call.dynamodb.*", self._finished)
        return client

    @contextmanager
    def measure(self) -> Iterator[Window]:
        window = Window()
        with self._lock:
            if self._window is not None:
                raise RuntimeError("one measurement at a time: requests are measured one by one")
            self._window = window
        try:
            yield window
        finally:
            with self._lock:
                self._window = None

    def _finished(self, parsed: Mapping[str, Any], model: Any, context: Mapping[str, Any], **_: Any) -> None:
        with self._lock:
            window = self._window
        if window is None:
            return  # seeding or table setup, outside any measured request
        read, write = _capacity(model.name, parsed.get("ConsumedCapacity"))
        error = (parsed.get("Error") or {}).get("Code")
        count = parsed.get("Count")
        window.calls.append(
            Call(
                operation=model.name,
                shape=context.get(_CONTEXT_KEY) or Shape((), 1, 0.0, 0.0),
                read_units=read,
                write_units=write,
                items=int(count) if count is not None else None,
                retries=int((parsed.get("ResponseMetadata") or {}).get("RetryAttempts", 0)),
                error=str(error) if error else None,
            )
        )


def _prepare(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    # Modified in place: returning None keeps botocore's own params object.
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    context[_CONTEXT_KEY] = shape_of(model.name, params)


def shape_of(operation: str, params: Mapping[str, Any]) -> Shape:
    tables: set[str] = set()
    if "TableName" in params:
        tables.add(str(params["TableName"]))
    tables.update(str(name) for name in params.get("RequestItems") or {})
    actions = params.get("TransactItems") or []
    for item in actions:
        tables.update(str(item[kind]["TableName"]) for kind in _TRANSACT_ACTIONS if kind in item)
    size, min_read, min_write = 1, 0.0, 0.0
    if operation == "TransactWriteItems":
        size = len(actions)
        min_write = 2.0 * sum(1 for item in actions if any(kind in item for kind in _TRANSACT_WRITES))
    elif operation == "TransactGetItems":
        size = len(actions)
        min_read = 2.0 * size
    elif operation == "BatchGetItem":
        requests = (params.get("RequestItems") or {}).values()
        size = sum(len(request.get("Keys", [])) for request in requests)
        min_read = sum(len(r.get("Keys", [])) * (1.0 if r.get("ConsistentRead") else 0.5) for r in requests)
    elif operation == "BatchWriteItem":
        size = sum(len(request) for request in (params.get("RequestItems") or {}).values())
        min_write = float(size)
    elif operation in _READ_OPERATIONS:
        min_read = 1.0 if params.get("ConsistentRead") else 0.5
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        min_write = 1.0
    return Shape(tuple(sorted(tables)), size, min_read, min_write)


def _capacity(operation: str, consumed: Any) -> tuple[float, float]:
    """Read and write units of one response. Single-table operations return one entry;
    BatchGetItem, BatchWriteItem and the transactions return a list, one entry per table.
    An entry names read and write units when DynamoDB splits them; otherwise the operation
    says which kind ``CapacityUnits`` are."""
    entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
    read = write = 0.0
    for entry in entries:
        if "ReadCapacityUnits" in entry or "WriteCapacityUnits" in entry:
            read += float(entry.get("ReadCapacityUnits", 0))
            write += float(entry.get("WriteCapacityUnits", 0))
        elif operation in _READ_OPERATIONS:
            read += float(entry.get("CapacityUnits", 0))
        else:
            write += float(entry.get("CapacityUnits", 0))
    return read, write
