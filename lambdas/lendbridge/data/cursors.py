"""Pagination tokens: opaque, tamper-evident, and valid only for the caller and list that got them.

A token is ``v1.<payload>.<mac>``: the payload (base64url JSON of the list position and an
expiry) is signed with HMAC-SHA256 over the payload, the caller's id and the list's name, with
a key kept in Secrets Manager. The caller's id is part of the MAC, not of the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import timedelta

from lendbridge.domain.pages import Position
from lendbridge.domain.ports import Clock
from lendbridge.errors import ValidationFailed

TOKEN_LIFETIME = timedelta(hours=24)
_VERSION = "v1"
_TOKEN_SHAPE = re.compile(rf"{_VERSION}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def invalid_token() -> ValidationFailed:
    return ValidationFailed("Invalid pagination token", field_errors={"next_token": ["Invalid pagination token"]})


class SignedCursors:
    def __init__(self, key: Callable[[], bytes], clock: Clock) -> None:
        self._key = key
        self._clock = clock

    def encode(self, list_name: str, caller_id: str, position: Position | None) -> str | None:
        if position is None:
            return None
        expires = int((self._clock() + TOKEN_LIFETIME).timestamp())
        payload = _b64(json.dumps({"p": position, "e": expires}, separators=(",", ":"), sort_keys=True).encode())
        return f"{_VERSION}.{payload}.{self._mac(payload, caller_id, list_name)}"

    def decode(self, list_name: str, caller_id: str, token: str | None) -> Position | None:
        if token is None:
            return None
        # Checked before the MAC: compare_digest refuses non-ASCII text with a TypeError.
        if not _TOKEN_SHAPE.fullmatch(token):
            raise invalid_token()
        _, payload, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(payload, caller_id, list_name)):
            raise invalid_token()
        try:
            decoded = json.loads(_unb64(payload))
            position, expires = decoded["p"], int(decoded["e"])
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise invalid_token() from error
        if expires < self._clock().timestamp() or not isinstance(position, dict):
            raise invalid_token()
        return {str(k): str(v) for k, v in position.items()}

    def _mac(self, payload: str, caller_id: str, list_name: str) -> str:
        message = f"{_VERSION}|{list_name}|{caller_id}|{payload}".encode()
        return _b64(hmac.new(self._key(), message, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
