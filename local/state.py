"""Where a running ``make run`` can be found: it writes its endpoints to ``<LOCAL_DIR>/stack.json``
while it serves, and removes the file when it stops. ``make integrity-check`` and ``make seed``
read it, so they need no port from the user (DynamoDB Local's port is a free one, new each run).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCAL_DIR = PROJECT_ROOT / ".local"
STATE_FILE = "stack.json"


def local_dir(env: dict[str, str]) -> Path:
    """Where the local stack keeps its files (LOCAL_DIR, default .local/ in the project)."""
    return Path(env["LOCAL_DIR"]).resolve() if env.get("LOCAL_DIR") else DEFAULT_LOCAL_DIR


@dataclass(frozen=True)
class StackState:
    pid: int
    api_url: str
    dynamodb_endpoint: str
    moto_endpoint: str
    function_log: str

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / STATE_FILE
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        partial.replace(path)  # readers never see half a file
        return path

    def remove(self, directory: Path) -> None:
        """Removes the file if it still describes this stack (a second ``make run`` in the same
        checkout, on another port, may have replaced it since)."""
        path = directory / STATE_FILE
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if current.get("pid") == self.pid and current.get("api_url") == self.api_url:
            path.unlink(missing_ok=True)


def running_stack(directory: Path) -> StackState | None:
    """The stack described in ``directory``, or None when there is none or its process has
    gone (a ``make run`` killed with SIGKILL leaves its file behind)."""
    try:
        state = StackState(**json.loads((directory / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    return state if _alive(state.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True
