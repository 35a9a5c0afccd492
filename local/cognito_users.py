"""The emulated Cognito users kept across runs of the moto server (``LOCAL_PERSIST=1``), so the
user profiles kept in DynamoDB Local still belong to accounts that can log in.

Runs inside the moto server's process, on moto's own objects: Cognito's API cannot recreate a
user with its old ``sub`` (the user id every stored item refers to) or its password. The pool
itself is recreated from the template on every start, under a new id; users are saved by pool
name and put back into the pool of that name as soon as it is created again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUser,
    CognitoIdpUserPool,
    UserStatus,
    cognitoidp_backends,
)

SavedUsers = dict[str, list[dict[str, Any]]]  # pool name -> users


def snapshot(backends: Mapping[str, Mapping[str, CognitoIdpBackend]]) -> SavedUsers:
    saved: SavedUsers = {}
    for regions in backends.values():
        for backend in regions.values():
            for pool in backend.user_pools.values():
                saved.setdefault(pool.name, []).extend(_user(user) for user in pool.users.values())
    return saved


def _user(user: CognitoIdpUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "sub": user.id,
        "password": user.password,
        "status": str(getattr(user.status, "value", user.status)),
        "enabled": user.enabled,
        "attributes": [dict(attribute) for attribute in user.attributes],
    }


def restore(pool: CognitoIdpUserPool, users: Iterable[Mapping[str, Any]]) -> None:
    for saved in users:
        # moto compares statuses by identity: the enum member, not its string.
        status = UserStatus(saved["status"])
        user = CognitoIdpUser(pool.id, saved["username"], saved["password"], status, saved["attributes"])
        user.id = saved["sub"]
        user.update_attributes([{"Name": "sub", "Value": saved["sub"]}])
        user.enabled = bool(saved["enabled"])
        pool.users[user.username] = user


class KeptUsers:
    """Users saved in ``path`` by an earlier run: ``install`` hands them to the pools of their
    names as those are created, ``save`` writes every pool's users back (readable by the owner
    only), with any saved user whose pool was not created this time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._waiting: SavedUsers = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            self._waiting = {}

    def install(self) -> None:
        create = CognitoIdpBackend.create_user_pool
        waiting = self._waiting

        def create_user_pool(
            backend: CognitoIdpBackend, name: str, extended_config: dict[str, Any]
        ) -> CognitoIdpUserPool:
            pool = create(backend, name, extended_config)
            restore(pool, waiting.pop(name, []))  # once: a second pool of that name starts empty
            return pool

        CognitoIdpBackend.create_user_pool = create_user_pool  # type: ignore[method-assign,assignment]

    def save(self) -> int:
        saved = snapshot(cognitoidp_backends)
        for name, users in self._waiting.items():
            saved.setdefault(name, []).extend(users)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(saved, file)
        partial.replace(self.path)
        return sum(len(users) for users in saved.values())
