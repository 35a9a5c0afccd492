"""What moto does not do: check presigned S3 URLs. In front of the local moto server, a request
carrying a SigV4 query signature made with the local stack's credentials is signed again with
botocore's own signer over the headers it names and refused, as S3 refuses it, when the
signatures differ (403 SignatureDoesNotMatch: another Content-Length, Content-Type or tag than
the URL was made for) or the URL has expired (403 AccessDenied).

Requests signed with other credentials, and those without a query signature, pass unchanged:
only the local stack's own key is known here.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCAL_ACCESS_KEY = "local"  # local.workers gives every function these credentials
LOCAL_SECRET_KEY = "local"  # noqa: S105 - the emulators accept any credentials
_SIGNED_QUERY = frozenset(
    {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}
)
_ENVIRON_HEADERS = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH", "host": "HTTP_HOST"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def refusal(environ: dict[str, Any], now: datetime | None = None) -> tuple[str, str] | None:
    """(S3 error code, message) when S3 would refuse this presigned request, else None."""
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    path, _, query_text = raw_uri.partition("?")
    query = dict(parse_qsl(query_text or str(environ.get("QUERY_STRING", "")), keep_blank_values=True))
    if "X-Amz-Signature" not in query or query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return None
    access_key, date, region, service, _ = (query.get("X-Amz-Credential", "////").split("/") + [""] * 5)[:5]
    if access_key != LOCAL_ACCESS_KEY or service != "s3":
        return None
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if (now or datetime.now(UTC)) > signed_at + timedelta(seconds=int(query.get("X-Amz-Expires", "0"))):
        return "AccessDenied", "Request has expired"
    headers: dict[str, str] = {}
    for name in query.get("X-Amz-SignedHeaders", "").split(";"):
        value = environ.get(_ENVIRON_HEADERS.get(name, "HTTP_" + name.upper().replace("-", "_")))
        if value is None:
            return "SignatureDoesNotMatch", f"The signed header {name} was not sent"
        headers[name] = str(value)
    rest = [(key, value) for key, value in parse_qsl(query_text, keep_blank_values=True) if key not in _SIGNED_QUERY]
    url = f"http://{headers.get('host', environ.get('HTTP_HOST', ''))}{path}" + (f"?{urlencode(rest)}" if rest else "")
    expected = query_signature(
        str(environ["REQUEST_METHOD"]),
        url,
        headers,
        Credentials(access_key, LOCAL_SECRET_KEY),
        region or date,
        query["X-Amz-Date"],
        int(query["X-Amz-Expires"]),
    )
    if not hmac.compare_digest(expected, query["X-Amz-Signature"]):
        return (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )
    return None


def query_signature(
    method: str, url: str, headers: dict[str, str], credentials: Credentials, region: str, signed_at: str, expires: int
) -> str:
    """The SigV4 query signature of this request as signed at ``signed_at`` (X-Amz-Date):
    botocore's own S3 query signer, whose ``add_auth`` would stamp the current time instead."""
    request = AWSRequest(method=method, url=url, headers=headers)
    request.context["timestamp"] = signed_at
    signer = S3SigV4QueryAuth(credentials, "s3", region, expires=expires)
    signer._modify_request_before_signing(request)  # type: ignore[attr-defined]  # X-Amz-* query, at signed_at
    return str(signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request))


class PresignedUrlCheck:
    """WSGI middleware: refuses presigned requests S3 would refuse, passes the rest to moto."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = refusal(environ)
        if refused is None:
            return self._app(environ, start_response)
        code, message = refused
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
        ).encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
