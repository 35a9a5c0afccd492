"""`make mutate`: mutation testing of the domain, the cursors and the HTTP layer, bounded in time.

mutmut names a mutant after the module path of its file and only strips a leading ``src/``; the
Lambda code lives under ``lambdas/`` and is imported as ``lendbridge``. So the run happens in a
staging directory (``.local/mutate``) where ``src`` points at ``lambdas`` and everything else the
tests import points back at the checkout. What to mutate and which tests to run is configured in
``[tool.mutmut]`` of pyproject.toml. The run stops after ``--seconds`` (MUTATE_SECONDS); the
report then counts what finished and lists the rest as not checked, so a short budget gives an
honest, partial score rather than none. Survivors are looked up in tools/mutation_explained.toml,
which says why each one that no test can or should kill is acceptable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / ".local" / "mutate"
LINKED = (
    *("tests", "local", "tools", "benchmarks", "stacks", "lendbridge_infra", "app.py", "pyproject.toml", "docs"),
    # the sample documents the reader tests compare with
    "samples",
    *("README.md", "Makefile", "cdk.json", ".importlinter", "redocly.yaml", "package.json", "node_modules"),
    *("requirements.txt", "requirements-dev.txt", "constraints.txt"),
)
EXPLAINED = ROOT / "tools" / "mutation_explained.toml"
REPORT = ROOT / "docs" / "mutation.md"

# mutmut's exit-code vocabulary (mutmut/stats.py); anything else is "suspicious".
STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    37: "caught by type check",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    -9: "segfault",
    -11: "segfault",
    None: "not checked",
}
KILLED = {"killed", "timeout", "caught by type check"}


@dataclass(frozen=True)
class Outcome:
    status_by_mutant: dict[str, str]
    path_by_mutant: dict[str, str]
    seconds: float
    timed_out: bool
    commit: str


def stage() -> None:
    shutil.rmtree(STAGING, ignore_errors=True)
    STAGING.mkdir(parents=True)
    (STAGING / "src").symlink_to(ROOT / "lambdas", target_is_directory=True)
    for name in LINKED:
        (STAGING / name).symlink_to(ROOT / name)


def run_mutmut(seconds: int, children: int) -> tuple[float, bool]:
    started = time.monotonic()
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)]
    # Its own session, so the deadline can stop mutmut and every worker it forked.
    with subprocess.Popen(  # noqa: S603 - our own interpreter, fixed argv, no shell
        command, cwd=STAGING, start_new_session=True, stdout=subprocess.DEVNULL
    ) as process:
        try:
            process.wait(timeout=seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            timed_out = True
    return time.monotonic() - started, timed_out


def read_results() -> tuple[dict[str, str], dict[str, str]]:
    """The status of every mutant, and the source file (relative to the staging directory) of each."""
    statuses: dict[str, str] = {}
    paths: dict[str, str] = {}
    mutants = STAGING / "mutants"
    for meta in sorted((mutants / "src").rglob("*.py.meta")):
        source = str(meta.relative_to(mutants)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for mutant, code in codes.items():
            statuses[mutant] = STATUS_BY_EXIT_CODE.get(code, "suspicious")
            paths[mutant] = source
    return statuses, paths


# One interpreter for every diff: `mutmut show` per mutant re-reads every file and costs ~0.6 s each.
_DIFF_SCRIPT = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
wanted = json.load(sys.stdin)
json.dump({name: get_diff_for_mutant(name, path=path) for name, path in wanted.items()}, sys.stdout)
"""


def mutant_diffs(path_by_mutant: dict[str, str]) -> dict[str, str]:
    shown = subprocess.run(  # noqa: S603 - our own interpreter, fixed argv, no shell
        [sys.executable, "-c", _DIFF_SCRIPT],
        cwd=STAGING,
        input=json.dumps(path_by_mutant),
        capture_output=True,
        text=True,
        check=True,
    )
    diffs: dict[str, str] = json.loads(shown.stdout)
    return {name: _changed_lines(diff) for name, diff in diffs.items()}


def _changed_lines(diff: str) -> str:
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()
    ]
    return "\n".join(changed) or diff.strip()


def explanations() -> tuple[dict[str, str], dict[str, str]]:
    """Reasons by mutant name or glob ([survivors]) and by a regex over the changed lines ([changes])."""
    if not EXPLAINED.exists():
        return {}, {}
    table = tomllib.loads(EXPLAINED.read_text())
    by_name = {str(name): str(reason) for name, reason in table.get("survivors", {}).items()}
    by_change = {str(pattern): str(reason) for pattern, reason in table.get("changes", {}).items()}
    return by_name, by_change


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603,S607
    return result.stdout.strip()


def explain(mutant: str, diff: str, reasons: tuple[dict[str, str], dict[str, str]]) -> str | None:
    """The reason recorded for a mutant: its exact name, else the first glob over names that matches
    it, else the first regex that matches its whole change."""
    by_name, by_change = reasons
    if mutant in by_name:
        return by_name[mutant]
    named = next((reason for pattern, reason in by_name.items() if fnmatch.fnmatchcase(mutant, pattern)), None)
    if named:
        return named
    return next((reason for pattern, reason in by_change.items() if re.fullmatch(pattern, diff)), None)


def commit() -> str:
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return _git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")


def render(outcome: Outcome, seconds_budget: int, command: str) -> str:
    counts = Counter(outcome.status_by_mutant.values())
    total = len(outcome.status_by_mutant)
    killed = sum(counts[s] for s in KILLED)
    scored = total - counts["skipped"]
    score = 100.0 * killed / scored if scored else 0.0
    reasons = explanations()
    survivors = sorted(m for m, s in outcome.status_by_mutant.items() if s not in KILLED)
    unchecked = [m for m in survivors if outcome.status_by_mutant[m] == "not checked"]
    diffs = mutant_diffs({m: outcome.path_by_mutant[m] for m in survivors if m not in unchecked})
    explained = {m: reason for m in survivors if (reason := explain(m, diffs.get(m, ""), reasons))}
    unexplained = [m for m in survivors if m not in explained]
    lines = [
        "# Mutation testing",
        "",
        "Generated by `make mutate` (tools/mutate.py); do not edit by hand. Not part of `make test`.",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Commit measured: {outcome.commit}",
        f"- Command: `{command}` (budget {seconds_budget} s"
        + (", stopped by the budget before every mutant ran)" if outcome.timed_out else ", finished within it)"),
        f"- Run time: {outcome.seconds:.0f} s",
        "- Mutated: `lambdas/lendbridge/domain/`, `lambdas/lendbridge/data/cursors.py`, `lambdas/lendbridge/http/`",
        "- Tests: the fast unit tests listed in `[tool.mutmut]` of pyproject.toml (no DynamoDB Local, no stack)",
        "",
        f"**Score: {score:.1f} % killed** ({killed} of {scored} mutants; a mutant no selected test reaches,",
        "or that the budget left unchecked, counts as not killed).",
        "",
        "| Outcome | Mutants |",
        "|---|---|",
        *(f"| {status} | {n} |" for status, n in sorted(counts.items())),
        "",
        f"Not killed: {len(survivors)}; explained in tools/mutation_explained.toml: "
        f"{len(survivors) - len(unexplained)}; unexplained: {len(unexplained)}.",
        "",
        "## Unexplained mutants by function (what remains to kill or explain)",
        "",
        "| Function | Unexplained |",
        "|---|---|",
        *(
            f"| `{function}` | {n} |"
            for function, n in Counter(m.partition("__mutmut_")[0] for m in unexplained).most_common()
        ),
        "",
        "## Mutants not killed",
        "",
        "Each with the changed line(s) and, where one is recorded, why it is acceptable.",
        "",
    ]
    if unchecked:
        lines += ["Not checked before the budget ran out: " + ", ".join(f"`{m}`" for m in unchecked), ""]
    for mutant in survivors:
        status = outcome.status_by_mutant[mutant]
        if status == "not checked":
            continue
        lines.append(f"### `{mutant}` ({status})")
        lines.append("")
        lines += ["```diff", diffs[mutant], "```", ""]
        lines.append(f"Why: {explained.get(mutant, 'UNEXPLAINED: needs a test or a reason')}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("MUTATE_SECONDS", "3000")))
    parser.add_argument("--children", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run")
    args = parser.parse_args()
    run_record = STAGING / "run.json"
    if not args.report_only:
        stage()
        seconds, timed_out = run_mutmut(args.seconds, args.children)
        run_record.write_text(json.dumps({"seconds": seconds, "timed_out": timed_out, "commit": commit()}))
    recorded = json.loads(run_record.read_text())
    seconds, timed_out = float(recorded["seconds"]), bool(recorded["timed_out"])
    command = f"MUTATE_SECONDS={args.seconds} make mutate"
    statuses, paths = read_results()
    outcome = Outcome(statuses, paths, seconds, timed_out, str(recorded["commit"]))
    REPORT.write_text(render(outcome, args.seconds, command))
    print(REPORT.read_text().split("## Mutants not killed")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
