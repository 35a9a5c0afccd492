"""Fresh main tables on the session's DynamoDB Local, for tests that read a whole table (the
integrity job, the participant-id migration) and so must not see other tests' items.

Each table is created from the MainTable definition of the synthesized dev template, exactly as
the shared one is (keys, attribute definitions, the four indexes), under a unique name.
"""

from __future__ import annotations

import uuid
from typing import Any

from local.template import Assembly, friendly


def main_table_definition(assembly: Assembly) -> dict[str, Any]:
    for _, logical_id, resource in assembly.resources("AWS::DynamoDB::Table"):
        if friendly(logical_id) == "MainTable":
            return dict(resource["Properties"])
    raise AssertionError("the dev template declares no MainTable")


def create_main_table(client: Any, assembly: Assembly, prefix: str = "lendbridge-test") -> str:
    properties = main_table_definition(assembly)
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=name,
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["GlobalSecondaryIndexes"]
        ],
    )
    return name


def item_count(client: Any, table: str) -> int:
    total, request = 0, {"TableName": table, "Select": "COUNT", "ConsistentRead": True}
    while True:
        response = client.scan(**request)
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def all_items(client: Any, table: str) -> list[dict[str, Any]]:
    from lendbridge.data.dynamo import from_item

    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        response = client.scan(**request)
        items += [from_item(item) for item in response["Items"]]
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
