"""The logic of `make test`'s coverage gate (tools/coverage_gate.py): floors per module group,
and the documented routes the e2e run never called (recorded by tests/e2e/routes.py)."""

from __future__ import annotations

import json
from pathlib import Path

from local.events import HttpRequest, HttpResponse
from tests.e2e.routes import CalledRoutes
from tools.coverage_gate import Floors, ModuleCoverage, check_coverage, check_routes, documented_routes


def _module(path: str, statements: int, missing: tuple[int, ...] = ()) -> ModuleCoverage:
    return ModuleCoverage(path, statements, missing, ", ".join(map(str, missing)))


FLOORS = Floors(overall=85.0, critical={"domain/": 95.0, "handlers/cognito_triggers.py": 95.0})


def test_a_critical_group_below_its_floor_fails_and_names_the_missed_lines() -> None:
    modules = [
        _module("domain/lending.py", 100, (10, 11, 12, 13, 14, 15)),  # 94 %
        _module("handlers/cognito_triggers.py", 20),
        _module("settings.py", 30),
    ]
    out: list[str] = []

    assert not check_coverage(modules, FLOORS, out)

    text = "\n".join(out)
    assert "domain/" in text
    assert "FAIL" in text
    assert "domain/lending.py: 6 missed: 10, 11, 12, 13, 14, 15" in text


def test_groups_at_or_above_their_floors_pass() -> None:
    modules = [_module("domain/lending.py", 100, (10, 11, 12, 13, 14)), _module("handlers/cognito_triggers.py", 20)]
    out: list[str] = []

    assert check_coverage(modules, FLOORS, out)
    assert "FAIL" not in "\n".join(out)


def test_the_overall_floor_counts_every_module() -> None:
    modules = [
        _module("domain/lending.py", 100),
        _module("handlers/cognito_triggers.py", 20),
        _module("settings.py", 100, tuple(range(1, 31))),  # 200 of 220 -> 90.9 %; fine
        _module("aws.py", 40, tuple(range(1, 41))),  # now 180 of 260 -> 69 %
    ]
    out: list[str] = []

    assert not check_coverage(modules, FLOORS, out)
    assert any(line.startswith("overall") and "FAIL" in line for line in out)


def test_a_module_matches_only_its_own_group_prefix() -> None:
    # "handlers/cognito_triggers.py" is a module, not a prefix of "handlers/cognito_triggers_v2.py".
    modules = [_module("handlers/cognito_triggers_v2.py", 10, (1, 2, 3, 4, 5)), _module("domain/x.py", 10)]
    out: list[str] = []

    assert not check_coverage(modules, FLOORS, out)
    assert any(line.startswith("handlers/cognito_triggers.py") and "NO DATA" in line for line in out)


def test_a_provisional_floor_replaces_the_goal_and_says_so() -> None:
    floors = Floors(overall=85.0, critical={"domain/": 95.0}, provisional={"domain/": 90.0})
    out: list[str] = []

    assert check_coverage([_module("domain/lending.py", 100, tuple(range(1, 9)))], floors, out)  # 92 %
    assert any("provisional; goal 95 %" in line for line in out)


def test_the_configured_floors_load_from_pyproject() -> None:
    floors = Floors.load()

    assert floors.overall >= 85.0
    assert {"domain/", "data/loans.py", "http/", "handlers/", "handlers/cognito_triggers.py"} <= set(floors.critical)
    assert all(goal >= 95.0 for goal in floors.critical.values())


def test_every_documented_route_uncalled_is_listed(tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    document.write_text(
        json.dumps(
            {
                "paths": {
                    "/v1/loans": {"post": {}, "parameters": []},
                    "/v1/loans/{loan_id}": {"get": {}, "delete": {}},
                }
            }
        )
    )
    out: list[str] = []

    assert not check_routes(documented_routes(document), {("POST", "/v1/loans")}, out)
    assert "  never called: GET /v1/loans/{loan_id}" in out
    assert "  never called: DELETE /v1/loans/{loan_id}" in out
    assert check_routes(
        documented_routes(document),
        {("POST", "/v1/loans"), ("GET", "/v1/loans/{loan_id}"), ("DELETE", "/v1/loans/{loan_id}")},
        [],
    )


class _Api:
    def match(self, segments: list[str]) -> tuple[str, dict[str, str]] | None:
        if segments[:2] == ["v1", "loans"] and len(segments) == 3:
            return "/v1/loans/{loan_id}", {"loan_id": segments[2]}
        return None


def _request(method: str, path: str) -> HttpRequest:
    return HttpRequest(method, path, [], b"", "127.0.0.1")


def test_only_requests_a_function_answered_count_as_calls(tmp_path: Path) -> None:
    routes = CalledRoutes()
    routes.api = _Api()  # type: ignore[assignment]
    routes.after_response(_request("GET", "/v1/loans/abc"), HttpResponse(200, []))
    routes.after_response(_request("DELETE", "/v1/loans/abc"), HttpResponse(401, [("x-amzn-ErrorType", "Unauth")]))
    routes.after_response(_request("GET", "/nowhere"), HttpResponse(404, []))
    routes.write(tmp_path / "routes.json")

    assert json.loads((tmp_path / "routes.json").read_text()) == [["GET", "/v1/loans/{loan_id}"]]
