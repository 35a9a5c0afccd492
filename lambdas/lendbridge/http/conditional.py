"""Entity tags and conditional requests: If-Match (RFC 9110 13.1.1, RFC 6585 428) and
If-None-Match (RFC 9110 13.1.2), plus how the headers are described in the OpenAPI document.

A resource's entity tag is its ``version``, quoted: ``"3"``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from lendbridge.errors import PreconditionRequired, ValidationFailed
from lendbridge.http import envelope
from lendbridge.http.errors import PreparedResponse
from lendbridge.schemas.common import common_headers, error_response

# One element of an entity-tag list: [W/] "opaque" (RFC 9110 8.8.3), or the bare version the
# contract shows (``If-Match: 3``), followed by a comma or the end. Empty list elements are
# skipped, as RFC 9110 5.6.1.2 asks of recipients.
_ELEMENT = re.compile(r'(?:(?P<weak>W/)?"(?P<tag>[\x21\x23-\x7e]*)"|(?P<bare>[0-9]{1,18}))[ \t]*(?:,|$)')
_SEPARATORS = re.compile(r"[ \t,]*")
_VERSION = re.compile(r"^[0-9]{1,18}$")

# The same grammar as one pattern for the document (checked against ``_elements`` by a unit test).
_ONE_TAG = r'(?:(?:W/)?"[\x21\x23-\x7e]*"|[0-9]{1,18})'
IF_MATCH_PATTERN = rf"^[ \t,]*{_ONE_TAG}(?:[ \t]*,[ \t,]*{_ONE_TAG})*[ \t,]*$"
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        json_schema_extra={"pattern": IF_MATCH_PATTERN},
        description=(
            'The loan version you read, as its ETag (`"3"`) or bare (`3`); a list matches if any '
            'element is current. Weak tags (`W/"3"`) never match (strong comparison); `*` is '
            "refused with 428 because it would allow lost updates. Missing → 428, stale → 412."
        ),
        examples=['"3"'],
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1024,
        description='ETag(s) you hold (`"3"`, `W/"3"`, a list, or `*`); if one is current the answer is 304.',
        examples=['"3"'],
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def content_tag(payload: Any) -> str:
    """The entity tag of a resource that has no version: a digest of what is shown."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return f'"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def _elements(value: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque tag) per list element, or None when the header is not a valid list."""
    found: list[tuple[bool, str]] = []
    position, text = 0, value.strip()
    while True:
        separators = _SEPARATORS.match(text, position)
        position = separators.end() if separators else position
        if position >= len(text):
            return found or None
        match = _ELEMENT.match(text, position)
        if match is None:
            return None
        found.append((False, match["bare"]) if match["bare"] is not None else (match["weak"] is not None, match["tag"]))
        position = match.end()


def if_match_versions(value: str | None) -> tuple[int, ...] | None:
    """The versions an If-Match header names, compared strongly: None when absent; weak tags
    and tags that are not versions are kept out, so they never match (412)."""
    if value is None:
        return None
    if value.strip() == "*":
        raise PreconditionRequired("If-Match must name the version you read (its ETag), not *")
    elements = _elements(value)
    if elements is None:
        message = 'If-Match must be the loan\'s ETag, e.g. "3" (or a comma-separated list of them)'
        raise ValidationFailed(message, field_errors={"If-Match": [message]})
    return tuple(int(tag) for weak, tag in elements if not weak and _VERSION.match(tag))


def none_match(value: str | None, current: str) -> bool:
    """True when If-None-Match names the current ETag (weak comparison) or is ``*``: the
    client's copy is current, answer 304. A malformed header is ignored (full answer)."""
    if value is None:
        return False
    if value.strip() == "*":
        return True
    current_tag = current.removeprefix("W/").strip('"')
    return any(tag == current_tag for _, tag in _elements(value) or [])


def stop_if_current(if_none_match: str | None, current: str, *, headers: Mapping[str, str] | None = None) -> None:
    """Answer 304 (no body) when the client's copy is current. Raised, so that the empty
    answer skips validation against the route's success schema. ``headers``: those a 200
    would carry that must come with the 304 too (RFC 9110 15.4.5: Cache-Control)."""
    if none_match(if_none_match, current):
        raise PreparedResponse(envelope.not_modified(current, headers))


# ---- OpenAPI --------------------------------------------------------------------------------

ETAG_HEADER: dict[str, Any] = {
    "description": 'The loan\'s version as an entity tag, e.g. "3"; send it back in If-Match or If-None-Match',
    "schema": {"type": "string", "pattern": '^"[0-9]+"$', "examples": ['"3"']},
}
CONTENT_TAG_HEADER: dict[str, Any] = {
    "description": "Entity tag of the representation (a digest of it); send it back in If-None-Match",
    "schema": {"type": "string", "pattern": '^"[0-9a-f]{32}"$', "examples": ['"9f86d081884c7d659a2feaa0c55ad015"']},
}
LOCATION_HEADER: dict[str, Any] = {
    "description": "URL of the created resource",
    "schema": {"type": "string", "format": "uri-reference", "examples": ["/v1/loans/0b9c8a52-5f0e-4d1e-9f57"]},
}
_PRECONDITION_ERRORS = (412, 428)


def documented(
    base: dict[int, OpenAPIResponse],
    *,
    headers: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None,
    not_modified: bool = False,
    preconditions: bool = False,
    tag_header: Mapping[str, Any] = ETAG_HEADER,
    links: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, OpenAPIResponse]:
    """``base`` (from ``schemas.common.responses``) with response headers, a 304 for
    conditional GETs, the 412/428 answers of conditional updates and OpenAPI links."""
    result = dict(base)
    for status, named_links in (links or {}).items():
        result[status] = {**result[status], "links": dict(named_links)}
    for status, named in (headers or {}).items():
        described: dict[str, Any] = {name: dict(spec) for name, spec in named.items()}
        result[status] = {**result[status], "headers": {**result[status].get("headers", {}), **described}}
    if not_modified:
        unchanged: dict[str, Any] = {**common_headers(304), "ETag": dict(tag_header)}
        result[304] = {"description": "Not modified: If-None-Match names the current ETag", "headers": unchanged}
    if preconditions:
        for status in _PRECONDITION_ERRORS:
            result[status] = error_response(status)
    return dict(sorted(result.items()))
