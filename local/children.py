"""Child processes of the local stack: asked to stop, then killed if they do not."""

from __future__ import annotations

import subprocess
from collections.abc import Callable


def stop_child(process: subprocess.Popen[bytes], ask: Callable[[], None], timeout_s: float) -> None:
    """Ask ``process`` to stop its own way, wait up to ``timeout_s``, then kill it."""
    ask()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
