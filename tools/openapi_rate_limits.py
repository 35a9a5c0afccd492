"""The rate-limit headers in the OpenAPI document: on every answer of an authenticated route
(``lendbridge.routes`` says which, as it does for security), except the 401 that API Gateway gives
before a caller exists. Written out in each response, as the other response headers are, rather
than referenced: every tool that reads the document (the fuzzer's header checks included) then
sees them alike."""

from __future__ import annotations

from typing import Any

UNCOUNTED = frozenset({"401"})


def add_rate_limit_headers(document: dict[str, Any]) -> None:
    from lendbridge.http.rate_limit import OPENAPI_HEADERS
    from lendbridge.routes import ROUTES

    for route in ROUTES:
        if not route.authenticated:
            continue
        for status, response in document["paths"][route.path][route.method.lower()]["responses"].items():
            if status in UNCOUNTED:
                continue
            headers = response.setdefault("headers", {})
            for name, header in OPENAPI_HEADERS.items():
                headers[name] = {**header, "required": False}
