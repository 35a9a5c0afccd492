"""``make integrity-check``: the referential-integrity job, against a running local stack.

Runs the very ``run_job`` the scheduled Lambda runs (so its structured log line and metric
lines come out as they would in CloudWatch), then prints a summary. Read-only.

  --endpoint URL   DynamoDB endpoint; default AWS_ENDPOINT_URL_DYNAMODB, else
                   http://127.0.0.1:$DYNAMODB_PORT, else the one the running ``make run`` uses
                   (from its state file, <LOCAL_DIR>/stack.json)
  --table NAME     default: the local stack's main table, found with ListTables

Exit status 0 whenever the check ran, orphans or not (it is a report); 1 if it could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT / "lambdas"))
# The job's log line names its service as the deployed function's does.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "lendbridge")

import boto3  # noqa: E402
from botocore.exceptions import BotoCoreError, ClientError  # noqa: E402

from lendbridge.aws import BOTO_CONFIG  # noqa: E402 - needs lambdas/ on the path
from lendbridge.data.integrity_scan import DEFAULT_SEGMENTS, IntegrityScanner  # noqa: E402
from lendbridge.domain.integrity import IntegrityReport, OrphanKind  # noqa: E402
from lendbridge.errors import LendbridgeError  # noqa: E402
from lendbridge.handlers.integrity import run_job  # noqa: E402
from local.state import local_dir, running_stack  # noqa: E402
from local.template import LOCAL_PREFIX, REGION  # noqa: E402

MAIN_TABLE = f"{LOCAL_PREFIX}-MainTable"


class CannotRun(Exception):
    pass


def endpoint_from(given: str | None, env: dict[str, str]) -> str:
    if given:
        return given
    if env.get("AWS_ENDPOINT_URL_DYNAMODB"):
        return env["AWS_ENDPOINT_URL_DYNAMODB"]
    if env.get("DYNAMODB_PORT"):
        return f"http://127.0.0.1:{env['DYNAMODB_PORT']}"
    running = running_stack(local_dir(env))
    if running is not None:
        return running.dynamodb_endpoint
    raise CannotRun(
        "No running local stack found: start it with `make run` in another terminal "
        "(or pass --endpoint / set AWS_ENDPOINT_URL_DYNAMODB)"
    )


def discover_table(dynamodb: Any) -> str:
    names: list[str] = []
    for page in dynamodb.get_paginator("list_tables").paginate():
        names += page["TableNames"]
    matching = [name for name in names if name == MAIN_TABLE] or [name for name in names if MAIN_TABLE in name]
    if len(matching) != 1:
        raise CannotRun(f"Expected one table named like {MAIN_TABLE}, found {matching or 'none'}; pass --table")
    return matching[0]


def local_client(endpoint: str) -> Any:
    # DynamoDB Local keeps one set of tables per access key and region: use exactly the ones the
    # local stack uses, whatever AWS credentials the caller's environment holds.
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local ignores credentials
        config=BOTO_CONFIG,
    )


def summary(report: IntegrityReport, table: str, endpoint: str, seconds: float) -> str:
    lines = [
        "",
        f"Referential integrity of {table} at {endpoint}",
        f"  read {report.as_dict()['scanned_total']} items in {report.pages} page(s), "
        f"{report.lookups} reference(s) looked up in {report.batch_get_calls} BatchGetItem call(s), {seconds:.2f} s"
        + ("" if report.complete else "  (INCOMPLETE)"),
        f"  orphaned records: {report.total}",
    ]
    for kind in OrphanKind:
        lines.append(f"    {kind.value:<14} {report.orphans[kind]}")
        lines += [f"      e.g. {sample}" for sample in report.samples[kind]]
    lines.append("Nothing was changed; this is a report.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make integrity-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="DynamoDB endpoint URL")
    parser.add_argument("--table", help="main table name (default: discovered)")
    parser.add_argument("--segments", type=int, default=DEFAULT_SEGMENTS, help="parallel scan segments")
    parser.add_argument("--samples", type=int, default=10, help="sample keys kept per kind")
    args = parser.parse_args(argv)
    try:
        endpoint = endpoint_from(args.endpoint, dict(os.environ))
        dynamodb = local_client(endpoint)
        table = args.table or discover_table(dynamodb)
        started = time.monotonic()
        scanner = IntegrityScanner(dynamodb, table, segments=args.segments, sample_limit=args.samples)
        report = run_job(scanner)
    except (CannotRun, LendbridgeError, BotoCoreError, ClientError) as error:
        print(f"integrity-check could not run: {error}", file=sys.stderr)
        return 1
    print(summary(report, table, endpoint, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
