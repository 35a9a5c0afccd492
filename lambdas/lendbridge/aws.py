"""AWS clients with one shared botocore configuration.

Retries use botocore's ``standard`` mode (exponential backoff with jitter, throttling-aware),
so no code here loops on AWS errors. Endpoints come from the standard variables
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_DYNAMODB`` ...), which boto3 reads itself.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

BOTO_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=50,
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    return (session or boto3.session.Session()).client(service, config=BOTO_CONFIG)  # type: ignore[call-overload]
