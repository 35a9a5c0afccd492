"""HMAC keys kept in Secrets Manager, for the functions that sign or fingerprint requests."""

from __future__ import annotations

from lendbridge.errors import DependencyUnavailable

SECRET_CACHE_SECONDS = 300
SECRET_RETRY_AFTER_S = 5


def secret_key(secret_id: str) -> bytes:
    """Powertools caches the secret for five minutes, so a rotation reaches every instance soon;
    an unreachable Secrets Manager is a 503 the client may retry."""
    # Imported here: Powertools parameters costs cold-start time that only a keyed request needs.
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        secret = parameters.get_secret(secret_id, max_age=SECRET_CACHE_SECONDS)
    except GetParameterError as error:
        raise DependencyUnavailable("Secrets unavailable", retry_after=SECRET_RETRY_AFTER_S) from error
    return str(secret).encode()
