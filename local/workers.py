"""Lambda-like execution of the app's functions: each function gets a small pool of worker
processes (``local/worker.py``), each serving one invocation at a time, started on demand
(a cold start) and reused while warm.

A worker's environment is the function's resolved template environment plus the local
endpoints and dummy credentials: nothing of the caller's environment (such as a real
AWS_PROFILE) leaks in, so handler code can only reach the emulators.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from local.apimodel import Function
from local.shutdown import remaining
from local.template import REGION

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_ROOT = PROJECT_ROOT / "lambdas"
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
# The most workers one function may run at once, whatever its reserved concurrency (dev's loans
# function reserves 25): each worker is an interpreter of about 80 MB, and a burst would start
# them all on a laptop. LOCAL_MAX_WORKERS changes it.
DEFAULT_MAX_WORKERS = 8
WORKER_STOP_S = 2  # a worker retired or timed out: EOF, then killed after this
INIT_TIMEOUT_S = 30  # Lambda allows 10 s of init; imports on a busy laptop can take longer
CODE_CHECK_INTERVAL_S = 1.0
COVERAGE_VARIABLES = ("COVERAGE_PROCESS_START", "COVERAGE_FILE")

LogSink = Callable[[str], None]


@dataclass(frozen=True)
class Endpoints:
    """Where the handlers' AWS clients go: boto3 reads these AWS_ENDPOINT_URL* variables."""

    aws: str  # moto
    dynamodb: str


@dataclass(frozen=True)
class Invocation:
    result: Any = None
    error: Mapping[str, Any] | None = None  # Lambda's error payload, or a timeout/crash description
    timed_out: bool = False
    duration_ms: float = 0.0
    cold_start: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


class InvocationFailed(RuntimeError):
    pass


def function_environment(function: Function, endpoints: Endpoints) -> dict[str, str]:
    name = f"lendbridge-local-{function.name}"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - Lambda's HOME is not writable either
        # Lambda's reserved variables, which libraries (Powertools among them) consult.
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_" + (function.runtime or "python"),
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(CODE_ROOT),
        "PYTHONPATH": str(CODE_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **function.environment,
        # The emulators, and credentials they accept; a real profile or config file is never read.
        "AWS_ENDPOINT_URL": endpoints.aws,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoints.dynamodb,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "1",  # no X-Ray daemon here
        # `make test` measures the handlers' coverage in the workers too (see local/worker.py).
        **{name: os.environ[name] for name in COVERAGE_VARIABLES if name in os.environ},
    }


class Worker:
    """One worker process: an execution environment for one function."""

    def __init__(self, function: Function, env: Mapping[str, str], label: str, log: LogSink) -> None:
        self.function = function
        self.label = label
        self.code_stamp = code_stamp()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and worker script
            [sys.executable, "-P", str(WORKER_SCRIPT), function.handler],
            cwd=CODE_ROOT,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Its own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
            start_new_session=True,
        )
        self._log = log
        threading.Thread(target=self._pump_logs, name=f"log-{label}", daemon=True).start()
        self._buffer = b""
        ready = self._receive(time.monotonic() + INIT_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            error = (ready or {}).get("init_error", {"errorMessage": "the worker exited during init"})
            self.stop()
            raise InvocationFailed(f"{function.handler} failed to initialise: {error.get('errorMessage')}")

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Invocation:
        started = time.monotonic()
        deadline_ms = int(time.time() * 1000) + self.function.timeout_s * 1000
        request = json.dumps({"event": event, "request_id": request_id, "deadline_ms": deadline_ms})
        try:
            assert self._process.stdin is not None  # noqa: S101 - set by Popen(stdin=PIPE)
            self._process.stdin.write(request.encode() + b"\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return Invocation(error={"errorType": "Runtime.ExitError", "errorMessage": "the worker is gone"})
        reply = self._receive(started + self.function.timeout_s)
        elapsed = (time.monotonic() - started) * 1000
        if reply is None:
            # Lambda ends the sandbox of a timed-out or crashed invocation; so do we.
            timed_out = self.alive
            self.stop()
            message = f"Task timed out after {self.function.timeout_s} seconds" if timed_out else "the worker died"
            return Invocation(
                error={"errorType": "Runtime.ExitError", "errorMessage": message},
                timed_out=timed_out,
                duration_ms=elapsed,
            )
        if "error" in reply:
            return Invocation(error=reply["error"], duration_ms=elapsed)
        return Invocation(result=reply.get("result"), duration_ms=elapsed)

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """One protocol line, or None if the worker exits or the deadline passes first."""
        stream = self._process.stdout
        assert stream is not None  # noqa: S101 - set by Popen(stdout=PIPE)
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(stream, selectors.EVENT_READ)
                while b"\n" not in self._buffer:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not selector.select(timeout=remaining):
                        return None
                    chunk = os.read(stream.fileno(), 1 << 20)
                    if not chunk:
                        return None
                    self._buffer += chunk
        except (ValueError, OSError):
            # A stop that reached its deadline killed the worker and closed its pipes while
            # this invocation waited: the worker is gone, as when it exits by itself.
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _pump_logs(self) -> None:
        stream: IO[bytes] | None = self._process.stderr
        if stream is None:
            return
        for line in stream:
            self._log(f"[{self.label}] {line.decode(errors='replace').rstrip()}")

    def request_stop(self) -> None:
        """EOF on its stdin: the worker's loop ends once the invocation it runs (if any) is done."""
        if self._process.poll() is None and self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()

    def join(self, deadline: float) -> None:
        """Wait for the worker to exit until ``deadline``, then kill it."""
        try:
            self._process.wait(timeout=remaining(deadline))
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()

    def stop(self, timeout_s: float = WORKER_STOP_S) -> None:
        self.request_stop()
        self.join(time.monotonic() + timeout_s)


def pool_size(function: Function, cap: int) -> int:
    """How many invocations of ``function`` may run at once: its reserved concurrency from the
    template, as in AWS, at most ``cap``; ``cap`` itself when it reserves none (in AWS it would
    then share the account's unreserved concurrency)."""
    if function.reserved_concurrency is None:
        return max(1, cap)
    return max(1, min(cap, function.reserved_concurrency))


class FunctionPool:
    """Up to ``pool_size`` warm workers for one function; a request waits for a free one
    rather than share it, as Lambda never runs two invocations in one environment."""

    def __init__(
        self, function: Function, env: Mapping[str, str], log: LogSink, max_workers: int, reload_code: bool = True
    ) -> None:
        self.function = function
        self._reload_code = reload_code
        self._env = dict(env)
        self._log = log
        self.size = pool_size(function, max_workers)
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._starting = 0
        self._spawned = 0
        self._closed = False
        self._stopping: list[Worker] = []  # asked to exit; joined by ``join``
        self._condition = threading.Condition()

    def warm(self) -> None:
        """Start one worker now, so the first request does not pay the cold start."""
        worker, _ = self._acquire()
        self._release(worker)

    def invoke(self, event: Mapping[str, Any], request_id: str | None = None) -> Invocation:
        request_id = request_id or str(uuid.uuid4())
        started = time.monotonic()
        try:
            worker, cold = self._acquire()
        except InvocationFailed as failure:
            return Invocation(error={"errorType": "Runtime.ImportModuleError", "errorMessage": str(failure)})
        try:
            outcome = worker.invoke(event, request_id)
        finally:
            self._release(worker)
        total = (time.monotonic() - started) * 1000
        return Invocation(outcome.result, outcome.error, outcome.timed_out, total, cold)

    def _acquire(self) -> tuple[Worker, bool]:
        """A worker for one invocation, and whether it was started for it (a cold start)."""
        with self._condition:
            while True:
                if self._closed:
                    raise InvocationFailed(f"{self.function.name} is shutting down")
                if self._reload_code:
                    self._retire_stale_locked()
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker, False
                if len(self._busy) + self._starting < self.size:
                    self._starting += 1
                    self._spawned += 1
                    label = f"{self.function.name}#{self._spawned}"
                    break
                self._condition.wait()
        try:
            worker = Worker(self.function, self._env, label, self._log)
        except BaseException:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._starting -= 1
            self._busy.add(worker)
        return worker, True

    def _release(self, worker: Worker) -> None:
        with self._condition:
            self._busy.discard(worker)
            closed = self._closed
            if worker.alive and not closed:
                self._idle.append(worker)
            elif closed:
                self._stopping.append(worker)
            self._condition.notify_all()  # a waiting invocation, or ``join`` waiting for the busy
        if closed:
            worker.request_stop()  # ``join`` waits for it
        elif not worker.alive:
            worker.stop()

    def _retire_stale_locked(self) -> None:
        """Workers started before the code under lambdas/ last changed run the old code:
        retire them, so an edited handler is live on the next request without a restart."""
        current = code_stamp()
        stale = [worker for worker in self._idle if worker.code_stamp < current]
        for worker in stale:
            self._idle.remove(worker)
            worker.stop()

    def pids(self) -> list[int]:
        with self._condition:
            return [worker.pid for worker in [*self._idle, *self._busy] if worker.alive]

    def request_stop(self) -> None:
        """No invocation starts after this; idle workers are asked to exit now, busy ones when
        their invocation is done."""
        with self._condition:
            self._closed = True
            idle = list(self._idle)
            self._stopping.extend(idle)
            self._idle.clear()
            self._condition.notify_all()
        for worker in idle:
            worker.request_stop()

    def join(self, deadline: float) -> None:
        """Wait until ``deadline`` for the invocations under way and every worker's exit; a
        worker still running then is killed."""
        with self._condition:
            self._condition.wait_for(lambda: not self._busy and not self._starting, timeout=remaining(deadline))
            workers = [*self._stopping, *self._busy]
            self._stopping.clear()
        for worker in workers:
            worker.join(deadline)


_stamp_lock = threading.Lock()
_stamp_cache: tuple[float, float] = (0.0, 0.0)  # (checked at, newest mtime)


def code_stamp() -> float:
    """The newest modification time of the handlers' code, re-read at most once a second."""
    global _stamp_cache  # noqa: PLW0603 - a process-wide cache of a file-system fact
    with _stamp_lock:
        checked_at, stamp = _stamp_cache
        if time.monotonic() - checked_at < CODE_CHECK_INTERVAL_S:
            return stamp
        newest = max((path.stat().st_mtime for path in CODE_ROOT.rglob("*.py")), default=0.0)
        _stamp_cache = (time.monotonic(), newest)
        return newest
