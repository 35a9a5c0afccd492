"""The AWS-published Powertools for AWS Lambda (Python) layer.

One constant names the layer version; it must carry the same Powertools release that
``lambdas/requirements.txt`` pins for local runs and tests. To check which release a layer
version holds, or to find the newest one in a region:

    aws ssm get-parameter --name /aws/service/powertools/python/arm64/python3.13/latest
    aws lambda get-layer-version-by-arn --arn <arn below, region filled in>

The account 017000801446 is AWS's own publishing account; the version number is the same in
every commercial region.
"""

from __future__ import annotations

import aws_cdk as cdk

POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python313-arm64"
POWERTOOLS_LAYER_VERSION = 27


def powertools_layer_arn(stack: cdk.Stack) -> str:
    return (
        f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    )
