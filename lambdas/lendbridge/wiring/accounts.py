"""The accounts function: sign-up, sign-in and the caller's profile."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.data.claim_queue import SqsClaimQueue
from lendbridge.data.identity import CognitoIdentity
from lendbridge.data.users import DynamoUserStore
from lendbridge.domain.accounts import Accounts
from lendbridge.domain.ports import new_id, utc_now
from lendbridge.settings import FunctionSettings, QueueUrl, ResourceId, TableName


class AccountsSettings(FunctionSettings):
    main_table: TableName
    audit_table: TableName
    user_pool_id: ResourceId
    user_pool_client_id: ResourceId
    auto_confirm_email: bool
    claims_queue_url: QueueUrl


def build_accounts() -> Accounts:
    settings = AccountsSettings.from_env()
    return Accounts(
        identity=CognitoIdentity(client("cognito-idp"), settings.user_pool_id, settings.user_pool_client_id),
        users=DynamoUserStore(client("dynamodb"), settings.main_table, settings.audit_table, new_id),
        clock=utc_now,
        auto_confirm_email=settings.auto_confirm_email,
        invitations=SqsClaimQueue(client("sqs"), settings.claims_queue_url),
    )
