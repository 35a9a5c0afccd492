"""Reads a synthesized cloud assembly and resolves what the local stack needs from it:
table definitions, and the values of functions' environment variables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

LOCAL_PREFIX = "lendbridge-local"
_LOGICAL_HASH = re.compile(r"[0-9A-F]{8}$")
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

ACCOUNT = "000000000000"
REGION = "us-east-1"


def friendly(logical_id: str) -> str:
    """``MainTable74195DAB`` -> ``MainTable``: CDK appends an 8-hex hash to logical ids."""
    return _LOGICAL_HASH.sub("", logical_id) or logical_id


class Unresolved(KeyError):
    """A reference to a resource that has no local value (yet): provisioning binds values in
    dependency order, so callers may retry once more resources are bound."""


@dataclass
class Assembly:
    templates: dict[str, dict[str, Any]]
    # (stack, logical id) -> {"Ref": ..., "Arn": ..., other attributes}; filled by provisioning
    physical: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    directory: Path | None = None

    @classmethod
    def load(cls, outdir: Path) -> Assembly:
        manifest = json.loads((outdir / "manifest.json").read_text())
        templates = {}
        for name, artifact in manifest["artifacts"].items():
            if artifact.get("type") == "aws:cloudformation:stack":
                template_file = artifact["properties"]["templateFile"]
                templates[name] = json.loads((outdir / template_file).read_text())
        return cls(templates=templates, directory=outdir)

    def resources(self, resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
        found = []
        for stack, template in self.templates.items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource.get("Type") == resource_type:
                    found.append((stack, logical_id, resource))
        return found

    def resource(self, stack: str, logical_id: str) -> dict[str, Any]:
        return dict(self.templates[stack]["Resources"][logical_id])

    def bind(self, stack: str, logical_id: str, ref: str, **attributes: str) -> None:
        self.physical[(stack, logical_id)] = {"Ref": ref, **attributes}

    def is_bound(self, stack: str, logical_id: str) -> bool:
        return (stack, logical_id) in self.physical

    def resolve(self, stack: str, value: Any) -> Any:
        """Evaluate the CloudFormation intrinsics the app's templates use."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            intrinsic = self._INTRINSICS.get(function)
            if intrinsic is not None:
                return intrinsic(self, stack, argument)
        return {key: self.resolve(stack, item) for key, item in value.items()}

    def _ref(self, stack: str, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
            "AWS::NoValue": "",
        }
        if name in pseudo:
            return pseudo[name]
        return self._attribute(stack, name, "Ref")

    def _get_att(self, stack: str, argument: Any) -> str:
        logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
        return self._attribute(stack, logical_id, str(self.resolve(stack, attribute)))

    def _join(self, stack: str, argument: Any) -> str:
        separator, parts = argument
        return str(separator).join(str(self.resolve(stack, part)) for part in self.resolve(stack, parts))

    def _select(self, stack: str, argument: Any) -> Any:
        index, items = argument
        return self.resolve(stack, items)[int(self.resolve(stack, index))]

    def _split(self, stack: str, argument: Any) -> list[str]:
        separator, text = argument
        return str(self.resolve(stack, text)).split(separator)

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(stack, value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._attribute(stack, logical_id, attribute)
            return self._ref(stack, name)

        return _SUB_VARIABLE.sub(substitute, text).replace("${!", "${")

    def _import_value(self, stack: str, argument: Any) -> Any:
        return self._import(self.resolve(stack, argument))

    _INTRINSICS: ClassVar[Mapping[str, Callable[[Assembly, str, Any], Any]]] = {
        "Ref": lambda self, stack, argument: self._ref(stack, argument),
        "Fn::GetAtt": _get_att,
        "Fn::ImportValue": _import_value,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::Sub": _sub,
    }

    def _attribute(self, stack: str, logical_id: str, attribute: str) -> str:
        bound = self.physical.get((stack, logical_id))
        if bound is None or attribute not in bound:
            raise Unresolved(f"{stack}/{logical_id}.{attribute} has no local value")
        return bound[attribute]

    def _import(self, export_name: str) -> Any:
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                if output.get("Export", {}).get("Name") == export_name:
                    return self.resolve(stack, output["Value"])
        raise KeyError(f"no stack exports {export_name}")


def create_tables(client: Any, assembly: Assembly) -> dict[str, str]:
    """Create every DynamoDB table of the assembly (idempotent); returns logical -> name."""
    existing = set(client.list_tables()["TableNames"])
    created: dict[str, str] = {}
    for stack, logical_id, resource in assembly.resources("AWS::DynamoDB::Table"):
        properties = resource["Properties"]
        name = f"{LOCAL_PREFIX}-{friendly(logical_id)}"
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        if name not in existing:
            client.create_table(**_table_request(name, properties))
            ttl = properties.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
        description = client.describe_table(TableName=name)["Table"]
        stream_arn = description.get("LatestStreamArn", arn + "/stream/local")
        assembly.bind(stack, logical_id, name, Arn=arn, StreamArn=stream_arn)
        created[friendly(logical_id)] = name
    return created


def _table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    if properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["LocalSecondaryIndexes"]
        ]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request
