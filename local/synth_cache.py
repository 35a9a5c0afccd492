"""A synthesized stage kept in .local/cdk.out.<stage>, re-synthesized whenever anything that
feeds the synth changes (compared by content hash, not by time), so the local stack always
runs the current template without paying 7-20 s of synth on every start."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from local.synth import start_synth
from local.template import Assembly

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = PROJECT_ROOT / ".local"
# Everything the CDK app reads: its code, the handlers it bundles, its settings, its pins.
INPUTS = ("app.py", "cdk.json", "requirements.txt", "package-lock.json", "stacks", "lendbridge_infra", "lambdas")
STAMP = ".inputs-sha256"


def inputs_digest(root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for path in _input_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _input_files(root: Path) -> Iterator[Path]:
    for name in INPUTS:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                item
                for item in path.rglob("*")
                if item.is_file() and "__pycache__" not in item.parts and item.suffix not in (".pyc", ".pyo")
            )


def cached_assembly(
    stage: str = "dev",
    cache_root: Path = CACHE_ROOT,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> tuple[Assembly, bool]:
    """The stage's assembly, and whether it was reused rather than synthesized now. Loaded
    under the lock, so another process cannot replace the directory while it is read.
    ``on_start`` receives the synth process, so a caller can stop it midway."""
    cache_root.mkdir(parents=True, exist_ok=True)
    target = cache_root / f"cdk.out.{stage}"
    # One synth at a time across processes (parallel test workers, a second `make run`).
    with (cache_root / f".synth-{stage}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = inputs_digest()
        stamp = target / STAMP
        if stamp.is_file() and stamp.read_text() == digest and (target / "manifest.json").is_file():
            return Assembly.load(target), True
        staging = Path(tempfile.mkdtemp(prefix=f"cdk.out.{stage}.", dir=cache_root))
        try:
            process = start_synth(staging / "out", stage, own_group=True, local_emulation=True)
            if on_start is not None:
                on_start(process)
            if process.wait() != 0:
                raise subprocess.CalledProcessError(process.returncode, process.args)
            (staging / "out" / STAMP).write_text(digest)
            if target.exists():
                shutil.rmtree(target)
            (staging / "out").rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return Assembly.load(target), False
