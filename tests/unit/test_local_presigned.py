"""The local stack refuses presigned S3 requests as S3 does (moto alone stores anything): a PUT
with another length, type or tag than the URL signs, or after it expired, is a 403; the exact
request passes to moto; URLs signed with other credentials are not judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import EnvironBuilder

from lendbridge.data.document_storage import S3DocumentStorage
from local.presigned import PresignedUrlCheck, refusal

BODY = b"%PDF-1.7\n" + b"x" * 91


def presigned_upload(access_key: str = "local") -> tuple[str, dict[str, str]]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id=access_key,
        aws_secret_access_key="local",
        config=Config(signature_version="s3v4"),
    )
    upload = S3DocumentStorage(s3, "documents").presign_put("documents/b/d", "application/pdf", len(BODY), 900)
    return upload.url, upload.headers


def environ(url: str, headers: dict[str, str], body: bytes, method: str = "PUT") -> dict[str, Any]:
    parts = urlsplit(url)
    built = EnvironBuilder(
        method=method,
        base_url=f"http://{parts.netloc}",
        path=parts.path,
        query_string=parts.query,
        headers={key: value for key, value in headers.items() if key.lower() != "content-length"},
        data=body,
    ).get_environ()
    built["RAW_URI"] = f"{parts.path}?{parts.query}"
    return built


def test_the_request_the_url_was_made_for_passes() -> None:
    url, headers = presigned_upload()
    assert refusal(environ(url, headers, BODY)) is None


def test_a_larger_body_another_type_or_a_missing_tag_is_refused() -> None:
    url, headers = presigned_upload()
    assert refusal(environ(url, headers, BODY + b"more"))[0] == "SignatureDoesNotMatch"  # type: ignore[index]
    other_type = {**headers, "Content-Type": "image/png"}
    assert refusal(environ(url, other_type, BODY))[0] == "SignatureDoesNotMatch"  # type: ignore[index]
    untagged = {key: value for key, value in headers.items() if key != "x-amz-tagging"}
    assert refusal(environ(url, untagged, BODY)) == (
        "SignatureDoesNotMatch",
        "The signed header x-amz-tagging was not sent",
    )


def test_an_expired_url_is_refused() -> None:
    url, headers = presigned_upload()
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert refusal(environ(url, headers, BODY), now=later) == ("AccessDenied", "Request has expired")


def test_other_credentials_and_unsigned_requests_are_not_judged() -> None:
    url, headers = presigned_upload(access_key="someone-else")
    assert refusal(environ(url, headers, BODY + b"more")) is None
    assert refusal(environ("http://127.0.0.1:4566/documents/b/d", {}, BODY)) is None


def test_the_middleware_answers_403_and_passes_the_rest() -> None:
    passed: list[str] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        passed.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [])
        return [b""]

    statuses: list[str] = []
    check = PresignedUrlCheck(moto)
    url, headers = presigned_upload()
    body = b"".join(check(environ(url, headers, BODY + b"more"), lambda status, _: statuses.append(status)))
    assert statuses == ["403 Forbidden"]
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    assert passed == []
    b"".join(check(environ(url, headers, BODY), lambda status, _: statuses.append(status)))
    assert statuses[-1] == "200 OK"
    assert passed == ["PUT"]


def test_a_url_used_seconds_after_it_was_made_still_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check signs at the URL's X-Amz-Date, not at the time the PUT arrives (botocore's
    add_auth would stamp the current time: a URL used a second later was refused)."""
    import botocore.auth

    url, headers = presigned_upload()
    later = datetime.now(UTC) + timedelta(seconds=90)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: later.replace(tzinfo=None))
    assert refusal(environ(url, headers, BODY)) is None
    assert refusal(environ(url, headers, BODY + b"x"))[0] == "SignatureDoesNotMatch"  # type: ignore[index]
