"""The breaking-change gate: Optic on two versions of the document in a scratch git history."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tools import api_diff

REPO = Path(__file__).resolve().parents[2]
CURRENT = json.loads((REPO / "docs" / "openapi.json").read_text())
LOAN_READ = "GET /v1/loans/{loan_id}"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(  # noqa: S603 - git from PATH with fixed arguments, no shell
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],  # noqa: S607
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _commit(repo: Path, document: dict[str, Any], message: str) -> None:
    target = repo / "docs" / "openapi.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)


def _without_total_funded(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    loan = changed["components"]["schemas"]["LoanOut"]
    del loan["properties"]["total_funded"]
    loan["required"].remove("total_funded")
    return changed


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The scratch history has no node_modules of its own: run the project's pinned Optic.
    monkeypatch.setenv(api_diff.OPTIC_ENV, str(REPO / "node_modules" / ".bin" / "optic"))
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, CURRENT, "The contract as it stands")
    return repo


def test_a_removed_response_field_fails_the_check(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _commit(history, _without_total_funded(CURRENT), "Drop total_funded from loans")

    assert api_diff.main(["--repo", str(history)]) == 1
    output = capsys.readouterr()
    assert "cannot remove response property 'total_funded'" in output.out
    assert LOAN_READ in output.err
    assert "API-Breaking: <reason>" in output.err


def test_an_api_breaking_trailer_records_the_change_as_intended(history: Path) -> None:
    _commit(
        history,
        _without_total_funded(CURRENT),
        "Drop total_funded from loans\n\nAPI-Breaking: clients compute it from the participants",
    )

    assert api_diff.main(["--repo", str(history)]) == 0


def test_an_unchanged_document_passes(history: Path) -> None:
    _commit(history, CURRENT, "Unrelated change")

    assert api_diff.main(["--repo", str(history)]) == 0


def test_the_changes_file_must_list_every_broken_operation_under_unreleased() -> None:
    breaking = frozenset({LOAN_READ, "POST /v1/loans"})
    partial = f"# API changes\n\n## Unreleased\n\n- BREAKING {LOAN_READ}: dropped total_funded\n"
    released = "## Unreleased\n\n## 1.0.0\n\n- BREAKING GET /v1/loans/{loan_id}: old\n- BREAKING POST /v1/loans: old\n"
    complete = partial + "- BREAKING POST /v1/loans: the created loan no longer carries total_funded\n"

    assert api_diff.unrecorded_changes(breaking, [], partial) == {"POST /v1/loans"}
    assert api_diff.unrecorded_changes(breaking, [], released) == breaking
    assert api_diff.unrecorded_changes(breaking, [], complete) == frozenset()
    assert api_diff.unrecorded_changes(breaking, ["clients updated"], "") == frozenset()


def test_the_last_tag_is_the_base_when_there_is_one(history: Path) -> None:
    assert api_diff.resolve_base(history) is None  # the first commit has nothing before it
    _commit(history, CURRENT, "Second")
    assert api_diff.resolve_base(history) == "HEAD~1"
    _git(history, "tag", "v1.0.0")
    _commit(history, CURRENT, "Third")
    _commit(history, CURRENT, "Fourth")
    assert api_diff.resolve_base(history) == "v1.0.0"


def test_a_shallow_clone_without_the_base_fails_and_says_how_to_fetch_it(history: Path, tmp_path: Path) -> None:
    _commit(history, _without_total_funded(CURRENT), "Drop total_funded from loans")
    shallow = tmp_path / "shallow"
    _git(tmp_path, "clone", "-q", "--depth", "1", f"file://{history}", str(shallow))

    with pytest.raises(api_diff.ApiDiffError, match=r"shallow clone.*git fetch --deepen=1"):
        api_diff.resolve_base(shallow)
    assert api_diff.main(["--repo", str(shallow)]) == 2


def test_a_base_without_the_document_has_nothing_to_compare(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "Empty")
    _commit(repo, _without_total_funded(CURRENT), "First document")

    assert api_diff.main(["--repo", str(repo)]) == 0
