"""The rate limiter's infrastructure: its counters table, its key, its grants, its settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lendbridge_infra.config import RateLimit, RateLimits, StageConfig
from tests.infra.support import Synth, flatten, ref_id, role_statements

UNLIMITED_FUNCTIONS = ("health",)  # probes are never limited; every other API function is


def test_the_counters_table_expires_its_items_and_is_keyed_by_pk_only(synth: Synth) -> None:
    properties = synth.resource_of("data", synth.stacks.data.rate_limit_table)["Properties"]
    assert properties["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "StreamSpecification" not in properties
    assert "GlobalSecondaryIndexes" not in properties


def test_functions_get_the_stages_limits_from_cdk_json(synth: Synth) -> None:
    expected = synth.config.rate_limits
    assert expected is not None
    for name, function in synth.stacks.api.functions.items():
        variables = synth.resource_of("api", function)["Properties"]["Environment"]["Variables"]
        assert json.loads(variables["RATE_LIMITS"]) == json.loads(expected.to_environment()), name
    assert json.loads(expected.to_environment())["caller"] == {"limit": 60, "window_seconds": 60}
    assert json.loads(expected.to_environment())["upload"] == {"limit": 10, "window_seconds": 60}


def _allowed(synth: Synth, function: Any, logical_id: str) -> list[str]:
    role_id = str(ref_id(synth.resource_of("api", function)["Properties"]["Role"]))
    return [
        action
        for statement in role_statements(synth, "api", role_id)
        if statement.allows and any(logical_id in resource for resource in statement.resources)
        for action in statement.actions
    ]


def test_limited_functions_may_only_bump_counters_and_read_the_key(synth: Synth) -> None:
    data = synth.stacks.data
    table_id = synth.logical_id("data", data.rate_limit_table)
    secret_id = synth.logical_id("data", data.rate_limit_secret)
    secret = synth.resource_of("data", data.rate_limit_secret)["Properties"]
    assert ref_id(secret["KmsKeyId"]) == synth.logical_id("data", data.data_key)
    for name, function in synth.stacks.api.functions.items():
        table_actions = _allowed(synth, function, table_id)
        secret_actions = _allowed(synth, function, secret_id)
        if name not in UNLIMITED_FUNCTIONS:
            assert table_actions == ["dynamodb:UpdateItem"], name
            assert "secretsmanager:GetSecretValue" in secret_actions, name
            variables = synth.resource_of("api", function)["Properties"]["Environment"]["Variables"]
            assert table_id in flatten(variables["RATE_LIMIT_TABLE"]), name
        else:  # health probes are not limited
            assert table_actions == [], name
            assert secret_actions == [], name


def _stage(rate_limits: Any) -> dict[str, Any]:
    with open("cdk.json", encoding="utf-8") as file:
        stages = json.load(file)["context"]["stages"]
    return {**stages["dev"], "rate_limits": rate_limits}


class _Node:
    def __init__(self, stages: dict[str, Any]) -> None:
        self._context = {"stages": stages}

    def try_get_context(self, key: str) -> Any:
        return self._context.get(key)


class _Scope:
    def __init__(self, stages: dict[str, Any]) -> None:
        self.node = _Node(stages)


GOOD = {
    "caller": {"limit": 60, "window_seconds": 60},
    "upload": {"limit": 10, "window_seconds": 60},
    "ip": {"limit": 30, "window_seconds": 60},
    "email": {"limit": 10, "window_seconds": 900},
}


def test_cdk_jsons_limits_load() -> None:
    config = StageConfig.from_context(_Scope({"dev": _stage(GOOD)}), "dev")  # type: ignore[arg-type]
    assert config.rate_limits == RateLimits(RateLimit(60, 60), RateLimit(10, 60), RateLimit(30, 60), RateLimit(10, 900))


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (None, "must set exactly"),
        ({k: v for k, v in GOOD.items() if k != "email"}, "must set exactly"),
        ({**GOOD, "extra": {"limit": 1, "window_seconds": 60}}, "must set exactly"),
        ({**GOOD, "caller": {"limit": 0, "window_seconds": 60}}, "at least one request"),
        ({**GOOD, "caller": {"limit": "60", "window_seconds": 60}}, "at least one request"),
        ({**GOOD, "ip": {"limit": 30, "window_seconds": 0}}, "1 to 86400"),
        ({**GOOD, "ip": {"limit": 30, "window_seconds": 1.5}}, "whole number"),
        ({**GOOD, "upload": {"limit": 61, "window_seconds": 60}}, "uploads may not"),
    ],
)
def test_synth_refuses_unusable_limits(limits: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StageConfig.from_context(_Scope({"dev": _stage(limits)}), "dev")  # type: ignore[arg-type]
