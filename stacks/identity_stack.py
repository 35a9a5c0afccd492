"""Cognito user pool and the API's app client."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction
from lendbridge_infra.grants import grant_table
from stacks.data_stack import DataStack

# The scope Cognito puts in every access token from USER_PASSWORD_AUTH; API methods require it,
# which makes the authorizer accept access tokens (it accepts only ID tokens without a scope).
SIGNIN_SCOPE = "aws.cognito.signin.user.admin"
PASSWORD_MIN_LENGTH = 12


class IdentityStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Claims invitations once an email is verified (prod); dev claims at registration too.
        self.post_confirmation = LendbridgeFunction(
            self,
            "PostConfirmationFn",
            config=config,
            module="lendbridge.handlers.cognito_triggers",
            description="Gives a newly verified user the invitations sent to their email",
            environment={"MAIN_TABLE": data.main_table.table_name, "AUDIT_TABLE": data.audit_table.table_name},
        ).function
        grant_table(
            self.post_confirmation,
            data.main_table,
            ["dynamodb:Query", "dynamodb:PutItem"],
            indexes=["lender-invitations"],
        )
        grant_table(self.post_confirmation, data.audit_table, ["dynamodb:PutItem"])
        data.data_key.grant(self.post_confirmation, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=True, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=PASSWORD_MIN_LENGTH,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=config.deletion_protection,
            removal_policy=config.removal_policy,
            lambda_triggers=cognito.UserPoolTriggers(post_confirmation=self.post_confirmation),
            email=_email_sender(config),
        )
        self.client = self.user_pool.add_client(
            "ApiClient",
            auth_flows=cognito.AuthFlow(user_password=True),
            generate_secret=False,
            # The API signs users in itself (USER_PASSWORD_AUTH); no hosted-UI OAuth flows.
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
            enable_token_revocation=True,
        )


def _email_sender(config: StageConfig) -> cognito.UserPoolEmail | None:
    """SES where the stage names a verified identity; Cognito's default sender (a few emails a day,
    enough for dev) otherwise. lendbridge_infra.config refuses a stage that emails codes without SES."""
    if not config.ses_from_email:
        return None
    return cognito.UserPoolEmail.with_ses(
        from_email=config.ses_from_email,
        from_name=config.ses_from_name,
        ses_verified_domain=config.ses_verified_domain,
        # The identity lives in the pool's own region (README checklist); synth needs no region.
        ses_region=cdk.Aws.REGION,
    )
