"""The AWS-published Powertools for AWS Lambda (Python) layer, at exactly the release the tests run.

The release is read from ``lambdas/requirements.txt`` (the pin every local run and test installs),
never written down a second time. The layer itself is looked up by CloudFormation at deploy time
from the public SSM parameter AWS publishes for each release, runtime and architecture:

    /aws/service/powertools/python/<arm64|x86_64>/<python3.13>/<release>

so synth needs no account and no region, and moving the pin moves the deployed layer with it.
A release that was never published as a layer fails the deploy at the first function, instead of
running another Powertools than the tests did. To check a parameter by hand:

    aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.13/<release>
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

LAMBDA_REQUIREMENTS = Path(__file__).resolve().parent.parent / "lambdas" / "requirements.txt"
_PIN = re.compile(r"^aws-lambda-powertools(?:\[[^\]]*\])?==(?P<version>\d+\.\d+\.\d+)\s*(?:#.*)?$")


def pinned_powertools_version(requirements: Path = LAMBDA_REQUIREMENTS) -> str:
    """The exact release ``requirements`` pins (``aws-lambda-powertools[...]==X.Y.Z``)."""
    found = [match["version"] for line in requirements.read_text().splitlines() if (match := _PIN.match(line.strip()))]
    if len(found) != 1:
        raise ValueError(
            f"{requirements} must pin aws-lambda-powertools to one exact release (==X.Y.Z); "
            f"found {len(found)} such line(s). The deployed layer is chosen from that pin."
        )
    return found[0]


def powertools_layer_parameter(runtime: lambda_.Runtime, architecture: lambda_.Architecture, version: str) -> str:
    # The parameter tree names runtimes and architectures as Lambda does (python3.13, arm64).
    return f"/aws/service/powertools/python/{architecture.name}/{runtime.name}/{version}"


def powertools_layer_arn(runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> str:
    """A CloudFormation dynamic reference that resolves, at deploy time, to the ARN of the layer
    that carries the pinned release for ``runtime`` on ``architecture``."""
    parameter = powertools_layer_parameter(runtime, architecture, pinned_powertools_version())
    return f"{{{{resolve:ssm:{parameter}}}}}"
