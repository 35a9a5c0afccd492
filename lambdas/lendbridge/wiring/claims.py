"""The claim worker: invitations sent to an email become its new user's."""

from __future__ import annotations

from lendbridge.aws import client
from lendbridge.domain.lending import InvitationClaims
from lendbridge.domain.ports import utc_now
from lendbridge.settings import FunctionSettings, TableName
from lendbridge.wiring.stores import loan_store


class ClaimsSettings(FunctionSettings):
    main_table: TableName
    audit_table: TableName


def build_claims() -> InvitationClaims:
    settings = ClaimsSettings.from_env()
    return InvitationClaims(loan_store(client("dynamodb"), settings.main_table, settings.audit_table), utc_now)
