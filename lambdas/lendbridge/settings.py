"""Configuration a function reads from its environment (set by the CDK stacks)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    stage: str
    main_table: str
    audit_table: str
    idempotency_table: str
    user_pool_id: str
    user_pool_client_id: str
    auto_confirm_email: bool
    bank_data_key_id: str
    pagination_secret_id: str
    claims_queue_url: str
    idempotency_secret_id: str
    # Commercial bookings: the stage's product catalogue, as JSON (lendbridge.domain.products).
    products: str = "[]"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if env is None else env

        def get(name: str) -> str:
            return source.get(name, "")

        return cls(
            stage=get("STAGE") or "local",
            main_table=get("MAIN_TABLE"),
            audit_table=get("AUDIT_TABLE"),
            idempotency_table=get("IDEMPOTENCY_TABLE"),
            user_pool_id=get("USER_POOL_ID"),
            user_pool_client_id=get("USER_POOL_CLIENT_ID"),
            auto_confirm_email=get("AUTO_CONFIRM_EMAIL").lower() == "true",
            bank_data_key_id=get("BANK_DATA_KEY_ID"),
            pagination_secret_id=get("PAGINATION_SECRET_ID"),
            claims_queue_url=get("CLAIMS_QUEUE_URL"),
            idempotency_secret_id=get("IDEMPOTENCY_SECRET_ID"),
            products=get("PRODUCTS") or "[]",
        )
