"""How many invocations of each function the local stack runs at once (``make run``)."""

from __future__ import annotations

import pytest

from local.apimodel import Function
from local.run import Settings
from local.workers import DEFAULT_MAX_WORKERS, FunctionPool


def function(reserved: int | None) -> Function:
    return Function(
        stack="Lendbridge-dev-Api",
        logical_id="LoansFnFunction0A1B2C3D",
        handler="lendbridge.handlers.loans.handler",
        runtime="python3.13",
        environment={},
        timeout_s=10,
        memory_mb=512,
        reserved_concurrency=reserved,
    )


def pool(reserved: int | None, cap: int) -> FunctionPool:
    return FunctionPool(function(reserved), {}, lambda _line: None, cap, reload_code=False)


@pytest.mark.parametrize(
    ("reserved", "cap", "size"),
    [
        (5, 8, 5),  # the template's reservation, as Lambda would allow
        (25, 8, 8),  # capped by LOCAL_MAX_WORKERS
        (25, 40, 25),
        (1, 8, 1),  # a stream consumer reserved to one runs one batch at a time
        (None, 8, 8),  # no reservation: the cap
        (0, 8, 1),  # a throttled-off function still answers locally
    ],
)
def test_a_pool_runs_what_the_template_reserves_at_most_the_cap(reserved: int | None, cap: int, size: int) -> None:
    assert pool(reserved, cap).size == size


def test_the_default_cap_lets_a_function_run_more_than_four_at_once() -> None:
    """It was a fixed 4, below every reservation of the dev stage's API functions."""
    settings = Settings({})
    assert settings.max_workers == DEFAULT_MAX_WORKERS
    assert pool(25, settings.max_workers).size > 4
    assert pool(5, settings.max_workers).size == 5


def test_local_max_workers_sets_the_cap() -> None:
    assert Settings({"LOCAL_MAX_WORKERS": "2"}).max_workers == 2
    with pytest.raises(SystemExit, match="LOCAL_MAX_WORKERS"):
        Settings({"LOCAL_MAX_WORKERS": "0"})
