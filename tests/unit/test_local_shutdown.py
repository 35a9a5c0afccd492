"""Stopping the local stack's event sources and worker pools: all are asked first, then waited
for against one deadline, so a stop takes about the longest wait rather than the sum of them
(one after the other, each waiting its own timeout, it once took over 30 s)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.apimodel import Function
from local.queue_sources import LONG_POLL_S, QueueMapping, QueuePoller
from local.shutdown import stop_together
from local.workers import FunctionPool, Invocation
from tests.processes import alive

SLOW_HANDLER = """
import pathlib
import time

def handler(event, context):
    if event.get("started"):
        pathlib.Path(event["started"]).touch()
    time.sleep(event["sleep_s"])
    return {"slept": event["sleep_s"]}
"""


class Recorded:
    """A function that records what it is given and succeeds."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Invocation:
        self.events.append(event)
        return Invocation(result={"batchItemFailures": []})


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


def poller(sqs: Any, name: str, function: Recorded, concurrency: int = 1) -> QueuePoller:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    worker = Function("Stack", f"{name}Fn", "x.handler", "python3.13", {}, 30, 128, None)
    mapping = QueueMapping(name, worker, url, f"arn:aws:sqs:us-east-1:123456789012:{name}", 10, True, concurrency)
    return QueuePoller(mapping, function, sqs, lambda _line: None)  # type: ignore[arg-type]


def test_pollers_stop_together_in_about_one_long_poll_not_one_each(sqs: Any) -> None:
    pollers = [poller(sqs, f"queue{number}", Recorded(), concurrency=2) for number in range(6)]
    # Started a sixth of a long poll apart, the last first: stopped one after the other in this
    # order, each waited for most of a long poll of its own (5 s here, measured).
    for started in reversed(pollers):
        started.start()
        time.sleep(LONG_POLL_S / len(pollers))
    began = time.monotonic()
    stop_together(pollers, timeout_s=20, log=lambda _line: None)
    took = time.monotonic() - began
    assert took < 2.5 * LONG_POLL_S, took
    assert [thread for p in pollers for thread in p._threads if thread.is_alive()] == []


def test_a_batch_received_while_stopping_is_handed_back_not_delivered(sqs: Any) -> None:
    function = Recorded()
    stopping = poller(sqs, "claims", function)
    sqs.send_message(QueueUrl=stopping.mapping.queue_url, MessageBody="later")
    stopping.request_stop()
    assert stopping.poll() == 1
    assert function.events == []
    # Visible again at once, for whoever polls next (the next run of the stack).
    again = sqs.receive_message(QueueUrl=stopping.mapping.queue_url, WaitTimeSeconds=0).get("Messages", [])
    assert [message["Body"] for message in again] == ["later"]


@pytest.fixture
def slow_function(tmp_path: Path) -> tuple[Function, dict[str, str]]:
    (tmp_path / "slow.py").write_text(SLOW_HANDLER)
    function = Function("Stack", "SlowFn", "slow.handler", "python3.13", {}, 60, 128, None)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tmp_path)}
    return function, env


def processes_of(pools: list[FunctionPool]) -> list[int]:
    return [pid for pool in pools for pid in pool.pids()]


def wait_for(marker: Path) -> None:
    """Until the slow handler has started (a fixed pause is too short on a loaded machine)."""
    waited = time.monotonic()
    while not marker.exists() and time.monotonic() - waited < 20:
        time.sleep(0.05)
    assert marker.exists(), "the invocation never started"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pools_stop_together_letting_the_invocation_under_way_finish(
    slow_function: tuple[Function, dict[str, str]], tmp_path: Path
) -> None:
    function, env = slow_function
    pools = [FunctionPool(function, env, lambda _line: None, 2, reload_code=False) for _ in range(3)]
    for pool in pools:
        pool.warm()
    busy = pools[0]
    outcome: list[Invocation] = []
    started_marker = tmp_path / "started"
    running = threading.Thread(
        target=lambda: outcome.append(busy.invoke({"sleep_s": 1.5, "started": str(started_marker)}))
    )
    running.start()
    wait_for(started_marker)  # the invocation runs in a worker of the first pool
    workers = processes_of(pools)
    assert len(workers) == 3

    started = time.monotonic()
    stop_together(pools, timeout_s=10, log=lambda _line: None)
    took = time.monotonic() - started
    running.join(timeout=5)

    assert outcome[0].ok, "finished, not killed"
    assert outcome[0].result == {"slept": 1.5}
    assert took < 8, took  # the 1.5 s invocation, not the 10 s deadline (margin for a loaded machine)
    assert [pid for pid in workers if alive(pid)] == []
    refused = busy.invoke({"sleep_s": 0})
    assert refused.error is not None
    assert "shutting down" in refused.error["errorMessage"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_still_running_at_the_deadline_is_killed(
    slow_function: tuple[Function, dict[str, str]], tmp_path: Path
) -> None:
    function, env = slow_function
    pool = FunctionPool(function, env, lambda _line: None, 1, reload_code=False)
    pool.warm()
    [pid] = pool.pids()
    outcome: list[Invocation] = []
    started_marker = tmp_path / "started"
    event = {"sleep_s": 30, "started": str(started_marker)}
    running = threading.Thread(target=lambda: outcome.append(pool.invoke(event)))
    running.start()
    wait_for(started_marker)

    started = time.monotonic()
    stop_together([pool], timeout_s=1, log=lambda _line: None)
    # Far below the 30 s the invocation would take: it was killed at the deadline (the margin
    # is for a loaded machine, where ending a process can itself take seconds).
    assert time.monotonic() - started < 10
    running.join(timeout=5)
    assert not alive(pid)
    assert outcome[0].error is not None
    assert outcome[0].error["errorType"] == "Runtime.ExitError"  # as Lambda reports an ended sandbox
