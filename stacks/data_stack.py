"""Tables, keys and buckets: everything that holds state, so it can outlive the API stack."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lendbridge_infra.config import StageConfig

S = dynamodb.AttributeType.STRING


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.data_key = kms.Key(
            self,
            "DataKey",
            description="Lendbridge tables and buckets at rest",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )
        self.bank_data_key = kms.Key(
            self,
            "BankDataKey",
            description="Lendbridge bank account numbers (attribute-level encryption)",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )

        # Loans, participants, users, email lookups, history and funding points (single table).
        self.main_table = self._table("MainTable", stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        self._index(self.main_table, "borrower-collection", "GSI1PK", "GSI1SK")
        self._index(self.main_table, "lender-invitations", "GSI2PK", "GSI2SK")
        self._index(self.main_table, "borrower-loans", "GSI3PK", "GSI3SK", dynamodb.ProjectionType.KEYS_ONLY)
        self._index(self.main_table, "participant-by-id", "GSI4PK", None, dynamodb.ProjectionType.KEYS_ONLY)

        # Append-only audit log: functions may only PutItem here.
        self.audit_table = self._table("AuditTable")

        # Powertools idempotency records (24 h) and rate-limit windows; both expire by TTL.
        self.idempotency_table = self._table("IdempotencyTable", partition="id", sort=None, ttl="expiration")
        self.rate_limit_table = self._table("RateLimitTable", partition="pk", sort=None, ttl="expires_at")

        # Webhook subscriptions and their delivery attempts.
        self.webhook_table = self._table("WebhookTable", stream=dynamodb.StreamViewType.NEW_IMAGE)
        self._index(self.webhook_table, "by-owner", "GSI1PK", "GSI1SK")

        # Commercial loan bookings, their documents' metadata and extracted fields.
        self.booking_table = self._table("BookingTable")
        self._index(self.booking_table, "by-owner", "GSI1PK", "GSI1SK")

        # CloudFormation cannot delete a bucket that holds objects (or versions): a stage that
        # destroys its buckets must empty them first, or deleting the stack fails half-way.
        self._empties_buckets_on_delete = not config.removal_retain
        # Log delivery cannot write with a KMS key, so the log bucket uses S3-managed keys.
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=config.removal_policy,
            auto_delete_objects=self._empties_buckets_on_delete,
        )
        self.documents_bucket = s3.Bucket(
            self,
            "DocumentsBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.data_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="documents/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=cdk.Duration.days(90))],
            removal_policy=config.removal_policy,
            auto_delete_objects=self._empties_buckets_on_delete,
        )

        self.pagination_secret = secretsmanager.Secret(
            self,
            "PaginationSecret",
            description="HMAC key that signs pagination tokens",
            encryption_key=self.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )
        # Its own key, not one derived from the pagination key: the two rotate for different
        # reasons, and a leaked cursor key must not open the idempotency fingerprints.
        self.idempotency_secret = secretsmanager.Secret(
            self,
            "IdempotencySecret",
            description="HMAC key that fingerprints idempotent requests",
            encryption_key=self.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )

    def _table(
        self,
        construct_id: str,
        *,
        partition: str = "PK",
        sort: str | None = "SK",
        ttl: str | None = None,
        stream: dynamodb.StreamViewType | None = None,
    ) -> dynamodb.Table:
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(name=partition, type=S),
            sort_key=dynamodb.Attribute(name=sort, type=S) if sort else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.data_key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self.config.deletion_protection,
            removal_policy=self.config.removal_policy,
            time_to_live_attribute=ttl,
            stream=stream,
        )

    @staticmethod
    def _index(
        table: dynamodb.Table,
        name: str,
        partition: str,
        sort: str | None,
        projection: dynamodb.ProjectionType = dynamodb.ProjectionType.ALL,
    ) -> None:
        table.add_global_secondary_index(
            index_name=name,
            partition_key=dynamodb.Attribute(name=partition, type=S),
            sort_key=dynamodb.Attribute(name=sort, type=S) if sort else None,
            projection_type=projection,
        )
