"""DynamoDB Local, started once per session, with every table created from the synthesized
dev template (the same definitions that deploy)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.dynamodb_local import DynamoDBLocal
from local.synth import synthesize
from local.template import Assembly, create_tables


@pytest.fixture(scope="session")
def dev_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    given = os.environ.get("LENDBRIDGE_ASSEMBLY_DIR")
    outdir = Path(given) if given else synthesize(tmp_path_factory.mktemp("cdk.out"))
    return Assembly.load(outdir)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as engine:
        yield engine


@pytest.fixture(scope="session")
def tables(dynamodb_local: DynamoDBLocal, dev_assembly: Assembly) -> dict[str, str]:
    return create_tables(dynamodb_local.client(), dev_assembly)


@pytest.fixture
def dynamodb(dynamodb_local: DynamoDBLocal, tables: dict[str, str]) -> Any:
    """A low-level client on DynamoDB Local with the shared botocore configuration."""
    import boto3

    from lendbridge.aws import BOTO_CONFIG

    return boto3.client(
        "dynamodb",
        endpoint_url=dynamodb_local.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=BOTO_CONFIG,
    )
