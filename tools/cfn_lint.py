"""cfn-lint on every synthesized template: errors fail, warnings and informational findings are reported.

Usage: python -m tools.cfn_lint cdk.out.dev cdk.out.prod [--regions us-east-1 eu-west-1]
Run after ``python -m tools.synth_check`` (or ``make synth-check``) has written the directories.
Exit status 1 on any error (E...) finding that is not a known false positive, on a missing
directory, and on a directory without templates.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.api import lint  # type: ignore[import-untyped]
from cfnlint.config import ManualArgs  # type: ignore[import-untyped]

DEFAULT_REGIONS = ("us-east-1",)

# Rules not run at all, each with the reason. Only rules that can never say anything actionable
# about CDK output belong here.
IGNORED_RULES: dict[str, str] = {
    "I1022": (
        "'Prefer Fn::Sub over Fn::Join with an empty delimiter' is style advice for hand-written templates; "
        "CDK renders every ARN and URL it concatenates as Fn::Join, and nothing in our code can change that."
    ),
}

# Single findings known to be false positives: (rule, resource type, path below the resource) -> reason,
# e.g. ("E3002", "AWS::Events::Rule", "Properties/Tags") while cfn-lint's bundled schemas lagged behind
# CloudFormation's (gone since requirements-dev.txt pins cfn-lint 1.58.0). Matching findings are still
# printed, marked SUPPRESSED, and do not fail the run; an entry that matched nothing is reported, so a
# stale one gets deleted. Keep it narrow: never a whole E rule.
KNOWN_FALSE_POSITIVES: dict[tuple[str, str, str], str] = {}

SEVERITIES = {"E": "error", "W": "warning", "I": "informational"}
REPORTED_SEVERITIES = {
    "error": "errors",
    "warning": "warnings",
    "informational": "informational",
    "suppressed": "suppressed",
}


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    template: Path
    line: int
    column: int
    resource_type: str = ""
    subpath: str = ""  # below Resources/<logical id>, e.g. "Properties/Tags"

    @property
    def suppression(self) -> tuple[str, str, str]:
        return (self.rule, self.resource_type, self.subpath)

    @property
    def severity(self) -> str:
        if self.suppression in KNOWN_FALSE_POSITIVES:
            return "suppressed"
        return SEVERITIES.get(self.rule[:1], "error")  # an unknown class fails rather than passes silently

    def __str__(self) -> str:
        return f"  {self.severity.upper():<13} {self.rule} {self.template}:{self.line}:{self.column} {self.message}"


def _resource_types(text: str) -> dict[str, str]:
    try:
        resources = json.loads(text).get("Resources", {})
    except (ValueError, AttributeError):
        return {}
    return {str(logical_id): str(resource.get("Type", "")) for logical_id, resource in resources.items()}


def _locate(path: Sequence[Any], types: dict[str, str]) -> tuple[str, str]:
    """(resource type, path below the resource) of a finding's template path, or ("", "")."""
    if len(path) >= 2 and path[0] == "Resources":
        return types.get(str(path[1]), ""), "/".join(str(part) for part in path[2:])
    return "", ""


def lint_template(template: Path, regions: Sequence[str]) -> list[Finding]:
    text = template.read_text()
    types = _resource_types(text)
    config = ManualArgs(
        regions=list(regions),
        include_checks=["I"],  # informational findings are reported too
        ignore_checks=sorted(IGNORED_RULES),
    )
    findings: list[Finding] = []
    for match in lint(text, config=config):
        resource_type, subpath = _locate(getattr(match, "path", None) or [], types)
        findings.append(
            Finding(
                rule=str(match.rule.id),
                message=str(match.message),
                template=template,
                line=int(match.linenumber),
                column=int(match.columnnumber),
                resource_type=resource_type,
                subpath=subpath,
            )
        )
    return findings


def lint_directory(directory: Path, regions: Sequence[str]) -> tuple[int, list[Finding]]:
    templates = sorted(directory.glob("*.template.json"))
    findings = [finding for template in templates for finding in lint_template(template, regions)]
    return len(templates), findings


def summary(directory: Path, template_count: int, findings: Sequence[Finding]) -> str:
    counts = Counter(finding.severity for finding in findings)
    parts = [f"{template_count} template(s)"]
    for severity, label in REPORTED_SEVERITIES.items():
        ids = Counter(finding.rule for finding in findings if finding.severity == severity)
        detail = f" ({', '.join(f'{rule}: {count}' for rule, count in sorted(ids.items()))})" if ids else ""
        parts.append(f"{counts[severity]} {label}{detail}")
    return f"{directory}: " + ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cfn_lint", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directories", nargs="*", default=["cdk.out.dev", "cdk.out.prod"], type=Path)
    parser.add_argument("--regions", nargs="+", default=list(DEFAULT_REGIONS), help="regions to validate against")
    args = parser.parse_args(argv)

    for rule, reason in sorted(IGNORED_RULES.items()):
        print(f"ignored rule {rule}: {reason}")
    status = 0
    matched: set[tuple[str, str, str]] = set()
    for directory in args.directories:
        if not directory.is_dir():
            print(f"{directory}: no such directory (run python -m tools.synth_check first)")
            status = 1
            continue
        template_count, findings = lint_directory(directory, args.regions)
        print(summary(directory, template_count, findings))
        if template_count == 0:
            print(f"  ERROR         no *.template.json in {directory}")
            status = 1
        for finding in sorted(findings, key=lambda f: (str(f.template), f.line, f.column, f.rule)):
            print(finding)
        matched.update(f.suppression for f in findings if f.severity == "suppressed")
        if any(finding.severity == "error" for finding in findings):
            status = 1
    for key, reason in sorted(KNOWN_FALSE_POSITIVES.items()):
        state = "matched" if key in matched else "not seen in this run: delete it once the real templates agree"
        print(f"known false positive {' '.join(key)} ({state}): {reason}")
    return status


if __name__ == "__main__":
    sys.exit(main())
