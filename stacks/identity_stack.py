"""Cognito user pool, the API's app client, and the claiming of invitations on confirmation."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lendbridge.data import names
from lendbridge_infra.config import StageConfig
from lendbridge_infra.function import LendbridgeFunction
from lendbridge_infra.grants import grant_send, grant_table
from stacks.data_stack import DataStack

# The scope Cognito puts in every access token from a user pool API sign-in; API methods require it,
# which makes the authorizer accept access tokens (it accepts only ID tokens without a scope).
SIGNIN_SCOPE = "aws.cognito.signin.user.admin"
PASSWORD_MIN_LENGTH = 12
CLAIM_WORKER_TIMEOUT = cdk.Duration.minutes(2)
# A message that failed this often is parked on the dead-letter queue (and pages on-call).
CLAIM_MAX_RECEIVES = 5


class IdentityStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, data: DataStack, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.dead_letter_queues: list[sqs.Queue] = []
        self.claims_queue = self._claim_worker(config, data)
        # Hands a newly verified user's invitations to the claim worker: one SendMessage, so
        # confirmation stays within Cognito's trigger budget however many invitations wait.
        self.post_confirmation = LendbridgeFunction(
            self,
            "PostConfirmationFn",
            config=config,
            module="lendbridge.handlers.cognito_triggers",
            description="Queues the claiming of a newly verified user's invitations",
            environment={"CLAIMS_QUEUE_URL": self.claims_queue.queue_url},
        ).function
        grant_send(self.post_confirmation, self.claims_queue)
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
            # Only the server-side password flow: the API signs users in with AdminInitiateAuth,
            # which carries the caller's IP and headers to threat protection (ContextData) without
            # a client secret. A public USER_PASSWORD_AUTH flow would let a client skip that.
            auth_flows=cognito.AuthFlow(admin_user_password=True),
            generate_secret=False,
            # No hosted-UI OAuth flows.
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
            enable_token_revocation=True,
        )

    def _claim_worker(self, config: StageConfig, data: DataStack) -> sqs.Queue:
        """The queue of confirmed sign-ups and the function that claims their invitations.

        Here, beside the trigger that feeds it, rather than in the processing stack: the trigger
        would then depend on that stack, a new cross-stack export for no gain."""
        # Messages carry a user id, a name and an email digest: SQS-managed encryption needs no
        # key grants on either side. A message keeps its first enqueue time when it moves to
        # the dead-letter queue, so that queue keeps messages longer than the source does.
        dead_letters = sqs.Queue(
            self,
            "ClaimsDlq",
            # Known at synth, so the monitoring stack's depth alarm needs no export of it.
            queue_name=config.resource_name("ClaimsDlq"),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        self.dead_letter_queues.append(dead_letters)
        queue = sqs.Queue(
            self,
            "ClaimsQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(4),
            # Lambda's advice for SQS sources: at least six times the function's timeout.
            visibility_timeout=cdk.Duration.seconds(CLAIM_WORKER_TIMEOUT.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=CLAIM_MAX_RECEIVES),
        )
        worker = LendbridgeFunction(
            self,
            "InvitationClaimsFn",
            config=config,
            module="lendbridge.handlers.invitation_claims",
            description="Gives a newly verified user the invitations sent to their email",
            environment={"MAIN_TABLE": data.main_table.table_name, "AUDIT_TABLE": data.audit_table.table_name},
            timeout=CLAIM_WORKER_TIMEOUT,
        ).function
        # Read the email's invitations from their index; each claim is a conditional Put of the
        # participant and of its audit entry (TransactWriteItems checks PutItem per action).
        grant_table(worker, data.main_table, ["dynamodb:Query", "dynamodb:PutItem"], indexes=[names.LENDER_INVITATIONS])
        grant_table(worker, data.audit_table, ["dynamodb:PutItem"])
        data.data_key.grant(worker, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
        worker.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=10,
                report_batch_item_failures=True,
                # Two concurrent workers (the least SQS sources allow) drain sign-up bursts
                # without reserved concurrency, which the account's quota may not have.
                max_concurrency=2,
            )
        )
        self.claim_worker: lambda_.Function = worker
        return queue


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
