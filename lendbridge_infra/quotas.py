"""Account quotas a stage must fit, checked when the app is built so synth fails before a deploy would.

Lambda refuses a reservation that would leave fewer than 100 concurrent executions unreserved in
the account and region, and new accounts start with quotas far below the 1,000 default.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from lendbridge_infra.config import StageConfig

# Lambda keeps this much of the account's concurrency unreserved, whatever is asked.
LAMBDA_UNRESERVED_MINIMUM = 100


class QuotaExceeded(ValueError):
    pass


def reserved_concurrency(stacks: Iterable[cdk.Stack]) -> dict[str, int]:
    """Construct path -> reserved concurrent executions of every function that reserves some."""
    reserved: dict[str, int] = {}
    for stack in stacks:
        for construct in stack.node.find_all():
            if isinstance(construct, lambda_.CfnFunction) and construct.reserved_concurrent_executions:
                reserved[construct.node.path] = int(construct.reserved_concurrent_executions)
    return reserved


def check_reserved_concurrency(config: StageConfig, stacks: Iterable[cdk.Stack]) -> int:
    """The stage's total reservation; raises QuotaExceeded if the configured quota cannot hold it."""
    reserved = reserved_concurrency(stacks)
    total = sum(reserved.values())
    available = config.lambda_concurrency_quota - LAMBDA_UNRESERVED_MINIMUM
    if total > 0 and total > available:
        listing = ", ".join(f"{path.split('/')[1]}={count}" for path, count in sorted(reserved.items()))
        raise QuotaExceeded(
            f"stage {config.name!r} reserves {total} concurrent Lambda executions ({listing}), but its "
            f"account quota (cdk.json stages.{config.name}.lambda_concurrency_quota = "
            f"{config.lambda_concurrency_quota}) leaves at most {max(available, 0)} to reserve: Lambda keeps "
            f"{LAMBDA_UNRESERVED_MINIMUM} unreserved. Request a quota increase (Service Quotas, Lambda, "
            f"'Concurrent executions') to at least {total + LAMBDA_UNRESERVED_MINIMUM} and update the setting, "
            f"or lower stages.{config.name}.reserved_concurrency."
        )
    return total
