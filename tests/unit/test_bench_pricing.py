"""The benchmark's price list and the meter's sizing of reads and writes (AWS's billing rules)."""

from __future__ import annotations

import math

from benchmarks.meter import Call, Shape, _sized_read, _sized_write, attribute_size, item_size
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


def test_transactional_writes_are_two_units_per_kb_per_item_updates_sized_after_the_write() -> None:
    request = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "x" * 1500}}}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "loan"}}}},
        ]
    }
    assert _sized_write("TransactWriteItems", request, lambda table, key: 9000) == 2 * 2 + 2 * 9


def test_an_unsized_call_keeps_the_larger_of_locals_figure_and_the_requests_minimum() -> None:
    call = Call("DeleteItem", Shape(("t",), 1, 0.0, 1.0), 0.0, 3.0, None, 0, None)
    assert call.aws_write == 3.0


def test_dollars_per_request_from_units_duration_and_flat_fees() -> None:
    dollars = per_request(Units(read_units=8, write_units=2, duration_ms=100), memory_mb=1024)
    assert math.isclose(dollars.dynamodb, 8 * 0.125e-6 + 2 * 0.625e-6)
    assert math.isclose(dollars.lambda_, 0.1 * 1 * 0.0000133334 + LAMBDA_REQUEST)
    assert dollars.api_gateway == API_GATEWAY_REST_REQUEST
    assert math.isclose(dollars.design, dollars.total - API_GATEWAY_REST_REQUEST)
