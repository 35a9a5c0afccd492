"""Cognito user pool and client; the on-call topic and the client's alarms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match
from pydantic import ValidationError

from lendbridge.schemas.accounts import RegisterRequest, ResetPasswordRequest
from stacks.app import LendbridgeStacks, cdk_json_context
from tests.infra.support import AlarmQuery, Synth, as_list, describe_alarm, flatten, ref_id, role_statements


def test_password_policy_is_long_and_mixed(synth: Synth) -> None:
    identity = synth.templates["identity"]
    identity.resource_count_is("AWS::Cognito::UserPool", 1)
    identity.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": 12,
                        "RequireUppercase": True,
                        "RequireLowercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                    }
                )
            }
        },
    )


def test_app_client_signs_in_server_side_only_and_has_no_secret(synth: Synth) -> None:
    clients = synth.resources("identity", "AWS::Cognito::UserPoolClient")
    assert len(clients) == 1
    properties = next(iter(clients.values()))["Properties"]
    # Threat protection sees the caller only through AdminInitiateAuth's ContextData; a public
    # password flow would be a way around it.
    flows = set(properties.get("ExplicitAuthFlows", []))
    assert flows == {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert properties.get("GenerateSecret", False) is False
    assert properties.get("EnableTokenRevocation") is True


def test_threat_protection_is_enforced_because_sign_in_carries_the_callers_context(synth: Synth) -> None:
    synth.templates["identity"].has_resource_properties(
        "AWS::Cognito::UserPool", {"UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"}}
    )


def test_accounts_function_may_sign_in_server_side(synth: Synth) -> None:
    properties = synth.resource_of("api", synth.stacks.api.functions["accounts"])["Properties"]
    statements = role_statements(synth, "api", str(ref_id(properties["Role"])))
    actions = {action for statement in statements if statement.allows for action in statement.actions}
    assert {"cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge"} <= actions


def _topic_id(synth: Synth) -> str:
    topics = synth.resources("monitoring", "AWS::SNS::Topic")
    assert len(topics) == 1
    return next(iter(topics))


def test_on_call_topic_is_encrypted_with_a_key_cloudwatch_may_use(synth: Synth) -> None:
    topic = synth.resources("monitoring", "AWS::SNS::Topic")[_topic_id(synth)]["Properties"]
    assert topic.get("KmsMasterKeyId"), "the topic is encrypted"
    # Alarms cannot publish to a topic under the AWS managed alias/aws/sns key: it must be ours.
    key = synth.resources("monitoring", "AWS::KMS::Key").get(str(ref_id(topic["KmsMasterKeyId"])))
    assert key is not None, flatten(topic["KmsMasterKeyId"])
    cloudwatch_actions = {
        action
        for statement in as_list(key["Properties"]["KeyPolicy"]["Statement"])
        if statement.get("Effect") == "Allow" and statement.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        for action in as_list(statement.get("Action"))
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= cloudwatch_actions


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    metric: str
    statistic: str
    period: int
    threshold: float
    error_type: str | None = None

    def matches(self, query: AlarmQuery) -> bool:
        if self.metric not in query.metrics or self.statistic not in query.statistics or query.period != self.period:
            return False
        if self.error_type is None:
            return "DatabaseThrottled" not in query.text
        return "ErrorType" in query.text and self.error_type in query.text


CLIENT_ALARMS = (
    AlarmSpec("api-errors", "APIError", "Sum", 300, 10),
    AlarmSpec("api-latency", "APILatency", "Average", 300, 1000),
    AlarmSpec("database-throttled", "APIError", "Sum", 60, 5, error_type="DatabaseThrottled"),
)


@pytest.mark.parametrize("spec", CLIENT_ALARMS, ids=lambda spec: spec.name)
def test_client_alarm_pages_on_call(synth: Synth, spec: AlarmSpec) -> None:
    alarms = synth.resources("monitoring", "AWS::CloudWatch::Alarm")
    matching = [alarm["Properties"] for alarm in alarms.values() if spec.matches(describe_alarm(alarm["Properties"]))]
    assert len(matching) == 1, [describe_alarm(alarm["Properties"]) for alarm in alarms.values()]
    alarm = matching[0]
    assert alarm.get("Threshold") == spec.threshold
    assert alarm.get("ComparisonOperator") == "GreaterThanThreshold"
    assert alarm.get("EvaluationPeriods") == 1
    assert alarm.get("DatapointsToAlarm", 1) == 1
    assert _topic_id(synth) in {ref_id(action) for action in alarm.get("AlarmActions", [])}


def test_no_alarm_uses_a_search_expression(synth: Synth) -> None:
    alarms = synth.resources("monitoring", "AWS::CloudWatch::Alarm")
    assert alarms
    for logical_id, alarm in alarms.items():
        for query in alarm["Properties"].get("Metrics", []):
            assert "SEARCH(" not in query.get("Expression", "").upper(), logical_id


def test_the_schemas_enforce_exactly_the_pools_password_policy(synth: Synth) -> None:
    pool = next(iter(synth.resources("identity", "AWS::Cognito::UserPool").values()))
    policy = pool["Properties"]["Policies"]["PasswordPolicy"]
    length = policy["MinimumLength"]
    good = "Aa1!" + "x" * (length - 4)
    lacking = {
        "RequireUppercase": good.replace("A", "a"),
        "RequireLowercase": good.upper(),
        "RequireNumbers": good.replace("1", "y"),
        "RequireSymbols": good.replace("!", "z"),
    }
    for model, field in ((RegisterRequest, "password"), (ResetPasswordRequest, "new_password")):
        others = (
            {"email": "ada@example.com", "full_name": "Ada"}
            if model is RegisterRequest
            else {"email": "ada@example.com", "code": "123456"}
        )
        model.model_validate({**others, field: good})
        with pytest.raises(ValidationError):
            model.model_validate({**others, field: good[:-1]})
        for requirement, password in lacking.items():
            if policy[requirement]:
                with pytest.raises(ValidationError):
                    model.model_validate({**others, field: password})


def test_prod_sends_cognito_email_through_its_verified_ses_identity(synth: Synth) -> None:
    """Cognito's default sender allows a few emails a day, unfit for a stage that emails codes."""
    ((_, _, pool),) = synth.all_resources("AWS::Cognito::UserPool")
    email = pool["Properties"].get("EmailConfiguration")
    if synth.stage == "dev":
        assert email is None or email.get("EmailSendingAccount") == "COGNITO_DEFAULT"
        return
    config = synth.config
    assert config.ses_from_email
    assert email["EmailSendingAccount"] == "DEVELOPER"
    assert f"<{config.ses_from_email}>" in email["From"]
    identity = config.ses_verified_domain or config.ses_from_email
    assert (
        flatten(email["SourceArn"])
        == f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{identity}"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ses_from_email": None}, "must send through SES"),
        ({"ses_from_email": ""}, "must send through SES"),
        ({"ses_from_email": "no-reply"}, "must be an email address"),
        ({"ses_from_email": "no-reply@elsewhere.example"}, "not at ses_verified_domain"),
    ],
)
def test_synth_fails_when_prod_has_no_usable_ses_identity(changes: dict[str, Any], message: str) -> None:
    context = cdk_json_context()
    context["stages"]["prod"].update(changes)
    with pytest.raises(ValueError, match=message):
        LendbridgeStacks(cdk.App(context=context), "prod")


def test_a_stage_that_emails_codes_needs_ses_even_if_not_named_prod() -> None:
    context = cdk_json_context()
    context["stages"]["dev"]["auto_confirm_email"] = False
    with pytest.raises(ValueError, match=r"stages\.dev\.ses_from_email"):
        LendbridgeStacks(cdk.App(context=context), "dev")
