"""Per-stage settings, read from the ``stages`` block of cdk.json context."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
from constructs import Construct

if TYPE_CHECKING:  # the Lambda code joins the import path when stacks.app loads
    from lendbridge.domain.products import Product

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
class RateLimit:
    """``limit`` requests per ``window_seconds`` (a fixed window)."""

    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"a rate limit allows at least one request, got {self.limit!r}")
        if isinstance(self.window_seconds, bool) or not isinstance(self.window_seconds, int):
            raise ValueError(f"window_seconds must be a whole number, got {self.window_seconds!r}")
        if not 1 <= self.window_seconds <= 86400:
            raise ValueError(f"window_seconds must be 1 to 86400, got {self.window_seconds}")


RATE_LIMIT_SCOPES = ("caller", "upload", "ip", "email")


@dataclass(frozen=True)
class RateLimits:
    """The API's own per-caller limits (the contract's 60 a minute and 10 uploads a minute), and
    the unauthenticated account routes' limits per source address and per target email. API
    Gateway's stage throttle and prod's WAF rule stay in front of them (README, rate limits)."""

    caller: RateLimit
    upload: RateLimit
    ip: RateLimit
    email: RateLimit

    @classmethod
    def from_settings(cls, stage: str, values: Mapping[str, Any] | None) -> RateLimits:
        given = dict(values or {})
        if set(given) != set(RATE_LIMIT_SCOPES):
            raise ValueError(f"stages.{stage}.rate_limits must set exactly {RATE_LIMIT_SCOPES}, got {sorted(given)}")
        limits = {scope: RateLimit(**given[scope]) for scope in RATE_LIMIT_SCOPES}
        if limits["upload"].limit > limits["caller"].limit:
            raise ValueError(f"stages.{stage}.rate_limits: uploads may not be allowed more than other requests")
        return cls(**limits)

    def to_environment(self) -> str:
        """The JSON the functions read (lendbridge.wiring.rate_limits.policy_of)."""
        return json.dumps(
            {
                scope: {"limit": getattr(self, scope).limit, "window_seconds": getattr(self, scope).window_seconds}
                for scope in RATE_LIMIT_SCOPES
            },
            separators=(",", ":"),
        )


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
    # Rate limits (lendbridge.http.rate_limit): required in every stage, validated at synth.
    rate_limits: RateLimits | None = None
    # Commercial loan bookings: the product catalogue this stage offers (lendbridge.domain.products
    # checks it here, at synth, and the bookings function receives it in its environment).
    products: tuple[Product, ...] = ()
    # Commercial loan bookings (stacks/bookings_stack.py): how documents are read. "bedrock" calls
    # the Converse API with extraction_model_id (IAM allows that model only); "local" is the
    # local PDF reader, for stages that must not reach Bedrock. A knowledge base, when both its
    # ids are given, receives every accepted document (IAM allows that knowledge base only).
    extraction_reader: str = "bedrock"
    extraction_model_id: str = ""
    knowledge_base_id: str | None = None
    knowledge_base_data_source_id: str | None = None
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
        _check_extraction(chosen, settings)
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
        settings["rate_limits"] = RateLimits.from_settings(chosen, settings.get("rate_limits"))
        from lendbridge.domain.products import parse_catalogue  # one rule book: the function's own

        try:
            settings["products"] = parse_catalogue(settings.get("products"))
        except ValueError as invalid:
            raise ValueError(f"stages.{chosen}.{invalid}") from None
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


EXTRACTION_READERS = ("bedrock", "local")
# A Bedrock foundation-model id: provider.model-name[-version][:n] (e.g. anthropic.claude-3-5-sonnet-20240620-v1:0).
_MODEL_ID = re.compile(r"^[a-z0-9-]+\.[a-z0-9.-]+(:[0-9]+)?$")
# Knowledge-base and data-source ids are 10 upper-case alphanumerics.
_BEDROCK_ID = re.compile(r"^[0-9A-Z]{10}$")


def _check_extraction(stage: str, settings: Mapping[str, Any]) -> None:
    reader = settings.get("extraction_reader", "bedrock")
    if reader not in EXTRACTION_READERS:
        raise ValueError(f"stages.{stage}.extraction_reader must be one of {EXTRACTION_READERS}, got {reader!r}")
    model = settings.get("extraction_model_id", "")
    if reader == "bedrock" and not _MODEL_ID.fullmatch(str(model)):
        raise ValueError(
            f"stages.{stage}.extraction_model_id must be a Bedrock foundation-model id such as "
            f"'anthropic.claude-3-5-sonnet-20240620-v1:0', got {model!r}"
        )
    if stage == "prod" and reader != "bedrock":
        raise ValueError("prod must extract with Bedrock; the local reader is for stages without it")
    kb, source = settings.get("knowledge_base_id"), settings.get("knowledge_base_data_source_id")
    if bool(kb) != bool(source):
        raise ValueError(f"stages.{stage}: knowledge_base_id and knowledge_base_data_source_id go together")
    for name, value in (("knowledge_base_id", kb), ("knowledge_base_data_source_id", source)):
        if value and not _BEDROCK_ID.fullmatch(str(value)):
            raise ValueError(f"stages.{stage}.{name} must be 10 upper-case letters or digits, got {value!r}")
