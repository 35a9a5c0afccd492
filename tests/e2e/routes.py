"""Which documented routes the e2e run reached: the local stack's gateway shows every answered
request to ``CalledRoutes``, which keeps the method and route template of those a function
answered. Under `make test` (LENDBRIDGE_ROUTES_CALLED names a file) the set is written at the
end of the session and tools/coverage_gate.py compares it with docs/openapi.json."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from local.apimodel import RestApi
from local.events import HttpRequest, HttpResponse

ROUTES_ENV = "LENDBRIDGE_ROUTES_CALLED"


class CalledRoutes:
    def __init__(self) -> None:
        self.api: RestApi | None = None  # known once the stack has started
        self._called: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def after_response(self, request: HttpRequest, response: HttpResponse) -> None:
        # A request the gateway itself refused (unknown route, no token, too large) never
        # reached the route's function: API Gateway marks those answers with x-amzn-ErrorType.
        if self.api is None or response.header("x-amzn-ErrorType") is not None:
            return
        matched = self.api.match(request.segments)
        if matched is None:
            return
        with self._lock:
            self._called.add((request.method.upper(), matched[0]))

    def called(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._called)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.called(), indent=1) + "\n")
