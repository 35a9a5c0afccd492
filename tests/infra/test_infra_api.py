"""The REST API: stage settings, routes against lendbridge.routes, authorization, gateway errors, CORS, WAF."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from lendbridge.http.app import MAX_BODY_BYTES
from lendbridge.routes import ROUTES, Route
from lendbridge_infra.waf import decimal_greater_than
from stacks.app import cdk_json_context
from tests.infra.support import ApiMethod, Synth, api_methods, flatten, ref_id

SIGNIN_SCOPE = "aws.cognito.signin.user.admin"
LOG_RETENTION_DAYS = {"dev": 14, "prod": 365}
ACCESS_LOG_VARIABLES = ("$context.requestId", "$context.authorizer.claims.sub", "$context.responseLatency")
ALLOW_ORIGIN = "method.response.header.Access-Control-Allow-Origin"
SUCCESS_FALSE = re.compile(r'"success"\s*:\s*false')


def _route_methods(synth: Synth) -> list[ApiMethod]:
    return [method for method in api_methods(synth.json["api"]) if method.http_method != "OPTIONS"]


def _options_methods(synth: Synth) -> list[ApiMethod]:
    return [method for method in api_methods(synth.json["api"]) if method.http_method == "OPTIONS"]


def _method_for(synth: Synth, route: Route) -> ApiMethod:
    found = [m for m in _route_methods(synth) if (m.http_method, m.path) == (route.method, route.path)]
    assert len(found) == 1, f"{route.method} {route.path}: {len(found)} methods"
    return found[0]


def test_stage_throttles_traces_and_writes_a_structured_access_log(synth: Synth) -> None:
    stages = synth.resources("api", "AWS::ApiGateway::Stage")
    assert len(stages) == 1
    properties = next(iter(stages.values()))["Properties"]

    defaults = [
        s for s in properties.get("MethodSettings", []) if (s.get("HttpMethod"), s.get("ResourcePath")) == ("*", "/*")
    ]
    assert len(defaults) == 1
    assert defaults[0].get("ThrottlingBurstLimit") == 100
    assert defaults[0].get("ThrottlingRateLimit") == 50
    assert properties.get("TracingEnabled") is True

    access_log = properties.get("AccessLogSetting", {})
    log_format = access_log.get("Format", "")
    for variable in ACCESS_LOG_VARIABLES:
        assert variable in log_format, variable
    fields = json.loads(log_format)  # one JSON object per request, so Logs Insights can query fields
    assert fields.get("caller") == "$context.authorizer.claims.sub"
    log_group = synth.resources("api", "AWS::Logs::LogGroup").get(str(ref_id(access_log.get("DestinationArn"))))
    assert log_group is not None, "access logs go to a log group of this stack"
    assert log_group["Properties"].get("RetentionInDays") == LOG_RETENTION_DAYS[synth.stage]


def test_rest_api_compresses_responses_from_1_kib(synth: Synth) -> None:
    synth.templates["api"].resource_count_is("AWS::ApiGateway::RestApi", 1)
    synth.templates["api"].has_resource_properties("AWS::ApiGateway::RestApi", {"MinimumCompressionSize": 1024})


def test_every_method_is_exactly_one_route_and_every_route_has_a_method(synth: Synth) -> None:
    deployed = Counter((method.http_method, method.path) for method in _route_methods(synth))
    declared = Counter((route.method, route.path) for route in ROUTES)
    assert deployed == declared


def test_other_methods_are_cors_preflight_mocks_on_every_route_path(synth: Synth) -> None:
    preflights = _options_methods(synth)
    for method in preflights:
        assert method.properties["Integration"]["Type"] == "MOCK", method.path
        assert method.properties.get("AuthorizationType") == "NONE", method.path
    assert {route.path for route in ROUTES} <= {method.path for method in preflights}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_route_authorization_and_target(synth: Synth, route: Route) -> None:
    properties = _method_for(synth, route).properties
    if route.authenticated:
        assert properties.get("AuthorizationType") == "COGNITO_USER_POOLS"
        assert properties.get("AuthorizationScopes") == [SIGNIN_SCOPE]
        authorizer = synth.resources("api", "AWS::ApiGateway::Authorizer")[str(ref_id(properties.get("AuthorizerId")))]
        assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    else:
        assert properties.get("AuthorizationType") == "NONE"
        assert "AuthorizationScopes" not in properties
        assert "AuthorizerId" not in properties
    function_id = synth.logical_id("api", synth.stacks.api.functions[route.function])
    integration = properties["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert f"${{{function_id}.Arn}}" in flatten(integration["Uri"]), f"served by {route.function}"


@pytest.mark.parametrize(
    ("response_type", "status"),
    [("UNAUTHORIZED", "401"), ("MISSING_AUTHENTICATION_TOKEN", "404"), ("THROTTLED", "429")],
)
def test_gateway_errors_answer_in_the_envelope(synth: Synth, response_type: str, status: str) -> None:
    responses = [
        response["Properties"]
        for response in synth.resources("api", "AWS::ApiGateway::GatewayResponse").values()
        if response["Properties"].get("ResponseType") == response_type
    ]
    assert len(responses) == 1
    assert responses[0].get("StatusCode") == status
    body = responses[0].get("ResponseTemplates", {}).get("application/json", "")
    assert SUCCESS_FALSE.search(body), body
    assert "$context.requestId" in body


def test_gateway_errors_are_readable_cross_origin(synth: Synth) -> None:
    configured = cdk_json_context()["stages"][synth.stage]["cors_origins"]
    allowed = {f"'{origin}'" for origin in configured}
    responses = synth.resources("api", "AWS::ApiGateway::GatewayResponse")
    assert responses
    for logical_id, response in responses.items():
        headers = response["Properties"].get("ResponseParameters", {})
        assert headers.get("gatewayresponse.header.Access-Control-Allow-Origin") in allowed, logical_id


def test_preflight_allows_only_the_stage_origins(synth: Synth) -> None:
    configured = cdk_json_context()["stages"][synth.stage]["cors_origins"]
    allowed = {f"'{origin}'" for origin in configured}
    preflights = _options_methods(synth)
    assert preflights
    for method in preflights:
        responses = method.properties["Integration"].get("IntegrationResponses", [])
        assert responses, method.path
        for response in responses:
            origin = response.get("ResponseParameters", {}).get(ALLOW_ORIGIN)
            assert origin in allowed, f"{method.path}: {origin}"


def test_prod_preflight_never_allows_any_origin(prod: Synth) -> None:
    preflights = _options_methods(prod)
    assert preflights
    for method in preflights:
        for response in method.properties["Integration"].get("IntegrationResponses", []):
            assert "*" not in response.get("ResponseParameters", {}).get(ALLOW_ORIGIN, "*"), method.path
            assert "*" not in json.dumps(response.get("ResponseTemplates", {})), method.path


def test_prod_stage_is_behind_a_web_acl(prod: Synth) -> None:
    acls = prod.resources("api", "AWS::WAFv2::WebACL")
    assert len(acls) == 1
    (acl_id, acl), *_ = acls.items()
    assert acl["Properties"]["Scope"] == "REGIONAL"
    rules = acl["Properties"]["Rules"]

    common = [
        r
        for r in rules
        if r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet"
    ]
    assert len(common) == 1
    assert common[0]["Statement"]["ManagedRuleGroupStatement"]["VendorName"] == "AWS"
    assert common[0].get("OverrideAction") == {"None": {}}, "a Count override would only observe, never block"
    # Only the 8 KB body limit is counted; every other rule of the set still blocks.
    overrides = common[0]["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    rate_limits = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    assert rate_limits
    assert all("Block" in rule.get("Action", {}) for rule in rate_limits)

    associations = prod.resources("api", "AWS::WAFv2::WebACLAssociation")
    assert len(associations) == 1
    association = next(iter(associations.values()))["Properties"]
    assert ref_id(association["WebACLArn"]) == acl_id
    (api_id,) = prod.resources("api", "AWS::ApiGateway::RestApi")
    (stage_id,) = prod.resources("api", "AWS::ApiGateway::Stage")
    assert flatten(association["ResourceArn"]).endswith(f"/restapis/${{{api_id}}}/stages/${{{stage_id}}}")


def test_dev_has_no_web_acl(dev: Synth) -> None:
    for template in dev.templates.values():
        template.resource_count_is("AWS::WAFv2::WebACL", 0)
        template.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)


def test_no_request_validator_is_left_unattached(synth: Synth) -> None:
    validators = set(synth.resources("api", "AWS::ApiGateway::RequestValidator"))
    attached = {ref_id(method.properties.get("RequestValidatorId")) for method in api_methods(synth.json["api"])}
    assert validators <= attached, f"validators no method uses: {sorted(validators - attached)}"


def test_the_owning_stage_sets_api_gateways_cloudwatch_role_and_retains_it(synth: Synth) -> None:
    """Access logs need the account's CloudWatch Logs role ("CloudWatch Logs role ARN must be set
    in account settings"): the owning stage creates role and setting before its stage, and keeps
    both when deleted, because every other API in the account and region relies on them."""
    accounts = synth.resources("api", "AWS::ApiGateway::Account")
    (stage_id, stage), *_ = synth.resources("api", "AWS::ApiGateway::Stage").items()
    assert stage["Properties"].get("AccessLogSetting"), stage_id
    if not synth.config.owns_api_gateway_account:
        assert accounts == {}
        assert not any(
            "apigateway.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
            for role in synth.resources("api", "AWS::IAM::Role").values()
        )
        return
    assert len(accounts) == 1
    (account_id, account), *_ = accounts.items()
    assert (account.get("DeletionPolicy"), account.get("UpdateReplacePolicy")) == ("Retain", "Retain")
    role_id = ref_id(account["Properties"]["CloudWatchRoleArn"])
    role = synth.json["api"]["Resources"][role_id]
    assert (role.get("DeletionPolicy"), role.get("UpdateReplacePolicy")) == ("Retain", "Retain")
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    (policy,) = [flatten(arn) for arn in role["Properties"]["ManagedPolicyArns"]]
    assert policy.endswith(":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    assert account_id in stage.get("DependsOn", []), "the stage must wait for the account setting"


def test_one_stage_owns_the_account_setting_when_both_share_an_account() -> None:
    """The README deploys both stages into one account and region, which has one API Gateway
    CloudWatch role setting: exactly one stage may create it, and it is prod (retained, never
    deleted with a dev teardown)."""
    stages = cdk_json_context()["stages"]
    owners = [name for name, settings in stages.items() if settings["owns_api_gateway_account"]]
    assert owners == ["prod"]


# What API Gateway accepts as a gateway response header's source: a static value or a request parameter.
HEADER_SOURCE = re.compile(r"'[^']*'|method\.request\.(?:header|querystring|path|multivaluequerystring)\.[\w-]+")


def test_gateway_response_headers_map_only_what_api_gateway_accepts(synth: Synth) -> None:
    """context variables are refused as header sources; the request id stays in the body
    (API Gateway's own, also sent as x-amzn-RequestId) and the header echoes the caller's."""
    responses = synth.resources("api", "AWS::ApiGateway::GatewayResponse")
    assert responses
    for logical_id, response in responses.items():
        properties = response["Properties"]
        headers = properties.get("ResponseParameters", {})
        for name, source in headers.items():
            assert name.startswith("gatewayresponse.header."), (logical_id, name)
            assert HEADER_SOURCE.fullmatch(source), f"{logical_id}: {name} <- {source}"
        assert headers["gatewayresponse.header.X-Request-Id"] == "method.request.header.X-Request-Id"
        assert "x-amzn-RequestId" in headers["gatewayresponse.header.Access-Control-Expose-Headers"]
        assert '"request_id": "$context.requestId"' in properties["ResponseTemplates"]["application/json"]


def _custom_block(acl: dict[str, Any], rule: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, parsed body, headers) a rule's Block answers with."""
    response = rule["Action"]["Block"]["CustomResponse"]
    body = acl["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    headers = {header["Name"]: header["Value"] for header in response.get("ResponseHeaders", [])}
    return int(response["ResponseCode"]), json.loads(body["Content"]), headers


def _prod_acl(prod: Synth) -> dict[str, Any]:
    (acl,) = prod.resources("api", "AWS::WAFv2::WebACL").values()
    return acl


def test_prod_waf_lets_bodies_up_to_the_apis_own_limit_through(prod: Synth) -> None:
    """The API accepts 1 MB bodies (batches of 50 lenders): the WAF's size rule is on the declared
    Content-Length at exactly that limit, before the managed rules, and answers as the API does."""
    acl = _prod_acl(prod)
    rules = sorted(acl["Properties"]["Rules"], key=lambda rule: rule["Priority"])
    size_rule = rules[0]
    statement = size_rule["Statement"]["RegexMatchStatement"]
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    pattern = re.compile(statement["RegexString"])
    for allowed in (0, 8 * 1024 + 1, 64 * 1024, MAX_BODY_BYTES - 1, MAX_BODY_BYTES):
        assert not pattern.search(str(allowed)), allowed
    for refused in (MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES, 10 * 1024 * 1024, 10**12):
        assert pattern.search(str(refused)), refused
    status, body, headers = _custom_block(acl, size_rule)
    assert (status, body["success"], body["error"]) == (400, False, "VALIDATION_ERROR")
    assert body["field_errors"] == {"body": ["Must be at most 1 MB"]}
    assert headers["Access-Control-Allow-Origin"] == prod.config.cors_origins[0]


def test_prod_waf_rate_limit_answers_429_in_the_envelope_with_retry_after(prod: Synth) -> None:
    acl = _prod_acl(prod)
    (rate,) = [rule for rule in acl["Properties"]["Rules"] if "RateBasedStatement" in rule["Statement"]]
    status, body, headers = _custom_block(acl, rate)
    assert status == 429
    assert (body["success"], body["error"]) == (False, "TOO_MANY_REQUESTS")
    assert isinstance(body["message"], str)
    assert body["message"]
    # WAF bodies are static: it cannot know API Gateway's request id (sent as x-amzn-RequestId).
    assert body["request_id"] is None
    assert int(headers["Retry-After"]) == body["retry_after"] > 0
    assert "x-amzn-RequestId" in headers["Access-Control-Expose-Headers"]


def test_managed_rule_blocks_answer_with_the_waf_filtered_envelope(prod: Synth) -> None:
    """Managed rule groups block without a custom response, so API Gateway's WAF_FILTERED
    gateway response answers: the envelope, with the request id."""
    responses = [
        response["Properties"]
        for response in prod.resources("api", "AWS::ApiGateway::GatewayResponse").values()
        if response["Properties"]["ResponseType"] == "WAF_FILTERED"
    ]
    assert len(responses) == 1
    body = responses[0]["ResponseTemplates"]["application/json"]
    assert json.loads(body)["error"] == "FORBIDDEN"
    assert "$context.requestId" in body


@pytest.mark.parametrize("limit", [0, 9, 10, 99, 1024, 1048576, 1999999, 5_000_000])
def test_decimal_greater_than_matches_exactly_the_larger_numbers(limit: int) -> None:
    pattern = re.compile(decimal_greater_than(limit))
    for value in {*range(max(0, limit - 150), limit + 150), limit * 10, limit * 10 + 9, 10 ** len(str(limit))}:
        assert bool(pattern.search(str(value))) is (value > limit), value
    assert pattern.search("00" + str(limit + 1))
    assert not pattern.search(f"{limit + 1}x")
