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
Item sizes above 1 KB (writes) or 4 KB (reads) only add to that, and the meter counts them:
reads from the items each response carries (a query is charged for their total, rounded up
to 4 KB; a key read per item), writes from the items a request puts and, for updates, from the
item as stored after the write (read back by a ``Sizer`` on a client of its own, outside the
measurement). What AWS bills for an update is the larger of the item before and after; the
after size is what the meter sees. Index writes (a write to an item that an index holds also
writes the index) are not counted: DynamoDB reports them per index, DynamoDB Local does not.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping
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


# (table, key in DynamoDB JSON) -> the stored item's size in bytes (0 when there is none).
Sizer = Callable[[str, Mapping[str, Any]], int]
_READ_BLOCK = 4096
_SIZED_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})
_SIZED_WRITES = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "BatchWriteItem"})
_WRITE_BLOCK = 1024


@dataclass(frozen=True)
class Call:
    operation: str
    shape: Shape
    read_units: float  # as DynamoDB (Local) reported them
    write_units: float
    items: int | None  # items returned, for reads
    retries: int
    error: str | None
    bytes_read: int = 0  # the items the response carried, as DynamoDB sizes them
    sized_read: float = 0.0  # what AWS charges for the read, from those sizes
    sized_write: float = 0.0  # what AWS charges for the write, from the written items' sizes

    @property
    def aws_read(self) -> float:
        """Read units as AWS bills them: from the sizes where the meter sized the call (DynamoDB
        Local's own figure is no better there: it charges nothing for a missing batch key),
        else the larger of Local's figure and the request's minimum."""
        if self.operation in _SIZED_READS:
            return max(self.shape.min_read, self.sized_read)
        return max(self.read_units, self.shape.min_read)

    @property
    def aws_write(self) -> float:
        """Write units as AWS bills them: from the sizes where the meter sized the call (Local
        reports a transaction's update as more than the larger of the item before and after,
        which is what AWS bills), else the larger of Local's figure and the request's minimum."""
        if self.operation in _SIZED_WRITES and not self.error:
            return max(self.shape.min_write, self.sized_write)
        return max(self.write_units, self.shape.min_write)

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
    def __init__(self, sizer: Sizer | None = None) -> None:
        self._lock = threading.Lock()
        self._window: Window | None = None
        self._sizer = sizer

    def size_with(self, client: Any) -> None:
        """Size updated items with ``client``: one that is not instrumented, so the reads are no
        part of any measurement."""

        def sizer(table: str, key: Mapping[str, Any]) -> int:
            found = client.get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")
            return item_size(found or {})

        self._sizer = sizer

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
        request = context.get(_REQUEST_KEY) or {}
        bytes_read, sized_read = _sized_read(model.name, request, parsed)
        window.calls.append(
            Call(
                operation=model.name,
                shape=context.get(_CONTEXT_KEY) or Shape((), 1, 0.0, 0.0),
                read_units=read,
                write_units=write,
                items=int(count) if count is not None else None,
                retries=int((parsed.get("ResponseMetadata") or {}).get("RetryAttempts", 0)),
                error=str(error) if error else None,
                bytes_read=bytes_read,
                sized_read=sized_read,
                sized_write=0.0 if error else _sized_write(model.name, request, self._sizer),
            )
        )


def _prepare(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    # Modified in place: returning None keeps botocore's own params object.
    if "ReturnConsumedCapacity" in model.input_shape.members:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
    context[_CONTEXT_KEY] = shape_of(model.name, params)
    context[_REQUEST_KEY] = params


_REQUEST_KEY = "bench_params"


_FLAT_SIZES = {"BOOL": 1, "NULL": 1}


def attribute_size(value: Mapping[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (its documented rules, to the byte for
    strings, binaries and containers, approximately for numbers)."""
    kind, content = next(iter(value.items()))
    if kind == "N":
        digits = len(str(content).lstrip("-").replace(".", "").strip("0")) or 1
        return math.ceil(digits / 2) + 1
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(element) for name, element in content.items())
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: element}) for element in content)
    if kind in _FLAT_SIZES:
        return _FLAT_SIZES[kind]
    return len(content) if kind == "B" else len(str(content).encode())


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _factor(request: Mapping[str, Any]) -> float:
    return 1.0 if request.get("ConsistentRead") else 0.5


def _sized_read(operation: str, request: Mapping[str, Any], parsed: Mapping[str, Any]) -> tuple[int, float]:
    """(bytes the response carried, read units AWS charges for them)."""
    if operation in ("Query", "Scan"):
        size = sum(item_size(item) for item in parsed.get("Items") or [])
        return size, max(1, math.ceil(size / _READ_BLOCK)) * _factor(request)
    if operation == "GetItem":
        size = item_size(parsed.get("Item") or {})
        return size, max(1, math.ceil(size / _READ_BLOCK)) * _factor(request)
    if operation == "BatchGetItem":
        total, units = 0, 0.0
        for table, found in (parsed.get("Responses") or {}).items():
            asked = (request.get("RequestItems") or {}).get(table) or {}
            sizes = [item_size(item) for item in found]
            missing = len(asked.get("Keys", [])) - len(sizes)  # charged as a read each
            total += sum(sizes)
            units += (sum(max(1, math.ceil(size / _READ_BLOCK)) for size in sizes) + max(missing, 0)) * _factor(asked)
        return total, units
    return 0, 0.0


def _written(size: int) -> int:
    return max(1, math.ceil(size / _WRITE_BLOCK))


def _sized_write(operation: str, request: Mapping[str, Any], sizer: Sizer | None) -> float:
    def stored(table: str, key: Mapping[str, Any]) -> int:
        return sizer(table, key) if sizer else 0

    if operation == "TransactWriteItems":
        units = 0
        for action in request.get("TransactItems") or []:
            if "Put" in action:
                units += 2 * _written(item_size(action["Put"]["Item"]))
            elif "Update" in action:
                units += 2 * _written(stored(action["Update"]["TableName"], action["Update"]["Key"]))
            elif "Delete" in action or "ConditionCheck" in action:
                units += 2
        return float(units)
    if operation == "PutItem":
        return float(_written(item_size(request.get("Item") or {})))
    if operation == "UpdateItem":
        return float(_written(stored(str(request.get("TableName")), request.get("Key") or {})))
    if operation == "BatchWriteItem":
        return float(
            sum(
                _written(item_size(entry["PutRequest"]["Item"])) if "PutRequest" in entry else 1
                for entries in (request.get("RequestItems") or {}).values()
                for entry in entries
            )
        )
    return 0.0


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
