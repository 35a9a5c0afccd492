"""The benchmark's price list and the meter's sizing of reads and writes (AWS's billing rules)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.stub import Stubber

from benchmarks.meter import (
    Call,
    DynamoMeter,
    IndexLayout,
    Shape,
    TableLayout,
    Written,
    _sized_read,
    attribute_size,
    index_units,
    item_size,
    item_units,
    sum_units,
    written_items,
)
from benchmarks.prices import API_GATEWAY_REST_REQUEST, LAMBDA_REQUEST, Units, per_request


def test_item_sizes_follow_dynamodbs_rules() -> None:
    assert item_size({"PK": {"S": "LOAN#1"}}) == 2 + 6
    assert attribute_size({"L": [{"S": "ab"}, {"NULL": True}]}) == 3 + (1 + 2) + (1 + 1)
    assert attribute_size({"M": {"k": {"BOOL": True}}}) == 3 + 1 + 1 + 1
    assert attribute_size({"N": "100.00"}) == 2  # one significant digit


def test_a_query_is_billed_on_its_total_and_a_batch_read_per_item_with_missing_keys() -> None:
    big = {"PK": {"S": "x" * 5000}}
    size, units = _sized_read("Query", {}, {"Items": [big, big]})
    assert (size, units) == (2 * item_size(big), math.ceil(2 * item_size(big) / 4096) * 0.5)
    request = {"RequestItems": {"t": {"Keys": [{}, {}, {}], "ConsistentRead": True}}}
    size, units = _sized_read("BatchGetItem", request, {"Responses": {"t": [big]}})
    assert units == 2 + 2  # a 5 KB item is two 4 KB reads; two missing keys are one read each


LAYOUT = TableLayout(
    keys=("PK", "SK"),
    indexes=(
        IndexLayout("everything", ("GSI1PK", "GSI1SK"), "ALL"),
        IndexLayout("keys", ("GSI2PK",), "KEYS_ONLY"),
        IndexLayout("some", ("GSIXPK",), "INCLUDE", ("status",)),
    ),
)


def _s(text: str) -> dict[str, str]:
    return {"S": text}


def test_transactional_writes_are_two_units_per_kb_of_the_larger_of_the_item_before_and_after() -> None:
    request = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": _s("p"), "SK": _s("1"), "blob": _s("x" * 1500)}}},
            {"Update": {"TableName": "t", "Key": {"PK": _s("loan"), "SK": _s("LOAN")}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": _s("user"), "SK": _s("USER")}}},
        ]
    }
    writes = written_items("TransactWriteItems", request, lambda table: LAYOUT)
    assert [(w.key, w.transactional, w.check_only) for w in writes] == [
        ({"PK": _s("p"), "SK": _s("1")}, True, False),
        ({"PK": _s("loan"), "SK": _s("LOAN")}, True, False),
        ({"PK": _s("user"), "SK": _s("USER")}, True, True),
    ]
    grown = {"PK": _s("loan"), "SK": _s("LOAN"), "roster": _s("y" * 9000)}
    shrunk = {"PK": _s("loan"), "SK": _s("LOAN")}
    units = sum_units(writes, [None, grown, None], [writes[0].put, shrunk, None], None)
    # the put's 1.5 KB is two units, the update is billed on the 9 KB it had before (nine), the
    # check on the least: each doubled in a transaction; no layout, so no index is counted
    assert (units.base, units.index) == (2 * 2 + 2 * 9 + 2 * 1, 0)


def test_single_writes_count_once_and_a_delete_is_billed_on_the_item_it_removes() -> None:
    stored = {"PK": _s("a"), "SK": _s("b"), "blob": _s("z" * 2100)}
    (delete,) = written_items("DeleteItem", {"TableName": "t", "Key": {"PK": _s("a"), "SK": _s("b")}}, None)
    assert item_units(delete, stored, None) == 3
    assert sum_units([delete], [stored], [None], None).base == 3
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": {"PK": _s("c"), "SK": _s("d")}}}]}}
    assert sum_units(written_items("BatchWriteItem", batch, lambda table: LAYOUT), [], [], None).base == 1


def test_an_index_is_charged_for_an_entry_put_deleted_moved_or_changed_and_nothing_else() -> None:
    base = {"PK": _s("LOAN#1"), "SK": _s("LOAN"), "status": _s("FUNDING"), "note": _s("n" * 1500)}
    listed = {**base, "GSI1PK": _s("BORROWER#1"), "GSI1SK": _s("2026#1")}
    assert index_units(LAYOUT, None, base) == 0  # in no index: no index key
    assert index_units(LAYOUT, None, listed) == 2  # a new entry of everything, 1.5 KB
    assert index_units(LAYOUT, listed, base) == 2  # deleted from the index
    assert index_units(LAYOUT, listed, {**listed, "GSI1SK": _s("2027#1")}) == 2 + 2  # moved: delete and put
    assert index_units(LAYOUT, listed, {**listed, "note": _s("m")}) == 2  # billed on the larger entry
    assert index_units(LAYOUT, listed, listed) == 0  # nothing changed


def test_keys_only_and_include_indexes_are_charged_only_when_what_they_hold_changes() -> None:
    item = {"PK": _s("P"), "SK": _s("S"), "GSI2PK": _s("k"), "GSIXPK": _s("i"), "status": _s("A"), "x": _s("1")}
    assert index_units(LAYOUT, item, {**item, "x": _s("2")}) == 0  # neither holds x
    assert index_units(LAYOUT, item, {**item, "status": _s("B")}) == 1  # INCLUDE holds status
    assert index_units(LAYOUT, item, {**item, "GSI2PK": _s("j")}) == 2  # KEYS_ONLY entry moved
    put = Written("t", {"PK": _s("P"), "SK": _s("S")}, True, put=item)
    units = sum_units([put], [None], [item], lambda table: LAYOUT)
    assert (units.base, units.index) == (2, 2)  # index writes are not doubled: the least AWS bills


def test_a_refused_write_keeps_the_larger_of_locals_figure_and_the_requests_minimum() -> None:
    refused = Call("DeleteItem", Shape(("t",), 1, 0.0, 1.0), 0.0, 3.0, None, 0, "ConditionalCheckFailedException")
    assert refused.aws_write == 3.0
    done = Call("UpdateItem", Shape(("t",), 1, 0.0, 1.0), 0.0, 9.0, None, 0, None, sized_write=4.0, index_write=5.0)
    assert done.aws_write == 4.0 + 5.0


def test_dollars_per_request_from_units_duration_and_flat_fees() -> None:
    dollars = per_request(Units(read_units=8, write_units=2, duration_ms=100), memory_mb=1024)
    assert math.isclose(dollars.dynamodb, 8 * 0.125e-6 + 2 * 0.625e-6)
    assert math.isclose(dollars.lambda_, 0.1 * 1 * 0.0000133334 + LAMBDA_REQUEST)
    assert dollars.api_gateway == API_GATEWAY_REST_REQUEST
    assert math.isclose(dollars.design, dollars.total - API_GATEWAY_REST_REQUEST)


class _ChangingStore:
    """Answers the meter's reads of one item: first as it was, then as the write left it."""

    def __init__(self, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        self.images = [before, after]
        self.reads: list[dict[str, Any]] = []

    def item(self, table: str, key: Mapping[str, Any]) -> Mapping[str, Any] | None:
        self.reads.append(dict(key))
        return self.images[len(self.reads) - 1]

    def layout(self, table: str) -> TableLayout:
        return LAYOUT


def test_the_meter_reads_each_written_item_before_the_call_and_after_it_answers() -> None:
    key = {"PK": _s("LOAN#1"), "SK": _s("LOAN")}
    before = {**key, "GSI1PK": _s("B#1"), "GSI1SK": _s("1"), "roster": _s("r" * 3000)}
    after = {**before, "roster": _s("r" * 100)}
    store = _ChangingStore(before, after)
    meter = DynamoMeter(store)
    client = meter.instrument(
        boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    )
    with Stubber(client) as stub, meter.measure() as window:
        stub.add_response("update_item", {}, {"TableName": "t", "Key": key, "ReturnConsumedCapacity": "TOTAL"})
        client.update_item(TableName="t", Key=key)
    (call,) = window.calls
    assert store.reads == [key, key]
    # Billed on the 3 KB it had before, and the index's copy of it rewritten (the larger entry)
    assert (call.sized_write, call.index_write, call.aws_write) == (3, 3, 6)
    with Stubber(client) as stub:
        stub.add_response("update_item", {}, {"TableName": "t", "Key": key, "ReturnConsumedCapacity": "TOTAL"})
        client.update_item(TableName="t", Key=key)
    assert len(store.reads) == 2  # outside a measurement the meter reads nothing
