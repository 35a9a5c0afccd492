"""The REST API as the synthesized template declares it: resources, methods, authorizers,
gateway responses and the Lambda functions behind them.

Nothing here knows the app's routes: paths come from walking each
``AWS::ApiGateway::Resource``'s ``ParentId`` chain, and a method's function from its
integration URI, so a route added to the stack is served locally with no change here.
Call ``load_api`` after provisioning: references must resolve to local values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.template import Assembly, friendly

_FUNCTION_IN_URI = re.compile(r"functions/(arn:[^/]+:lambda:[^/]+:function:[^/:]+)(?::[^/]+)?/invocations")
DEFAULT_TIMEOUT_S = 3  # Lambda's own default when a function sets none
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class Function:
    stack: str
    logical_id: str
    handler: str
    runtime: str
    environment: Mapping[str, str]
    timeout_s: int
    memory_mb: int
    reserved_concurrency: int | None

    @property
    def name(self) -> str:
        """A short name for logs: ``AccountsFnFunction2793DC4D`` -> ``AccountsFn``."""
        return friendly(self.logical_id).removesuffix("Function") or self.logical_id


@dataclass(frozen=True)
class Authorizer:
    logical_id: str
    type: str
    identity_header: str
    pool_ids: tuple[str, ...]


@dataclass(frozen=True)
class MockIntegration:
    status: int
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Method:
    http_method: str  # as declared: GET, POST..., or ANY
    resource_path: str  # "/v1/loans/{loan_id}"
    resource_id: str
    authorization_type: str
    authorizer: Authorizer | None
    scopes: tuple[str, ...]
    function: Function | None  # AWS_PROXY to a Lambda function
    mock: MockIntegration | None  # MOCK (CORS preflight)
    operation_name: str | None


@dataclass(frozen=True)
class GatewayResponse:
    response_type: str
    status: int | None
    parameters: Mapping[str, str]  # header name -> source expression (e.g. context.requestId)
    templates: Mapping[str, str]  # content type -> body template


@dataclass
class RestApi:
    logical_id: str
    api_id: str
    stage: str
    resources: dict[str, str]  # path -> resource id
    methods: dict[tuple[str, str], Method]  # (path, method) -> Method
    gateway_responses: dict[str, GatewayResponse]
    minimum_compression_size: int | None
    binary_media_types: tuple[str, ...]
    _tree: _Node = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tree = _Node()
        for path in self.resources:
            self._tree.add([part for part in path.split("/") if part], path)

    def match(self, segments: list[str]) -> tuple[str, dict[str, str]] | None:
        """The resource a request path's (decoded) segments land on, and its path parameters,
        with API Gateway's precedence: a literal beats ``{param}``, which beats ``{proxy+}``."""
        return self._tree.match(segments, {})

    def method(self, resource_path: str, http_method: str) -> Method | None:
        return self.methods.get((resource_path, http_method)) or self.methods.get((resource_path, "ANY"))

    def functions(self) -> list[Function]:
        unique = {(m.function.stack, m.function.logical_id): m.function for m in self.methods.values() if m.function}
        return list(unique.values())


class _Node:
    def __init__(self) -> None:
        self.path: str | None = None
        self.literal: dict[str, _Node] = {}
        self.variable: tuple[str, _Node] | None = None
        self.greedy: tuple[str, str] | None = None  # (name, resource path)

    def add(self, segments: list[str], path: str) -> None:
        if not segments:
            self.path = path
            return
        head, rest = segments[0], segments[1:]
        if head.startswith("{") and head.endswith("+}"):
            self.greedy = (head[1:-2], path)
        elif head.startswith("{") and head.endswith("}"):
            if self.variable is None:
                self.variable = (head[1:-1], _Node())
            self.variable[1].add(rest, path)
        else:
            self.literal.setdefault(head, _Node()).add(rest, path)

    def match(self, segments: list[str], params: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        if not segments:
            return (self.path, params) if self.path is not None else None
        head, rest = segments[0], segments[1:]
        if head in self.literal:
            found = self.literal[head].match(rest, params)
            if found:
                return found
        if self.variable is not None:
            name, node = self.variable
            found = node.match(rest, {**params, name: head})
            if found:
                return found
        if self.greedy is not None:
            name, path = self.greedy
            return path, {**params, name: "/".join(segments)}
        return None


def load_api(assembly: Assembly, logical_id: str | None = None) -> RestApi:
    apis = assembly.resources("AWS::ApiGateway::RestApi")
    if logical_id is not None:
        apis = [api for api in apis if api[1] == logical_id]
    if len(apis) != 1:
        names = ", ".join(api[1] for api in assembly.resources("AWS::ApiGateway::RestApi")) or "none"
        raise ValueError(f"expected one AWS::ApiGateway::RestApi to serve, found: {names}")
    stack, api_logical_id, api = apis[0]
    properties = api.get("Properties", {})
    api_id = str(assembly.resolve(stack, {"Ref": api_logical_id}))
    paths = _resource_paths(assembly, stack, api_logical_id, api_id)
    by_id = {resource_id: path for path, resource_id in paths.items()}
    functions = _functions_by_arn(assembly)
    methods: dict[tuple[str, str], Method] = {}
    for _, method_id, method in _of_api(assembly, stack, "AWS::ApiGateway::Method", api_id):
        parsed = _method(assembly, stack, method["Properties"], by_id, functions)
        if parsed is None:
            raise ValueError(f"{stack}/{method_id}: its resource is not part of the API")
        methods[(parsed.resource_path, parsed.http_method)] = parsed
    compression = properties.get("MinimumCompressionSize")
    return RestApi(
        logical_id=api_logical_id,
        api_id=api_id,
        stage=_stage_name(assembly, stack, api_id),
        resources=paths,
        methods=methods,
        gateway_responses=_gateway_responses(assembly, stack, api_id),
        minimum_compression_size=int(compression) if compression is not None else None,
        binary_media_types=tuple(properties.get("BinaryMediaTypes", [])),
    )


def _of_api(assembly: Assembly, stack: str, resource_type: str, api_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (found_stack, logical_id, resource)
        for found_stack, logical_id, resource in assembly.resources(resource_type)
        if found_stack == stack and assembly.resolve(stack, resource["Properties"].get("RestApiId")) == api_id
    ]


def _resource_paths(assembly: Assembly, stack: str, api_logical_id: str, api_id: str) -> dict[str, str]:
    root_id = str(assembly.resolve(stack, {"Fn::GetAtt": [api_logical_id, "RootResourceId"]}))
    parents: dict[str, tuple[str, str]] = {}  # resource id -> (parent id, path part)
    for _, logical_id, resource in _of_api(assembly, stack, "AWS::ApiGateway::Resource", api_id):
        properties = resource["Properties"]
        resource_id = str(assembly.resolve(stack, {"Ref": logical_id}))
        parents[resource_id] = (str(assembly.resolve(stack, properties["ParentId"])), properties["PathPart"])
    paths = {"/": root_id}

    def path_of(resource_id: str) -> str:
        if resource_id == root_id:
            return ""
        parent_id, part = parents[resource_id]
        return f"{path_of(parent_id)}/{part}"

    for resource_id in parents:
        paths[path_of(resource_id)] = resource_id
    return paths


def _functions_by_arn(assembly: Assembly) -> dict[str, Function]:
    found = {}
    for stack, logical_id, resource in assembly.resources("AWS::Lambda::Function"):
        properties = resource["Properties"]
        if "Handler" not in properties:
            continue  # container-image functions have no handler to run here
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        reserved = properties.get("ReservedConcurrentExecutions")
        function = Function(
            stack=stack,
            logical_id=logical_id,
            handler=str(properties["Handler"]),
            runtime=str(properties.get("Runtime", "")),
            environment={key: str(value) for key, value in assembly.resolve(stack, variables).items()},
            timeout_s=int(properties.get("Timeout", DEFAULT_TIMEOUT_S)),
            memory_mb=int(properties.get("MemorySize", DEFAULT_MEMORY_MB)),
            reserved_concurrency=int(reserved) if reserved is not None else None,
        )
        found[str(assembly.resolve(stack, {"Fn::GetAtt": [logical_id, "Arn"]}))] = function
    return found


def function_of(assembly: Assembly, stack: str, reference: Any) -> Function:
    """The function a template value (an ARN, a name, or an intrinsic resolving to either) names."""
    resolved = str(assembly.resolve(stack, reference))
    for arn, function in _functions_by_arn(assembly).items():
        name = arn.rsplit(":", 1)[-1]
        if resolved in (arn, name) or resolved.startswith(arn + ":"):
            return function
    raise KeyError(f"no function in the assembly is named {resolved}")


def _method(
    assembly: Assembly,
    stack: str,
    properties: Mapping[str, Any],
    paths_by_id: Mapping[str, str],
    functions: Mapping[str, Function],
) -> Method | None:
    resource_id = str(assembly.resolve(stack, properties["ResourceId"]))
    path = paths_by_id.get(resource_id)
    if path is None:
        return None
    integration = properties.get("Integration") or {}
    function = None
    mock = None
    if integration.get("Type") in ("AWS_PROXY", "AWS") and integration.get("Uri") is not None:
        uri = str(assembly.resolve(stack, integration["Uri"]))
        arn = _FUNCTION_IN_URI.search(uri)
        if arn is None or arn.group(1) not in functions:
            raise ValueError(f"{properties['HttpMethod']} {path}: integration {uri} names no function of the app")
        function = functions[arn.group(1)]
    elif integration.get("Type") == "MOCK":
        mock = _mock(integration)
    authorizer = None
    if properties.get("AuthorizerId") is not None:
        authorizer = _authorizer(assembly, stack, properties["AuthorizerId"])
    return Method(
        http_method=str(properties["HttpMethod"]).upper(),
        resource_path=path,
        resource_id=resource_id,
        authorization_type=str(properties.get("AuthorizationType", "NONE")),
        authorizer=authorizer,
        scopes=tuple(properties.get("AuthorizationScopes", [])),
        function=function,
        mock=mock,
        operation_name=properties.get("OperationName"),
    )


def _mock(integration: Mapping[str, Any]) -> MockIntegration:
    responses = integration.get("IntegrationResponses") or [{}]
    chosen = responses[0]
    headers = {}
    for parameter, value in (chosen.get("ResponseParameters") or {}).items():
        name = parameter.removeprefix("method.response.header.")
        if isinstance(value, str) and value.startswith("'") and value.endswith("'"):
            headers[name] = value[1:-1]  # a static value; other sources have no meaning for a mock
    return MockIntegration(status=int(chosen.get("StatusCode", 200)), headers=headers)


def _authorizer(assembly: Assembly, stack: str, reference: Any) -> Authorizer:
    wanted = assembly.resolve(stack, reference)
    for found_stack, logical_id, resource in assembly.resources("AWS::ApiGateway::Authorizer"):
        if found_stack != stack or assembly.resolve(stack, {"Ref": logical_id}) != wanted:
            continue
        properties = resource["Properties"]
        source = str(properties.get("IdentitySource", "method.request.header.Authorization"))
        arns = [str(arn) for arn in assembly.resolve(stack, properties.get("ProviderARNs", []))]
        return Authorizer(
            logical_id=logical_id,
            type=str(properties["Type"]),
            identity_header=source.removeprefix("method.request.header."),
            pool_ids=tuple(arn.rsplit("/", 1)[-1] for arn in arns),
        )
    raise KeyError(f"{stack}: no authorizer {wanted}")


def _stage_name(assembly: Assembly, stack: str, api_id: str) -> str:
    stages = _of_api(assembly, stack, "AWS::ApiGateway::Stage", api_id)
    if stages:
        return str(stages[0][2]["Properties"].get("StageName", "local"))
    return "local"


def _gateway_responses(assembly: Assembly, stack: str, api_id: str) -> dict[str, GatewayResponse]:
    responses = {}
    for _, _, resource in _of_api(assembly, stack, "AWS::ApiGateway::GatewayResponse", api_id):
        properties = resource["Properties"]
        parameters = {
            name.removeprefix("gatewayresponse.header."): str(value)
            for name, value in (properties.get("ResponseParameters") or {}).items()
            if name.startswith("gatewayresponse.header.")
        }
        status = properties.get("StatusCode")
        response_type = str(properties["ResponseType"])
        responses[response_type] = GatewayResponse(
            response_type=response_type,
            status=int(status) if status is not None else None,
            parameters=parameters,
            templates=dict(properties.get("ResponseTemplates") or {}),
        )
    return responses
