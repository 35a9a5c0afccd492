"""The bookings API function: the product catalogue it is given at synth (checked there), and
exactly the table access it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from lendbridge.data import names
from lendbridge.domain.products import catalogue_from_json, catalogue_to_json
from lendbridge_infra.config import StageConfig
from tests.infra.support import Synth, flatten, ref_id, role_statements

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def _function(synth: Synth) -> dict[str, Any]:
    properties: dict[str, Any] = synth.resource_of("api", synth.stacks.api.functions["bookings"])["Properties"]
    return properties


def test_the_bookings_function_carries_the_stages_catalogue(synth: Synth) -> None:
    variables = _function(synth)["Environment"]["Variables"]
    assert variables["PRODUCTS"] == catalogue_to_json(synth.config.products)
    assert catalogue_from_json(variables["PRODUCTS"]) == synth.config.products
    assert _function(synth)["Handler"] == "lendbridge.handlers.bookings.handler"
    # Only the bookings function is handed the catalogue.
    for name, function in synth.stacks.api.functions.items():
        if name != "bookings":
            environment = synth.resource_of("api", function)["Properties"]["Environment"]["Variables"]
            assert "PRODUCTS" not in environment, name


def test_the_bookings_function_reads_its_two_indexes_and_appends_to_the_audit_log_only(synth: Synth) -> None:
    role_id = str(ref_id(_function(synth)["Role"]))
    statements = [s for s in role_statements(synth, "api", role_id) if s.allows]
    main = synth.logical_id("data", synth.stacks.data.main_table)
    audit = synth.logical_id("data", synth.stacks.data.audit_table)
    table_actions: dict[str, set[str]] = {}
    for statement in statements:
        for resource in statement.resources:
            for action in statement.actions:
                if action.startswith("dynamodb:"):
                    table_actions.setdefault(resource, set()).add(action)
    main_resources = {resource for resource in table_actions if main in resource}
    indexes = {resource.rsplit("/index/", 1)[1] for resource in main_resources if "/index/" in resource}
    assert indexes == {names.BORROWER_COLLECTION, names.LENDER_INVITATIONS}
    every_action = set().union(*table_actions.values())
    assert not {action for action in every_action if action.lower() in ("dynamodb:scan", "dynamodb:*")}
    audit_actions = set().union(*(actions for resource, actions in table_actions.items() if audit in resource))
    assert audit_actions == {"dynamodb:PutItem"}
    # Documents are soft-deleted: the function can erase nothing of a booking.
    main_actions = set().union(*(actions for resource, actions in table_actions.items() if main in resource))
    assert "dynamodb:DeleteItem" not in main_actions
    assert all(flatten(resource) for resource in table_actions)


@pytest.mark.parametrize(
    ("product", "message"),
    [
        ({"currency": "EURO"}, "stages.dev.products[0] (term-loan-eur): currency must be an ISO 4217 code"),
        ({"min_amount": 5}, "stages.dev.products[0] (term-loan-eur): min_amount must be a decimal string"),
    ],
)
def test_synth_refuses_a_stage_whose_catalogue_breaks_a_rule(product: dict[str, Any], message: str) -> None:
    context = json.loads(CDK_JSON.read_text())["context"]
    stage = context["stages"]["dev"]
    stage["products"] = [{**stage["products"][0], **product}]
    with pytest.raises(ValueError, match=r"^stages\.dev\.products\[0\] \(term-loan-eur\): ") as bad:
        StageConfig.from_context(cdk.App(context=context), "dev")
    assert str(bad.value).startswith(message)


def test_synth_refuses_a_stage_without_a_catalogue() -> None:
    context = json.loads(CDK_JSON.read_text())["context"]
    del context["stages"]["prod"]["products"]
    with pytest.raises(ValueError, match="stages.prod.products must be a non-empty list"):
        StageConfig.from_context(cdk.App(context=context), "prod")
