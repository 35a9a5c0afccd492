"""The API functions' rate limiter: its settings as environment, its least-privilege grants."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_lambda as lambda_

from lendbridge_infra.config import StageConfig
from lendbridge_infra.grants import grant_secret_read, grant_table
from stacks.data_stack import DataStack

# One atomic UpdateItem per counted request; nothing reads, scans or deletes counters (TTL does).
COUNTER_ACTIONS = ["dynamodb:UpdateItem"]


def rate_limit_environment(config: StageConfig, data: DataStack) -> dict[str, str]:
    if config.rate_limits is None:
        raise ValueError(f"stage {config.name!r} has no rate_limits")
    return {
        "RATE_LIMIT_TABLE": data.rate_limit_table.table_name,
        "RATE_LIMIT_KEY_SECRET_ID": data.rate_limit_secret.secret_arn,
        "RATE_LIMITS": config.rate_limits.to_environment(),
    }


def grant_rate_limits(functions: Iterable[lambda_.IFunction], data: DataStack) -> None:
    """Every function that serves limited routes: UpdateItem on the counters (and the data key
    that encrypts them), and the HMAC key for addresses and emails."""
    for function in functions:
        grant_table(function, data.rate_limit_table, COUNTER_ACTIONS)
        data.data_key.grant(function, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        grant_secret_read(function, data.rate_limit_secret.secret_arn)
