"""Commercial loan bookings' documents and extraction: the documents bucket that clients upload
to through presigned URLs, the S3 event path that checks each upload (upload queue and worker),
and the extraction queue with the extractor that reads documents with the stage's model.

The bookings API function lives in the API stack, with every other route; it is handed the
bucket and the extraction queue here (``grant_api``), which makes the API stack depend on this
one and never the reverse.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lendbridge.data import names
from lendbridge_infra.bundling import LAMBDAS_ROOT
from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction
from lendbridge_infra.grants import grant_send, grant_table
from stacks.data_stack import DataStack

# Object keys are documents/{booking_id}/{document_id}, server-generated (lendbridge.domain).
DOCUMENT_PREFIX = names.DOCUMENT_PREFIX
# Uploads arrive tagged unverified (the presigned PUT signs the x-amz-tagging header); the upload
# worker removes the tag from an accepted document. A tagged object is one no check accepted
# (the worker failed for good, or the document went away meanwhile): lifecycle expires it.
UNVERIFIED_TAG = (names.UNVERIFIED_TAG_KEY, names.UNVERIFIED_TAG_VALUE)
UNVERIFIED_EXPIRY = cdk.Duration.days(3)
INCOMPLETE_UPLOAD_EXPIRY = cdk.Duration.days(1)
ACCESS_LOG_EXPIRY = cdk.Duration.days(365)

UPLOAD_WORKER_TIMEOUT = cdk.Duration.seconds(60)
UPLOAD_MAX_RECEIVES = 5
# A Converse call on a large document takes up to a minute or two; botocore's adaptive retries
# on throttling come on top.
EXTRACTOR_TIMEOUT = cdk.Duration.minutes(3)
# pypdf (a PDF over 4.5 MB is split by pages) and Pillow (TIFF to PNG), which the layer lacks.
EXTRACTOR_REQUIREMENTS = LAMBDAS_ROOT / "extractor-requirements.txt"
# Receives before an extraction is final: the last one marks it FAILED and the message moves to
# the dead-letter queue. With the visibility timeout below, throttling is retried for ~40 min.
EXTRACTION_MAX_RECEIVES = 3
# Lambda's advice for SQS sources: at least six times the function's timeout.
SQS_VISIBILITY_FACTOR = 6

ITEM_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
ITEM_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]


class BookingsStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.dead_letter_queues: list[sqs.Queue] = []
        # Documents are their own data class (signed agreements, tax ids): their own key, so
        # access to them can be granted, audited and revoked apart from the tables'.
        self.documents_key = kms.Key(
            self,
            "DocumentsKey",
            description="Lendbridge commercial loan documents at rest",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )
        self.access_logs = self._access_log_bucket()
        self.bucket = self._documents_bucket()
        # checkov's reasons, on the resources they concern (docs/decisions.md has the long form).
        _checkov_skip(self.bucket, "CKV_AWS_21", "Unversioned on purpose: rejected and deleted documents must be gone")
        _checkov_skip(self.access_logs, "CKV_AWS_21", "Access logs are written once and expire; nothing to restore")
        _checkov_skip(self.access_logs, "CKV_AWS_18", "The access-log bucket itself; logging it would recurse")

        self.upload_queue = self._queue("UploadQueue", UPLOAD_WORKER_TIMEOUT, UPLOAD_MAX_RECEIVES)
        self.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.upload_queue),
            s3.NotificationKeyFilter(prefix=DOCUMENT_PREFIX),
        )
        # CDK configures the notification through a singleton custom-resource function of its own.
        self.notifications_handler = next(
            child for child in self.node.children if child.node.id.startswith("BucketNotificationsHandler")
        )
        self.extraction_queue = self._queue("ExtractionQueue", EXTRACTOR_TIMEOUT, EXTRACTION_MAX_RECEIVES)

        environment = {
            "MAIN_TABLE": data.main_table.table_name,
            "AUDIT_TABLE": data.audit_table.table_name,
            **self.document_environment(),
        }
        self.upload_worker = LendbridgeFunction(
            self,
            "UploadEventsFn",
            config=config,
            module="lendbridge.handlers.upload_events",
            description="Checks each uploaded document against its declaration: UPLOADED or REJECTED",
            environment=environment,
            timeout=UPLOAD_WORKER_TIMEOUT,
        ).function
        self.extractor = LendbridgeFunction(
            self,
            "ExtractorFn",
            config=config,
            module="lendbridge.handlers.extractor",
            description="Extracts booking-sheet fields from an uploaded document",
            environment=environment,
            memory_mb=1024,
            timeout=EXTRACTOR_TIMEOUT,
            requirements=EXTRACTOR_REQUIREMENTS,
        ).function
        self._grant_workers(data)
        self.upload_worker.add_event_source(
            sources.SqsEventSource(self.upload_queue, batch_size=10, report_batch_item_failures=True, max_concurrency=2)
        )
        # One document per invocation, two at a time: Bedrock's per-model quotas are small, and
        # a burst of extractions waits in the queue (its age is alarmed) rather than throttling.
        self.extractor.add_event_source(
            sources.SqsEventSource(
                self.extraction_queue, batch_size=1, report_batch_item_failures=True, max_concurrency=2
            )
        )

    # --- what the API's bookings function is given -------------------------------------------

    def document_environment(self) -> dict[str, str]:
        config = self.config
        return {
            "DOCUMENTS_BUCKET": self.bucket.bucket_name,
            "EXTRACTION_QUEUE_URL": self.extraction_queue.queue_url,
            "EXTRACTION_MAX_RECEIVES": str(EXTRACTION_MAX_RECEIVES),
            "READER_KIND": config.extraction_reader,
            "MODEL_ID": config.extraction_model_id,
            "KNOWLEDGE_BASE_ID": config.knowledge_base_id or "",
            "DATA_SOURCE_ID": config.knowledge_base_data_source_id or "",
        }

    def grant_api(self, bookings: iam.IGrantable) -> None:
        """The bookings function signs upload and download URLs (a presigned request carries
        the signer's permissions: PutObject with its tagging, GetObject, and the key to encrypt
        and decrypt), deletes a deleted document's object, and queues extractions."""
        bookings.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:DeleteObject"],
                resources=[self.documents_arn],
            )
        )
        self.documents_key.grant(bookings, "kms:GenerateDataKey", "kms:Decrypt")
        grant_send(bookings, self.extraction_queue)

    def grant_readiness(self, health: iam.IGrantable) -> None:
        """The readiness probe asks whether the bucket and the extraction queue answer."""
        health.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{self.bucket_name}"]
            )
        )
        health.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["sqs:GetQueueAttributes"], resources=[self.extraction_queue.queue_arn])
        )
        if self.config.extraction_reader == "bedrock":
            health.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["bedrock:GetFoundationModel"], resources=[self.model_arn])
            )

    @property
    def bucket_name(self) -> str:
        """Known at synth (bucket names are global, hence account and region): other stacks
        name the bucket's objects in their policies without an export of its ARN."""
        return f"{self.config.resource_name('documents')}-{cdk.Aws.ACCOUNT_ID}-{cdk.Aws.REGION}"

    @property
    def documents_arn(self) -> str:
        """The bucket's document objects (documents/*), by the bucket's known name."""
        return f"arn:{cdk.Aws.PARTITION}:s3:::{self.bucket_name}/{DOCUMENT_PREFIX}*"

    @property
    def model_arn(self) -> str:
        # Foundation models have no account in their ARN.
        return self.format_arn(
            service="bedrock",
            account="",
            resource="foundation-model",
            resource_name=self.config.extraction_model_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def knowledge_base_arn(self) -> str | None:
        if not self.config.knowledge_base_id:
            return None
        return self.format_arn(
            service="bedrock",
            resource="knowledge-base",
            resource_name=self.config.knowledge_base_id,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    # --- resources ---------------------------------------------------------------------------

    def _access_log_bucket(self) -> s3.Bucket:
        # S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys.
        return s3.Bucket(
            self,
            "DocumentsAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=ACCESS_LOG_EXPIRY)],
            removal_policy=self.config.removal_policy,
            auto_delete_objects=not self.config.removal_retain,
        )

    def _documents_bucket(self) -> s3.Bucket:
        tag_key, tag_value = UNVERIFIED_TAG
        return s3.Bucket(
            self,
            "DocumentsBucket",
            bucket_name=self.bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.documents_key,
            # One data key per bucket instead of a KMS call per object.
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Off on purpose (docs/decisions.md): a key is written once, and a rejected or
            # deleted document must be gone, not kept as a noncurrent version.
            versioned=False,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="documents-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOAD_EXPIRY,
                ),
                s3.LifecycleRule(
                    id="expire-unverified-uploads",
                    prefix=DOCUMENT_PREFIX,
                    tag_filters={tag_key: tag_value},
                    expiration=UNVERIFIED_EXPIRY,
                ),
            ],
            # Browsers upload and download straight from S3, from the stage's origins only.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET],
                    allowed_origins=self.config.cors_origins,
                    allowed_headers=["Content-Type", "x-amz-tagging"],
                    max_age=3000,
                )
            ],
            removal_policy=self.config.removal_policy,
            auto_delete_objects=not self.config.removal_retain,
        )

    def _queue(self, construct_id: str, consumer_timeout: cdk.Duration, max_receives: int) -> sqs.Queue:
        # Messages carry object keys or ids, never document content: SQS-managed encryption,
        # which S3 notifications can deliver to without a key policy.
        dead_letters = sqs.Queue(
            self,
            f"{construct_id}Dlq",
            # Known at synth, so the monitoring stack's alarms need no export of it.
            queue_name=self.config.resource_name(f"{construct_id}Dlq"),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.dead_letter_queues.append(dead_letters)
        return sqs.Queue(
            self,
            construct_id,
            queue_name=self.config.resource_name(construct_id),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(4),
            visibility_timeout=cdk.Duration.seconds(consumer_timeout.to_seconds() * SQS_VISIBILITY_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receives),
        )

    def _grant_objects(self, grantee: iam.IGrantable, actions: list[str]) -> None:
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self.bucket.arn_for_objects(f"{DOCUMENT_PREFIX}*")])
        )

    def _grant_workers(self, data: DataStack) -> None:
        for worker in (self.upload_worker, self.extractor):
            grant_table(worker, data.main_table, [*ITEM_READ, *ITEM_WRITE])
            grant_table(worker, data.audit_table, ["dynamodb:PutItem"])
            data.data_key.grant(worker, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
            self.documents_key.grant(worker, "kms:Decrypt")
        # The upload worker reads the object once, deletes a rejected one and untags an accepted one.
        self._grant_objects(self.upload_worker, ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectTagging"])
        self._grant_objects(self.extractor, ["s3:GetObject"])
        if self.config.extraction_reader == "bedrock":
            # The Converse API is authorized as InvokeModel, on the stage's model only.
            self.extractor.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[self.model_arn])
            )
        kb = self.knowledge_base_arn
        if kb is not None:
            self.upload_worker.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(actions=["bedrock:IngestKnowledgeBaseDocuments"], resources=[kb])
            )
        self.functions: list[lambda_.Function] = [self.upload_worker, self.extractor]


def _checkov_skip(bucket: s3.Bucket, check: str, reason: str) -> None:
    resource = bucket.node.default_child
    if not isinstance(resource, cdk.CfnResource):
        raise TypeError(f"{bucket.node.path} has no CloudFormation resource")
    skips = dict(resource.get_metadata("checkov") or {"skip": []})
    resource.add_metadata("checkov", {"skip": [*skips["skip"], {"id": check, "comment": reason}]})
