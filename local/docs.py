"""Swagger UI at /docs (assets from the npm package ``swagger-ui-dist``, served from
node_modules, so no request leaves the machine) and the OpenAPI document at /openapi.json
(``docs/openapi.json``, read on every request so a regenerated document shows at once)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from local.events import HttpRequest, HttpResponse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SWAGGER_DIR = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
OPENAPI_DOCUMENT = PROJECT_ROOT / "docs" / "openapi.json"

# Only these files are served: a fixed list cannot be walked out of with "../".
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "index.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "oauth2-redirect.html": "text/html; charset=utf-8",
    "oauth2-redirect.js": "application/javascript; charset=utf-8",
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lendbridge API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"""

# The package's own initializer points at a petstore on the internet; this one at our document.
_INITIALIZER = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
"""


class DocsSite:
    def __init__(self, openapi: Path = OPENAPI_DOCUMENT, swagger_dir: Path = SWAGGER_DIR) -> None:
        self.openapi = openapi
        self.swagger_dir = swagger_dir

    @property
    def has_swagger(self) -> bool:
        return (self.swagger_dir / "swagger-ui-bundle.js").is_file()

    @property
    def has_openapi(self) -> bool:
        return self.openapi.is_file()

    def handle(self, request: HttpRequest) -> HttpResponse | None:
        """The response for a documentation path, or None for anything else (the API's)."""
        path = request.path
        if request.method not in ("GET", "HEAD"):
            return None
        if path == "/openapi.json":
            return self._openapi()
        if path in ("/docs", "/docs/") or path.startswith("/docs/"):
            return self._swagger(path.removeprefix("/docs").lstrip("/"))
        return None

    def _swagger(self, name: str) -> HttpResponse:
        if not self.has_swagger:
            return _not_found(f"Swagger UI is not installed under {self.swagger_dir}; run `make install`")
        if name == "":
            return _ok("text/html; charset=utf-8", _PAGE.encode())
        if name == "swagger-initializer.js":
            return _ok("application/javascript; charset=utf-8", _INITIALIZER.encode())
        if name in _ASSETS:
            return _ok(_ASSETS[name], (self.swagger_dir / name).read_bytes(), cache=True)
        return _not_found("No such resource")

    def _openapi(self) -> HttpResponse:
        if not self.has_openapi:
            return _not_found("docs/openapi.json has not been generated; run `make openapi`")
        return _ok("application/json", self.openapi.read_bytes())


def _ok(content_type: str, body: bytes, cache: bool = False) -> HttpResponse:
    headers = [("Content-Type", content_type), ("X-Request-Id", str(uuid.uuid4()))]
    if cache:
        headers.append(("Cache-Control", "public, max-age=3600"))
    return HttpResponse(200, headers, body)


def _not_found(message: str) -> HttpResponse:
    request_id = str(uuid.uuid4())
    body = {
        "success": False,
        "error": "NOT_FOUND",
        "message": message,
        "request_id": request_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    headers = [("Content-Type", "application/json"), ("X-Request-Id", request_id)]
    return HttpResponse(404, headers, json.dumps(body).encode())
