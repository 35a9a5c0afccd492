"""A Lendbridge Lambda function: Python on arm64, Powertools layer, X-Ray, its own log group."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lendbridge_infra.bundling import stage_function_code
from lendbridge_infra.config import METRICS_NAMESPACE, SERVICE_NAME, StageConfig
from lendbridge_infra.powertools import powertools_layer_arn
from lendbridge_infra.wheels import WheelPlatform, unpacked_wheels

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
# The wheels a function ships must match RUNTIME and ARCHITECTURE above, not this machine.
_PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
WHEEL_PLATFORM = WheelPlatform(
    python_version=RUNTIME.name.removeprefix("python"), platform=_PIP_PLATFORMS[ARCHITECTURE.name]
)
# Well inside API Gateway's 29 s integration limit.
DEFAULT_TIMEOUT = cdk.Duration.seconds(10)


class LendbridgeFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        module: str,
        environment: Mapping[str, str],
        description: str,
        memory_mb: int = 512,
        timeout: cdk.Duration | None = None,
        reserved_concurrency: int | None = None,
        requirements: Path | None = None,
    ) -> None:
        """``requirements``: a pinned file of packages this function ships beyond the Powertools
        layer, as wheels for the Lambda platform (most functions need none)."""
        super().__init__(scope, construct_id)
        packages = unpacked_wheels(requirements, WHEEL_PLATFORM) if requirements else None
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=retention_of(config.log_retention_days),
            removal_policy=config.removal_policy,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            # A name known at synth: the monitoring stack names it in alarms without a
            # CloudFormation export, so replacing the function never waits on that stack.
            function_name=config.resource_name(construct_id),
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{module}.handler",
            code=lambda_.Code.from_asset(str(stage_function_code(module, packages=packages))),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(RUNTIME, ARCHITECTURE)
                )
            ],
            memory_size=memory_mb,
            timeout=timeout or DEFAULT_TIMEOUT,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            reserved_concurrent_executions=reserved_concurrency,
            environment={
                "STAGE": config.name,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_LOGGER_SAMPLE_RATE": str(config.debug_sample_rate),
                **environment,
            },
        )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
}


def retention_of(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch retention that keeps logs at least ``days`` days."""
    fitting = [value for value in sorted(_RETENTION) if value >= days]
    return _RETENTION[fitting[0] if fitting else max(_RETENTION)]
