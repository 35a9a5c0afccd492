"""The import layers of .importlinter hold: no package imports upward (handlers -> wiring ->
http | data -> domain; lendbridge_infra a leaf under stacks; the Lambda code alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application import use_cases

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The use case rather than cli.lint_imports: the latter reconfigures logging for the whole
    # process, which silences the loggers other tests read. pytest puts lambdas/ and the
    # project root on sys.path, where the contracts' packages are found.
    monkeypatch.chdir(PROJECT_ROOT)
    configuration.configure()
    kept = use_cases.lint_imports(config_filename=str(PROJECT_ROOT / ".importlinter"), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept, report
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
