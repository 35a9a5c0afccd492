"""Per-stage settings, read from the ``stages`` block of cdk.json context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from constructs import Construct

SERVICE_NAME = "lendbridge"
METRICS_NAMESPACE = "PrivateLending/API"


@dataclass(frozen=True)
class StageConfig:
    name: str
    removal_retain: bool
    deletion_protection: bool
    auto_confirm_email: bool
    log_retention_days: int
    log_level: str
    debug_sample_rate: float
    cors_origins: list[str]
    api_throttle_burst: int
    api_throttle_rate: int
    waf_enabled: bool
    integrity_schedule: str
    alarm_emails: list[str] = field(default_factory=list)
    alarm_https_endpoints: list[str] = field(default_factory=list)

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        return cdk.RemovalPolicy.RETAIN if self.removal_retain else cdk.RemovalPolicy.DESTROY

    def resource_name(self, suffix: str) -> str:
        return f"{SERVICE_NAME}-{self.name}-{suffix}"

    @classmethod
    def from_context(cls, scope: Construct, stage: str | None = None) -> StageConfig:
        node = scope.node
        chosen = stage or node.try_get_context("stage") or "dev"
        stages: dict[str, dict[str, Any]] = node.try_get_context("stages") or {}
        if chosen not in stages:
            raise ValueError(f"unknown stage {chosen!r}; cdk.json defines {sorted(stages)}")
        settings = stages[chosen]
        if chosen == "prod" and "*" in settings.get("cors_origins", []):
            raise ValueError("prod must list its CORS origins; '*' is refused")
        return cls(name=chosen, **settings)
