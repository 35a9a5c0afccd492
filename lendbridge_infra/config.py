"""Per-stage settings, read from the ``stages`` block of cdk.json context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from constructs import Construct

SERVICE_NAME = "lendbridge"
METRICS_NAMESPACE = "PrivateLending/API"

# CloudFormation's TreatMissingData values, as written in cdk.json.
MISSING_DATA_CHOICES = ("breaching", "notBreaching", "ignore", "missing")


@dataclass(frozen=True)
class AlarmSettings:
    """One alarm family's trigger, per stage: ``value > threshold`` in ``datapoints_to_alarm`` of
    the last ``evaluation_periods`` periods of ``period_seconds``; missing data treated as
    ``treat_missing_data`` (a CloudFormation TreatMissingData value)."""

    threshold: float
    period_seconds: int
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: str

    def __post_init__(self) -> None:
        if self.period_seconds < 60 or self.period_seconds % 60:
            raise ValueError(f"period_seconds must be a multiple of 60, got {self.period_seconds}")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValueError("datapoints_to_alarm must be between 1 and evaluation_periods")
        if self.treat_missing_data not in MISSING_DATA_CHOICES:
            raise ValueError(f"treat_missing_data must be one of {MISSING_DATA_CHOICES}")


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
    # API Gateway's CloudWatch Logs role is one setting per account and region (access logs need
    # it). The stage that owns it creates the role and the setting, retained; exactly one stage per
    # account and region may own it (docs/decisions.md).
    owns_api_gateway_account: bool
    integrity_schedule: str
    # Reserved concurrency per function: the API's (lendbridge.routes function names) and
    # "integrity"; a function not named reserves none. Empty in dev, which then fits any account.
    reserved_concurrency: Mapping[str, int]
    # The Lambda concurrent-executions quota of the account and region the stage deploys to: synth
    # fails when the stage reserves more than it leaves Lambda (lendbridge_infra.quotas).
    lambda_concurrency_quota: int
    # Alarm family (lendbridge_infra.monitoring.ALARM_KINDS key) -> its trigger in this stage.
    alarms: Mapping[str, AlarmSettings]
    alarm_emails: list[str] = field(default_factory=list)
    alarm_https_endpoints: list[str] = field(default_factory=list)
    # Cognito's emails (verification codes, password resets) go through SES from this address,
    # an SES identity verified in the stage's account and region (the address itself, or
    # ses_verified_domain when the whole domain is verified). Required where codes are emailed.
    ses_from_email: str | None = None
    ses_from_name: str | None = None
    ses_verified_domain: str | None = None
    # Webhooks (stacks/webhooks_stack.py). The wait in seconds before each delivery attempt (the
    # first is 0), about three days in all on a deployed stage; a local emulation (the stage's
    # ``local_overrides``, applied only when the local stack synthesizes) may compress it and
    # allow http://127.0.0.1 receivers, which no deployed stage may.
    webhook_retry_schedule_s: tuple[int, ...] = ()
    webhook_allow_loopback: bool = False
    # The most delivery workers at once: receivers that hang cost these, never the API's.
    webhook_delivery_concurrency: int = 20

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
        if not settings.get("cors_origins"):
            raise ValueError(f"stage {chosen!r} must list at least one CORS origin")
        if chosen == "prod" and "*" in settings["cors_origins"]:
            raise ValueError("prod must list its CORS origins; '*' is refused")
        _check_email_sender(chosen, settings)
        settings = dict(settings)
        overrides = settings.pop("local_overrides", None) or {}
        local = bool(node.try_get_context(LOCAL_EMULATION))
        if chosen == "prod" and overrides:
            raise ValueError("prod is never emulated locally: stages.prod.local_overrides is refused")
        if local:
            settings.update(overrides)
        settings["webhook_retry_schedule_s"] = _webhook_schedule(chosen, settings, local)
        settings["alarms"] = {key: AlarmSettings(**values) for key, values in (settings.get("alarms") or {}).items()}
        settings["reserved_concurrency"] = dict(settings.get("reserved_concurrency") or {})
        return cls(name=chosen, **settings)


# Context key the local stack sets when it synthesizes a stage for emulation (local/synth.py).
LOCAL_EMULATION = "local-emulation"
# "About three days" of retries (the contract); Svix's 27-hour schedule would be refused.
MIN_DEPLOYED_RETRY_SPAN_S = 2 * 24 * 3600
MAX_RETRY_WAIT_S = 24 * 3600


def _webhook_schedule(stage: str, settings: Mapping[str, Any], local: bool) -> tuple[int, ...]:
    if settings.get("webhook_allow_loopback") and not local:
        raise ValueError(
            f"stages.{stage}.webhook_allow_loopback may only be set in local_overrides: a deployed function "
            "must never post to its own loopback interface"
        )
    schedule = tuple(settings.get("webhook_retry_schedule_s") or ())
    if not schedule or schedule[0] != 0 or any(not isinstance(w, int) or w < 0 for w in schedule):
        raise ValueError(f"stages.{stage}.webhook_retry_schedule_s must be whole seconds >= 0, starting with 0")
    if max(schedule) > MAX_RETRY_WAIT_S:
        raise ValueError(f"stages.{stage}.webhook_retry_schedule_s: no wait may exceed {MAX_RETRY_WAIT_S} s")
    if not local and sum(schedule) < MIN_DEPLOYED_RETRY_SPAN_S:
        raise ValueError(
            f"stages.{stage}.webhook_retry_schedule_s spans {sum(schedule)} s; a deployed stage retries for "
            f"about three days (at least {MIN_DEPLOYED_RETRY_SPAN_S} s)"
        )
    return schedule


def _check_email_sender(stage: str, settings: Mapping[str, Any]) -> None:
    """Cognito's own sender is limited to a few emails a day (AWS: not for production): a stage
    that emails verification codes must name its verified SES identity."""
    sender = settings.get("ses_from_email")
    if not sender:
        if stage == "prod" or not settings.get("auto_confirm_email", False):
            raise ValueError(
                f"stage {stage!r} emails verification codes, so it must send through SES: set "
                f"stages.{stage}.ses_from_email in cdk.json to an address whose SES identity (the address, "
                f"or ses_verified_domain) is verified in the stage's account and region, out of the SES sandbox"
            )
        return
    local, _, domain = str(sender).partition("@")
    if not local or "." not in domain:
        raise ValueError(f"stages.{stage}.ses_from_email must be an email address, got {sender!r}")
    verified = settings.get("ses_verified_domain")
    if verified and domain.lower() != str(verified).lower():
        raise ValueError(
            f"stages.{stage}.ses_from_email {sender!r} is not at ses_verified_domain {verified!r}; SES sends "
            "only from a verified identity"
        )
