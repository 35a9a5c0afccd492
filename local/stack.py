"""The whole local stack as one context manager:

    with LocalLendbridge(api_port=free_port()) as stack:
        requests.get(stack.api_url + "/health/live")

Everything is provisioned from the synthesized dev template: DynamoDB tables on DynamoDB Local
(or an endpoint given), buckets, keys, secrets, topics, queues and user pools on a moto server,
and the REST API's routes, authorizer and gateway responses in front of the very handlers that
deploy. Stream and SQS event sources feed their functions (S3 event notifications reach their
queues through moto, so uploads to presigned URLs are checked by the upload worker); a user pool's post-confirmation
trigger runs after a confirmed sign-up (``local.cognito_triggers``). Pass ``assembly_dir`` to
reuse an already synthesized assembly (synth takes 7 s or more).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.apimodel import RestApi, load_api
from local.authorizer import CognitoAuthorizer, PoolTrust, default_issuer
from local.cognito_triggers import PostConfirmation, post_confirmation_triggers
from local.docs import DocsSite
from local.dynamodb_local import DynamoDBLocal
from local.event_sources import StreamConsumer, start_pump, stream_mappings
from local.events import HttpRequest, HttpResponse
from local.gateway import Gateway
from local.http_server import HttpServer
from local.moto_server import MotoServer
from local.net import PortTaken, port_in_use
from local.provision import PROVISIONERS, Clients, bind_placeholders, provision
from local.queue_sources import QueuePoller, queue_mappings
from local.rate_limits import loosen
from local.shutdown import stop_together
from local.streams import StreamPump
from local.synth import start_synth, stop_synth
from local.synth_cache import cached_assembly
from local.template import REGION, Assembly, create_tables
from local.workers import DEFAULT_MAX_WORKERS, Endpoints, FunctionPool, LogSink, function_environment

DEFAULT_API_PORT = 3000
# Bedrock cannot be reached here: every function that names a document reader (the extractor,
# and the readiness probe that reports it) gets the local PDF reader instead of the template's.
LOCAL_READER = "local"
# C1 only: on a laptop DynamoDB Local is up in about half the time, and short local workloads
# never reach the point where C2's optimisations would pay off.
FAST_START_JVM = ("-XX:TieredStopAtLevel=1",)
# How long the event sources and worker pools have, all together, to stop: a poll under way ends
# within a second, an idle worker at once; an invocation still running after this is killed.
STOP_TIMEOUT_S = 5.0


def print_log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class LocalLendbridge:
    def __init__(
        self,
        *,
        api_port: int = DEFAULT_API_PORT,
        assembly_dir: Path | None = None,
        stage: str = "dev",
        dynamodb_endpoint: str | None = None,
        dynamodb_port: int | None = None,
        persist_dir: Path | None = None,
        users_file: Path | None = None,
        moto_port: int | None = None,
        token_issuer: str | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        log: LogSink = print_log,
        function_log: LogSink | None = None,
        docs: DocsSite | None = None,
        reload_code: bool = True,
        warm: bool = True,
        synth_cache: bool = True,
        observers: Sequence[Callable[[HttpRequest, HttpResponse], None]] = (),
        real_rate_limits: bool = False,
    ) -> None:
        """``dynamodb_endpoint`` uses a running DynamoDB instead of starting DynamoDB Local;
        ``persist_dir`` makes DynamoDB Local keep its data there, ``users_file`` moto the
        Cognito users; ``token_issuer`` overrides the
        issuer the authorizer expects (``{pool_id}`` is replaced by the pool's id); ``reload_code``
        retires warm workers when code under lambdas/ changes (off for reproducible tests);
        ``warm`` starts one worker per function before serving; ``synth_cache`` reuses
        .local/cdk.out.<stage> while the app's sources are unchanged (see local.synth_cache).
        ``log`` gets the stack's own lines and one line per request; ``function_log`` (default:
        ``log``) what the functions write (their JSON logs and EMF metrics) and the reasons
        behind the gateway's error answers; ``observers`` see every answered API request (the e2e
        tests record the routes called); ``real_rate_limits`` keeps the stage's rate limits instead
        of the local stack's generous ones (``local.rate_limits``)."""
        self.api_port = api_port
        self.stage = stage
        self._assembly_dir = assembly_dir
        self._dynamodb_endpoint = dynamodb_endpoint
        self._dynamodb_port = dynamodb_port
        self._persist_dir = persist_dir
        self._users_file = users_file
        self._moto_port = moto_port
        self._token_issuer = token_issuer
        self._max_workers = max_workers
        self._log = log
        self._function_log = function_log or log
        self._reload_code = reload_code
        self._warm = warm
        self._synth_cache = synth_cache
        self._observers = tuple(observers)
        self._real_rate_limits = real_rate_limits
        self.template_reused = assembly_dir is not None
        self.docs = docs or DocsSite()
        self._exit = ExitStack()
        self.assembly: Assembly
        self.api: RestApi
        self.pools: dict[tuple[str, str], FunctionPool] = {}
        self.tables: dict[str, str] = {}
        self.stream_pumps: list[StreamPump] = []
        self.queue_pollers: list[QueuePoller] = []
        self.post_confirmation: PostConfirmation
        self.dynamodb: DynamoDBLocal | None = None
        self.moto: MotoServer | None = None
        self.startup_seconds = 0.0
        self._synth: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalLendbridge:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> LocalLendbridge:
        started = time.monotonic()
        self._refuse_taken_ports()
        # Everything started stops here, last (after the HTTP server): see ``_stop_everything``.
        self._exit.callback(self._stop_everything)
        try:
            self.assembly = self._start_services()
            self._provision()
            self.api = load_api(self.assembly)
            self._start_functions()
            self._start_event_sources()
            gateway = Gateway(
                self.api,
                self.pools,
                self._authorizers(),
                self._log,
                after=[self.post_confirmation.after_response, *self._observers],
                detail=self._function_log,
            )
            self._server = HttpServer(self.api_port, self._application(gateway)).start()
            self._exit.callback(self._server.stop)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        self._log(f"local stack ready in {self.startup_seconds:.1f} s on {self.api_url}")
        return self

    def stop(self) -> None:
        self._exit.close()

    def _stop_everything(self) -> None:
        """The event sources and worker pools are all asked to stop at once, then waited for
        against one deadline (``STOP_TIMEOUT_S``: an invocation under way may finish within
        it); the emulators they use stop after them, together."""
        if self._synth is not None and self._synth.poll() is None:
            stop_synth(self._synth)  # interrupted while synthesizing: end jsii's node too
        stop_together([*self.stream_pumps, *self.queue_pollers, *self.pools.values()], STOP_TIMEOUT_S, self._log)
        stoppers = [service.stop for service in (self.moto, self.dynamodb) if service is not None]
        with ThreadPoolExecutor(max_workers=max(1, len(stoppers)), thread_name_prefix="stop") as pool:
            for future in [pool.submit(stop) for stop in stoppers]:
                error = future.exception()
                if error is not None:
                    self._log(f"while stopping: {error!r}")

    def _refuse_taken_ports(self) -> None:
        """Before anything slow: a taken port is the commonest reason not to start."""
        if port_in_use(self.api_port):
            raise PortTaken("the API", self.api_port, "PORT")
        if self._dynamodb_endpoint is None and self._dynamodb_port and port_in_use(self._dynamodb_port):
            raise PortTaken("DynamoDB Local", self._dynamodb_port, "DYNAMODB_PORT")
        if self._moto_port and port_in_use(self._moto_port):
            raise PortTaken("the moto server", self._moto_port, "MOTO_PORT")

    def _start_services(self) -> Assembly:
        """The template, DynamoDB Local and moto come up side by side: together they take as
        long as the slowest (a synth, when one is needed) instead of the sum. The services are
        known to ``stop`` before they start, so a signal at any moment still ends them all."""
        self.moto = MotoServer(port=self._moto_port, users_file=self._users_file)
        if self._dynamodb_endpoint is None:
            self.dynamodb = DynamoDBLocal(
                port=self._dynamodb_port, db_path=self._persist_dir, jvm_options=FAST_START_JVM
            )
        starters: list[Callable[[], object]] = [self.moto.start]
        if self.dynamodb is not None:
            starters.append(self.dynamodb.start)
        pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="start")
        try:
            template = pool.submit(self._template)
            for future in [pool.submit(start) for start in starters]:
                future.result()
            return template.result()
        finally:
            # Never wait here for a synth nobody needs any more: stop() ends it.
            pool.shutdown(wait=False, cancel_futures=True)

    def _template(self) -> Assembly:
        began = time.monotonic()
        if self._assembly_dir is not None:
            return Assembly.load(self._assembly_dir)
        if self._synth_cache:
            assembly, self.template_reused = cached_assembly(self.stage, on_start=self._track_synth)
        else:
            outdir = Path(tempfile.mkdtemp(prefix="lendbridge-local-"))
            self._exit.callback(shutil.rmtree, outdir, ignore_errors=True)
            process = start_synth(outdir / "cdk.out", self.stage, own_group=True, local_emulation=True)
            self._track_synth(process)
            if process.wait() != 0:
                raise subprocess.CalledProcessError(process.returncode, process.args)
            assembly = Assembly.load(outdir / "cdk.out")
        how = "reused (sources unchanged)" if self.template_reused else "synthesized"
        self._log(f"{self.stage} template {how} in {time.monotonic() - began:.1f} s")
        return assembly

    def _track_synth(self, process: subprocess.Popen[bytes]) -> None:
        self._synth = process

    def _provision(self) -> None:
        self.tables = create_tables(self.aws_client("dynamodb"), self.assembly)
        bind_placeholders(self.assembly, exclude=frozenset({*PROVISIONERS, "AWS::DynamoDB::Table"}))
        provision(self.clients(), self.assembly)

    def _start_functions(self) -> None:
        functions = {(f.stack, f.logical_id): f for f in self.api.functions()}
        for mapping in stream_mappings(self.assembly):
            functions[(mapping.function.stack, mapping.function.logical_id)] = mapping.function
        for queued in queue_mappings(self.assembly):
            functions[(queued.function.stack, queued.function.logical_id)] = queued.function
        for trigger in post_confirmation_triggers(self.assembly):
            functions[(trigger.function.stack, trigger.function.logical_id)] = trigger.function
        endpoints = Endpoints(aws=self.moto_endpoint, dynamodb=self.dynamodb_endpoint)
        for key, function in functions.items():
            env = function_environment(function, endpoints)
            if not self._real_rate_limits:
                loosen(env)
            if "READER_KIND" in env:
                env["READER_KIND"] = LOCAL_READER
            self.pools[key] = FunctionPool(function, env, self._function_log, self._max_workers, self._reload_code)
        if not self._warm:
            return
        # One warm worker per function, started in parallel, so the first requests are quick.
        warmers = ThreadPoolExecutor(max_workers=max(1, len(self.pools)), thread_name_prefix="warm")
        try:
            for future in [warmers.submit(pool.warm) for pool in self.pools.values()]:
                future.result()
        finally:
            warmers.shutdown(wait=False, cancel_futures=True)

    def _start_event_sources(self) -> None:
        sqs = self.aws_client("sqs")
        for mapping in stream_mappings(self.assembly):
            pool = self.pools[(mapping.function.stack, mapping.function.logical_id)]
            pump = start_pump(mapping, self.dynamodb_endpoint, StreamConsumer(mapping, pool, sqs, self._log))
            self.stream_pumps.append(pump)
        for queued in queue_mappings(self.assembly):
            pool = self.pools[(queued.function.stack, queued.function.logical_id)]
            self.queue_pollers.append(QueuePoller(queued, pool, sqs, self._log).start())
        self.post_confirmation = PostConfirmation(
            post_confirmation_triggers(self.assembly), self.pools, self.aws_client("cognito-idp"), self._log
        )

    def _authorizers(self) -> dict[str, CognitoAuthorizer]:
        authorizers: dict[str, CognitoAuthorizer] = {}
        for method in self.api.methods.values():
            spec = method.authorizer
            if spec is None or spec.type != "COGNITO_USER_POOLS" or spec.logical_id in authorizers:
                continue
            authorizers[spec.logical_id] = CognitoAuthorizer([self.pool_trust(pool_id) for pool_id in spec.pool_ids])
        return authorizers

    def _application(self, gateway: Gateway) -> Callable[[HttpRequest], HttpResponse]:
        def application(request: HttpRequest) -> HttpResponse:
            return self.docs.handle(request) or gateway.handle(request)

        return application

    # -- what tests and the banner need --------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def docs_url(self) -> str:
        return f"{self.api_url}/docs"

    @property
    def dynamodb_endpoint(self) -> str:
        if self.dynamodb is not None:
            return self.dynamodb.endpoint
        assert self._dynamodb_endpoint is not None  # noqa: S101 - one of the two is always set
        return self._dynamodb_endpoint

    @property
    def moto_endpoint(self) -> str:
        assert self.moto is not None  # noqa: S101 - set once started
        return self.moto.endpoint

    def aws_client(self, service: str) -> Any:
        """A boto3 client on the local endpoint for ``service``."""
        endpoint = self.dynamodb_endpoint if service in ("dynamodb", "dynamodbstreams") else self.moto_endpoint
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the emulators accept any credentials
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def clients(self) -> Clients:
        return Clients(
            s3=self.aws_client("s3"),
            kms=self.aws_client("kms"),
            secretsmanager=self.aws_client("secretsmanager"),
            sns=self.aws_client("sns"),
            sqs=self.aws_client("sqs"),
            cognito=self.aws_client("cognito-idp"),
        )

    def pool_trust(self, pool_id: str) -> PoolTrust:
        clients = frozenset(
            bound["Ref"]
            for (stack, logical_id), bound in self.assembly.physical.items()
            if self.assembly.resource(stack, logical_id).get("Type") == "AWS::Cognito::UserPoolClient"
            and self.assembly.resolve(stack, self.assembly.resource(stack, logical_id)["Properties"]["UserPoolId"])
            == pool_id
        )
        issuer = self._token_issuer.replace("{pool_id}", pool_id) if self._token_issuer else default_issuer(pool_id)
        return PoolTrust(
            pool_id=pool_id,
            issuer=issuer,
            client_ids=clients,
            jwks_url=f"{self.moto_endpoint}/{pool_id}/.well-known/jwks.json",
        )

    def child_pids(self) -> list[int]:
        """Every process this stack started (the DynamoDB Local guard, moto, workers)."""
        pids = [pool_pid for pool in self.pools.values() for pool_pid in pool.pids()]
        for service in (self.dynamodb, self.moto):
            if service is not None and service.pid is not None:
                pids.append(service.pid)
        return pids
