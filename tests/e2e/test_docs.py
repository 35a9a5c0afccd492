"""Swagger UI and the OpenAPI document, served offline next to the API."""

from __future__ import annotations

import json
from pathlib import Path

from local.docs import DocsSite
from local.events import HttpRequest
from tests.e2e.support import Api, assert_error_envelope


def test_docs_serve_swagger_ui_pointing_at_the_local_document(api: Api) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<script src="/docs/swagger-ui-bundle.js">' in page.text
    initializer = api.get("/docs/swagger-initializer.js")
    assert 'url: "/openapi.json"' in initializer.text
    bundle = api.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000  # the real bundle from node_modules, not a stub


def test_paths_outside_the_asset_list_are_not_served(api: Api) -> None:
    assert_error_envelope(api.get("/docs/package.json"), 404, "NOT_FOUND")
    assert_error_envelope(api.get("/docs/..%2Fpackage.json"), 404, "NOT_FOUND")


def test_openapi_json_is_the_generated_document(api: Api) -> None:
    response = api.get("/openapi.json")
    document = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
    if not document.exists():
        assert_error_envelope(response, 404, "NOT_FOUND")
        return
    assert response.status_code == 200
    assert response.json() == json.loads(document.read_text())
    assert "/v1/users/me" in response.json()["paths"]


def test_a_missing_document_is_a_not_found_envelope_naming_the_fix(tmp_path: Path) -> None:
    site = DocsSite(openapi=tmp_path / "openapi.json")
    response = site.handle(HttpRequest("GET", "/openapi.json", [], b"", "127.0.0.1"))
    assert response is not None
    assert response.status == 404
    body = json.loads(response.body)
    assert body["error"] == "NOT_FOUND"
    assert "make openapi" in body["message"]
    assert response.header("X-Request-Id") == body["request_id"]
