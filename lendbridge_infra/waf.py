"""Prod's web ACL: AWS managed rules, a body-size limit at the API's own, and a rate limit per IP,
answering in the contract's error envelope.

Who answers a block:
- The managed rule groups block without a custom response, so API Gateway answers with its
  WAF_FILTERED gateway response: 403 FORBIDDEN in the envelope, with API Gateway's request id.
- The size and rate rules need other statuses (400, 429), so WAF sends its own custom response.
  Those bodies are static: WAF cannot insert a request id or a time, so ``request_id`` and
  ``timestamp`` are null there; API Gateway's id of the request is in the ``x-amzn-RequestId``
  header and in the WAF log (``httpRequest.requestId``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lendbridge.http.app import MAX_BODY_BYTES

RATE_LIMIT_PER_5_MINUTES = 2000
RATE_RETRY_AFTER_S = 60
# The common rule set blocks bodies over 8 KB; the API accepts up to MAX_BODY_BYTES (batches of
# 50 lenders included), which the body-size rule enforces instead.
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY",)

TOO_LARGE_BODY = "TooLarge"
TOO_MANY_REQUESTS_BODY = "TooManyRequests"


def decimal_greater_than(limit: int) -> str:
    """A regular expression matching exactly the decimal integers greater than ``limit``.

    WAF sees at most the first 8-64 KB of a body, so it cannot measure a 1 MB body itself; it can
    read the Content-Length header, whose value this compares as a number."""
    digits = str(limit)
    width = len(digits)
    same_width = [
        f"{digits[:position]}[{int(digit) + 1}-9]" + (rf"\d{{{width - position - 1}}}" if position < width - 1 else "")
        for position, digit in enumerate(digits)
        if digit != "9"
    ]
    longer = rf"[1-9]\d{{{width},}}"
    return "^0*(?:" + "|".join([*same_width, longer]) + ")$"


def _envelope(code: str, message: str, **extra: object) -> str:
    return json.dumps(
        {"success": False, "error": code, "message": message, "request_id": None, "timestamp": None, **extra}
    )


def _header(name: str, value: str) -> wafv2.CfnWebACL.CustomHTTPHeaderProperty:
    return wafv2.CfnWebACL.CustomHTTPHeaderProperty(name=name, value=value)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _block(
    status: int, body_key: str, headers: list[wafv2.CfnWebACL.CustomHTTPHeaderProperty]
) -> wafv2.CfnWebACL.RuleActionProperty:
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=body_key, response_headers=headers
            )
        )
    )


def _managed(name: str, priority: int, counted: Sequence[str] = ()) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS",
                name=name,
                rule_action_overrides=[
                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                    )
                    for rule in counted
                ]
                or None,
            )
        ),
        visibility_config=_visibility(name),
    )


def web_acl(scope: Construct, construct_id: str, *, allowed_origin: str) -> wafv2.CfnWebACL:
    # Browsers on the app's origin can read a block like any other error.
    cors = [
        _header("Access-Control-Allow-Origin", allowed_origin),
        _header("Access-Control-Expose-Headers", "x-amzn-RequestId,Retry-After"),
    ]
    too_large = wafv2.CfnWebACL.RuleProperty(
        name="BodyLargerThanTheApiAccepts",
        priority=0,
        action=_block(400, TOO_LARGE_BODY, cors),
        statement=wafv2.CfnWebACL.StatementProperty(
            regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                    single_header={"Name": "content-length"},
                ),
                regex_string=decimal_greater_than(MAX_BODY_BYTES),
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        ),
        visibility_config=_visibility("BodyLargerThanTheApiAccepts"),
    )
    rate = wafv2.CfnWebACL.RuleProperty(
        name="RatePerIp",
        priority=10,
        action=_block(429, TOO_MANY_REQUESTS_BODY, [*cors, _header("Retry-After", str(RATE_RETRY_AFTER_S))]),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=RATE_LIMIT_PER_5_MINUTES, aggregate_key_type="IP"
            )
        ),
        visibility_config=_visibility("RatePerIp"),
    )
    return wafv2.CfnWebACL(
        scope,
        construct_id,
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility("LendbridgeApi"),
        custom_response_bodies={
            TOO_LARGE_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON",
                content=_envelope(
                    "VALIDATION_ERROR",
                    f"The request body exceeds {MAX_BODY_BYTES // (1024 * 1024)} MB",
                    field_errors={"body": [f"Must be at most {MAX_BODY_BYTES // (1024 * 1024)} MB"]},
                ),
            ),
            TOO_MANY_REQUESTS_BODY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON",
                content=_envelope(
                    "TOO_MANY_REQUESTS",
                    "Too many requests from this address; retry later",
                    retry_after=RATE_RETRY_AFTER_S,
                ),
            ),
        },
        rules=[
            too_large,
            _managed(COMMON_RULE_SET, 1, counted=COUNTED_COMMON_RULES),
            _managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
            rate,
        ],
    )
