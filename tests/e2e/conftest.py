"""The local stack (``local.stack.LocalLendbridge``), started once for the session on free ports and
stopped at its end, driven over HTTP like any client would.

Set LENDBRIDGE_ASSEMBLY_DIR to an already synthesized dev assembly to skip the synth.
The stack's own log (requests, handler logs) goes to a file; a failing test shows its tail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.net import free_port
from local.stack import LocalLendbridge
from tests.e2e.routes import ROUTES_ENV, CalledRoutes
from tests.e2e.support import Api, User, register_and_login

_LOG: list[Path | None] = [None]


@pytest.fixture(scope="session")
def stack_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _LOG[0] = tmp_path_factory.mktemp("local-stack") / "stack.log"
    return _LOG[0]


@pytest.fixture(scope="session")
def stack(stack_log: Path) -> Iterator[LocalLendbridge]:
    given = os.environ.get("LENDBRIDGE_ASSEMBLY_DIR")
    lock = threading.Lock()
    routes = CalledRoutes()
    with stack_log.open("a", encoding="utf-8") as log_file:

        def log(line: str) -> None:
            with lock:
                log_file.write(line + "\n")
                log_file.flush()

        local = LocalLendbridge(
            api_port=free_port(),
            assembly_dir=Path(given) if given else None,
            log=log,
            reload_code=False,  # another edit under lambdas/ must not restart workers mid-test
            warm=False,  # functions start on first use, as in Lambda; unused ones cost nothing
            observers=[routes.after_response],
        )
        with local:  # stops DynamoDB Local, moto and every worker, whatever the outcome
            routes.api = local.api
            yield local
    record = os.environ.get(ROUTES_ENV)
    if record:
        routes.write(Path(record))


@pytest.fixture(scope="session")
def api(stack: LocalLendbridge) -> Iterator[Api]:
    client = Api(stack.api_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def user(api: Api) -> User:
    """One registered, logged-in user shared by tests that only read."""
    return register_and_login(api, "shared")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failing test's report ends with the stack's latest log lines (requests, handler logs)."""
    report: pytest.TestReport = yield
    if report.failed and _LOG[0] is not None and _LOG[0].exists():
        tail = _LOG[0].read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        report.sections.append(("local stack log (last 40 lines)", "\n".join(line[:400] for line in tail)))
    return report
