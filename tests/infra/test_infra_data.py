"""Tables, keys and buckets: encryption, recovery, TTL, indexes, retention per stage, no public data."""

from __future__ import annotations

import pytest

from tests.infra.support import Synth, as_list, flatten, ref_id

MAIN_TABLE_INDEXES = {
    "borrower-collection": None,
    "lender-invitations": None,
    "borrower-loans": "KEYS_ONLY",
    "participant-by-id": "KEYS_ONLY",
}
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::S3::Bucket",
    "AWS::Cognito::UserPool",
    "AWS::Logs::LogGroup",
)
RETAINING_POLICIES = {"Retain", "RetainExceptOnCreate"}
ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}
PUBLIC_ACLS = {"PublicRead", "PublicReadWrite", "AuthenticatedRead"}


def test_every_table_is_on_demand_with_point_in_time_recovery_and_a_customer_managed_key(synth: Synth) -> None:
    tables = synth.all_resources("AWS::DynamoDB::Table")
    assert len(tables) >= 4, "main, audit, idempotency and rate-limit tables at least"
    for stack, logical_id, table in tables:
        properties = table["Properties"]
        assert properties.get("BillingMode") == "PAY_PER_REQUEST", logical_id
        assert properties.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is True, (
            logical_id
        )
        sse = properties.get("SSESpecification", {})
        assert sse.get("SSEEnabled") is True, logical_id
        assert sse.get("SSEType") == "KMS", logical_id
        # Customer managed: the key is a KMS key of this app, not the AWS owned or AWS managed key.
        assert ref_id(sse.get("KMSMasterKeyId")) in synth.resources(stack, "AWS::KMS::Key"), logical_id


@pytest.mark.parametrize(
    ("table", "ttl_attribute"), [("idempotency_table", "expiration"), ("rate_limit_table", "expires_at")]
)
def test_expiring_tables_have_time_to_live(synth: Synth, table: str, ttl_attribute: str) -> None:
    properties = synth.resource_of("data", getattr(synth.stacks.data, table))["Properties"]
    assert properties.get("TimeToLiveSpecification") == {"AttributeName": ttl_attribute, "Enabled": True}


def test_main_table_has_its_four_indexes_and_a_full_image_stream(synth: Synth) -> None:
    properties = synth.resource_of("data", synth.stacks.data.main_table)["Properties"]
    projections = {
        index["IndexName"]: index["Projection"]["ProjectionType"]
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    assert set(projections) == set(MAIN_TABLE_INDEXES)
    for name, projection in MAIN_TABLE_INDEXES.items():
        if projection:
            assert projections[name] == projection, name
    assert properties.get("StreamSpecification") == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize("resource_type", STATEFUL_TYPES)
def test_prod_retains_stateful_resources(prod: Synth, resource_type: str) -> None:
    found = prod.all_resources(resource_type)
    assert found, f"prod has no {resource_type}"
    for _, logical_id, resource in found:
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


@pytest.mark.parametrize("resource_type", STATEFUL_TYPES)
def test_dev_retains_nothing(dev: Synth, resource_type: str) -> None:
    found = dev.all_resources(resource_type)
    assert found, f"dev has no {resource_type}"
    for _, logical_id, resource in found:
        assert resource.get("DeletionPolicy", "Delete") not in RETAINING_POLICIES, logical_id
        assert resource.get("UpdateReplacePolicy", "Delete") not in RETAINING_POLICIES, logical_id


def test_deletion_protection_only_in_prod(synth: Synth) -> None:
    protected = synth.stage == "prod"
    tables = synth.all_resources("AWS::DynamoDB::Table")
    assert tables
    for _, logical_id, table in tables:
        assert table["Properties"].get("DeletionProtectionEnabled", False) is protected, logical_id
    pools = synth.all_resources("AWS::Cognito::UserPool")
    assert len(pools) == 1
    assert pools[0][2]["Properties"].get("DeletionProtection", "INACTIVE") == ("ACTIVE" if protected else "INACTIVE")


def test_buckets_block_public_access_and_are_encrypted(synth: Synth) -> None:
    buckets = synth.all_resources("AWS::S3::Bucket")
    assert buckets
    for _, logical_id, bucket in buckets:
        properties = bucket["Properties"]
        assert properties.get("PublicAccessBlockConfiguration") == ALL_PUBLIC_ACCESS_BLOCKED, logical_id
        rules = properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        assert rules, logical_id
        for rule in rules:
            algorithm = rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            assert algorithm in {"AES256", "aws:kms", "aws:kms:dsse"}, logical_id
        assert properties.get("AccessControl") not in PUBLIC_ACLS, logical_id
        assert "WebsiteConfiguration" not in properties, logical_id


def test_every_bucket_policy_denies_insecure_transport(synth: Synth) -> None:
    buckets = synth.all_resources("AWS::S3::Bucket")
    assert buckets
    for stack, logical_id, _ in buckets:
        policies = [
            policy["Properties"]["PolicyDocument"]
            for policy in synth.resources(stack, "AWS::S3::BucketPolicy").values()
            if ref_id(policy["Properties"]["Bucket"]) == logical_id
        ]
        assert len(policies) == 1, f"{logical_id} has {len(policies)} bucket policies"
        denials = [
            statement
            for statement in as_list(policies[0].get("Statement"))
            if statement.get("Effect") == "Deny"
            and str(statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and "s3:*" in as_list(statement.get("Action"))
        ]
        assert denials, logical_id
        covered = {flatten(resource) for resource in as_list(denials[0].get("Resource"))}
        assert covered >= {f"${{{logical_id}.Arn}}", f"${{{logical_id}.Arn}}/*"}, logical_id


def test_no_bucket_policy_grants_anyone(synth: Synth) -> None:
    policies = synth.all_resources("AWS::S3::BucketPolicy")
    assert policies
    for _, logical_id, policy in policies:
        for statement in as_list(policy["Properties"]["PolicyDocument"].get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            principal = statement.get("Principal")
            principals = as_list(principal.get("AWS")) if isinstance(principal, dict) else as_list(principal)
            assert "*" not in principals, f"{logical_id} allows anonymous access: {statement}"
            assert "NotPrincipal" not in statement, logical_id


def test_buckets_that_are_destroyed_are_emptied_first(synth: Synth) -> None:
    """CloudFormation refuses to delete a bucket that holds objects: a stage whose buckets are
    destroyed with the stack must empty them (CDK's auto-delete custom resource); a stage that
    retains them must not delete a single object."""
    buckets = synth.resources("data", "AWS::S3::Bucket")
    assert buckets
    emptied = {
        ref_id(resource["Properties"]["BucketName"])
        for _, _, resource in synth.all_resources("Custom::S3AutoDeleteObjects")
    }
    for logical_id, bucket in buckets.items():
        destroyed = bucket.get("DeletionPolicy", "Delete") not in RETAINING_POLICIES
        assert (logical_id in emptied) is destroyed, f"{synth.stage} {logical_id}: destroyed={destroyed}"
