"""Documents in S3: the client uploads and downloads through presigned URLs, so no file passes
through Lambda; the functions only sign, inspect and delete.

The presigned PUT signs the Content-Type and Content-Length headers (they are in the URL's
``X-Amz-SignedHeaders``): S3 refuses an upload of another type or length with 403. It also
signs an ``x-amz-tagging`` header that marks the object unverified until the upload worker
accepts it (the bucket's lifecycle expires what stays unverified), and ``If-None-Match: *``, so
a second PUT with a still valid URL cannot replace a document once stored (S3 answers 412).
The headers the client must send are returned with the URL. Objects are encrypted by the bucket's default
(SSE-KMS), so no encryption header has to be signed or sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lendbridge.data import names
from lendbridge.domain.ports import PresignedUpload, StoredObject
from lendbridge.errors import DependencyUnavailable

DOWNLOAD_URL_SECONDS = 300  # the contract: download URLs are valid 5 minutes
# Enough for every magic number the upload check knows (PDF, PNG, JPEG, TIFF).
HEAD_BYTES = 16
READ_CHUNK_BYTES = 1024 * 1024
S3_RETRY_AFTER = 5
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
UNVERIFIED_TAGGING = f"{names.UNVERIFIED_TAG_KEY}={names.UNVERIFIED_TAG_VALUE}"


@dataclass(frozen=True)
class Fingerprint:
    """What the upload check needs of a stored object, read in one streamed pass."""

    size: int
    content_type: str | None
    head: bytes
    sha256: str


class S3DocumentStorage:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def presign_put(self, key: str, content_type: str, size_bytes: int, expires_in: int) -> PresignedUpload:
        # Presigning is local computation (no request), so it cannot fail on S3's side.
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size_bytes,
                "Tagging": UNVERIFIED_TAGGING,
                "IfNoneMatch": "*",
            },
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(size_bytes),
            "x-amz-tagging": UNVERIFIED_TAGGING,
            "If-None-Match": "*",
        }
        return PresignedUpload(url=str(url), headers=headers, expires_in=expires_in)

    def presign_get(self, key: str, expires_in: int = DOWNLOAD_URL_SECONDS) -> str:
        return str(
            self._s3.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="GET"
            )
        )

    def head(self, key: str) -> StoredObject | None:
        with _translated():
            try:
                response = self._s3.head_object(Bucket=self._bucket, Key=key)
            except ClientError as error:
                if _code(error) in _MISSING:
                    return None
                raise
        return StoredObject(size=int(response["ContentLength"]), content_type=response.get("ContentType"))

    def read(self, key: str) -> bytes:
        with _translated():
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

    def fingerprint(self, key: str, head_bytes: int = HEAD_BYTES) -> Fingerprint | None:
        """Size, type, first bytes and SHA-256 of the object, streamed in chunks (a 20 MB file
        is never held whole); None when the object is gone."""
        with _translated():
            try:
                response = self._s3.get_object(Bucket=self._bucket, Key=key)
            except ClientError as error:
                if _code(error) in _MISSING:
                    return None
                raise
            digest = hashlib.sha256()
            head = b""
            size = 0
            body = response["Body"]
            try:
                for chunk in body.iter_chunks(READ_CHUNK_BYTES):
                    if len(head) < head_bytes:
                        head += chunk[: head_bytes - len(head)]
                    digest.update(chunk)
                    size += len(chunk)
            finally:
                body.close()
        return Fingerprint(size=size, content_type=response.get("ContentType"), head=head, sha256=digest.hexdigest())

    def mark_verified(self, key: str) -> None:
        """The object passed the upload check: lifecycle must not expire it."""
        with _translated():
            self._s3.delete_object_tagging(Bucket=self._bucket, Key=key)

    def delete(self, key: str) -> None:
        with _translated():
            self._s3.delete_object(Bucket=self._bucket, Key=key)

    def ping(self) -> None:
        """Readiness: the bucket answers (HeadBucket needs only s3:ListBucket on it)."""
        with _translated():
            self._s3.head_bucket(Bucket=self._bucket)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def _translated() -> Iterator[None]:
    """S3 throttling or an outage becomes the project's retryable error; a refusal such as
    AccessDenied stays a ClientError (a defect, not a condition to retry)."""
    try:
        yield
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if status == 503 or status >= 500 or _code(error) in {"SlowDown", "RequestTimeout"}:
            raise DependencyUnavailable("Document storage unavailable", retry_after=S3_RETRY_AFTER) from error
        raise
    except BotoCoreError as error:
        raise DependencyUnavailable("Document storage unavailable", retry_after=S3_RETRY_AFTER) from error
