"""Cold start of every function: its handler's import beside a bare Powertools function's, and
the first and second requests after that import.

    .venv/bin/python -m benchmarks.cold_start [--runs 9] [--assembly cdk.out.dev] [--imports-only]
        [--only loans health] [--bytecode]

Each measurement is a fresh interpreter (``python -I -S -B``: no site hooks, no bytecode
written) whose import path is what Lambda gives the function: the function's asset directory
from the synthesized template (else the bundle ``lendbridge_infra.bundling`` stages for the
handler), then this interpreter's site-packages standing in for the Powertools layer and the
runtime's boto3. The bare reference is ``import boto3; from aws_lambda_powertools import Logger;
Logger()``. Imports are timed in CPU seconds; pairs alternate which side runs first, so both
meet the same machine load; the ratio reported is the median of the pairs' ratios. One more row,
``resolver floor``, imports the bare function plus an empty ``APIGatewayRestResolver`` with
validation: what every API function pays before any code of its own.

First requests: one more fresh interpreter per run imports the handler and calls it twice with
the same event, against DynamoDB Local and a moto server (Secrets Manager) holding the
function's tables and secrets, so the first call pays for every client, secret and model it
builds. ``make bench`` runs both parts on its own DynamoDB Local; run alone, this module
starts one (and synthesizes the dev stage unless ``--assembly`` or LENDBRIDGE_ASSEMBLY_DIR
names an assembly).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import PROJECT_ROOT
from benchmarks.engine import ASSEMBLY_ENV, Engine, dynamodb_client, dynamodb_engine
from benchmarks.report import table
from local.template import REGION, Assembly

BARE = "import boto3; from aws_lambda_powertools import Logger; Logger()"
TARGET_RATIO = 1.5
UNRESOLVED = "cold-start-unresolved"
DEFAULT_RUNS = 9
REQUEST_RUNS = 3
PROBE = Path(__file__).resolve().parent / "cold_probe.py"
HANDLERS = PROJECT_ROOT / "lambdas" / "lendbridge" / "handlers"
# A handler module defines its Lambda entry point, or takes it from its ApiFunction.
ENTRY_POINT = re.compile(r"^(def handler\(|handler = )", re.MULTILINE)
LAYER = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Bundle:
    module: str  # lendbridge.handlers.loans
    directory: Path
    environment: dict[str, str] = field(default_factory=dict)  # the template's, references stood in for

    @property
    def name(self) -> str:
        return self.module.rsplit(".", 1)[-1]


def bundles_of(assembly_dir: Path) -> list[Bundle]:
    """Every Lendbridge function of a synthesized assembly, with the asset directory it deploys."""
    found = []
    for _stack, _logical_id, resource in Assembly.load(assembly_dir).resources("AWS::Lambda::Function"):
        properties = resource["Properties"]
        handler = str(properties.get("Handler", ""))
        key = properties.get("Code", {}).get("S3Key")
        if not handler.startswith("lendbridge.") or not isinstance(key, str):
            continue
        variables = properties.get("Environment", {}).get("Variables", {})
        # A reference (a table's name, a queue's url) has no value outside AWS: a stand-in keeps
        # settings checks passing; the requests replace the ones they use with local values.
        literal = {name: value if isinstance(value, str) else UNRESOLVED for name, value in variables.items()}
        directory = assembly_dir / f"asset.{key.removesuffix('.zip')}"
        found.append(Bundle(handler.rsplit(".", 1)[0], directory, literal))
    return sorted(found, key=lambda bundle: bundle.module)


def staged_bundles() -> list[Bundle]:
    """Without an assembly: each handler module's bundle, staged as the synth stages it."""
    from lendbridge_infra.bundling import stage_function_code

    modules = sorted(
        f"lendbridge.handlers.{path.stem}" for path in HANDLERS.glob("*.py") if ENTRY_POINT.search(path.read_text())
    )
    return [Bundle(module, stage_function_code(module)) for module in modules]


def compiled_copy(bundle: Bundle, into: Path) -> Bundle:
    """The bundle with every module compiled ahead (unchecked hashes: Lambda's files never change)."""
    target = into / bundle.name
    shutil.copytree(bundle.directory, target)
    compileall.compile_dir(target, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return Bundle(bundle.module, target, bundle.environment)


def _environment(bundle: Bundle, overrides: Mapping[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # DynamoDB Local keeps one database per access key: the one its tables were created with.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",  # never sent to AWS: endpoints are local or unused
        "LAMBDA_TASK_ROOT": str(bundle.directory),
        **bundle.environment,
        **overrides,
    }


def probe(
    bundle: Bundle, module: str | None, events: Sequence[Any] = (), env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One fresh interpreter: the import (``module``, or the bare reference for None) and then
    each event through the handler; seconds per step and the answers' statuses."""
    orders = {"path": [str(bundle.directory), *LAYER], "module": module, "events": list(events)}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", "-B", str(PROBE)],
        input=json.dumps(orders),
        capture_output=True,
        text=True,
        cwd=bundle.directory,
        env=_environment(bundle, env or {}),
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module or 'bare'} in {bundle.directory} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def import_seconds(bundle: Bundle, module: str | None) -> float:
    """CPU seconds (user + system) of the import: on a machine shared with other work, wall time
    would measure the neighbours too, while an import waits on nothing but the CPU and the page cache."""
    return float(probe(bundle, module)["cpu_seconds"][0])


@dataclass(frozen=True)
class ImportCost:
    function: str
    module: str
    bare_ms: float  # medians
    handler_ms: float
    ratio: float  # median of the pairs' ratios
    compiled_ms: float | None = None
    compiled_ratio: float | None = None


def paired(bundle: Bundle, runs: int) -> tuple[float, float, float]:
    """(bare ms, handler ms, ratio): medians over ``runs`` pairs, alternating which goes first."""
    bare, handler, ratios = [], [], []
    for run in range(runs):
        if run % 2:
            theirs = import_seconds(bundle, bundle.module)
            ours = import_seconds(bundle, None)
        else:
            ours = import_seconds(bundle, None)
            theirs = import_seconds(bundle, bundle.module)
        bare.append(ours)
        handler.append(theirs)
        ratios.append(theirs / ours)
    return statistics.median(bare) * 1000, statistics.median(handler) * 1000, statistics.median(ratios)


FLOOR_MODULE = "resolver_floor"
FLOOR_SOURCE = """\
import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

Logger()
app = APIGatewayRestResolver(enable_validation=True)
"""


def floor_bundle(into: Path) -> Bundle:
    """A function with no code of its own: the bare one plus an empty validating REST resolver."""
    directory = into / "floor"
    directory.mkdir()
    (directory / f"{FLOOR_MODULE}.py").write_text(FLOOR_SOURCE)
    return Bundle(FLOOR_MODULE, directory)


def measure_imports(
    bundles: Sequence[Bundle], runs: int, progress: Progress, *, compiled: bool = False
) -> list[ImportCost]:
    """Each bundle's import against the bare function's (and, with ``compiled``, again with its
    modules compiled ahead), then the resolver floor."""
    costs = []
    with tempfile.TemporaryDirectory(prefix="lendbridge-cold-") as scratch:
        for bundle in [*bundles, floor_bundle(Path(scratch))]:
            progress(f"cold start: importing {bundle.module}, {runs} pairs with the bare function")
            bare_ms, handler_ms, ratio = paired(bundle, runs)
            cost = ImportCost(bundle.name, bundle.module, bare_ms, handler_ms, ratio)
            if compiled:
                progress(f"cold start: importing {bundle.module} again, its modules compiled ahead")
                _, compiled_ms, compiled_ratio = paired(compiled_copy(bundle, Path(scratch)), runs)
                cost = replace(cost, compiled_ms=compiled_ms, compiled_ratio=compiled_ratio)
            costs.append(cost)
    return costs


# --- first and second request -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    wall_ms: float  # medians over the runs
    cpu_ms: float


@dataclass(frozen=True)
class FirstRequests:
    function: str
    request: str
    import_: Step
    first: Step
    second: Step
    statuses: tuple[Any, ...]


@dataclass(frozen=True)
class Stage:
    """What the requests need from the emulators: endpoints, tables, secrets and who asks."""

    dynamodb_endpoint: str
    moto_endpoint: str
    tables: dict[str, str]
    secrets: dict[str, str]  # environment variable -> secret id
    borrower: str
    lender: str
    lender_email: str
    queues: dict[str, str]  # environment variable -> queue url
    documents_bucket: str
    loan_created: dict[str, Any]  # the main table's stream record of a loan's creation, as Lambda sends it
    # S3's report of a declared document's object, through the upload queue: one document per
    # fresh process, so that each first request checks an upload no process has recorded yet
    uploads_reported: tuple[dict[str, Any], ...]
    # One requested extraction of a facility agreement per fresh process
    extractions_requested: tuple[dict[str, Any], ...]
    data_key_id: str  # the KMS key that seals webhook secrets
    # One queued delivery per fresh process, to a subscription whose receiver answers 204
    deliveries_due: tuple[dict[str, Any], ...]

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_endpoint,
            "MAIN_TABLE": self.tables["MainTable"],
            "AUDIT_TABLE": self.tables["AuditTable"],
            "IDEMPOTENCY_TABLE": self.tables["IdempotencyTable"],
            "RATE_LIMIT_TABLE": self.tables["RateLimitTable"],
            "WEBHOOKS_TABLE": self.tables["WebhooksTable"],
            "DOCUMENTS_BUCKET": self.documents_bucket,
            "DATA_KEY_ID": self.data_key_id,
            # The receiver listens on 127.0.0.1, as the local stack's do
            "WEBHOOK_ALLOW_LOOPBACK": "true",
            **self.queues,
            **self.secrets,
        }


Event = dict[str, Any]


def requests_for(stage: Stage) -> dict[str, tuple[str, Event | tuple[Event, ...]]]:
    """Per function, the request its cold start is measured with: the route callers use most,
    on data that makes it do its full work (a next page to sign, items to read). A tuple holds
    one event per fresh process, for a request whose work is done once (an upload recorded)."""
    from tests.events import api_event

    def api(method: str, path: str, user: str, *, resource: str | None = None, **query: str) -> dict[str, Any]:
        return api_event(method, path, resource=resource, query=query or None, user_id=user)

    return {
        "health": ("GET /health/live", api_event("GET", "/health/live")),
        "accounts": ("GET /v1/users/me", api("GET", "/v1/users/me", stage.borrower)),
        "loans": ("GET /v1/loans/my-loans?limit=1", api("GET", "/v1/loans/my-loans", stage.borrower, limit="1")),
        "lender": ("GET /v1/lender/pending?limit=1", api("GET", "/v1/lender/pending", stage.lender, limit="1")),
        "bookings": ("GET /v1/loan-bookings?limit=1", api("GET", "/v1/loan-bookings", stage.borrower, limit="1")),
        "webhooks": ("GET /v1/webhooks?limit=1", api("GET", "/v1/webhooks", stage.borrower, limit="1")),
        "integrity": ("the daily scan of the main table", {}),
        "cognito_triggers": ("post-confirmation of a sign-up", _confirmation(stage.lender, stage.lender_email)),
        "invitation_claims": ("one queued claim", _claims(stage.lender, stage.lender_email)),
        "loan_stream": ("the stream record of a new loan", stage.loan_created),
        "webhook_events": ("the stream record of a new loan", stage.loan_created),
        "upload_events": ("an upload S3 reported, then its redelivery", stage.uploads_reported),
        "webhook_delivery": ("a queued delivery, then its redelivery", stage.deliveries_due),
        "extractor": (
            "a queued extraction, then its redelivery (local PDF reader for Bedrock)",
            stage.extractions_requested,
        ),
    }


def _confirmation(user_id: str, email: str) -> dict[str, Any]:
    return {
        "version": "1",
        "region": REGION,
        "userPoolId": f"{REGION}_cold",
        "userName": email,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "cold-start"},
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "request": {"userAttributes": {"sub": user_id, "email": email, "email_verified": "true", "name": "Cold"}},
        "response": {},
    }


def _claims(user_id: str, email: str) -> dict[str, Any]:
    from lendbridge.data.keys import email_digest

    body = {"user_id": user_id, "email_digest": email_digest(email), "full_name": "Cold", "request_id": "cold"}
    return _queued(body, "claims")


def _queued(body: dict[str, Any], queue: str) -> dict[str, Any]:
    """One message of ``queue`` as Lambda's SQS event source delivers it."""
    now = str(int(time.time() * 1000))
    record = {
        "messageId": "cold-start-message",
        "receiptHandle": "cold-start-receipt",
        "body": json.dumps(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": "AIDACOLDSTART",
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:000000000000:{queue}",
        "awsRegion": REGION,
    }
    return {"Records": [record]}


@contextmanager
def emulated(engine: Engine, progress: Progress) -> Iterator[Stage]:
    """A moto server with the functions' secrets and the claims queue, and a borrower with two
    loans inviting one lender, on ``engine``'s DynamoDB Local; the moto server stops on exit."""
    import boto3

    from benchmarks.seed import Seeder
    from local.moto_server import MotoServer

    with ExitStack() as stack:
        progress("cold start: starting moto (Secrets Manager) and seeding a borrower and a lender")
        moto = stack.enter_context(MotoServer())

        def moto_client(service: str) -> Any:
            return boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=moto.endpoint,
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            )

        secretsmanager = moto_client("secretsmanager")
        secrets = {}
        for variable in ("PAGINATION_SECRET_ID", "IDEMPOTENCY_SECRET_ID", "RATE_LIMIT_KEY_SECRET_ID"):
            name = f"cold-start-{variable.lower()}"
            secretsmanager.create_secret(Name=name, SecretString=os.urandom(16).hex())
            secrets[variable] = name
        sqs = moto_client("sqs")
        queues = {
            variable: sqs.create_queue(QueueName=f"cold-start-{variable.lower().replace('_', '-')}")["QueueUrl"]
            for variable in ("CLAIMS_QUEUE_URL", "WEBHOOK_QUEUE_URL", "WEBHOOK_DLQ_URL")
        }
        seeder = Seeder(dynamodb_client(engine.endpoint), engine.tables)
        borrower, lender = seeder.person("coldborrower"), seeder.person("coldlender")
        for _ in range(2):  # two, so that a page of one has a next page to sign
            seeder.loan(borrower, [lender.email], Decimal("1000.00"))
        bucket = "cold-start-documents"
        s3 = moto_client("s3")
        s3.create_bucket(Bucket=bucket)
        key_id = str(moto_client("kms").create_key()["KeyMetadata"]["KeyId"])
        receiver = stack.enter_context(_receiver())
        documents = _Documents(engine, borrower.user_id, s3, bucket)
        agreement = (PROJECT_ROOT / "samples" / "documents" / "facility_agreement.pdf").read_bytes()
        stage = Stage(
            dynamodb_endpoint=engine.endpoint,
            moto_endpoint=moto.endpoint,
            tables=engine.tables,
            secrets=secrets,
            borrower=borrower.user_id,
            lender=lender.user_id,
            lender_email=lender.email,
            queues=queues,
            documents_bucket=bucket,
            loan_created={},
            uploads_reported=tuple(documents.upload_reported() for _ in range(REQUEST_RUNS)),
            extractions_requested=tuple(documents.extraction_requested(agreement) for _ in range(REQUEST_RUNS)),
            data_key_id=key_id,
            deliveries_due=_deliveries_due(
                engine, moto_client, key_id, queues["WEBHOOK_QUEUE_URL"], borrower.user_id, receiver
            ),
        )
        # After every write above: the stream's first loan is the seeder's.
        yield replace(stage, loan_created=_loan_created(engine))


@contextmanager
def _receiver() -> Iterator[str]:
    """A webhook receiver on 127.0.0.1 that answers every delivery 204; yields its url."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, name="cold-start-receiver", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def _deliveries_due(
    engine: Engine, moto_client: Callable[[str], Any], key_id: str, queue_url: str, owner: str, url: str
) -> tuple[dict[str, Any], ...]:
    """A subscription to ``url`` made as the webhook API makes it (secret sealed with KMS), and
    one queued delivery of a loan.created event to it per fresh process."""
    import uuid
    from dataclasses import asdict

    from lendbridge.data.webhook_adapters import KmsSecretBox, SqsDeliveryQueue, resolve
    from lendbridge.data.webhooks import DynamoWebhookStore
    from lendbridge.domain.ports import utc_now
    from lendbridge.domain.webhook_rules import UrlPolicy
    from lendbridge.domain.webhooks import Job, Subscriptions

    subscriptions = Subscriptions(
        DynamoWebhookStore(dynamodb_client(engine.endpoint), engine.tables["WebhooksTable"]),
        KmsSecretBox(moto_client("kms"), key_id),
        SqsDeliveryQueue(moto_client("sqs"), queue_url),
        resolve,
        UrlPolicy(allow_loopback_http=True),
        utc_now,
    )
    subscription, _secret = subscriptions.create(owner, url, ["loan.created"])
    now = utc_now()
    jobs = [
        Job(
            message_id=f"msg_{uuid.uuid4().hex}",
            webhook_id=subscription.webhook_id,
            owner_id=owner,
            event_type="loan.created",
            occurred_at=now.isoformat(),
            data={"loan_id": str(uuid.uuid4()), "amount": "1000.00"},
            attempt=1,
            scheduled_at=now.isoformat(),
            not_before=now.timestamp(),
        )
        for _ in range(REQUEST_RUNS)
    ]
    return tuple(_queued(asdict(job), "webhook-deliveries") for job in jobs)


class _Documents:
    """Bookings with a document each, made through the bookings domain on DynamoDB Local, the
    objects put in the bucket of moto's S3: what the upload worker and the extractor work on."""

    def __init__(self, engine: Engine, owner: str, s3: Any, bucket: str) -> None:
        import uuid

        from lendbridge.data.bookings import DynamoBookingStore
        from lendbridge.domain.booking_service import Bookings
        from lendbridge.domain.ports import Actor
        from tests.booking_fakes import PRODUCTS, FakeQueue, FakeStorage

        tables = engine.tables
        store = DynamoBookingStore(
            dynamodb_client(engine.endpoint), tables["MainTable"], tables["AuditTable"], lambda: str(uuid.uuid4())
        )
        self.queue = FakeQueue()  # the extraction requests, as ids
        self.bookings = Bookings(
            store=store,
            products=PRODUCTS,
            storage=FakeStorage(),  # only presigns the PUT, which is made with the bucket's client
            queue=self.queue,
            clock=lambda: datetime.now(UTC),
            new_id=lambda: str(uuid.uuid4()),
        )
        self.actor = Actor(user_id=owner, request_id="cold-start", ip_address="203.0.113.1")
        self.s3, self.bucket = s3, bucket

    def put(self, content: bytes) -> tuple[str, str, str]:
        """A new booking's document, its object in the bucket: (booking id, document id, key)."""
        from lendbridge.domain.bookings import BookingTerms

        terms = BookingTerms("Cold Start Ltd", "term-loan-gbp", Decimal("25000000.00"), "GBP", 60, None)
        booking = self.bookings.create(self.actor, terms)
        added = self.bookings.add_document(
            self.actor, booking.booking_id, "agreement.pdf", "application/pdf", len(content)
        )
        document = added.document
        self.s3.put_object(Bucket=self.bucket, Key=document.object_key, Body=content)
        return booking.booking_id, document.document_id, document.object_key

    def upload_reported(self) -> dict[str, Any]:
        """S3's report of a new document's object, as the upload worker receives it."""
        content = b"%PDF-1.7 cold start"
        _, _, key = self.put(content)
        report = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
                "object": {"key": key, "size": len(content)},
            },
        }
        return _queued({"Records": [report]}, "uploads")

    def extraction_requested(self, content: bytes) -> dict[str, Any]:
        """A recorded upload of ``content`` whose extraction is requested: the queued request."""
        import hashlib

        from lendbridge.domain.uploads import UploadVerdict

        booking_id, document_id, _ = self.put(content)
        sha256 = hashlib.sha256(content).hexdigest()
        self.bookings.record_upload(
            booking_id, document_id, UploadVerdict(True), sha256, len(content), datetime.now(UTC)
        )
        self.bookings.request_extraction(self.actor, booking_id, document_id)
        booking, document, extraction = self.queue.messages[-1]
        body = {"booking_id": booking, "document_id": document, "extraction_id": extraction}
        return _queued(body, "extractions")


def _loan_created(engine: Engine) -> dict[str, Any]:
    """The first loan's creation as the stream consumers receive it: read back from DynamoDB
    Local's stream and shaped as Lambda shapes it (``local.streams``)."""
    from local.streams import StreamPump

    batches: list[dict[str, Any]] = []
    StreamPump(engine.endpoint, engine.tables["MainTable"], batches.append, REGION).drain()
    records = [record for batch in batches for record in batch["Records"]]
    created = next(
        record
        for record in records
        if record["eventName"] == "INSERT" and record["dynamodb"]["NewImage"].get("entity") == {"S": "loan"}
    )
    return {"Records": [created]}


# Bedrock is not emulated here: the extractor reads with the local stack's PDF reader instead.
STAND_INS = {"extractor": {"READER_KIND": "local"}}


def measure_requests(bundles: Sequence[Bundle], stage: Stage, runs: int, progress: Progress) -> list[FirstRequests]:
    requests = requests_for(stage)
    measured = []
    for bundle in bundles:
        if bundle.name not in requests:
            continue
        label, given = requests[bundle.name]
        events = given if isinstance(given, tuple) else (given,) * runs
        progress(f"cold start: {bundle.module}, import then two requests ({label}), {runs} fresh processes")
        environment = {**stage.environment(), **STAND_INS.get(bundle.name, {})}
        samples = [probe(bundle, bundle.module, [event, event], environment) for event in events[:runs]]
        steps = [
            Step(
                wall_ms=statistics.median(float(sample["seconds"][step]) for sample in samples) * 1000,
                cpu_ms=statistics.median(float(sample["cpu_seconds"][step]) for sample in samples) * 1000,
            )
            for step in range(3)
        ]
        measured.append(FirstRequests(bundle.name, label, steps[0], steps[1], steps[2], tuple(samples[-1]["statuses"])))
    return measured


# --- report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStart:
    runs: int
    source: str  # where the bundles came from
    imports: list[ImportCost]
    requests: list[FirstRequests]
    when: str = ""  # date, machine and its load


def measure(
    engine: Engine | None,
    runs: int,
    progress: Progress,
    *,
    assembly_dir: Path | None = None,
    only: Sequence[str] = (),
    compiled: bool = False,
) -> ColdStart:
    """Imports always; first requests when ``engine`` (DynamoDB Local with the tables) is given.
    ``only`` names the functions to measure (default: all)."""
    directory = assembly_dir or (engine.assembly_dir if engine else None)
    bundles = bundles_of(directory) if directory else staged_bundles()
    bundles = [bundle for bundle in bundles if not only or bundle.name in only]
    source = (
        f"asset directories of the synthesized dev stage ({len(bundles)} functions)"
        if directory
        else ("bundles staged by lendbridge_infra.bundling")
    )
    imports = measure_imports(bundles, runs, progress, compiled=compiled)
    requests: list[FirstRequests] = []
    if engine is not None:
        with emulated(engine, progress) as stage:
            requests = measure_requests(bundles, stage, REQUEST_RUNS, progress)
    when = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end"
    )
    return ColdStart(runs, source, imports, requests, when)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def import_table(result: ColdStart) -> str:
    compiled = any(cost.compiled_ms is not None for cost in result.imports)
    rows = []
    for cost in result.imports:
        floor = cost.module == FLOOR_MODULE
        verdict = "met" if cost.ratio <= TARGET_RATIO else "MISSED"
        row = [
            "(resolver floor)" if floor else cost.function,
            _ms(cost.bare_ms),
            _ms(cost.handler_ms),
            f"{cost.ratio:.2f}x",
            "-" if floor else f"<= {TARGET_RATIO}x: {verdict}",
        ]
        if compiled:
            row += [_ms(cost.compiled_ms), "-" if cost.compiled_ratio is None else f"{cost.compiled_ratio:.2f}x"]
        rows.append(row)
    header = ["Function", "Bare CPU ms", "Handler CPU ms", "Ratio", "Target"]
    if compiled:
        header += ["Compiled ahead CPU ms", "Compiled ratio"]
    return table(header, rows, right=frozenset({1, 2, 3, 5, 6}))


def _step(step: Step) -> str:
    return f"{step.cpu_ms:.0f} / {step.wall_ms:.0f}"


def request_table(result: ColdStart) -> str:
    rows = [
        [
            item.function,
            item.request,
            _step(item.import_),
            _step(item.first),
            _step(item.second),
            f"{item.import_.cpu_ms + item.first.cpu_ms:.0f}",
            " / ".join("-" if status is None else str(status) for status in item.statuses),
        ]
        for item in result.requests
    ]
    header = ["Function", "Request", "Import ms", "First request ms", "Second request ms", "Import + first CPU ms"]
    return table([*header, "Statuses"], rows, right=frozenset({2, 3, 4, 5}))


def render_section(result: ColdStart, command: str) -> str:
    compiled = any(cost.compiled_ms is not None for cost in result.imports)
    parts = [
        "## Cold start: handler import and first requests",
        "",
        f"Measured on {result.when} with `{command}` ({result.runs} pairs per function; {result.source}). "
        "`make bench` runs the same; alone: `.venv/bin/python -m benchmarks.cold_start` (`--imports-only` needs "
        "no DynamoDB Local).",
        "",
        "Each figure is a fresh interpreter (`python -I -S -B`) whose import path is the function's bundle and "
        "then site-packages, standing in for the Powertools layer and the runtime's boto3. 'Bare' imports what "
        f"the smallest Powertools function does (`{BARE}`). Times are the import's CPU time (user + system: on a "
        "shared machine wall time also measures the neighbours); the ratio is the median, over the pairs, of "
        "handler import / bare import, each pair run back to back with the order alternating. The resolver "
        "floor is the bare function plus an empty `APIGatewayRestResolver(enable_validation=True)`: what every "
        "API function imports before any code of its own.",
        *(
            ["'Compiled ahead' is the same bundle with its modules compiled to bytecode first (by this interpreter)."]
            if compiled
            else []
        ),
        "",
        import_table(result),
        "",
    ]
    if result.requests:
        measured = {item.function for item in result.requests}
        skipped = sorted(cost.function for cost in result.imports if cost.module != FLOOR_MODULE)
        skipped = [name for name in skipped if name not in measured]
        parts += [
            f"First and second request after the import, in one fresh process each (medians of {REQUEST_RUNS}), "
            "through the function's real handler against DynamoDB Local and moto (Secrets Manager, SQS, S3, KMS) "
            "and, for deliveries, a receiver on 127.0.0.1: the first request pays for the clients, secrets and "
            "validation models it builds, the second for none. Where the work is done once (an upload recorded, "
            "a delivery made), each process gets work of its own and its second request is the redelivery, which "
            "finds it done. Statuses are an API's status codes, or how many records of a batch failed. Each "
            "figure is CPU ms / wall ms: CPU is the function's own work; wall adds the waits on DynamoDB Local "
            "and moto, and on the other processes of this machine."
            + (f" Not measured: {', '.join(skipped)} (no event of its kind is built here yet)." if skipped else "")
            + " The extractor reads with the local stack's PDF reader: Bedrock, its reader in AWS, is not emulated.",
            "",
            request_table(result),
            "",
        ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help=f"pairs per function (default {DEFAULT_RUNS})")
    parser.add_argument("--assembly", type=Path, help="a synthesized cdk.out whose asset directories to import")
    parser.add_argument("--imports-only", action="store_true", help="no DynamoDB Local, no requests")
    parser.add_argument("--only", nargs="*", default=[], help="these functions only (loans, health ...)")
    parser.add_argument("--bytecode", action="store_true", help="also import each bundle compiled ahead")
    options = parser.parse_args(argv)
    given = options.assembly or (Path(os.environ[ASSEMBLY_ENV]) if os.environ.get(ASSEMBLY_ENV) else None)
    started = time.monotonic()

    def progress(message: str) -> None:
        sys.stderr.write(f"[cold {time.monotonic() - started:5.1f}s] {message}\n")

    command = " ".join([".venv/bin/python -m benchmarks.cold_start", *(argv if argv is not None else sys.argv[1:])])
    if options.imports_only:
        result = measure(None, options.runs, progress, assembly_dir=given, only=options.only, compiled=options.bytecode)
    else:
        with dynamodb_engine() as engine:
            result = measure(
                engine, options.runs, progress, assembly_dir=given, only=options.only, compiled=options.bytecode
            )
    print(render_section(result, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
