"""DynamoDB Local with the dev template's tables, and clients on it.

The tables come from the synthesized dev template (the definitions that deploy), as in the
integration tests. Synth (7 s or more, jsii) and the JVM's start overlap, so together they
cost as long as the slower one. ``LENDBRIDGE_ASSEMBLY_DIR`` reuses an existing cdk.out.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from lendbridge.aws import BOTO_CONFIG
from local.dynamodb_local import DynamoDBLocal
from local.synth import synthesize
from local.template import REGION, Assembly, create_tables

ASSEMBLY_ENV = "LENDBRIDGE_ASSEMBLY_DIR"


@dataclass(frozen=True)
class Engine:
    endpoint: str
    tables: dict[str, str]  # friendly logical id (MainTable ...) -> local table name
    assembly_dir: Path  # lives until the context exits, also after ``stop`` (the HTTP run needs it)
    synthesized: bool  # False when LENDBRIDGE_ASSEMBLY_DIR was reused
    process: DynamoDBLocal

    def stop(self) -> None:
        """Stop DynamoDB Local early (idempotent), so it holds no memory while others run."""
        self.process.stop()


def dynamodb_client(endpoint: str) -> Any:
    """A client with the functions' own botocore configuration (retries, timeouts, pool)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local accepts any credentials
        config=BOTO_CONFIG,
    )


@contextmanager
def dynamodb_engine() -> Iterator[Engine]:
    """DynamoDB Local with every table created; stopped (with its JVM) on exit at the latest."""
    with ExitStack() as stack:
        given = os.environ.get(ASSEMBLY_ENV)
        process = DynamoDBLocal()
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench-start") as pool:
            started = pool.submit(process.start)
            synth = None
            if not given:
                outdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lendbridge-bench-")))
                synth = pool.submit(synthesize, outdir / "cdk.out", "dev")
            try:
                started.result()
            finally:
                # Registered even if the start or synth fails, so the JVM never outlives us.
                stack.callback(process.stop)
            assembly_dir = synth.result() if synth is not None else Path(str(given))
        tables = create_tables(process.client(), Assembly.load(assembly_dir))
        yield Engine(process.endpoint, tables, assembly_dir, synthesized=synth is not None, process=process)
