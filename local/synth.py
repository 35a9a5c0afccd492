"""Synthesize one stage into a directory (run as a module so jsii stays out of the caller)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def synthesize(outdir: Path, stage: str = "dev") -> Path:
    process = start_synth(outdir, stage)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    return outdir


def start_synth(
    outdir: Path, stage: str = "dev", own_group: bool = False, local_emulation: bool = False
) -> subprocess.Popen[bytes]:
    """The synth as a running process, for callers that must be able to stop it midway
    (``own_group``: in its own process group, which ``stop_synth`` ends as a whole).
    ``local_emulation``: for the local stack, so the stage's local_overrides apply."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.synth", str(outdir), stage, *(["--local"] if local_emulation else [])],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=own_group,
    )


def stop_synth(process: subprocess.Popen[bytes]) -> None:
    """End a running synth started by ``start_synth``, with the node processes jsii runs under
    it. Call it only while the synth runs: its process group is ours only until then."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # node children that outlived the python parent


def main() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from stacks.app import build_app

    outdir, stage = sys.argv[1], sys.argv[2]
    # The local stack's own synth applies the stage's local_overrides (compressed webhook
    # retries, loopback receivers), which a deployed stage never gets.
    app, _ = build_app(stage, outdir, local_emulation="--local" in sys.argv[3:])
    app.synth()


if __name__ == "__main__":
    main()
