"""Run a command that must not outlive us: ``python -m local.guard -- <command...>``.

The guard ends the command when its own stdin closes (its parent exited, however it died) or
when it receives SIGTERM/SIGINT. DynamoDB Local runs under it: a JVM knows nothing of its
parent, so without the guard a killed ``make run`` or pytest would leave it listening.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from types import FrameType

STOP_GRACE_S = 10


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "--" or len(argv) < 2:
        sys.stderr.write("usage: python -m local.guard -- <command> [args...]\n")
        return 2
    child = subprocess.Popen(argv[1:], stdin=subprocess.DEVNULL)  # noqa: S603 - argv from our own launcher
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF
        stop.set()

    def watch_child() -> None:
        child.wait()
        stop.set()

    threading.Thread(target=watch_parent, daemon=True).start()
    threading.Thread(target=watch_child, daemon=True).start()
    while not stop.wait(0.5):
        pass
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode if child.returncode >= 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
