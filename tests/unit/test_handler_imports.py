"""What a function's cold start loads: each handler imported in a fresh interpreter from the
bundle the synth stages for it (lendbridge_infra/bundling.py), with installed packages standing
in for the Powertools layer. `make bench` measures the time (benchmarks/cold_start.py); these
tests hold the causes it found away."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from functools import cache
from pathlib import Path

import pytest

from lendbridge_infra.bundling import stage_function_code

# A module that defines the Lambda entry point, or takes it from its ApiFunction.
ENTRY_POINT = re.compile(r"^(def handler\(|handler = )", re.MULTILINE)
HANDLERS = sorted(
    f"lendbridge.handlers.{path.stem}"
    for path in (Path(__file__).resolve().parents[2] / "lambdas" / "lendbridge" / "handlers").glob("*.py")
    if ENTRY_POINT.search(path.read_text())
)
API_HANDLERS = [f"lendbridge.handlers.{name}" for name in ("health", "accounts", "loans", "lender")]

_AFTER_IMPORT = """
import json, sys
sys.path[:0] = {path!r}
import {module}
{extra}
print(json.dumps({{"modules": sorted(sys.modules), "extra": extra}}))
"""


@cache
def _bundle(module: str) -> Path:
    return stage_function_code(module)


def imported(module: str, extra: str = "extra = None") -> dict[str, object]:
    """sys.modules after importing ``module`` from its bundle alone (and ``extra``'s result)."""
    path = [str(_bundle(module)), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = _AFTER_IMPORT.format(path=path, module=module, extra=extra)
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-I", "-S", "-B", "-c", code],
        capture_output=True,
        text=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "lendbridge"},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("module", HANDLERS)
def test_no_function_loads_the_xray_sdk(module: str) -> None:
    # The SDK built a botocore client while being imported (~100 ms of every cold start);
    # Lambda's active tracing records the function without it (docs/decisions.md).
    loaded = imported(module)["modules"]
    assert isinstance(loaded, list)
    assert not [name for name in loaded if name.startswith("aws_xray_sdk")]


@pytest.mark.parametrize("module", API_HANDLERS)
def test_api_models_are_built_on_first_use_not_at_import(module: str) -> None:
    extra = (
        "from lendbridge.schemas.common import ErrorEnvelope\n"
        "before = ErrorEnvelope.__pydantic_complete__\n"
        "ErrorEnvelope.model_validate({'error': 'NOT_FOUND', 'message': 'm', 'request_id': 'r', 'timestamp': 't'})\n"
        "extra = [before, ErrorEnvelope.__pydantic_complete__]"
    )
    assert imported(module, extra)["extra"] == [False, True]


def test_schema_annotations_are_evaluated_by_python_not_by_pydantic_at_import() -> None:
    # With postponed (string) annotations pydantic evaluates every field's type at class
    # creation; real annotations cost nothing more to read (measured: ~40 ms of the loans import).
    from pydantic import BaseModel

    from lendbridge.schemas import accounts, common, loans

    models = [
        value
        for schema in (accounts, common, loans)
        for value in vars(schema).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == schema.__name__
    ]
    assert len(models) > 20
    postponed = [model.__name__ for model in models if any(isinstance(a, str) for a in model.__annotations__.values())]
    assert postponed == []


def test_the_health_answers_are_models_built_on_first_use_too() -> None:
    extra = "from lendbridge.handlers import health\nextra = [health.LiveOut.__pydantic_complete__]"
    assert imported("lendbridge.handlers.health", extra)["extra"] == [False]


def test_the_extractor_loads_pypdf_and_pillow_only_for_a_document_that_needs_them() -> None:
    # Its asset ships both (installed here too); imported with the reader they would lengthen
    # every cold start, while most documents are PDFs under 4.5 MB, PNG or JPEG, needing neither.
    modules = imported("lendbridge.handlers.extractor", "import lendbridge.data.bedrock_reader; extra = None")[
        "modules"
    ]
    assert isinstance(modules, list)
    assert [name for name in modules if name.split(".")[0] in ("pypdf", "PIL")] == []


@pytest.mark.parametrize(
    ("module", "presenters", "not_loaded"),
    [
        ("lendbridge.handlers.loans", "presenters", ("lendbridge.schemas.bookings", "lendbridge.schemas.accounts")),
        ("lendbridge.handlers.lender", "presenters", ("lendbridge.schemas.bookings", "lendbridge.schemas.accounts")),
        ("lendbridge.handlers.accounts", "account_presenters", ("lendbridge.schemas.bookings",)),
        ("lendbridge.handlers.bookings", "booking_presenters", ("lendbridge.schemas.accounts",)),
    ],
)
def test_each_function_loads_the_presenters_of_the_models_it_shows_only(
    module: str, presenters: str, not_loaded: tuple[str, ...]
) -> None:
    # The booking models alone would add ~60 ms to the lending functions' imports.
    modules = imported(module)["modules"]
    assert isinstance(modules, list)
    assert f"lendbridge.schemas.{presenters}" in modules
    assert [name for name in not_loaded if name in modules] == []


# Functions that read no request and no queued message validated by pydantic: the only reasons
# they had to load pydantic (about 55 ms of CPU) were their settings and, for the sign-up
# trigger, the claim message it writes.
PYDANTIC_FREE = [
    f"lendbridge.handlers.{name}"
    for name in ("integrity", "loan_stream", "webhook_events", "webhook_delivery", "cognito_triggers")
]
API = (*API_HANDLERS, "lendbridge.handlers.bookings", "lendbridge.handlers.webhooks")
WORKERS = [module for module in HANDLERS if module not in API]


@pytest.mark.parametrize("module", WORKERS)
def test_a_function_that_answers_no_request_loads_no_resolver(module: str) -> None:
    loaded = imported(module)["modules"]
    assert isinstance(loaded, list)
    edge = ("aws_lambda_powertools.event_handler", "lendbridge.http")
    assert [name for name in loaded if name.startswith(edge)] == []


@pytest.mark.parametrize("module", PYDANTIC_FREE)
def test_settings_alone_do_not_load_pydantic(module: str) -> None:
    loaded = imported(module)["modules"]
    assert isinstance(loaded, list)
    assert [name for name in loaded if name.split(".")[0] in ("pydantic", "pydantic_core")] == []


@pytest.mark.parametrize("module", ["lendbridge.handlers.upload_events", "lendbridge.handlers.bookings"])
def test_booking_sheet_rules_are_built_when_a_field_is_first_checked(module: str) -> None:
    # Fourteen validators (about 10 ms of CPU) that the upload worker and the read routes never use.
    extra = (
        "from lendbridge.domain import booking_sheet\n"
        "before = [rule.pydantic_complete for rule in booking_sheet._RULES.values()]\n"
        "booking_sheet.normalise_value('currency', 'usd')\n"
        "extra = [any(before), booking_sheet._RULES['currency'].pydantic_complete]"
    )
    assert imported(module, extra)["extra"] == [False, True]


@pytest.mark.parametrize(
    ("module", "others"),
    [
        ("lendbridge.handlers.accounts", "lendbridge.schemas.loans"),
        ("lendbridge.handlers.loans", "lendbridge.schemas.accounts"),
        ("lendbridge.handlers.lender", "lendbridge.schemas.accounts"),
        ("lendbridge.handlers.bookings", "lendbridge.schemas.loans"),
    ],
)
def test_a_function_loads_no_other_functions_response_models(module: str, others: str) -> None:
    loaded = imported(module)["modules"]
    assert isinstance(loaded, list)
    assert others not in loaded


def test_liveness_loads_none_of_the_adapters_readiness_probes() -> None:
    extra = "extra = [m for m in sys.modules if m.startswith(('lendbridge.data.', 'lendbridge.domain.accounts'))]"
    assert imported("lendbridge.handlers.health", extra)["extra"] == []
