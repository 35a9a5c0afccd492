"""``make run``: the whole API on http://127.0.0.1:3000 on local emulators, from the dev template.

Settings (environment variables):
  PORT                         the API's port (default 3000)
  DYNAMODB_PORT, MOTO_PORT     fixed ports for DynamoDB Local and moto (default: free ports)
  AWS_ENDPOINT_URL_DYNAMODB    use this DynamoDB instead of starting DynamoDB Local
  LOCAL_PERSIST=1              keep DynamoDB Local's data in .local/dynamodb across runs
                               (moto's state, Cognito users included, is never kept)
  LOCAL_ASSEMBLY_DIR           an already synthesized dev assembly: skips the synth
                               (otherwise .local/cdk.out.dev is reused while the sources that
                               feed the synth are unchanged, and re-synthesized when they change)
  LOCAL_TOKEN_ISSUER           the issuer the authorizer expects ({pool_id} is substituted;
                               default: Cognito's, which is what moto writes into tokens)
  LOCAL_MAX_WORKERS            the most worker processes per function (default 8); each function
                               runs as many at once as its reserved concurrency in the template
  LOCAL_WARM=0                 start functions on first use instead of before serving

Ctrl-C or SIGTERM stops every process it started.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

from local.net import PortTaken
from local.stack import DEFAULT_API_PORT, LocalStack
from local.workers import DEFAULT_MAX_WORKERS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PERSIST_DIR = PROJECT_ROOT / ".local" / "dynamodb"
SAMPLE_PASSWORD = "Local-Passw0rd!"  # noqa: S105 - a documented example for a local, throwaway pool


class Settings:
    def __init__(self, env: dict[str, str]) -> None:
        self.api_port = _port(env, "PORT") or DEFAULT_API_PORT
        self.dynamodb_port = _port(env, "DYNAMODB_PORT")
        self.moto_port = _port(env, "MOTO_PORT")
        self.dynamodb_endpoint = env.get("AWS_ENDPOINT_URL_DYNAMODB") or None
        self.persist = env.get("LOCAL_PERSIST", "") not in ("", "0", "false")
        assembly = env.get("LOCAL_ASSEMBLY_DIR")
        self.assembly_dir = Path(assembly) if assembly else None
        self.token_issuer = env.get("LOCAL_TOKEN_ISSUER") or None
        self.max_workers = _count(env, "LOCAL_MAX_WORKERS") or DEFAULT_MAX_WORKERS
        self.warm = env.get("LOCAL_WARM", "1") not in ("0", "false")


def _count(env: dict[str, str], name: str) -> int | None:
    value = env.get(name)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name}={value!r} is not a positive whole number")
    return int(value)


def _port(env: dict[str, str], name: str) -> int | None:
    value = env.get(name)
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name}={value!r} is not a port number")
    return int(value)


def banner(stack: LocalStack, settings: Settings) -> str:
    url = stack.api_url
    routes = sorted((path, verb) for (path, verb), method in stack.api.methods.items() if method.function is not None)
    if settings.dynamodb_endpoint:
        storage = f"{settings.dynamodb_endpoint} (given by AWS_ENDPOINT_URL_DYNAMODB)"
    elif settings.persist:
        storage = (
            f"{stack.dynamodb_endpoint} (data kept in {PERSIST_DIR.relative_to(PROJECT_ROOT)}; "
            "Cognito users are not: register with a new email)"
        )
    else:
        storage = f"{stack.dynamodb_endpoint} (in memory; LOCAL_PERSIST=1 keeps data)"
    openapi = f"{url}/openapi.json"
    if not stack.docs.has_openapi:
        openapi += "  -- docs/openapi.json is missing (run `make openapi`); it answers 404 until then"
    docs = f"{url}/docs" if stack.docs.has_swagger else "unavailable: swagger-ui-dist is not installed (make install)"
    email = "ada@example.com"
    if settings.assembly_dir is not None:
        template = f"{settings.assembly_dir} (LOCAL_ASSEMBLY_DIR)"
    elif stack.template_reused:
        template = ".local/cdk.out.dev, reused: the app's sources have not changed since it was synthesized"
    else:
        template = ".local/cdk.out.dev, synthesized now"
    lines = [
        "",
        f"Lendbridge API (stage {stack.api.stage}) ready in {stack.startup_seconds:.1f} s",
        f"  Template        {template}",
        f"  API             {url}",
        f"  Docs            {docs}",
        f"  OpenAPI         {openapi}",
        f"  DynamoDB        {storage}",
        f"  moto            {stack.moto_endpoint} (S3, Cognito, KMS, SNS, SQS, CloudWatch, Secrets Manager)",
        f"  Routes          {len(routes)}: " + ", ".join(f"{verb} {path}" for path, verb in routes),
        "",
        "Try it:",
        f"  curl -s -X POST {url}/v1/auth/register -H 'Content-Type: application/json' \\",
        f'       -d \'{{"email": "{email}", "password": "{SAMPLE_PASSWORD}", "full_name": "Ada Lovelace"}}\'',
        f"  TOKEN=$(curl -s -X POST {url}/v1/auth/login -H 'Content-Type: application/json' \\",
        f'       -d \'{{"email": "{email}", "password": "{SAMPLE_PASSWORD}"}}\' \\',
        '       | python3 -c \'import json, sys; print(json.load(sys.stdin)["data"]["access_token"])\')',
        f'  curl -s {url}/v1/users/me -H "Authorization: Bearer $TOKEN"',
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    settings = Settings(dict(os.environ))

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        # The same orderly exit as Ctrl-C: leaving the `with` block stops every child. A second
        # SIGTERM must not interrupt that cleanup.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    print("Starting the local stack (template, DynamoDB Local, moto, functions)...", flush=True)
    stack = LocalStack(
        api_port=settings.api_port,
        assembly_dir=settings.assembly_dir,
        dynamodb_endpoint=settings.dynamodb_endpoint,
        dynamodb_port=settings.dynamodb_port,
        persist_dir=PERSIST_DIR if settings.persist else None,
        moto_port=settings.moto_port,
        token_issuer=settings.token_issuer,
        max_workers=settings.max_workers,
        warm=settings.warm,
    )
    try:
        with stack:
            print(banner(stack, settings), flush=True)
            try:
                while True:
                    signal.pause()
            except KeyboardInterrupt:
                print("Stopping...", flush=True)
    except PortTaken as taken:
        print(f"error: {taken}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        pass  # interrupted while starting: everything started so far is stopped already
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
