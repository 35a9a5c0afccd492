"""Every resource the local stack emulates is created from the synthesized dev template: the
tests walk the template, so a resource added to a stack is checked here with no change."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import LocalLendbridge
from local.template import friendly


def declared(stack: LocalLendbridge, resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = stack.assembly.resources(resource_type)
    return [(s, logical_id, resource.get("Properties", {})) for s, logical_id, resource in found]


def bound(stack: LocalLendbridge, stack_name: str, logical_id: str) -> dict[str, str]:
    return stack.assembly.physical[(stack_name, logical_id)]


def test_every_table_has_the_templates_keys_and_indexes(stack: LocalLendbridge) -> None:
    dynamodb = stack.aws_client("dynamodb")
    tables = declared(stack, "AWS::DynamoDB::Table")
    assert tables, "the dev template declares tables"
    for stack_name, logical_id, properties in tables:
        name = bound(stack, stack_name, logical_id)["Ref"]
        assert name == f"lendbridge-local-{friendly(logical_id)}"
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == properties["KeySchema"]
        wanted = {index["IndexName"]: index["KeySchema"] for index in properties.get("GlobalSecondaryIndexes", [])}
        assert {index["IndexName"]: index["KeySchema"] for index in table.get("GlobalSecondaryIndexes", [])} == wanted
        if "StreamSpecification" in properties:
            assert table["StreamSpecification"]["StreamViewType"] == properties["StreamSpecification"]["StreamViewType"]


def test_the_user_pool_enforces_the_templates_password_policy_and_sign_in(stack: LocalLendbridge) -> None:
    cognito = stack.aws_client("cognito-idp")
    for stack_name, logical_id, properties in declared(stack, "AWS::Cognito::UserPool"):
        pool = cognito.describe_user_pool(UserPoolId=bound(stack, stack_name, logical_id)["Ref"])["UserPool"]
        policy = {
            key: value for key, value in pool["Policies"]["PasswordPolicy"].items() if key != "PasswordHistorySize"
        }
        assert policy == properties["Policies"]["PasswordPolicy"]
        assert pool["UsernameAttributes"] == properties["UsernameAttributes"]
    for stack_name, logical_id, properties in declared(stack, "AWS::Cognito::UserPoolClient"):
        pool_id = stack.assembly.resolve(stack_name, properties["UserPoolId"])
        client_id = bound(stack, stack_name, logical_id)["Ref"]
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
        assert sorted(client["ExplicitAuthFlows"]) == sorted(properties["ExplicitAuthFlows"])


def test_buckets_keys_secrets_topics_and_queues_exist_in_moto(stack: LocalLendbridge) -> None:
    s3, kms, secrets = stack.aws_client("s3"), stack.aws_client("kms"), stack.aws_client("secretsmanager")
    sns, sqs = stack.aws_client("sns"), stack.aws_client("sqs")
    for stack_name, logical_id, properties in declared(stack, "AWS::S3::Bucket"):
        name = bound(stack, stack_name, logical_id)["Ref"]
        s3.head_bucket(Bucket=name)
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    for stack_name, logical_id, _ in declared(stack, "AWS::KMS::Key"):
        assert kms.describe_key(KeyId=bound(stack, stack_name, logical_id)["Arn"])["KeyMetadata"]["Enabled"]
    for stack_name, logical_id, properties in declared(stack, "AWS::SecretsManager::Secret"):
        value = secrets.get_secret_value(SecretId=bound(stack, stack_name, logical_id)["Ref"])["SecretString"]
        spec = properties.get("GenerateSecretString", {})
        assert len(value) == spec.get("PasswordLength", 32)
        if spec.get("ExcludePunctuation"):
            assert value.isalnum()
    for stack_name, logical_id, properties in declared(stack, "AWS::SNS::Topic"):
        attributes = sns.get_topic_attributes(TopicArn=bound(stack, stack_name, logical_id)["Ref"])["Attributes"]
        assert attributes.get("DisplayName", "") == properties.get("DisplayName", "")
    for stack_name, logical_id, properties in declared(stack, "AWS::SQS::Queue"):
        url = bound(stack, stack_name, logical_id)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if "MessageRetentionPeriod" in properties:
            assert attributes["MessageRetentionPeriod"] == str(properties["MessageRetentionPeriod"])


@pytest.mark.parametrize(
    "variable", ["MAIN_TABLE", "USER_POOL_ID", "USER_POOL_CLIENT_ID", "PAGINATION_SECRET_ID", "IDEMPOTENCY_SECRET_ID"]
)
def test_function_environments_name_the_local_resources(stack: LocalLendbridge, variable: str) -> None:
    physical = {value["Ref"] for value in stack.assembly.physical.values()}
    environments = [pool.function.environment for pool in stack.pools.values() if variable in pool.function.environment]
    assert environments, f"some function reads {variable}"
    for environment in environments:
        assert environment[variable] in physical
