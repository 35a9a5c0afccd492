"""moto's server (S3, Cognito, KMS, SNS, SQS, CloudWatch, Secrets Manager) in a child process,
with presigned S3 URLs checked as S3 checks them (``local.presigned``; moto does not).

A child, not a thread of the caller: moto keeps its state in module globals that ``mock_aws``
resets, so a server inside a pytest process would be wiped by any unit test using moto's
in-process mocks. The child exits when its stdin closes, so it never outlives its parent, even
one killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.children import stop_child
from local.net import PortTaken, free_port, port_in_use
from local.template import ACCOUNT

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30


class MotoServer:
    """One moto server on 127.0.0.1, in a child process."""

    def __init__(self, port: int | None = None, users_file: Path | None = None) -> None:
        """``users_file`` keeps the Cognito users across runs (see ``local.cognito_users``)."""
        self.port = port or free_port()
        self._users_file = users_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> MotoServer:
        if port_in_use(self.port):
            raise PortTaken("the moto server", self.port, "MOTO_PORT")
        # ARNs moto builds must name the account the template resolver uses.
        env = {**os.environ, "MOTO_ACCOUNT_ID": ACCOUNT, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "local.moto_server",
                "--port",
                str(self.port),
                *(["--users-file", str(self._users_file)] if self._users_file else []),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
            start_new_session=True,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        process = self._process
        while time.monotonic() < deadline:
            if self._process is not process:
                raise RuntimeError("the moto server was stopped while starting")
            if self._process is not None and self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"moto server exited with {self._process.returncode}: {stderr[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"moto server did not answer on port {self.port} within {READY_TIMEOUT_S} s")

    def stop(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        # Closing its stdin is the child's cue to shut down cleanly.
        stop_child(process, process.stdin.close if process.stdin else (lambda: None), timeout_s=5)
        if process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="moto server on 127.0.0.1 until stdin closes")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users-file", type=Path, help="keep the Cognito users in this file across runs")
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    from local import moto_cognito
    from local.cognito_users import KeptUsers

    moto_cognito.install()
    kept = KeptUsers(args.users_file) if args.users_file else None
    if kept is not None:
        kept.install()

    # werkzeug logs every request; the gateway logs requests already.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = _checked_server(ThreadedMotoServer)(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    stopped = threading.Event()

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the parent closed the pipe or died
        stopped.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    # Ctrl-C reaches the whole process group: stop at once, the parent cleans up the rest.
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.stop()
    if kept is not None:
        kept.save()


def _checked_server(base: type[Any]) -> type[Any]:
    """moto's threaded server with presigned S3 URLs checked in front (``local.presigned``):
    moto itself stores whatever a presigned PUT sends."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from local.presigned import PresignedUrlCheck

    class CheckedMotoServer(base):
        def _server_entry(self) -> None:
            app = PresignedUrlCheck(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            # Polled 10 times a second rather than twice: a stop waits for the next poll.
            self._server.serve_forever(poll_interval=0.1)

    return CheckedMotoServer


if __name__ == "__main__":
    main()
