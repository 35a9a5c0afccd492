"""Tables, keys and secrets: everything that holds state, so it can outlive the API stack."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lendbridge.data import names
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
        self.main_table = self._table(names.MAIN_TABLE, stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES)
        self._index(self.main_table, names.BORROWER_COLLECTION)
        self._index(self.main_table, names.LENDER_INVITATIONS)
        self._index(self.main_table, names.PARTICIPANT_BY_ID, dynamodb.ProjectionType.KEYS_ONLY)

        # Append-only audit log: functions may only PutItem here.
        self.audit_table = self._table(names.AUDIT_TABLE)

        # Powertools idempotency records (24 h), expiring by TTL.
        self.idempotency_table = self._table(
            names.IDEMPOTENCY_TABLE, partition=names.IDEMPOTENCY_KEY, sort=None, ttl=names.IDEMPOTENCY_EXPIRY
        )

        # Tables and buckets of modules that have not landed (webhooks, commercial
        # bookings and their documents) are added with the code that uses them, not before.

        # Rate-limit counters: one small item per caller (or keyed address or email) and window.
        self.rate_limit_table = self._table(
            names.RATE_LIMIT_TABLE, partition=names.PK, sort=None, ttl=names.RATE_LIMIT_EXPIRY
        )
        # Turns source addresses and emails into counter keys that cannot be reversed by guessing.
        self.rate_limit_secret = secretsmanager.Secret(
            self,
            "RateLimitKeySecret",
            description="HMAC key that turns addresses and emails into rate-limit counter keys",
            encryption_key=self.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=config.removal_policy,
        )
        # Webhook subscriptions, their delivery attempts (expiring) and each loan's lenders
        # (stacks/webhooks_stack.py; keys in lendbridge/data/webhooks.py).
        self.webhooks_table = self._table(names.WEBHOOKS_TABLE, ttl=names.WEBHOOKS_EXPIRY)

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
        partition: str = names.PK,
        sort: str | None = names.SK,
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
        table: dynamodb.Table, name: str, projection: dynamodb.ProjectionType = dynamodb.ProjectionType.ALL
    ) -> None:
        partition, sort = names.INDEX_KEYS[name]
        table.add_global_secondary_index(
            index_name=name,
            partition_key=dynamodb.Attribute(name=partition, type=S),
            sort_key=dynamodb.Attribute(name=sort, type=S) if sort else None,
            projection_type=projection,
        )
