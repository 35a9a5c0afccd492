"""The bookings module's documents and extraction: a private, KMS-encrypted, TLS-only bucket with
lifecycle rules for leftovers and access logs; S3 events to the upload queue and worker; the
extraction queue and extractor; and least privilege for every function that touches them."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from lendbridge_infra.config import StageConfig
from stacks.app import cdk_json_context
from stacks.bookings_stack import (
    EXTRACTION_MAX_RECEIVES,
    UPLOAD_MAX_RECEIVES,
    BookingsStack,
)
from stacks.data_stack import DataStack
from tests.infra.support import Synth, ref_id, role_statements

MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _allowed(synth: Synth, stack: str, function: Any) -> dict[str, set[str]]:
    """action -> resources, over every statement of the function's role."""
    properties = synth.resource_of(stack, function)["Properties"]
    allowed: dict[str, set[str]] = {}
    for statement in role_statements(synth, stack, str(ref_id(properties["Role"]))):
        if statement.allows:
            for action in statement.actions:
                allowed.setdefault(action, set()).update(statement.resources)
    return allowed


def _bucket(synth: Synth) -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id("bookings", synth.stacks.bookings.bucket)
    return logical_id, synth.resources("bookings", "AWS::S3::Bucket")[logical_id]["Properties"]


def _queue(synth: Synth, queue: Any) -> tuple[str, dict[str, Any]]:
    logical_id = synth.logical_id("bookings", queue)
    return logical_id, synth.resources("bookings", "AWS::SQS::Queue")[logical_id]["Properties"]


def _documents(synth: Synth) -> str:
    bucket_id, _ = _bucket(synth)
    return f"${{{bucket_id}.Arn}}/documents/*"


def test_the_documents_bucket_is_private_encrypted_with_its_key_and_logged(synth: Synth) -> None:
    bucket_id, bucket = _bucket(synth)
    key_id = synth.logical_id("bookings", synth.stacks.bookings.documents_key)
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert ref_id(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == key_id
    assert rule["BucketKeyEnabled"] is True
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "VersioningConfiguration" not in bucket, "versioning is off by decision (docs/decisions.md)"
    logs_id = synth.logical_id("bookings", synth.stacks.bookings.access_logs)
    assert ref_id(bucket["LoggingConfiguration"]["DestinationBucketName"]) == logs_id
    logs = synth.resources("bookings", "AWS::S3::Bucket")[logs_id]["Properties"]
    # S3 delivers server access logs only to a bucket with S3-managed encryption.
    [log_rule] = logs["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert log_rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    for logical_id in (bucket_id, logs_id):
        [policy] = [
            p["Properties"]["PolicyDocument"]
            for p in synth.resources("bookings", "AWS::S3::BucketPolicy").values()
            if ref_id(p["Properties"]["Bucket"]) == logical_id
        ]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Statement"]
        ), logical_id


def test_lifecycle_expires_unverified_uploads_and_aborts_incomplete_ones(synth: Synth) -> None:
    _, bucket = _bucket(synth)
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    unverified = rules["expire-unverified-uploads"]
    assert unverified["Status"] == "Enabled"
    assert unverified["Prefix"] == "documents/"
    assert unverified["TagFilters"] == [{"Key": "upload", "Value": "unverified"}]
    assert unverified["ExpirationInDays"] == 3


def test_browsers_reach_the_bucket_from_the_stage_origins_only(synth: Synth) -> None:
    _, bucket = _bucket(synth)
    [cors] = bucket["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedOrigins"] == synth.config.cors_origins
    assert set(cors["AllowedMethods"]) == {"PUT", "GET"}


def test_new_objects_notify_the_upload_queue_which_only_this_bucket_may_send_to(synth: Synth) -> None:
    bucket_id, _ = _bucket(synth)
    queue_id, _ = _queue(synth, synth.stacks.bookings.upload_queue)
    [notifications] = synth.resources("bookings", "Custom::S3BucketNotifications").values()
    assert ref_id(notifications["Properties"]["BucketName"]) == bucket_id
    [configuration] = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert configuration["Events"] == ["s3:ObjectCreated:*"]
    assert ref_id(configuration["QueueArn"]) == queue_id
    assert configuration["Filter"] == {"Key": {"FilterRules": [{"Name": "prefix", "Value": "documents/"}]}}
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in synth.resources("bookings", "AWS::SQS::QueuePolicy").values()
        if queue_id in {ref_id(q) for q in p["Properties"]["Queues"]}
    ]
    [s3_send] = [s for s in policy["Statement"] if s.get("Principal") == {"Service": "s3.amazonaws.com"}]
    assert ref_id(s3_send["Condition"]["ArnLike"]["aws:SourceArn"]) == bucket_id


@pytest.mark.parametrize(
    ("queue_attribute", "function_attribute", "max_receives", "batch_size"),
    [
        ("upload_queue", "upload_worker", UPLOAD_MAX_RECEIVES, 10),
        ("extraction_queue", "extractor", EXTRACTION_MAX_RECEIVES, 1),
    ],
)
def test_each_queue_feeds_its_worker_with_partial_failures_and_a_dead_letter_queue(
    synth: Synth, queue_attribute: str, function_attribute: str, max_receives: int, batch_size: int
) -> None:
    bookings = synth.stacks.bookings
    queue_id, queue = _queue(synth, getattr(bookings, queue_attribute))
    function = synth.resource_of("bookings", getattr(bookings, function_attribute))["Properties"]
    function_id = synth.logical_id("bookings", getattr(bookings, function_attribute))
    assert queue["SqsManagedSseEnabled"] is True
    # Lambda's advice: six times the consumer's timeout, so a slow run never shows its message again.
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == max_receives
    dlq_id = ref_id(queue["RedrivePolicy"]["deadLetterTargetArn"])
    assert dlq_id in {synth.logical_id("bookings", dlq) for dlq in bookings.dead_letter_queues}
    dlq = synth.resources("bookings", "AWS::SQS::Queue")[str(dlq_id)]["Properties"]
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    [mapping] = [
        m["Properties"]
        for m in synth.resources("bookings", "AWS::Lambda::EventSourceMapping").values()
        if ref_id(m["Properties"]["FunctionName"]) == function_id
    ]
    assert ref_id(mapping["EventSourceArn"]) == queue_id
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == batch_size


def test_the_extractor_knows_its_last_receive(synth: Synth) -> None:
    extractor = synth.resource_of("bookings", synth.stacks.bookings.extractor)["Properties"]
    variables = extractor["Environment"]["Variables"]
    assert variables["EXTRACTION_MAX_RECEIVES"] == str(EXTRACTION_MAX_RECEIVES)
    assert variables["READER_KIND"] == synth.config.extraction_reader == "bedrock"
    assert variables["MODEL_ID"] == synth.config.extraction_model_id == MODEL_ID


def test_the_extractor_may_invoke_the_stage_model_only_and_read_documents(synth: Synth) -> None:
    allowed = _allowed(synth, "bookings", synth.stacks.bookings.extractor)
    bedrock = {action for action in allowed if action.startswith("bedrock:")}
    assert bedrock == {"bedrock:InvokeModel"}
    [model] = allowed["bedrock:InvokeModel"]
    assert model.endswith(f":bedrock:${{AWS::Region}}::foundation-model/{MODEL_ID}"), model
    s3 = {action for action in allowed if action.startswith("s3:")}
    assert s3 == {"s3:GetObject"}
    assert allowed["s3:GetObject"] == {_documents(synth)}
    key_id = synth.logical_id("bookings", synth.stacks.bookings.documents_key)
    assert allowed["kms:Decrypt"] >= {f"${{{key_id}.Arn}}"}
    assert "kms:GenerateDataKey" not in {a for a, r in allowed.items() if f"${{{key_id}.Arn}}" in r}


def test_the_upload_worker_reads_deletes_and_untags_documents_only(synth: Synth) -> None:
    allowed = _allowed(synth, "bookings", synth.stacks.bookings.upload_worker)
    s3 = {action for action in allowed if action.startswith("s3:")}
    assert s3 == {"s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectTagging"}
    for action in s3:
        assert allowed[action] == {_documents(synth)}, action
    assert not any(action.startswith("bedrock") for action in allowed), "no knowledge base configured"


def test_no_bookings_function_is_granted_anything_on_every_resource(synth: Synth) -> None:
    for function in synth.stacks.bookings.functions:
        allowed = _allowed(synth, "bookings", function)
        wildcard = {action for action, resources in allowed.items() if "*" in resources}
        assert wildcard <= XRAY, (function.node.path, wildcard)


def test_readiness_may_ask_the_bucket_the_queue_and_the_model(synth: Synth) -> None:
    allowed = _allowed(synth, "api", synth.stacks.api.functions["health"])
    assert {a for a in allowed if a.startswith("s3:")} == {"s3:ListBucket"}
    assert {a for a in allowed if a.startswith("sqs:")} == {"sqs:GetQueueAttributes"}
    [model] = allowed["bedrock:GetFoundationModel"]
    assert model.endswith(f"::foundation-model/{MODEL_ID}")
    variables = synth.resource_of("api", synth.stacks.api.functions["health"])["Properties"]["Environment"]["Variables"]
    assert variables["READER_KIND"] == "bedrock"
    assert {"DOCUMENTS_BUCKET", "EXTRACTION_QUEUE_URL"} <= set(variables)


# --- stage settings: a stack of its own with another configuration (no whole-app synth) -------


def _stage(stage: str = "dev", **changes: Any) -> dict[str, Any]:
    context = cdk_json_context()
    settings = dict(context["stages"][stage])
    settings.update(changes)
    context["stages"] = {**context["stages"], stage: settings}
    return context


def _bookings_template(**changes: Any) -> dict[str, Any]:
    app = cdk.App(context=_stage(**changes))
    config = StageConfig.from_context(app, "dev")
    data = DataStack(app, "Data", config=config)
    bookings = BookingsStack(app, "Bookings", config=config, data=data)
    return dict(Template.from_stack(bookings).to_json())


def _statements_with(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """Identity-policy statements naming an action that starts with ``prefix``."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(str(action).startswith(prefix) for action in actions):
                found.append(statement)
    return found


def test_a_configured_knowledge_base_receives_uploads_with_rights_on_it_only() -> None:
    template = _bookings_template(knowledge_base_id="KB12345678", knowledge_base_data_source_id="DS12345678")
    statements = _statements_with(template, "bedrock:Ingest")
    [statement] = statements
    assert statement["Action"] == "bedrock:IngestKnowledgeBaseDocuments"
    resource = json.dumps(statement["Resource"])
    assert "knowledge-base/KB12345678" in resource
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    variables = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions]
    assert any(
        v.get("KNOWLEDGE_BASE_ID") == "KB12345678" and v.get("DATA_SOURCE_ID") == "DS12345678" for v in variables
    )


def test_a_local_reader_stage_has_no_bedrock_rights() -> None:
    template = _bookings_template(extraction_reader="local", extraction_model_id="")
    assert _statements_with(template, "bedrock:") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extraction_reader": "textract"}, "extraction_reader"),
        ({"extraction_model_id": "claude please"}, "extraction_model_id"),
        ({"extraction_model_id": ""}, "extraction_model_id"),
        ({"knowledge_base_id": "KB12345678"}, "go together"),
        ({"knowledge_base_id": "kb-1", "knowledge_base_data_source_id": "DS12345678"}, "knowledge_base_id"),
    ],
)
def test_stage_extraction_settings_are_validated_at_synth(changes: dict[str, Any], message: str) -> None:
    app = cdk.App(context=_stage(**changes))
    with pytest.raises(ValueError, match=message):
        StageConfig.from_context(app, "dev")


def test_prod_must_extract_with_bedrock() -> None:
    app = cdk.App(context=_stage("prod", extraction_reader="local"))
    with pytest.raises(ValueError, match="prod must extract with Bedrock"):
        StageConfig.from_context(app, "prod")


def test_the_bookings_function_signs_for_documents_and_queues_extractions_only(synth: Synth) -> None:
    allowed = _allowed(synth, "api", synth.stacks.api.functions["bookings"])
    s3 = {action for action in allowed if action.startswith("s3:")}
    assert s3 == {"s3:PutObject", "s3:PutObjectTagging", "s3:GetObject", "s3:DeleteObject"}
    named = f"lendbridge-{synth.stage}-documents-"
    for action in s3:
        [resource] = allowed[action]
        # By the bucket's name known at synth: no export of the bucket's ARN to the API stack.
        assert named in resource, resource
        assert resource.endswith("-${AWS::Region}/documents/*"), resource
    [queue] = allowed["sqs:SendMessage"]
    assert "ExtractionQueue" in queue
    assert not any(action.startswith("bedrock:") for action in allowed), "the function only queues extractions"
    _, bucket = _bucket(synth)
    assert named in json.dumps(bucket["BucketName"])


def test_checkov_skips_on_the_buckets_say_why(synth: Synth) -> None:
    bookings = synth.stacks.bookings
    skipped = {
        synth.logical_id("bookings", bucket): {
            skip["id"]: skip["comment"] for skip in synth.resource_of("bookings", bucket)["Metadata"]["checkov"]["skip"]
        }
        for bucket in (bookings.bucket, bookings.access_logs)
    }
    documents, logs = skipped.values()
    assert set(documents) == {"CKV_AWS_21"}, "the documents bucket is logged: only versioning is waived"
    assert set(logs) == {"CKV_AWS_21", "CKV_AWS_18"}
    assert all(len(reason) > 20 for reasons in skipped.values() for reason in reasons.values())
