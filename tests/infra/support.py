"""Synthesis and CloudFormation-reading helpers shared by the infra tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template
from constructs import IConstruct

from lendbridge_infra.config import StageConfig
from stacks.app import LendbridgeStacks, build_app

STAGES = ("dev", "prod")

Resource = dict[str, Any]

# Logical ids of CDK's own singleton handlers (e.g. the dev buckets' auto-delete, the bucket
# notifications' configuration): CDK ships and runs them only while CloudFormation creates,
# updates or deletes a resource; they are not Lendbridge functions.
CDK_PROVIDER_HANDLER = re.compile(
    r"Custom\w+CustomResourceProviderHandler[0-9A-F]{8}|BucketNotificationsHandler[0-9a-f]{32}[0-9A-F]{8}"
)

# Policy documents, by the resource type that carries them and the property that holds them.
IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
RESOURCE_POLICY_PROPERTIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}


@dataclass(frozen=True)
class Synth:
    """One stage, synthesized into ``outdir``; templates keyed by the LendbridgeStacks attribute of each
    stack ("data", "identity", "api", ...), so a stack added there is covered by every test."""

    stage: str
    outdir: Path
    stacks: LendbridgeStacks = field(repr=False)
    templates: dict[str, Template] = field(repr=False)
    json: dict[str, dict[str, Any]] = field(repr=False)
    validation_error: str | None = field(default=None, repr=False)  # cdk-nag's ValidationFailed, if raised

    @property
    def config(self) -> StageConfig:
        return self.stacks.config

    def resources(self, stack: str, resource_type: str) -> dict[str, Resource]:
        return {
            logical_id: resource
            for logical_id, resource in self.json[stack].get("Resources", {}).items()
            if resource["Type"] == resource_type
        }

    def all_resources(self, resource_type: str) -> list[tuple[str, str, Resource]]:
        """(stack key, logical id, resource) of every resource of a type, in every stack."""
        return [
            (stack, logical_id, resource)
            for stack in self.json
            for logical_id, resource in self.resources(stack, resource_type).items()
        ]

    def logical_id(self, stack: str, construct: IConstruct) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        cdk_stack = getattr(self.stacks, stack)
        return str(cdk_stack.get_logical_id(construct.node.default_child))

    def resource_of(self, stack: str, construct: IConstruct) -> Resource:
        return dict(self.json[stack]["Resources"][self.logical_id(stack, construct)])


def app_stacks(app: cdk.App, stacks: LendbridgeStacks) -> dict[str, cdk.Stack]:
    """Every stack of the app, by its LendbridgeStacks attribute; fails if the app has a stack no attribute names."""
    named = {name: value for name, value in vars(stacks).items() if isinstance(value, cdk.Stack)}
    in_app = {child.node.path for child in app.node.children if isinstance(child, cdk.Stack)}
    unnamed = in_app - {stack.node.path for stack in named.values()}
    if unnamed:
        raise AssertionError(f"stacks the tests cannot name: {sorted(unnamed)}")
    return named


def synthesize(stage: str, outdir: Path) -> Synth:
    """Synthesize one stage; a cdk-nag failure is recorded for the nag test instead of failing every test."""
    app, stacks = build_app(stage, str(outdir))
    validation_error: str | None = None
    try:
        app.synth()  # writes templates, assets and validation-report.json into outdir
    except RuntimeError as error:  # jsii surfaces CDK's "ValidationFailed" as a RuntimeError
        if "ValidationFailed" not in str(error):
            raise
        validation_error = str(error)
    named = app_stacks(app, stacks)
    if validation_error is None:
        templates = {key: Template.from_stack(stack) for key, stack in named.items()}
    else:  # the assembly was written before validation ran; read it from disk
        templates = {
            key: Template.from_json(json.loads((outdir / stack.template_file).read_text()))
            for key, stack in named.items()
        }
    return Synth(
        stage=stage,
        outdir=outdir,
        stacks=stacks,
        templates=templates,
        json={key: dict(template.to_json()) for key, template in templates.items()},
        validation_error=validation_error,
    )


# --- intrinsic functions -------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def ref_id(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target.split(".", 1)[0])
    return None


def flatten(value: Any) -> str:
    """A readable string for an intrinsic: ``Ref X`` -> ``${X}``, ``GetAtt X.A`` -> ``${X.A}``, joins joined."""
    if isinstance(value, str):
        return value
    rendered = json.dumps(value, sort_keys=True)
    if isinstance(value, dict) and len(value) == 1:
        (name, argument), *_ = value.items()
        if name == "Ref":
            rendered = "${" + str(argument) + "}"
        elif name == "Fn::GetAtt":
            parts = argument if isinstance(argument, list) else argument.split(".", 1)
            rendered = "${" + ".".join(str(part) for part in parts) + "}"
        elif name == "Fn::Join":
            separator, items = argument
            rendered = str(separator).join(flatten(item) for item in items)
        elif name == "Fn::ImportValue":
            rendered = "${Import:" + flatten(argument) + "}"
        elif name == "Fn::Sub":
            rendered = str(argument[0] if isinstance(argument, list) else argument)
    return rendered


# --- policies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    stack: str
    logical_id: str
    resource_type: str
    body: dict[str, Any]

    @property
    def is_identity_policy(self) -> bool:
        return self.resource_type in (*IDENTITY_POLICY_TYPES, "AWS::IAM::Role")

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    @property
    def actions(self) -> list[str]:
        return [str(action) for action in as_list(self.body.get("Action"))]

    @property
    def resources(self) -> list[str]:
        return [flatten(resource) for resource in as_list(self.body.get("Resource"))]

    def where(self) -> str:
        return f"{self.stack}/{self.logical_id} ({self.resource_type}): {json.dumps(self.body, sort_keys=True)}"


def policy_statements(synth: Synth) -> Iterator[Statement]:
    """Every statement of every identity policy (inline role policies included) and resource policy."""
    for stack, template in synth.json.items():
        for logical_id, resource in template.get("Resources", {}).items():
            resource_type = resource["Type"]
            properties = resource.get("Properties", {})
            documents: list[Any] = []
            if resource_type in IDENTITY_POLICY_TYPES:
                documents.append(properties.get("PolicyDocument"))
            elif resource_type == "AWS::IAM::Role":
                documents.extend(policy.get("PolicyDocument") for policy in properties.get("Policies", []))
            elif resource_type in RESOURCE_POLICY_PROPERTIES:
                documents.append(properties.get(RESOURCE_POLICY_PROPERTIES[resource_type]))
            for document in documents:
                for body in as_list((document or {}).get("Statement")):
                    yield Statement(stack, logical_id, resource_type, body)


def role_statements(synth: Synth, stack: str, role_id: str) -> list[Statement]:
    """Statements that apply to one role: its inline policies and every AWS::IAM::Policy attached to it."""
    return [
        statement
        for statement in policy_statements(synth)
        if statement.stack == stack
        and (
            (statement.resource_type == "AWS::IAM::Role" and statement.logical_id == role_id)
            or (
                statement.resource_type in IDENTITY_POLICY_TYPES
                and role_id
                in {
                    ref_id(role)
                    for role in synth.json[stack]["Resources"][statement.logical_id]["Properties"].get("Roles", [])
                }
            )
        )
    ]


# --- API Gateway ---------------------------------------------------------------------------


def resource_paths(template: dict[str, Any]) -> dict[str, str]:
    """API Gateway resource logical id -> full path, rebuilt from the ParentId chains."""
    resources = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::ApiGateway::Resource"
    }
    paths: dict[str, str] = {}

    def path_of(logical_id: str, seen: tuple[str, ...] = ()) -> str:
        if logical_id in paths:
            return paths[logical_id]
        if logical_id in seen:
            raise AssertionError(f"ParentId cycle through {logical_id}")
        properties = resources[logical_id]
        parent = properties["ParentId"]
        prefix = "" if _is_root(parent) else path_of(str(ref_id(parent)), (*seen, logical_id))
        paths[logical_id] = f"{prefix}/{properties['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _is_root(value: Any) -> bool:
    return isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "RootResourceId"


@dataclass(frozen=True)
class ApiMethod:
    logical_id: str
    http_method: str
    path: str
    properties: dict[str, Any]


def api_methods(template: dict[str, Any]) -> list[ApiMethod]:
    paths = resource_paths(template)
    methods: list[ApiMethod] = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::ApiGateway::Method":
            continue
        properties = resource["Properties"]
        target = properties["ResourceId"]
        path = "/" if _is_root(target) else paths[str(ref_id(target))]
        methods.append(ApiMethod(logical_id, properties["HttpMethod"], path, properties))
    return methods


# --- CloudWatch alarms ---------------------------------------------------------------------

_SEARCH = re.compile(r"SEARCH\(\s*'(?P<query>[^']*)'\s*,\s*'(?P<stat>\w+)'\s*(?:,\s*(?P<period>\d+))?")
_SEARCH_METRIC = re.compile(r"MetricName\s*=\s*\\?\"?(?P<name>\w+)")
_INSIGHTS = re.compile(r"SELECT\s+(?P<function>\w+)\(\s*\"?(?P<name>\w+)\"?\s*\)", re.IGNORECASE)
_INSIGHTS_STATS = {"SUM": "Sum", "AVG": "Average", "MIN": "Minimum", "MAX": "Maximum", "COUNT": "SampleCount"}


@dataclass(frozen=True)
class AlarmQuery:
    """What an alarm watches, whichever form it takes (plain metric, MetricStat, SEARCH or Metrics Insights)."""

    metrics: frozenset[str]
    statistics: frozenset[str]
    period: int | None
    text: str  # everything the query says, for dimension filters


def describe_alarm(properties: dict[str, Any]) -> AlarmQuery:
    metrics: set[str] = set()
    statistics: set[str] = set()
    period = properties.get("Period")
    if "MetricName" in properties:
        metrics.add(properties["MetricName"])
        statistics.add(properties.get("Statistic") or properties.get("ExtendedStatistic", ""))
    for query in properties.get("Metrics", []):
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metrics.add(stat["Metric"]["MetricName"])
            statistics.add(stat["Stat"])
            if query.get("ReturnData", True):
                period = stat.get("Period", period)
        expression = query.get("Expression", "")
        for search in _SEARCH.finditer(expression):
            metrics.update(match["name"] for match in _SEARCH_METRIC.finditer(search["query"]))
            statistics.add(search["stat"])
            if search["period"] and period is None:
                period = int(search["period"])
        for insight in _INSIGHTS.finditer(expression):
            metrics.add(insight["name"])
            statistics.add(_INSIGHTS_STATS.get(insight["function"].upper(), insight["function"]))
        if expression and query.get("ReturnData", True) and "Period" in query:
            period = query["Period"]
    text = json.dumps(
        {key: properties.get(key) for key in ("MetricName", "Dimensions", "Metrics")}, sort_keys=True
    ).replace('\\"', '"')
    return AlarmQuery(frozenset(metrics), frozenset(statistics), period, text)
