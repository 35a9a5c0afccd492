"""Least-privilege grants: exactly the named actions, on the table and only the named indexes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs


def grant_table(
    grantee: iam.IGrantable,
    table: dynamodb.ITable,
    actions: Sequence[str],
    indexes: Sequence[str] = (),
) -> None:
    resources = [table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes)]
    grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))


def grant_secret_read(grantee: iam.IGrantable, secret_arn: str) -> None:
    """Read one secret through the grantee's own policy. (``Secret.grant_read`` would also edit
    the KMS key policy in the data stack, which makes the stacks depend on each other.)"""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=[secret_arn]
        )
    )


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    """SendMessage and nothing else (``Queue.grant_send_messages`` adds GetQueueAttributes and
    GetQueueUrl, which a producer given the queue's URL never calls). An SQS-managed key needs
    no KMS grant."""
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn])
    )
