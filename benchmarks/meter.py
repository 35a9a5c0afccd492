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
AWS charges 20; batch keys that find nothing report 0 where AWS charges a read), and it leaves
out index writes, so each call also gets what AWS's pricing rules charge, from the request and
the items involved: 2 WCU per KB per transactional write, 1 RCU per strongly consistent key read,
1 WCU per KB per single-item write. Reads are sized from the items each response carries (a
query is charged for their total, rounded up to 4 KB; a key read per item). Writes are sized
from the item as stored before and after the call (read by an ``ItemStore`` on a client of its
own, outside the measurement: just before the call is sent, and after it answers): AWS bills a
put, update or delete on the larger of the two. Each global secondary index that held the item
before or holds it after is charged for its entry as AWS's rules for index writes say: one
write to put an entry, one to delete one, two when the index key changed, one when a projected
attribute changed, none otherwise; at 1 WCU per KB of the entry's attributes (the least: AWS
may also double them in a transaction, which its documentation does not state).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

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


Item = Mapping[str, Any]  # in DynamoDB JSON
_READ_BLOCK = 4096
_SIZED_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})
_SIZED_WRITES = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
_WRITE_BLOCK = 1024


@dataclass(frozen=True)
class IndexLayout:
    """A global secondary index: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableLayout:
    keys: tuple[str, ...]
    indexes: tuple[IndexLayout, ...] = ()

    def key_of(self, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self.keys if name in item}

    def entry(self, index: IndexLayout, image: Item | None) -> dict[str, Any] | None:
        """The index's entry for an item as stored (none when the item lacks an index key)."""
        if image is None or any(name not in image for name in index.keys):
            return None
        if index.projection == "ALL":
            return dict(image)
        names = {*self.keys, *index.keys, *index.included}
        return {name: value for name, value in image.items() if name in names}


class ItemStore(Protocol):
    """Reads stored items and table layouts for the meter, on a client the meter does not count."""

    def item(self, table: str, key: Item) -> Item | None: ...

    def layout(self, table: str) -> TableLayout: ...


@dataclass(frozen=True)
class Written:
    """One item a write call puts, updates, deletes or checks."""

    table: str
    key: dict[str, Any]
    transactional: bool
    put: Item | None = None  # the item a put writes
    check_only: bool = False  # a transaction's ConditionCheck


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
    index_write: float = 0.0  # what AWS charges for the index entries the write changed

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
            return max(self.shape.min_write, self.sized_write) + self.index_write
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
    def __init__(self, store: ItemStore | None = None) -> None:
        self._lock = threading.Lock()
        self._window: Window | None = None
        self._store = store

    def size_with(self, client: Any) -> None:
        """Read items and table layouts with ``client``: one that is not instrumented, so the
        reads are no part of any measurement."""
        self._store = ClientStore(client)

    def instrument(self, client: Any) -> Any:
        """Register the meter's handlers on ``client`` (a boto3 DynamoDB client) and return it."""
        events = client.meta.events
        events.register("provide-client-params.dynamodb.*", self._prepare)
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

    def _measuring(self) -> bool:
        with self._lock:
            return self._window is not None

    def _prepare(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        # Modified in place: returning None keeps botocore's own params object.
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        context[_CONTEXT_KEY] = shape_of(model.name, params)
        context[_REQUEST_KEY] = params
        if self._store is not None and model.name in _SIZED_WRITES and self._measuring():
            writes = written_items(model.name, params, self._store.layout)
            context[_BEFORE_KEY] = (writes, [self._store.item(w.table, w.key) for w in writes])

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
        units = WriteUnits()
        if not error and model.name in _SIZED_WRITES:
            units = self._write_units(model.name, request, context.get(_BEFORE_KEY))
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
                sized_write=units.base,
                index_write=units.index,
            )
        )

    def _write_units(self, operation: str, request: Mapping[str, Any], before: Any) -> WriteUnits:
        store = self._store
        if store is None or before is None:
            return sum_units(written_items(operation, request, None), [], [], None)
        writes, befores = before
        afters = [store.item(w.table, w.key) for w in writes]
        return sum_units(writes, befores, afters, store.layout)


class ClientStore:
    """An ``ItemStore`` on a boto3 DynamoDB client, layouts read once per table."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._layouts: dict[str, TableLayout] = {}

    def item(self, table: str, key: Item) -> Item | None:
        if not key:
            return None
        found = self._client.get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")
        return found or None

    def layout(self, table: str) -> TableLayout:
        if table not in self._layouts:
            described = self._client.describe_table(TableName=table)["Table"]
            indexes = tuple(
                IndexLayout(
                    name=index["IndexName"],
                    keys=tuple(part["AttributeName"] for part in index["KeySchema"]),
                    projection=index["Projection"]["ProjectionType"],
                    included=tuple(index["Projection"].get("NonKeyAttributes", ())),
                )
                for index in described.get("GlobalSecondaryIndexes", ())
            )
            keys = tuple(part["AttributeName"] for part in described["KeySchema"])
            self._layouts[table] = TableLayout(keys, indexes)
        return self._layouts[table]


_REQUEST_KEY = "bench_params"
_BEFORE_KEY = "bench_before"


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


def written_items(
    operation: str, request: Mapping[str, Any], layout: Callable[[str], TableLayout] | None
) -> list[Written]:
    """The items a write call touches, keyed (a put's key comes from its table's layout)."""

    def put(table: str, item: Item, transactional: bool) -> Written:
        key = layout(table).key_of(item) if layout else {}
        return Written(table, key, transactional, put=item)

    if operation == "TransactWriteItems":
        writes = []
        for action in request.get("TransactItems") or []:
            if "Put" in action:
                writes.append(put(action["Put"]["TableName"], action["Put"]["Item"], True))
            for kind in ("Update", "Delete", "ConditionCheck"):
                if kind in action:
                    part = action[kind]
                    checked = kind == "ConditionCheck"
                    writes.append(Written(part["TableName"], dict(part["Key"]), True, check_only=checked))
        return writes
    table = str(request.get("TableName"))
    if operation == "PutItem":
        return [put(table, request.get("Item") or {}, False)]
    if operation in ("UpdateItem", "DeleteItem"):
        return [Written(table, dict(request.get("Key") or {}), False)]
    if operation == "BatchWriteItem":
        return [
            put(name, entry["PutRequest"]["Item"], False)
            if "PutRequest" in entry
            else Written(name, dict(entry["DeleteRequest"]["Key"]), False)
            for name, entries in (request.get("RequestItems") or {}).items()
            for entry in entries
        ]
    return []


@dataclass(frozen=True)
class WriteUnits:
    base: float = 0.0  # the table's items
    index: float = 0.0  # the index entries


def sum_units(
    writes: Sequence[Written],
    befores: Sequence[Item | None],
    afters: Sequence[Item | None],
    layout: Callable[[str], TableLayout] | None,
) -> WriteUnits:
    """What AWS bills for ``writes``, given each item as stored before and after (unknown
    images, as without a store, count as absent)."""
    base = index = 0.0
    for position, written in enumerate(writes):
        before = befores[position] if position < len(befores) else None
        after = afters[position] if position < len(afters) else None
        units = item_units(written, before, after)
        base += 2 * units if written.transactional else units
        if layout is not None and not written.check_only:
            index += index_units(layout(written.table), before, after)
    return WriteUnits(base, index)


def item_units(written: Written, before: Item | None, after: Item | None) -> int:
    """A write is billed on the larger of the item before and after it (a put on what it puts
    at least). A condition check is counted as one write, the least it can be."""
    if written.check_only:
        return 1
    sizes = [item_size(image) for image in (before, after, written.put) if image is not None]
    return _written(max(sizes, default=0))


def index_units(layout: TableLayout, before: Item | None, after: Item | None) -> int:
    units = 0
    for index in layout.indexes:
        old, new = layout.entry(index, before), layout.entry(index, after)
        if old is None and new is None:
            continue
        if old is None or new is None:
            units += _written(item_size(old or new or {}))
        elif any(old[name] != new[name] for name in index.keys):
            units += _written(item_size(old)) + _written(item_size(new))
        elif old != new:
            units += _written(max(item_size(old), item_size(new)))
    return units


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
