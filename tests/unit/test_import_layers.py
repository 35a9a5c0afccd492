"""The import layers of .importlinter hold: no package imports upward (handlers -> wiring ->
http | data -> domain; lendbridge_infra a leaf under stacks; the Lambda code alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter import cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_ROOT)  # the contracts name top-level packages from the project root
    code = cli.lint_imports(config_filename=str(PROJECT_ROOT / ".importlinter"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == cli.EXIT_STATUS_SUCCESS, report
    contracts = (PROJECT_ROOT / ".importlinter").read_text().count("[importlinter:contract:")
    assert f"Contracts: {contracts} kept, 0 broken." in report


def test_the_contracts_cover_every_top_level_package_of_the_project() -> None:
    """A new top-level package (or Lambda subpackage) gets a rule, not a free pass."""
    config = (PROJECT_ROOT / ".importlinter").read_text()
    roots = {
        path.parent.name
        for path in PROJECT_ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "node_modules"}
    }
    lambda_packages = {path.parent.name for path in (PROJECT_ROOT / "lambdas" / "lendbridge").glob("*/__init__.py")}
    for root in roots:
        assert f"\n    {root}\n" in config, root
    for package in lambda_packages:
        assert f"lendbridge.{package}" in config, package
