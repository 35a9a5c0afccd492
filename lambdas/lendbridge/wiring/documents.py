"""Document storage and the extraction queue from a function's environment (set by the
bookings stack): shared by the bookings API function and the two workers."""

from __future__ import annotations

import boto3
from botocore.config import Config

from lendbridge.aws import BOTO_CONFIG, client
from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.data.extraction_queue import SqsExtractionQueue
from lendbridge.document_settings import DocumentSettings

__all__ = ["S3_CONFIG", "DocumentSettings", "document_storage", "extraction_queue"]

# Presigned URLs must be SigV4 (the only signature that can bind headers, and the only one
# newer regions accept); the rest is the project's shared configuration.
S3_CONFIG = BOTO_CONFIG.merge(Config(signature_version="s3v4"))


def document_storage(settings: DocumentSettings) -> S3DocumentStorage:
    s3 = boto3.session.Session().client("s3", config=S3_CONFIG)
    return S3DocumentStorage(s3, settings.bucket)


def extraction_queue(settings: DocumentSettings) -> SqsExtractionQueue:
    return SqsExtractionQueue(client("sqs"), settings.extraction_queue_url)
