"""HMAC keys kept in Secrets Manager, for the functions that sign or fingerprint requests."""

from __future__ import annotations

from typing import Any

from lendbridge.aws import client
from lendbridge.errors import DependencyUnavailable
from lendbridge.lazy import Lazy

SECRET_CACHE_SECONDS = 300
SECRET_RETRY_AFTER_S = 5


def _secrets_provider() -> Any:
    # Imported here: Powertools parameters costs cold-start time that only a keyed request needs.
    from aws_lambda_powertools.utilities import parameters

    # Its client comes from the function's one boto3 session (lendbridge.aws): Powertools' default
    # provider would open a session of its own, about 100 ms of CPU on the first signed page.
    return parameters.SecretsProvider(boto3_client=client("secretsmanager"))


provider: Lazy[Any] = Lazy(_secrets_provider)


def secret_key(secret_id: str) -> bytes:
    """Powertools caches the secret for five minutes, so a rotation reaches every instance soon;
    an unreachable Secrets Manager is a 503 the client may retry."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        secret = provider.get().get(secret_id, max_age=SECRET_CACHE_SECONDS)
    except GetParameterError as error:
        raise DependencyUnavailable("Secrets unavailable", retry_after=SECRET_RETRY_AFTER_S) from error
    return str(secret).encode()
