"""Staging a function's asset (lendbridge_infra/bundling.py): third-party packages beside its
modules, and no staged copy left in the temp directory once synth is over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lendbridge_infra.bundling import module_closure, stage_function_code

HEALTH = "lendbridge.handlers.health"


def test_packages_are_staged_beside_the_modules_without_bytecode(tmp_path: Path) -> None:
    packages = tmp_path / "site"
    (packages / "pypdf" / "__pycache__").mkdir(parents=True)
    (packages / "pypdf" / "__init__.py").write_text("")
    (packages / "pypdf" / "__pycache__" / "__init__.cpython-313.pyc").write_bytes(b"")
    staged = stage_function_code(HEALTH, packages=packages)
    shipped = {path.relative_to(staged) for path in staged.rglob("*") if path.is_file()}
    assert shipped == module_closure(HEALTH) | {Path("pypdf/__init__.py")}


def test_the_staged_copy_is_removed_when_the_synthesizing_process_exits() -> None:
    code = f"from lendbridge_infra.bundling import stage_function_code; print(stage_function_code({HEALTH!r}))"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    staged = Path(done.stdout.strip().splitlines()[-1])
    assert staged.name.startswith("lendbridge-asset-")
    assert not staged.exists()
