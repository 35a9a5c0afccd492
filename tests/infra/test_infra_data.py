"""Tables and keys: encryption, recovery, TTL, indexes, retention per stage; nothing provisioned ahead of its code."""

from __future__ import annotations

import pytest

from tests.infra.support import Synth, flatten, ref_id

MAIN_TABLE_INDEXES = {
    "borrower-collection": None,
    "lender-invitations": None,
    "participant-by-id": "KEYS_ONLY",
}
STATEFUL_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::Cognito::UserPool",
    "AWS::Logs::LogGroup",
)
RETAINING_POLICIES = {"Retain", "RetainExceptOnCreate"}


def test_every_table_is_on_demand_with_point_in_time_recovery_and_a_customer_managed_key(synth: Synth) -> None:
    tables = synth.all_resources("AWS::DynamoDB::Table")
    assert len(tables) >= 3, "main, audit and idempotency tables at least"
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


def test_every_table_and_bucket_is_named_to_some_function(synth: Synth) -> None:
    """A table or bucket no function is told about is a resource no code uses: it is added with
    the module that uses it, not before (webhooks, bookings and their documents have
    not landed). A bucket that only receives another bucket's access logs comes with that bucket."""
    environments = " ".join(
        flatten(value)
        for _, _, function in synth.all_resources("AWS::Lambda::Function")
        for value in function["Properties"].get("Environment", {}).get("Variables", {}).values()
    )
    tables = synth.resources("data", "AWS::DynamoDB::Table")
    assert tables
    log_buckets = {
        ref_id(bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"])
        for _, _, bucket in synth.all_resources("AWS::S3::Bucket")
        if "LoggingConfiguration" in bucket["Properties"]
    }
    buckets = [logical_id for _, logical_id, _ in synth.all_resources("AWS::S3::Bucket")]
    for logical_id in [*tables, *buckets]:
        if logical_id not in log_buckets:
            assert logical_id in environments, f"no function is told the name of {logical_id}"
