"""cdk-nag's verdict on each stage, and the stage configuration's own guard rails."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

import pytest

from lendbridge_infra.config import StageConfig
from stacks.app import cdk_json_context
from tests.infra.support import Synth

MIN_REASON_LENGTH = 40


def test_cdk_nag_finds_nothing_unacknowledged_and_every_acknowledgement_says_why(synth: Synth) -> None:
    assert synth.validation_error is None, synth.validation_error
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    plugins = {plugin["pluginName"]: plugin for plugin in report.get("pluginReports", [])}
    assert "AwsSolutions" in plugins, "cdk-nag ran"
    unacknowledged = [
        (violation["ruleName"], [c["constructPath"] for c in violation.get("violatingConstructs", [])])
        for plugin in plugins.values()
        for violation in plugin.get("violations", [])
    ]
    assert unacknowledged == []
    suppressed = [item for plugin in plugins.values() for item in plugin.get("suppressedViolations", [])]
    assert suppressed, "the known acknowledgements are in the report"
    thin = [
        (item["ruleName"], item.get("reason", ""))
        for item in suppressed
        if len(item.get("reason", "").strip()) < MIN_REASON_LENGTH
    ]
    assert thin == []


def _suppressed(synth: Synth, rule: str) -> dict[str, str]:
    """Construct path -> the reason an acknowledged ``rule`` finding was given there."""
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    return {
        construct["constructPath"]: item.get("reason", "")
        for plugin in report.get("pluginReports", [])
        for item in plugin.get("suppressedViolations", [])
        if item["ruleName"] == rule
        for construct in item.get("violatingConstructs", [])
    }


def test_the_list_streams_wildcard_has_its_own_reason(synth: Synth) -> None:
    """The stream consumer's Resource '*' is dynamodb:ListStreams as well as X-Ray: its acknowledgement
    must say so, and the X-Ray-only reason must not be borrowed for it."""
    reasons = _suppressed(synth, "AwsSolutions-IAM5[Resource::*]")
    consumers = [
        function.node.path for function in [*synth.stacks.processing.stream_consumers, synth.stacks.webhooks.fan_out]
    ]
    assert consumers
    for path in consumers:
        found = [reason for construct, reason in reasons.items() if construct.startswith(path + "/")]
        assert found, path
        assert all("dynamodb:ListStreams" in reason for reason in found), found
    others = [reason for construct, reason in reasons.items() if not any(construct.startswith(p) for p in consumers)]
    assert others
    assert not any("ListStreams" in reason for reason in others)


class _FakeNode:
    def __init__(self, context: dict[str, Any]) -> None:
        self._context = context

    def try_get_context(self, key: str) -> Any:
        return self._context.get(key)


def _scope(stages: dict[str, Any]) -> Any:
    return SimpleNamespace(node=_FakeNode({"stages": stages}))


def _stages() -> dict[str, Any]:
    return copy.deepcopy(cdk_json_context()["stages"])


def test_prod_config_from_cdk_json_loads() -> None:
    config = StageConfig.from_context(_scope(_stages()), "prod")
    assert config.name == "prod"
    assert config.cors_origins
    assert "*" not in config.cors_origins


@pytest.mark.parametrize("origins", [["*"], ["https://app.lendbridge.example", "*"]])
def test_prod_config_refuses_any_origin(origins: list[str]) -> None:
    stages = _stages()
    stages["prod"]["cors_origins"] = origins
    with pytest.raises(ValueError, match=r"'\*'"):
        StageConfig.from_context(_scope(stages), "prod")
