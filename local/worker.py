"""One Lambda execution environment: imports a handler once, then runs one invocation at a time.

Run as ``python -P local/worker.py <module.function>`` with the function's environment, so
that, as in Lambda, only the code root (PYTHONPATH=lambdas) and installed packages are
importable, not this repository. Standard library only, for the same reason.

Protocol, one JSON document per line: the parent writes ``{"event", "request_id",
"deadline_ms"}`` to stdin; the worker answers on a private copy of stdout with ``{"ready":
true}`` once, then ``{"result": ...}`` or ``{"error": {...}}`` per invocation. Whatever the
handler prints (Powertools logs and EMF metrics go to stdout) lands on stderr, which the
parent shows as the function's log. EOF on stdin ends the worker.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO


class LambdaContext:
    """The attributes and method of Lambda's context object that handlers use."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{name}"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _load(handler: str) -> Callable[[Any, LambdaContext], Any]:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function: Callable[[Any, LambdaContext], Any] = getattr(module, function_name)
    return function


def _error(exc: BaseException) -> dict[str, Any]:
    # The shape of Lambda's own error payload.
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def _send(channel: TextIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, default=str) + "\n")
    channel.flush()


def _start_coverage() -> None:
    """Under `make test` (COVERAGE_PROCESS_START set) measure the handlers in this process too;
    coverage saves its data file when the worker exits. The only import beyond the standard
    library, and only when asked for."""
    if os.environ.get("COVERAGE_PROCESS_START"):
        import coverage

        coverage.process_startup()


def main(handler: str) -> int:
    _start_coverage()
    # Keep a private copy of stdout for the protocol, then point fd 1 at stderr so anything the
    # handler prints becomes log output instead of corrupting the protocol.
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1)
    try:
        function = _load(handler)
    except BaseException as exc:  # noqa: BLE001 - an init failure is reported, like Lambda's Runtime.ImportModuleError
        traceback.print_exc()
        _send(channel, {"init_error": _error(exc)})
        return 1
    _send(channel, {"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        context = LambdaContext(request["request_id"], int(request["deadline_ms"]))
        try:
            result = function(request["event"], context)
        except Exception as exc:  # noqa: BLE001 - an unhandled error is the invocation's result
            traceback.print_exc()
            _send(channel, {"error": _error(exc)})
            continue
        _send(channel, {"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
