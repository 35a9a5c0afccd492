"""Per-function Lambda assets without Docker: each function ships the modules its handler
imports (followed statically through ``lendbridge``), and nothing else."""

from __future__ import annotations

import ast
import atexit
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LAMBDAS_ROOT = Path(__file__).resolve().parent.parent / "lambdas"
PACKAGE = "lendbridge"


def module_closure(module: str, root: Path = LAMBDAS_ROOT) -> set[Path]:
    """Files (relative to ``root``) of ``module`` and every ``lendbridge`` module it imports."""
    seen: set[str] = set()
    files: set[Path] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _source_of(name, root)
        if path is None:
            continue
        files.add(path.relative_to(root))
        parts = name.split(".")
        for index in range(1, len(parts)):  # parent packages' __init__.py
            pending.append(".".join(parts[:index]))
        pending.extend(_imports_of(path))
    return files


def _source_of(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports_of(path: Path) -> list[str]:
    """Absolute imports only: ruff's TID252 keeps relative imports out of the code base."""
    source = path.read_text()
    try:
        tree = ast.parse(source, filename=str(path))
    except SystemError:
        # CPython 3.11's AST builder can refuse a valid file with "AST constructor recursion
        # depth mismatch" (python/cpython gh-106905), seen here once under coverage's tracer; the
        # count starts from the calling thread's depth, so parse once more on a fresh thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            tree = pool.submit(ast.parse, source, str(path)).result()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            # "from pkg import name" may name a submodule; non-modules are skipped by _source_of.
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return [item for item in found if item == PACKAGE or item.startswith(PACKAGE + ".")]


def stage_function_code(module: str, root: Path = LAMBDAS_ROOT, packages: Path | None = None) -> Path:
    """Copy the closure of ``module`` into a fresh directory for ``Code.from_asset``, beside the
    unpacked third-party ``packages`` the function ships (if any; see ``lendbridge_infra.wheels``)."""
    target = Path(tempfile.mkdtemp(prefix="lendbridge-asset-"))
    # CDK copies the asset into the cloud assembly during synth; the staged copy (over 20 MB for
    # a function shipping wheels) is not left behind in the temp directory on every synth.
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    if packages is not None:
        shutil.copytree(packages, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    for relative in sorted(module_closure(module, root)):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, destination)
    return target
