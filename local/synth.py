"""Synthesize one stage into a directory (run as a module so jsii stays out of the caller)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def synthesize(outdir: Path, stage: str = "dev") -> Path:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "local.synth", str(outdir), stage],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return outdir


def main() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from lendbridge_infra.app import build_app

    outdir, stage = sys.argv[1], sys.argv[2]
    app, _ = build_app(stage, outdir)
    app.synth()


if __name__ == "__main__":
    main()
