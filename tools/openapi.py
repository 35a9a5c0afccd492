"""The API's OpenAPI document, generated from the handlers' own resolvers.

    python -m tools.openapi --write   # regenerate docs/openapi.json
    python -m tools.openapi --check   # exit 1 if docs/openapi.json differs from the code

Each Lambda has its own resolver; the document is their union, with the bearer scheme on
every route that ``lendbridge.routes`` marks as authenticated. Routes, bodies, validation rules,
examples, response headers and links come from the handlers (their decorators and pydantic
models); this module adds only what Powertools cannot express: document-level fields (servers,
contact, license, tag descriptions), the X-Request-Id request header every route reads in the
front door, operation ids and security from ``lendbridge.routes``, and optional parameters
shown as absent rather than null.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from tools.openapi_rate_limits import add_rate_limit_headers

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"
TITLE = "Lendbridge API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Private lending marketplace and commercial loan bookings. Every response carries X-Request-Id; "
    "errors use one envelope (success=false, error, message, request_id, timestamp, and where they apply "
    "field_errors, details and retry_after with a Retry-After header). Money is a decimal: a JSON number "
    "or a decimal string on input, a string with two places on output. Authenticated answers carry the "
    "caller's rate-limit budget (X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset); over it, "
    "429 TOO_MANY_REQUESTS with Retry-After."
)
SERVERS = [
    {"url": "http://127.0.0.1:3000", "description": "The local stack (`make run`)"},
    {
        "url": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "A deployed stage (API Gateway's default endpoint)",
        "variables": {
            "api_id": {"default": "abcdef1234", "description": "The REST API's id (stack output)"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev", "enum": ["dev", "prod"]},
        },
    },
]
CONTACT = {"name": "Lendbridge API team", "email": "api@lendbridge.example"}
LICENSE = {"name": "Proprietary", "url": "https://lendbridge.example/license"}
TAGS = [
    {"name": "Health", "description": "Liveness and readiness probes (no authentication)"},
    {"name": "Accounts", "description": "Registration, email verification, sign-in and passwords"},
    {"name": "Users", "description": "The caller's own profile"},
    {"name": "Loans", "description": "The borrower's side: loans, invitations, history and audit"},
    {"name": "Lenders", "description": "The lender's side: invitations, accepting with bank details, portfolio"},
    {
        "name": "Loan bookings",
        "description": "Commercial loan bookings: products, a loan officer's bookings and their booking sheet",
    },
    {
        "name": "Booking documents",
        "description": "A booking's documents, uploaded straight to S3, and the extraction of its fields",
    },
    {"name": "Webhooks", "description": "Signed event deliveries (Standard Webhooks) to the caller's own receivers"},
]
REQUEST_ID_PARAMETER = {
    "name": "X-Request-Id",
    "in": "header",
    "required": False,
    # Any value is accepted (an unusable one is replaced, not refused), so the rule for echoing
    # is in the description, not a pattern the server would be expected to enforce.
    "description": (
        "Your id for this request, echoed in the X-Request-Id response header and the error envelope "
        "when it is 8 to 128 characters of letters, digits and `._:-` starting with a letter or digit "
        "(`^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$`); otherwise the API uses an id of its own."
    ),
    "schema": {"type": "string"},
}


def build() -> dict[str, Any]:
    sys.path.insert(0, str(PROJECT_ROOT / "lambdas"))
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from lendbridge.routes import FUNCTIONS, ROUTES

    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": DESCRIPTION,
            "contact": CONTACT,
            "license": LICENSE,
        },
        "servers": SERVERS,
        "tags": TAGS,
        "paths": {},
        "components": {
            "schemas": {},
            "parameters": {"RequestId": REQUEST_ID_PARAMETER},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access_token from POST /v1/auth/login",
                }
            },
        },
    }
    for function in FUNCTIONS:
        module = importlib.import_module(f"lendbridge.handlers.{function}")
        partial = json.loads(module.app.get_openapi_json_schema(title=TITLE, version=VERSION))
        for path, operations in partial.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
        document["components"]["schemas"].update(partial.get("components", {}).get("schemas", {}))
    _drop_powertools_422(document)
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        operation["operationId"] = route.endpoint
        # Public routes say so explicitly: no security requirement at all.
        operation["security"] = [{"bearer": []}] if route.authenticated else []
        operation["parameters"] = [
            _required_if_match(_absent_not_null(parameter)) for parameter in operation.get("parameters", [])
        ] + [{"$ref": "#/components/parameters/RequestId"}]
        operation["responses"] = dict(sorted(operation["responses"].items()))
        for status in ("204", "304"):
            # Powertools documents a ``Response[None]`` route's body as JSON null; there is none.
            operation["responses"].get(status, {}).pop("content", None)
    add_rate_limit_headers(document)
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    return document


def _required_if_match(parameter: dict[str, Any]) -> dict[str, Any]:
    """If-Match is required by the contract, but its absence is a 428 decided by the route, not
    the 400 Powertools gives a missing required parameter; so the route declares it optional
    and the document says required."""
    if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
        return {**parameter, "required": True}
    return parameter


def _absent_not_null(parameter: dict[str, Any]) -> dict[str, Any]:
    """Powertools documents an optional parameter (``str | None = None``) as ``anyOf [string,
    null]``; a query string or header has no null, the parameter is simply left out."""
    schema = parameter.get("schema", {})
    branches = schema.get("anyOf", [])
    if parameter.get("required") or not any(branch.get("type") == "null" for branch in branches):
        return parameter
    (kept,) = [branch for branch in branches if branch.get("type") != "null"]
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "title")}
    return {**parameter, "schema": {**kept, **rest}}


def _drop_powertools_422(document: dict[str, Any]) -> None:
    from lendbridge.schemas.common import common_headers

    """Powertools documents a 422 HTTPValidationError on every route, but the API answers
    invalid input with 400 VALIDATION_ERROR (its handler reshapes the error), so drop it; and
    it documents its own 500 body for response validation, which the API answers with the
    common error envelope."""
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                del responses["422"]
            if "ResponseValidationError" in json.dumps(responses.get("500", {})):
                responses["500"] = {
                    "description": "Unexpected error",
                    "headers": common_headers(500),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
                }
    text = json.dumps(document["paths"])
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            document["components"]["schemas"].pop(unused, None)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(build())
    if args.write:
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(PROJECT_ROOT)}")
        return 0
    if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
        print("docs/openapi.json is out of date: run `make openapi`", file=sys.stderr)
        return 1
    print("docs/openapi.json matches the handlers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
