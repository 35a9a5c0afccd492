"""Least-privilege grants: exactly the named actions, on the table and only the named indexes."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam


def grant_table(
    grantee: iam.IGrantable,
    table: dynamodb.ITable,
    actions: Sequence[str],
    indexes: Sequence[str] = (),
) -> None:
    resources = [table.table_arn, *(f"{table.table_arn}/index/{name}" for name in indexes)]
    grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
