"""Lambda functions (runtime, layer, tracing, logs, code assets) and the IAM they are given."""

from __future__ import annotations

import importlib.metadata
import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from lendbridge.routes import FUNCTIONS
from lendbridge_infra.bundling import module_closure
from lendbridge_infra.powertools import pinned_powertools_version
from tests.infra.support import (
    CDK_PROVIDER_HANDLER,
    Statement,
    Synth,
    flatten,
    policy_statements,
    ref_id,
    role_statements,
)

# AWS's public parameter per Powertools release, runtime and architecture, resolved by CloudFormation.
POWERTOOLS_LAYER = re.compile(
    r"\{\{resolve:ssm:/aws/service/powertools/python/(?P<arch>arm64|x86_64)/(?P<runtime>python3\.\d+)/"
    r"(?P<version>\d+\.\d+\.\d+)\}\}"
)
REQUIREMENTS = Path(__file__).resolve().parents[2] / "lambdas" / "requirements.txt"
METRICS_NAMESPACE = "PrivateLending/API"
LOG_RETENTION_DAYS = {"dev": 14, "prod": 365}
FORBIDDEN_ACTIONS = {"*", "dynamodb:*", "kms:*"}
# Actions AWS documents without resource-level permissions: "Resource": "*" is the only option.
RESOURCELESS_ACTIONS = {
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "xray:getsamplingrules",
    "xray:getsamplingtargets",
    "xray:getsamplingstatisticsummaries",
    "cloudwatch:putmetricdata",
    "dynamodb:liststreams",  # account-wide listing; CDK's stream event source grants it on "*"
}
EXTRACTOR_MODULE = "lendbridge.handlers.extractor"
EXTRACTOR_REQUIREMENTS = REQUIREMENTS.with_name("extractor-requirements.txt")
ELF_AARCH64 = 183  # e_machine of an ELF file built for 64-bit ARM
BASIC_EXECUTION_ROLE = ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def _functions(synth: Synth) -> list[tuple[str, str, dict[str, Any]]]:
    found = [
        (stack, logical_id, fn["Properties"])
        for stack, logical_id, fn in synth.all_resources("AWS::Lambda::Function")
        if not CDK_PROVIDER_HANDLER.fullmatch(logical_id)
    ]
    assert found
    return found


def _handler_module(properties: dict[str, Any]) -> str:
    return str(properties["Handler"]).rsplit(".", 1)[0]


def test_every_route_function_is_deployed_running_its_own_handler(synth: Synth) -> None:
    """The API stack holds one function per name in the route table, each running the handler
    module of that name, and no other function."""
    expected = {name: f"lendbridge.handlers.{name}" for name in FUNCTIONS}
    for name, module in expected.items():
        fn = synth.resource_of("api", synth.stacks.api.functions[name])
        assert _handler_module(fn["Properties"]) == module, name
    in_api_stack = [
        _handler_module(fn["Properties"]) for fn in synth.resources("api", "AWS::Lambda::Function").values()
    ]
    assert sorted(in_api_stack) == sorted(expected.values())


def test_every_function_runs_python_3_13_on_arm64_with_active_tracing(synth: Synth) -> None:
    for _, logical_id, properties in _functions(synth):
        assert properties.get("Runtime") == "python3.13", logical_id
        assert properties.get("Architectures") == ["arm64"], logical_id
        assert properties.get("TracingConfig") == {"Mode": "Active"}, logical_id


def _pinned_powertools() -> str:
    (version,) = re.findall(r"^aws-lambda-powertools(?:\[[^\]]*\])?==([\d.]+)\s*$", REQUIREMENTS.read_text(), re.M)
    return str(version)


def test_every_function_deploys_the_powertools_release_the_tests_run(synth: Synth) -> None:
    """The layer is the one AWS publishes for the release lambdas/requirements.txt pins (and this
    virtualenv runs), for the function's own runtime and architecture."""
    pinned = _pinned_powertools()
    assert importlib.metadata.version("aws-lambda-powertools") == pinned, "the tests run another release"
    for _, logical_id, properties in _functions(synth):
        layers = [flatten(layer) for layer in properties.get("Layers", [])]
        matches = [match for layer in layers if (match := POWERTOOLS_LAYER.fullmatch(layer))]
        assert len(matches) == 1, f"{logical_id}: {layers}"
        (match,) = matches
        assert match["version"] == pinned, f"{logical_id} deploys Powertools {match['version']}, tests run {pinned}"
        assert match["runtime"] == properties["Runtime"], logical_id
        assert [match["arch"]] == properties["Architectures"], logical_id


def test_every_function_names_its_service_and_metrics_namespace(synth: Synth) -> None:
    for _, logical_id, properties in _functions(synth):
        variables = properties.get("Environment", {}).get("Variables", {})
        assert isinstance(variables.get("POWERTOOLS_SERVICE_NAME"), str), logical_id
        assert variables["POWERTOOLS_SERVICE_NAME"].strip(), logical_id
        assert variables.get("POWERTOOLS_METRICS_NAMESPACE") == METRICS_NAMESPACE, logical_id


def test_every_function_logs_to_its_own_group_with_the_stage_retention(synth: Synth) -> None:
    groups_used: list[str] = []
    for stack, logical_id, properties in _functions(synth):
        group_id = ref_id(properties.get("LoggingConfig", {}).get("LogGroup"))
        group = synth.resources(stack, "AWS::Logs::LogGroup").get(str(group_id))
        assert group is not None, f"{logical_id} has no log group of its stack"
        assert group["Properties"].get("RetentionInDays") == LOG_RETENTION_DAYS[synth.stage], logical_id
        groups_used.append(str(group_id))
    assert len(groups_used) == len(set(groups_used)), "functions share a log group"


def _asset_directory(synth: Synth, logical_id: str, resource: dict[str, Any]) -> Path:
    path = resource.get("Metadata", {}).get("aws:asset:path")
    if path:
        return synth.outdir / path
    asset_hash = flatten(resource["Properties"]["Code"]["S3Key"]).removesuffix(".zip")
    for manifest in synth.outdir.glob("*.assets.json"):
        entry = json.loads(manifest.read_text())["files"].get(asset_hash)
        if entry:
            return synth.outdir / entry["source"]["path"]
    raise AssertionError(f"{logical_id}: asset {asset_hash} is in no assets manifest")


def test_every_function_ships_exactly_its_module_closure(synth: Synth) -> None:
    functions = {
        logical_id: resource
        for _, logical_id, resource in synth.all_resources("AWS::Lambda::Function")
        if not CDK_PROVIDER_HANDLER.fullmatch(logical_id)
    }
    handler_files = {
        Path(*_handler_module(fn["Properties"]).split(".")).with_suffix(".py") for fn in functions.values()
    }
    assert len(handler_files) == len(functions) >= 2
    for logical_id, resource in functions.items():
        module = _handler_module(resource["Properties"])
        directory = _asset_directory(synth, logical_id, resource)
        assert directory.is_dir(), f"{logical_id}: {directory}"
        shipped = {path.relative_to(directory) for path in directory.rglob("*") if path.is_file()}
        # Third-party packages beside lendbridge/ are checked by the test below.
        assert {path for path in shipped if path.parts[0] == "lendbridge"} == module_closure(module), logical_id
        own = Path(*module.split(".")).with_suffix(".py")
        assert own in shipped, f"{logical_id} does not ship its handler {own}"
        assert not shipped & (handler_files - {own}), f"{logical_id} ships another function's handler"


def test_only_the_extractor_ships_pypdf_and_pillow_built_for_the_lambda_platform(synth: Synth) -> None:
    """pypdf splits large PDFs and Pillow converts TIFF; the layer has neither, and Pillow's
    binary must be CPython 3.13 on aarch64 (the functions' runtime), not this machine's build."""
    extractors = 0
    for _, logical_id, resource in synth.all_resources("AWS::Lambda::Function"):
        if CDK_PROVIDER_HANDLER.fullmatch(logical_id):
            continue
        directory = _asset_directory(synth, logical_id, resource)
        top_level = {entry.name for entry in directory.iterdir() if not entry.name.endswith(".dist-info")}
        if _handler_module(resource["Properties"]) != EXTRACTOR_MODULE:
            assert top_level == {"lendbridge"}, logical_id
            continue
        extractors += 1
        assert top_level == {"lendbridge", "pypdf", "PIL", "pillow.libs"}, logical_id
        assert (directory / "pypdf" / "__init__.py").is_file()
        extensions = sorted((directory / "PIL").glob("*.so"))
        assert directory / "PIL" / "_imaging.cpython-313-aarch64-linux-gnu.so" in extensions
        assert all(path.name.endswith(".cpython-313-aarch64-linux-gnu.so") for path in extensions), extensions
        for library in [*extensions, *(directory / "pillow.libs").glob("*.so*")]:
            header = library.read_bytes()[:20]
            assert header[:4] == b"\x7fELF", library
            assert int.from_bytes(header[18:20], "little") == ELF_AARCH64, library
        pins = dict(re.findall(r"^([\w.-]+)==([\w.]+)", EXTRACTOR_REQUIREMENTS.read_text(), re.MULTILINE))
        assert set(pins) == {"pillow", "pypdf"}
        for name, version in pins.items():  # the versions pinned, not whatever the index had
            assert (directory / f"{name}-{version}.dist-info").is_dir(), (name, version)
    assert extractors == 1


def test_no_statement_grants_a_service_wide_wildcard(synth: Synth) -> None:
    offenders: list[str] = []
    for statement in policy_statements(synth):
        if statement.allows and "NotAction" in statement.body:
            offenders.append(statement.where())
        for action in statement.actions:
            if action.lower() in FORBIDDEN_ACTIONS and not _is_default_key_administration(statement):
                offenders.append(statement.where())
    assert offenders == []


def _is_default_key_administration(statement: Statement) -> bool:
    """The key policy statement CDK writes on every key: the account root may use ``kms:*`` on this key.

    It grants nothing to any principal by itself; it delegates the key's access to IAM policies, which
    the other checks in this module hold to named actions. Anything else with ``kms:*`` is an offender.
    """
    principal = statement.body.get("Principal", {})
    return (
        statement.resource_type == "AWS::KMS::Key"
        and statement.allows
        and statement.actions == ["kms:*"]
        and isinstance(principal, dict)
        and list(principal) == ["AWS"]
        and re.fullmatch(r"arn:\$\{AWS::Partition\}:iam::\$\{AWS::AccountId\}:root", flatten(principal["AWS"]))
        is not None
    )


def test_resource_wildcard_only_for_resourceless_actions(synth: Synth) -> None:
    offenders: list[str] = []
    seen_identity_policies = False
    for statement in policy_statements(synth):
        # In a key policy "*" means "this key"; every other document must name its resources.
        if statement.resource_type == "AWS::KMS::Key" or not statement.allows:
            continue
        seen_identity_policies = seen_identity_policies or statement.is_identity_policy
        if "*" in statement.resources and not {a.lower() for a in statement.actions} <= RESOURCELESS_ACTIONS:
            offenders.append(statement.where())
    assert seen_identity_policies
    assert offenders == []


def test_accounts_function_cannot_scan(synth: Synth) -> None:
    properties = synth.resource_of("api", synth.stacks.api.functions["accounts"])["Properties"]
    role_id = str(ref_id(properties["Role"]))
    role = synth.json["api"]["Resources"][role_id]["Properties"]
    managed = [flatten(arn) for arn in role.get("ManagedPolicyArns", [])]
    assert all(arn.endswith(BASIC_EXECUTION_ROLE) for arn in managed), managed
    actions = [
        action
        for statement in role_statements(synth, "api", role_id)
        if statement.allows
        for action in statement.actions
    ]
    assert "dynamodb:PutItem" in actions, "the role's policies were found"
    scanning = [action for action in actions if fnmatchcase("dynamodb:scan", action.lower())]
    assert scanning == []


def test_only_the_idempotent_functions_read_their_own_fingerprint_key(synth: Synth) -> None:
    """Loans, lender, bookings and webhooks fingerprint idempotent requests with a key of their own (not
    the cursor key), encrypted with the data key; no other function may read it."""
    data = synth.stacks.data
    secret_id = synth.logical_id("data", data.idempotency_secret)
    assert secret_id != synth.logical_id("data", data.pagination_secret)
    secret = synth.resource_of("data", data.idempotency_secret)["Properties"]
    assert ref_id(secret["KmsKeyId"]) == synth.logical_id("data", data.data_key)
    for name, function in synth.stacks.api.functions.items():
        properties = synth.resource_of("api", function)["Properties"]
        variable = properties["Environment"]["Variables"].get("IDEMPOTENCY_SECRET_ID")
        readable = [
            resource
            for statement in role_statements(synth, "api", str(ref_id(properties["Role"])))
            if statement.allows and "secretsmanager:GetSecretValue" in statement.actions
            for resource in statement.resources
            if secret_id in resource
        ]
        if name in ("loans", "lender", "bookings", "webhooks"):
            assert secret_id in flatten(variable), name
            assert readable, name
        else:  # every function shares one environment: what matters is who may read the secret
            assert readable == [], name


@pytest.mark.parametrize(
    "text",
    [
        "aws-lambda-powertools[tracer]>=3.37.0\n",
        "aws-lambda-powertools==3.37.0\naws-lambda-powertools[tracer]==3.36.0\n",
        "pydantic>=2.7\n",
    ],
)
def test_a_powertools_pin_that_is_not_one_exact_release_fails_synth(tmp_path: Path, text: str) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(text)
    with pytest.raises(ValueError, match="one exact release"):
        pinned_powertools_version(requirements)
