"""The inside of one cold-start measurement: run as a script by ``benchmarks.cold_start`` in a
fresh interpreter whose import path is only what Lambda gives a function, so it imports nothing
of the project itself. It reads its orders as JSON on stdin:

    {"path": [...], "module": "lendbridge.handlers.loans" | null, "events": [...]}

puts ``path`` first on ``sys.path``, imports ``module`` (or, with none, does what a bare
Powertools function does: ``import boto3; from aws_lambda_powertools import Logger; Logger()``),
calls the module's ``handler`` with each event in turn, and writes the seconds each step took
(wall and CPU) and each answer's status (an API's status code, or how many records of a batch
failed) as JSON on stdout. Everything the code under test prints (JSON logs, EMF metrics) goes
to stderr instead.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any


class Context:
    """The parts of Lambda's context object the handlers read."""

    function_name = "cold-start"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:cold-start"
    aws_request_id = "cold-start-invocation"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def bare() -> None:
    import boto3  # noqa: F401 - the import is what is measured
    from aws_lambda_powertools import Logger

    Logger()


def status_of(response: Any) -> int | str | None:
    """An API answer's status; for a batch of queue or stream records, how many failed."""
    if not isinstance(response, dict):
        return None
    if "statusCode" in response:
        return int(response["statusCode"])
    if "batchItemFailures" in response:
        return f"{len(response['batchItemFailures'])} failed"
    return None


def main() -> None:
    orders = json.load(sys.stdin)
    results = sys.stdout
    # Powertools' Logger binds the stream it finds when it is created: stderr, from here on.
    sys.stdout = sys.stderr
    sys.path[:0] = orders["path"]
    started, cpu = time.perf_counter(), time.process_time()
    if orders["module"] is None:
        bare()
        module: Any = None
    else:
        module = importlib.import_module(orders["module"])
    seconds, cpu_seconds = [time.perf_counter() - started], [time.process_time() - cpu]
    statuses = []
    for event in orders.get("events", []):
        started, cpu = time.perf_counter(), time.process_time()
        response = module.handler(event, Context())
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu)
        statuses.append(status_of(response))
    json.dump({"seconds": seconds, "cpu_seconds": cpu_seconds, "statuses": statuses}, results)


if __name__ == "__main__":
    main()
