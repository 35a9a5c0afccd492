"""cdk-nag acknowledgements, each with the specific reason the rule does not apply.

Acknowledged at the narrowest construct that raises the finding, never app-wide; which constructs
those are is the app assembly's knowledge (stacks/app.py), the reasons are kept here.
"""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct

BASIC_EXECUTION_ROLE = (
    "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]"
)

REASONS = {
    "IAM4-basic-execution": (
        "AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents, "
        "which every function needs for its own log group."
    ),
    "IAM5-xray": "X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions.",
    "IAM5-stream-consumer": (
        "dynamodb:ListStreams has no resource-level permission (it lists the account's streams, so IAM "
        "accepts only Resource '*'); CDK's DynamoDB event source grants it for the stream mapping. The "
        "stream itself (DescribeStream, GetRecords, GetShardIterator) is granted on its own ARN only. "
        "X-Ray PutTraceSegments and PutTelemetryRecords, in the same policy, have no resource-level "
        "permissions either."
    ),
    "L1": (
        "Pinned to Python 3.13 because the Powertools layer is resolved for that runtime (the public SSM "
        "parameter names it); moving runtime moves the layer with it (lendbridge_infra/powertools.py)."
    ),
    "APIG4": "Public by contract: health probes, registration and login are reached before a token exists.",
    "COG4": "Public by contract: health probes, registration and login are reached before a token exists.",
    "APIG6": (
        "Execution logging can write request and response bodies, which carry bank and personal data; "
        "the JSON access log records request id, caller, status and latency instead."
    ),
    "APIG2": (
        "Requests are validated in each function by pydantic models generated from the same routes, which "
        "answer the contract's 400 VALIDATION_ERROR with field_errors; an API Gateway validator would answer "
        "its own 400 without them first, and one attached to no method validates nothing."
    ),
    "IAM4-apigateway-logs": (
        "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for API Gateway's account-level "
        "CloudWatch Logs role; API Gateway writes every stage's access logs in the account with it, so its "
        "log groups cannot be listed in advance."
    ),
    "APIG3-dev": "The dev stage runs without WAF to keep costs down; prod attaches a WebACL (waf_enabled).",
    "COG2": (
        "MFA is optional (TOTP offered) for marketplace users; the contract's login is password based and "
        "threat protection runs in full-function mode."
    ),
    "IAM5-documents": (
        "Object actions on the documents bucket are granted on its documents/ prefix (documents/<booking>/"
        "<document>): object keys are generated per upload, so no narrower resource can be named in advance."
    ),
    "IAM4-bucket-notifications": (
        "CDK's own handler that configures the documents bucket's event notification during deployment "
        "(Custom::S3BucketNotifications); AWSLambdaBasicExecutionRole lets it write its log only."
    ),
    "IAM5-bucket-notifications": (
        "CDK's bucket-notifications handler is one function per stack for every bucket in it, so CDK grants "
        "s3:PutBucketNotification on '*'; it runs only while CloudFormation creates or updates the notification."
    ),
    "S1-access-log-bucket": (
        "This bucket receives the documents bucket's server access logs; logging its own access would "
        "recurse into itself, so it has none."
    ),
    "SQS3": "This queue is itself a dead-letter queue; what fails here is alarmed on (depth > 0), not re-queued.",
    "SMG4": (
        "HMAC key for pagination cursors: rotating it invalidates every outstanding cursor, so it is "
        "rotated by a planned re-deploy (docs/runbook.md), not on a schedule."
    ),
    "SMG4-idempotency": (
        "HMAC key for idempotency fingerprints: after a rotation, retries of the last 24 hours' requests are "
        "refused (422) instead of replayed, so it is rotated when it may have leaked (docs/runbook.md)."
    ),
    "SMG4-rate-limits": (
        "HMAC key for rate-limit counter keys: a rotation starts every address and email on a fresh count "
        "for the current window, so it is rotated when it may have leaked (docs/runbook.md), not on a schedule."
    ),
}


def acknowledge(scope: IConstruct, rule: str, reason_key: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=REASONS[reason_key]))
