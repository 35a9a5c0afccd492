"""Synthesize every stage with cdk-nag and fail on any finding that is not acknowledged.

Usage: python -m tools.synth_check cdk.out.dev cdk.out.prod  (directory names end in the stage)
Prints each acknowledged rule once with its reason, for review.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from local.synth import synthesize


def _stage_of(outdir: str) -> str:
    return outdir.rsplit(".", 1)[-1]


def _report(outdir: Path) -> tuple[list[str], dict[str, str]]:
    report = json.loads((outdir / "validation-report.json").read_text())
    failures: list[str] = []
    acknowledged: dict[str, str] = {}
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            paths = [c["constructPath"] for c in violation.get("violatingConstructs", [])]
            failures.append(f"{violation['ruleName']}: {', '.join(paths)}")
        for suppressed in plugin.get("suppressedViolations", []):
            acknowledged[suppressed["ruleName"]] = suppressed.get("reason", "")
    return failures, acknowledged


def main(outdirs: list[str]) -> int:
    with ThreadPoolExecutor(max_workers=len(outdirs)) as pool:
        built = list(pool.map(lambda d: synthesize(Path(d).resolve(), _stage_of(d)), outdirs))
    status = 0
    for outdir in built:
        failures, acknowledged = _report(outdir)
        print(f"{outdir.name}: {len(failures)} unacknowledged cdk-nag finding(s), {len(acknowledged)} acknowledged")
        for failure in failures:
            print(f"  FAIL {failure}")
        for rule, reason in sorted(acknowledged.items()):
            if not reason.strip():
                print(f"  FAIL {rule} is acknowledged without a reason")
                status = 1
            print(f"  ack  {rule}: {reason}")
        status = status or (1 if failures else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["cdk.out.dev", "cdk.out.prod"]))
