"""Document storage and the extraction queue from a function's environment (set by the
bookings stack): shared by the bookings API function and the two workers."""

from __future__ import annotations

from collections.abc import Callable

from botocore.config import Config

from lendbridge.aws import BOTO_CONFIG, client
from lendbridge.data.document_storage import S3DocumentStorage
from lendbridge.data.extraction_queue import SqsExtractionQueue
from lendbridge.document_settings import DocumentSettings
from lendbridge.domain.ports import DocumentStorage, ExtractionQueue, PresignedUpload, StoredObject
from lendbridge.lazy import Lazy

__all__ = [
    "S3_CONFIG",
    "DocumentSettings",
    "QueueOnFirstUse",
    "StorageOnFirstUse",
    "document_storage",
    "extraction_queue",
]

# Presigned URLs must be SigV4 (the only signature that can bind headers, and the only one
# newer regions accept); the rest is the project's shared configuration.
S3_CONFIG = BOTO_CONFIG.merge(Config(signature_version="s3v4"))


def document_storage(settings: DocumentSettings) -> S3DocumentStorage:
    return S3DocumentStorage(client("s3", config=S3_CONFIG), settings.bucket)


def extraction_queue(settings: DocumentSettings) -> SqsExtractionQueue:
    return SqsExtractionQueue(client("sqs"), settings.extraction_queue_url)


class StorageOnFirstUse:
    """Document storage whose S3 client is made by the first call that needs one. Most routes
    of the bookings API never reach S3 (lists, reads, changes of terms), and S3's is the
    costliest client this code makes: its service model is the largest botocore loads."""

    def __init__(self, build: Callable[[], DocumentStorage]) -> None:
        self._storage = Lazy(build)

    def presign_put(self, key: str, content_type: str, size_bytes: int, expires_in: int) -> PresignedUpload:
        return self._storage.get().presign_put(key, content_type, size_bytes, expires_in)

    def presign_get(self, key: str, expires_in: int) -> str:
        return self._storage.get().presign_get(key, expires_in)

    def delete(self, key: str) -> None:
        self._storage.get().delete(key)

    def head(self, key: str) -> StoredObject | None:
        return self._storage.get().head(key)

    def read(self, key: str) -> bytes:
        return self._storage.get().read(key)


class QueueOnFirstUse:
    """The extraction queue, its SQS client made by the first extraction requested."""

    def __init__(self, build: Callable[[], ExtractionQueue]) -> None:
        self._queue = Lazy(build)

    def enqueue(self, booking_id: str, document_id: str, extraction_id: str) -> None:
        self._queue.get().enqueue(booking_id, document_id, extraction_id)
