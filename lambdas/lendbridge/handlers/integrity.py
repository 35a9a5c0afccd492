"""Scheduled referential-integrity job (EventBridge, daily; the schedule is per stage).

Reads the whole main table and reports orphans: one structured log line (INFO when clean,
WARNING otherwise) and an ``OrphanedRecords`` metric per kind plus the total (``Kind=All``).
It never writes to the table and never deletes anything: an orphan is for a person to judge.
``local/integrity_check.py`` runs the same ``run_job`` against the local stack.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lendbridge.data.integrity_scan import IntegrityScanner
from lendbridge.domain.integrity import ALL_KINDS, IntegrityReport, OrphanKind
from lendbridge.lazy import Lazy
from lendbridge.observability import emit
from lendbridge.wiring.integrity import build_scanner

METRIC = "OrphanedRecords"
# Stop reading new pages this long before the function's timeout (at most a quarter of the time
# left), so a table too big for one run still produces a partial, flagged report instead of a
# timeout with nothing.
DEADLINE_MARGIN_S = 20.0

logger = Logger()
tracer = Tracer()
scanner: Lazy[IntegrityScanner] = Lazy(build_scanner)


def run_job(job: IntegrityScanner, *, deadline: float | None = None) -> IntegrityReport:
    """Scan, then log the report and emit its metrics."""
    started = time.monotonic()
    report = job.run(deadline)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    emit_metrics(report)
    fields = {"integrity": report.as_dict(), "duration_ms": elapsed_ms}
    if report.total or not report.complete:
        logger.warning("Referential integrity: orphaned records or incomplete scan", extra=fields)
    else:
        logger.info("Referential integrity: no orphaned records", extra=fields)
    return report


def emit_metrics(report: IntegrityReport) -> None:
    """Every kind, zeros included, so alarms always have a data point to evaluate."""
    for kind in OrphanKind:
        emit(METRIC, MetricUnit.Count, report.orphans[kind], {"Kind": kind.value})
    emit(METRIC, MetricUnit.Count, report.total, {"Kind": ALL_KINDS})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    remaining_s = context.get_remaining_time_in_millis() / 1000
    deadline = time.monotonic() + remaining_s - min(DEADLINE_MARGIN_S, remaining_s / 4)
    report = run_job(scanner.get(), deadline=deadline)
    return {"orphans_total": report.total, "complete": report.complete}
