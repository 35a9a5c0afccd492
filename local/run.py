"""``make run``: the whole API on http://127.0.0.1:3000 on local emulators, from the dev template.

Settings (environment variables):
  PORT                         the API's port (default 3000)
  DYNAMODB_PORT, MOTO_PORT     fixed ports for DynamoDB Local and moto (default: free ports)
  AWS_ENDPOINT_URL_DYNAMODB    use this DynamoDB instead of starting DynamoDB Local
  LOCAL_PERSIST=1              keep DynamoDB Local's data in <LOCAL_DIR>/dynamodb and the
                               emulated Cognito users (passwords too) in <LOCAL_DIR>/cognito
  LOCAL_DIR                    where the local stack keeps its files (default .local/): the
                               state file other commands read, the function log, kept data
  LOCAL_ASSEMBLY_DIR           an already synthesized dev assembly: skips the synth
                               (otherwise .local/cdk.out.dev is reused while the sources that
                               feed the synth are unchanged, and re-synthesized when they change)
  LOCAL_TOKEN_ISSUER           the issuer the authorizer expects ({pool_id} is substituted;
                               default: Cognito's, which is what moto writes into tokens)
  LOCAL_MAX_WORKERS            the most worker processes per function (default 8); each function
                               runs as many at once as its reserved concurrency in the template
  LOCAL_WARM=0                 start functions on first use instead of before serving
  LOCAL_REAL_RATE_LIMITS=1     serve with the dev stage's rate limits (60 a minute per caller ...)
                               instead of the local stack's generous ones (local/rate_limits.py)

Ctrl-C or SIGTERM stops every process it started.

The console shows one line per request; the functions' JSON logs and EMF metrics go to
<LOCAL_DIR>/logs/functions.log. While it serves, <LOCAL_DIR>/stack.json says where it runs
(``make seed`` and ``make integrity-check`` read it).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from local.net import PortTaken
from local.stack import DEFAULT_API_PORT, LOCAL_READER, LocalLendbridge
from local.state import StackState, local_dir
from local.workers import DEFAULT_MAX_WORKERS, LogSink

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_PASSWORD = "Local-Passw0rd!"  # noqa: S105 - a documented example for a local, throwaway pool


class Settings:
    def __init__(self, env: dict[str, str]) -> None:
        self.api_port = _port(env, "PORT") or DEFAULT_API_PORT
        self.dynamodb_port = _port(env, "DYNAMODB_PORT")
        self.moto_port = _port(env, "MOTO_PORT")
        self.dynamodb_endpoint = env.get("AWS_ENDPOINT_URL_DYNAMODB") or None
        self.persist = env.get("LOCAL_PERSIST", "") not in ("", "0", "false")
        self.local_dir = local_dir(env)
        self.persist_dir = self.local_dir / "dynamodb"
        self.users_file = self.local_dir / "cognito" / "users.json"
        self.function_log = self.local_dir / "logs" / "functions.log"
        assembly = env.get("LOCAL_ASSEMBLY_DIR")
        self.assembly_dir = Path(assembly) if assembly else None
        self.token_issuer = env.get("LOCAL_TOKEN_ISSUER") or None
        self.max_workers = _count(env, "LOCAL_MAX_WORKERS") or DEFAULT_MAX_WORKERS
        self.warm = env.get("LOCAL_WARM", "1") not in ("0", "false")
        self.real_rate_limits = env.get("LOCAL_REAL_RATE_LIMITS", "") not in ("", "0", "false")


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


def _shown(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def try_it(url: str) -> list[str]:
    """The whole story in shell lines: two people register and log in, one creates a loan that
    invites the other, who accepts it (and funds it)."""
    json_of = "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"data\"]%s)'"
    register = (
        'curl -s -X POST $API/v1/auth/register -H "$JSON" '
        '-d \'{"email": "%s", "password": "\'$PW\'", "full_name": "%s"}\'; echo'
    )
    ach = (
        '{"ach": {"account_holder_name": "Grace Hopper", "routing_number": "011000015", '
        '"account_number": "000123456789", "account_type": "checking"}}'
    )
    loan = (
        '{"amount": "5000.00", "interest_rate": 7.5, "term_months": 24, "purpose": "Bakery oven", '
        '"lenders": [{"email": "grace@example.com", "contribution_amount": "5000.00"}]}'
    )
    return [
        f"API={url} PW='{SAMPLE_PASSWORD}' JSON='Content-Type: application/json'",
        register % ("ada@example.com", "Ada Lovelace"),
        register % ("grace@example.com", "Grace Hopper"),
        'login() { curl -s -X POST $API/v1/auth/login -H "$JSON" '
        '-d \'{"email": "\'$1\'", "password": "\'$PW\'"}\' | ' + json_of % '["access_token"]' + "; }",
        "ADA=$(login ada@example.com) GRACE=$(login grace@example.com)",
        f'curl -s -X POST $API/v1/loans -H "$JSON" -H "Authorization: Bearer $ADA" -d \'{loan}\'; echo',
        'INVITATION=$(curl -s $API/v1/lender/pending -H "Authorization: Bearer $GRACE" | '
        + json_of % '["invitations"][0]["participant_id"]'
        + ")",
        'curl -s -X POST $API/v1/lender/invitations/$INVITATION/accept -H "$JSON" '
        f"-H \"Authorization: Bearer $GRACE\" -d '{ach}'; echo",
    ]


def banner(stack: LocalLendbridge, settings: Settings) -> str:
    url = stack.api_url
    routes = [method for method in stack.api.methods.values() if method.function is not None]
    if settings.dynamodb_endpoint:
        storage = f"{settings.dynamodb_endpoint} (given by AWS_ENDPOINT_URL_DYNAMODB)"
    elif settings.persist:
        storage = f"{stack.dynamodb_endpoint} (data and users kept in {_shown(settings.local_dir)})"
    else:
        storage = f"{stack.dynamodb_endpoint} (in memory; LOCAL_PERSIST=1 keeps data and users)"
    openapi = f"{url}/openapi.json"
    if not stack.docs.has_openapi:
        openapi += "  -- docs/openapi.json is missing (run `make openapi`); it answers 404 until then"
    docs = f"{url}/docs" if stack.docs.has_swagger else "unavailable: swagger-ui-dist is not installed (make install)"
    if settings.assembly_dir is not None:
        template = f"{settings.assembly_dir} (LOCAL_ASSEMBLY_DIR)"
    elif stack.template_reused:
        template = ".local/cdk.out.dev, reused: the app's sources have not changed since it was synthesized"
    else:
        template = ".local/cdk.out.dev, synthesized now"
    lines = [
        "",
        f"Lendbridge API (stage {stack.api.stage}) ready in {stack.startup_seconds:.1f} s",
        f"  API             {url}  ({len(routes)} routes: see the docs)",
        f"  Docs            {docs}",
        f"  OpenAPI         {openapi}",
        f"  Function logs   {_shown(settings.function_log)}  (JSON logs and EMF metrics; one line per request here)",
        f"  Template        {template}",
        f"  DynamoDB        {storage}",
        f"  moto            {stack.moto_endpoint} (S3, Cognito, KMS, SNS, SQS, CloudWatch, Secrets Manager)",
        f"  Documents       presigned upload and download URLs point at S3 on {stack.moto_endpoint}"
        " (their signatures checked as S3 checks them: another length or type is a 403)",
        f"  Extraction      {LOCAL_READER} PDF reader (text PDFs, documented patterns); Bedrock is not used locally",
        "  Webhooks        delivered to http://127.0.0.1:<port> receivers too, retried after 2, 4 and 6 s "
        "(the dev stage's local_overrides in cdk.json)",
        "",
        "Try it: paste these lines into a shell (or run `make seed` for a set of sample users and loans):",
        *(f"  {line}" for line in try_it(url)),
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


@contextmanager
def function_log_file(path: Path) -> Iterator[LogSink]:
    """A log sink writing this run's lines to ``path`` (created with its directory), safe
    across threads. Each run starts the file afresh: it is the log of the stack that is up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    with path.open("w", encoding="utf-8") as file:

        def write(line: str) -> None:
            with lock:
                file.write(line + "\n")
                file.flush()

        yield write


def serve(stack: LocalLendbridge, settings: Settings) -> None:
    """Until Ctrl-C or SIGTERM, with the state file that lets other commands find the stack."""
    state = StackState(
        pid=os.getpid(),
        api_url=stack.api_url,
        dynamodb_endpoint=stack.dynamodb_endpoint,
        moto_endpoint=stack.moto_endpoint,
        function_log=str(settings.function_log),
    )
    state.write(settings.local_dir)
    try:
        print(banner(stack, settings), flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            print("Stopping...", flush=True)
    finally:
        state.remove(settings.local_dir)


def main() -> int:
    settings = Settings(dict(os.environ))

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        # The same orderly exit as Ctrl-C: leaving the `with` block stops every child. A second
        # SIGTERM must not interrupt that cleanup.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    print("Starting the local stack (template, DynamoDB Local, moto, functions)...", flush=True)
    try:
        with function_log_file(settings.function_log) as function_log:
            stack = LocalLendbridge(
                api_port=settings.api_port,
                assembly_dir=settings.assembly_dir,
                dynamodb_endpoint=settings.dynamodb_endpoint,
                dynamodb_port=settings.dynamodb_port,
                persist_dir=settings.persist_dir if settings.persist else None,
                users_file=settings.users_file if settings.persist else None,
                moto_port=settings.moto_port,
                token_issuer=settings.token_issuer,
                max_workers=settings.max_workers,
                warm=settings.warm,
                real_rate_limits=settings.real_rate_limits,
                function_log=function_log,
            )
            with stack:
                serve(stack, settings)
    except PortTaken as taken:
        print(f"error: {taken}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        pass  # interrupted while starting: everything started so far is stopped already
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
