"""The cold-start benchmark (benchmarks/cold_start.py): which bundles it imports, how a fresh
interpreter reports on one, and how pairs become the ratio it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import cold_start
from benchmarks.cold_start import Bundle, ColdStart, ImportCost, bundles_of, import_table, paired, probe


def _function(handler: str, key: str, variables: dict[str, object]) -> dict[str, object]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Handler": handler, "Code": {"S3Key": key}, "Environment": {"Variables": variables}},
    }


def test_bundles_are_the_assemblys_lendbridge_functions_with_their_asset_directories(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "LoansFn": _function(
                "lendbridge.handlers.loans.handler",
                "abc123.zip",
                {"STAGE": "dev", "MAIN_TABLE": {"Fn::ImportValue": "main"}},
            ),
            # CDK's own helpers (log retention, custom resources) are not ours to measure.
            "Helper": _function("index.handler", "def456.zip", {}),
        }
    }
    (tmp_path / "Api.template.json").write_text(json.dumps(template))
    manifest = {
        "artifacts": {"Api": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Api.template.json"}}}
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    (bundle,) = bundles_of(tmp_path)

    assert bundle.module == "lendbridge.handlers.loans"
    assert bundle.name == "loans"
    assert bundle.directory == tmp_path / "asset.abc123"
    # A reference has no value outside AWS: it gets a stand-in, so settings checks still pass.
    assert bundle.environment == {"STAGE": "dev", "MAIN_TABLE": cold_start.UNRESOLVED}


def test_a_probe_imports_only_from_the_bundle_then_calls_the_handler(tmp_path: Path) -> None:
    (tmp_path / "fake_fn.py").write_text(
        "import sys\n"
        "print('noise on stdout at import')\n"
        "def handler(event, context):\n"
        "    print('noise while handling')\n"
        "    return {'statusCode': event['status'], 'path': sys.path[0]}\n"
    )

    report = probe(Bundle("fake_fn", tmp_path), "fake_fn", [{"status": 201}, {"status": 204}])

    assert len(report["seconds"]) == 3  # the import, then each request
    assert all(seconds >= 0 for seconds in report["seconds"])
    assert report["statuses"] == [201, 204]
    assert len(report["cpu_seconds"]) == 3


def test_a_batch_handler_reports_how_many_records_failed(tmp_path: Path) -> None:
    (tmp_path / "batch_fn.py").write_text(
        "def handler(event, context):\n"
        "    return {'batchItemFailures': [{'itemIdentifier': r} for r in event['Records'] if r == 'bad']}\n"
    )

    report = probe(Bundle("batch_fn", tmp_path), "batch_fn", [{"Records": ["ok"]}, {"Records": ["bad", "ok"]}])

    assert report["statuses"] == ["0 failed", "1 failed"]


def test_a_failing_import_is_reported_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "broken_fn.py").write_text("raise RuntimeError('no such table')\n")

    with pytest.raises(RuntimeError, match="no such table"):
        probe(Bundle("broken_fn", tmp_path), "broken_fn")


def test_the_ratio_is_the_median_of_pairs_taken_in_alternating_order(monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    # One pair meets a busy machine (both sides slow): its ratio is still 2.
    bare = iter([0.100, 0.100, 0.300, 0.100, 0.100])
    handler = iter([0.200, 0.250, 0.600, 0.150, 0.220])

    def fake(bundle: Bundle, module: str | None) -> float:
        order.append("bare" if module is None else "handler")
        return next(bare) if module is None else next(handler)

    monkeypatch.setattr(cold_start, "import_seconds", fake)

    bare_ms, handler_ms, ratio = paired(Bundle("lendbridge.handlers.x", Path()), 5)

    assert order[:4] == ["bare", "handler", "handler", "bare"]
    assert ratio == pytest.approx(2.0)  # ratios 2.0, 2.5, 2.0, 1.5, 2.2
    assert bare_ms == pytest.approx(100)
    assert handler_ms == pytest.approx(220)


def test_the_table_says_which_functions_miss_the_target() -> None:
    result = ColdStart(
        runs=3,
        source="test",
        imports=[
            ImportCost("health", "lendbridge.handlers.health", 150, 210, 1.4),
            ImportCost("loans", "lendbridge.handlers.loans", 150, 480, 3.2),
            ImportCost("resolver_floor", cold_start.FLOOR_MODULE, 150, 260, 1.73),
        ],
        requests=[],
    )

    rows = {line.split("|")[1].strip(): line for line in import_table(result).splitlines()[2:]}

    assert "<= 1.5x: met" in rows["health"]
    assert "<= 1.5x: MISSED" in rows["loans"]
    assert "1.73x" in rows["(resolver floor)"]
    assert "<= 1.5x" not in rows["(resolver floor)"]
