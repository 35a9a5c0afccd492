"""``python -m local.run`` (what ``make run`` starts) as a user runs it: it refuses a taken
port at once, serves, and leaves no process behind when stopped with SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.net import free_port
from local.stack import LocalStack

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 90


def descendants(root: int) -> set[int]:
    """Every live process under ``root``, from /proc (children start their own sessions, so
    process groups would miss them)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_taken_port_is_refused_with_the_variable_to_change(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local.run"],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"Port {port} for the API is already in use" in result.stderr
    assert "PORT=<port>" in result.stderr
    assert "ready in" not in result.stdout


@pytest.fixture
def running(stack: LocalStack, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``local.run`` on a free port, sharing the session's assembly and DynamoDB Local to
    start quickly; killed with every descendant if a test leaves it running."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "LOCAL_ASSEMBLY_DIR": str(stack.assembly.directory),
        "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_endpoint,
        "LOCAL_WARM": "0",
    }
    with (tmp_path / "run.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "local.run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
        try:
            banner = ""
            while "ready in" not in banner:
                banner += lines.get(timeout=READY_TIMEOUT_S)
            yield process, f"http://127.0.0.1:{port}"
        finally:
            leftovers = descendants(process.pid)
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
            for pid in leftovers:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)


def test_sigterm_stops_the_api_and_every_child_process(running: tuple[subprocess.Popen[str], str]) -> None:
    process, url = running
    assert requests.get(f"{url}/health/live", timeout=30).json() == {"status": "alive"}
    children = descendants(process.pid)
    commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ") for pid in children)
    assert "local.moto_server" in commands
    assert "worker.py lendbridge.handlers.health.handler" in commands

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert [pid for pid in children if alive(pid)] == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/health/live", timeout=5)
