"""cdk.json's ``app`` is what ``npx cdk synth|ls|deploy`` run. It must work from a fresh shell
with nothing activated: a shell's ``python3`` is the system's, which has no aws_cdk."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What a fresh login shell has: no virtualenv on the PATH, no PYTHONPATH.
PLAIN_SHELL = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 - only when HOME is unset
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def app_command() -> str:
    return str(json.loads((PROJECT_ROOT / "cdk.json").read_text())["app"])


def test_the_app_command_runs_an_interpreter_that_has_the_cdk() -> None:
    interpreter = shlex.split(app_command())[0]
    result = subprocess.run(  # noqa: S603 - the project's own interpreter, as cdk.json names it
        [interpreter, "-c", "import aws_cdk, cdk_nag, constructs; print(aws_cdk.__name__)"],
        cwd=PROJECT_ROOT,
        env=PLAIN_SHELL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "aws_cdk"


def test_the_app_command_synthesizes_from_a_plain_shell(tmp_path: Path) -> None:
    """Exactly as the CDK CLI runs it: through the shell, from the project root."""
    result = subprocess.run(  # noqa: S603 - the command cdk.json names, run as the CLI runs it
        ["/bin/sh", "-c", app_command()],
        cwd=PROJECT_ROOT,
        env={**PLAIN_SHELL, "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "Lendbridge-dev-Api" in manifest["artifacts"]
