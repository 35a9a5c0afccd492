"""What ``make run`` tells and leaves for a newcomer: settings, the banner, the state file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from local.stack import DEFAULT_API_PORT
from local.state import StackState, running_stack

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_dev_cors_origin_is_a_front_end_not_the_local_api_itself() -> None:
    """A browser app served from the API's own origin needs no CORS: the dev origin must be
    where a front-end dev server runs beside ``make run``."""
    origins = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["stages"]["dev"]["cors_origins"]
    assert origins
    for origin in origins:
        parts = urlsplit(origin)
        assert parts.hostname in ("localhost", "127.0.0.1"), origin
        assert parts.port not in (None, DEFAULT_API_PORT), origin


def test_the_state_file_names_a_running_stack_until_it_is_removed(tmp_path: Path) -> None:
    state = StackState(os.getpid(), "http://127.0.0.1:3000", "http://127.0.0.1:8123", "http://127.0.0.1:5000", "f.log")
    state.write(tmp_path)
    assert running_stack(tmp_path) == state
    state.remove(tmp_path)
    assert running_stack(tmp_path) is None


def test_a_stopping_stack_leaves_the_state_file_of_another_run_in_place(tmp_path: Path) -> None:
    first = StackState(os.getpid(), "http://127.0.0.1:3000", "http://127.0.0.1:8123", "http://x", "f.log")
    second = StackState(os.getpid(), "http://127.0.0.1:3001", "http://127.0.0.1:8124", "http://y", "f.log")
    first.write(tmp_path)
    second.write(tmp_path)
    first.remove(tmp_path)
    assert running_stack(tmp_path) == second


def test_a_state_file_left_by_a_killed_run_names_no_stack(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603 - our own interpreter
    gone.wait()
    StackState(gone.pid, "http://127.0.0.1:3000", "http://127.0.0.1:8123", "http://x", "f.log").write(tmp_path)
    assert running_stack(tmp_path) is None
