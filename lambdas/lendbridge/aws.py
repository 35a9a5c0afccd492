"""AWS clients with one shared botocore configuration, made from one boto3 session per process.

Retries use botocore's ``standard`` mode (exponential backoff with jitter, throttling-aware),
so no code here loops on AWS errors. Endpoints come from the standard variables
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_DYNAMODB`` ...), which boto3 reads itself, at each
client's creation.

A new session costs about 100 ms of CPU before its first client; a further client of an
existing session about 10 ms (`make bench`, first requests). A session keeps the credentials it
first resolved, so one is kept per set of credential variables: on Lambda they never change; in
tests they may.
"""

from __future__ import annotations

import os
import threading
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

_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
_sessions: dict[tuple[str | None, ...], boto3.session.Session] = {}
# boto3 sessions are not thread-safe: clients are made one at a time.
_lock = threading.Lock()


def shared_session() -> boto3.session.Session:
    key = tuple(os.environ.get(name) for name in _CREDENTIAL_VARIABLES)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = boto3.session.Session()
        return session


def client(service: str, session: boto3.session.Session | None = None, config: Config = BOTO_CONFIG) -> Any:
    """A client of the process's session; ``config`` for one that needs more than the shared
    configuration (SigV4 presigning, a model's long reads), built on it."""
    chosen = session or shared_session()
    with _lock:
        return chosen.client(service, config=config)  # type: ignore[call-overload]
