"""Fail on a breaking change to docs/openapi.json unless it is recorded as intended.

Usage: python -m tools.api_diff [--base REF] [--document docs/openapi.json]

The base is, in order: ``--base`` (or ``API_DIFF_BASE``), the newest tag reachable from HEAD
(the last release), else ``HEAD~1`` (the previous commit; on ``main`` after a merge that is the
main line before the merge). The document in the working tree is compared with the base's copy
by Optic's breaking-change rules. A breaking change passes only when it is recorded as intended:

- a commit in ``BASE..HEAD`` carries the trailer ``API-Breaking: <reason>``, or
- ``docs/api-changes.md`` lists every broken operation under ``## Unreleased`` as
  ``- BREAKING <METHOD> <path>: <reason>``.

A clone without the base (shallow, or tags not fetched) fails and says how to fetch it; the
first commit and a base without the document have nothing to compare and pass.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCUMENT = Path("docs/openapi.json")
CHANGES = Path("docs/api-changes.md")
TRAILER = "API-Breaking"
OPTIC_ENV = "OPTIC_BIN"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Optic's text report heads each failing operation with "x <METHOD> <path>:".
_FAILED_OPERATION = re.compile(r"^x (GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS|TRACE) (\S+):\s*$")
_CHANGE_ENTRY = re.compile(r"^\s*[-*]\s+BREAKING\s+([A-Z]+)\s+(\S+?):\s*(\S.*)$")


class ApiDiffError(Exception):
    """The check could not run (no base, no tool): the message says what to do."""


@dataclass(frozen=True)
class Verdict:
    breaking: frozenset[str]
    unrecorded: frozenset[str]
    report: str

    @property
    def passed(self) -> bool:
        return not self.unrecorded


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # git from PATH, as make and every developer run it; argv is ours, no shell.
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)  # noqa: S603,S607


def resolve_base(repo: Path, requested: str | None = None) -> str | None:
    """The ref to compare with, or None when there is nothing before HEAD (the first commit)."""
    if requested:
        if _git(repo, "rev-parse", "--verify", "--quiet", f"{requested}^{{commit}}").returncode != 0:
            raise ApiDiffError(f"base {requested!r} is not a commit here; fetch it (git fetch --tags --deepen=1)")
        return requested
    if _git(repo, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        raise ApiDiffError(f"{repo} is not a git checkout with a commit: the API diff needs the history")
    tag = _git(repo, "describe", "--tags", "--abbrev=0", "HEAD")
    if tag.returncode == 0 and tag.stdout.strip():
        return tag.stdout.strip()
    if _git(repo, "rev-parse", "--verify", "--quiet", "HEAD~1^{commit}").returncode == 0:
        return "HEAD~1"
    if _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        raise ApiDiffError(
            "shallow clone: HEAD's parent and the release tags are missing, so there is no base to compare "
            "docs/openapi.json with. Fetch them (`git fetch --deepen=1 --tags`, or clone with depth >= 2) "
            "or name a base with --base / API_DIFF_BASE."
        )
    return None


def base_document(repo: Path, base: str, document: Path) -> str | None:
    shown = _git(repo, "show", f"{base}:{document.as_posix()}")
    return shown.stdout if shown.returncode == 0 else None


def trailer_reasons(repo: Path, base: str) -> list[str]:
    log = _git(repo, "log", f"--format=%(trailers:key={TRAILER},valueonly,separator=%x1f)", f"{base}..HEAD")
    if log.returncode != 0:
        raise ApiDiffError(f"git log {base}..HEAD failed: {log.stderr.strip()}")
    return [reason.strip() for line in log.stdout.splitlines() for reason in line.split("\x1f") if reason.strip()]


def recorded_operations(changes: str) -> set[str]:
    """Operations listed as intended breaking changes under ``## Unreleased``."""
    recorded: set[str] = set()
    in_unreleased = False
    for line in changes.splitlines():
        if line.startswith("## "):
            in_unreleased = line[3:].strip().lower() == "unreleased"
            continue
        entry = _CHANGE_ENTRY.match(line)
        if in_unreleased and entry:
            recorded.add(f"{entry.group(1)} {entry.group(2)}")
    return recorded


def optic_binary(repo: Path) -> Path:
    configured = os.environ.get(OPTIC_ENV)
    binary = Path(configured) if configured else repo / "node_modules" / ".bin" / "optic"
    if not binary.exists():
        raise ApiDiffError(f"Optic is not installed at {binary}: run `make install` (npm ci)")
    return binary


def breaking_operations(binary: Path, before: Path, after: Path) -> tuple[frozenset[str], str]:
    """Operations Optic's breaking-change rules flag, and its report."""
    env = {
        **os.environ,
        "OPTIC_TELEMETRY_LEVEL": "off",
        "NO_UPDATE_NOTIFIER": "1",
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
    }
    # Optic looks for optic.yml in its working directory: run it where none can be.
    result = subprocess.run(  # noqa: S603 - the pinned Optic, fixed argv, no shell
        [str(binary), "diff", str(before), str(after), "--check"],
        cwd=before.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report = _ANSI.sub("", result.stdout + result.stderr)
    failed = frozenset(
        f"{match.group(1)} {match.group(2)}"
        for line in report.splitlines()
        if (match := _FAILED_OPERATION.match(line.strip()))
    )
    if result.returncode not in (0, 1) or (result.returncode == 1 and not failed):
        raise ApiDiffError(f"Optic failed (exit {result.returncode}):\n{report}")
    if result.returncode == 0 and failed:
        raise ApiDiffError(f"Optic passed but reported failing operations:\n{report}")
    return failed, report


def unrecorded_changes(breaking: frozenset[str], trailers: list[str], changes: str) -> frozenset[str]:
    """A trailer in the range records every change in it; the changes file records operations one by one."""
    if trailers:
        return frozenset()
    return breaking - recorded_operations(changes)


def judge(binary: Path, before: str, after: str, trailers: list[str], changes: str) -> Verdict:
    if before == after:
        return Verdict(breaking=frozenset(), unrecorded=frozenset(), report="")
    with tempfile.TemporaryDirectory(prefix="api-diff-") as scratch:
        before_path, after_path = Path(scratch, "base.json"), Path(scratch, "head.json")
        before_path.write_text(before)
        after_path.write_text(after)
        breaking, report = breaking_operations(binary, before_path, after_path)
    return Verdict(breaking=breaking, unrecorded=unrecorded_changes(breaking, trailers, changes), report=report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=os.environ.get("API_DIFF_BASE"))
    parser.add_argument("--document", type=Path, default=DOCUMENT)
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args(argv)
    repo: Path = args.repo
    try:
        base = resolve_base(repo, args.base)
        if base is None:
            print("api-diff: the first commit has no earlier document to compare with: nothing to check")
            return 0
        before = base_document(repo, base, args.document)
        if before is None:
            print(f"api-diff: {args.document} does not exist at {base}: nothing to compare with")
            return 0
        after = (repo / args.document).read_text()
        changes_file = repo / CHANGES
        verdict = judge(
            optic_binary(repo),
            before,
            after,
            trailer_reasons(repo, base),
            changes_file.read_text() if changes_file.exists() else "",
        )
    except ApiDiffError as error:
        print(f"api-diff: {error}", file=sys.stderr)
        return 2
    if not verdict.breaking:
        print(f"api-diff: no breaking change to {args.document} since {base}")
        return 0
    print(verdict.report)
    if verdict.passed:
        print(f"api-diff: breaking changes since {base} are recorded as intended: {sorted(verdict.breaking)}")
        return 0
    print(
        f"api-diff: breaking changes since {base} not recorded as intended: {sorted(verdict.unrecorded)}.\n"
        f"If they are intended, add a commit trailer `{TRAILER}: <reason>` or list each under `## Unreleased` "
        f"in {CHANGES} as `- BREAKING <METHOD> <path>: <reason>`.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
