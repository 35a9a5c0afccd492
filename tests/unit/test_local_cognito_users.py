"""``LOCAL_PERSIST=1``'s kept Cognito users, on moto's own objects (as the moto server holds them):
a user saved in one run logs in after the next run recreates the pool, under the same ``sub``."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws
from moto.cognitoidp.models import CognitoIdpBackend

from local.cognito_users import KeptUsers

PASSWORD = "Local-Passw0rd!"


def pool_with_client(cognito: Any) -> tuple[str, str]:
    pool_id = cognito.create_user_pool(PoolName="lendbridge-local-UserPool", UsernameAttributes=["email"])["UserPool"][
        "Id"
    ]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="api", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def test_a_kept_user_logs_in_with_the_same_sub_after_the_pool_is_created_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Undo the patch on moto's class when the test ends.
    monkeypatch.setattr(CognitoIdpBackend, "create_user_pool", CognitoIdpBackend.create_user_pool)
    users_file = tmp_path / "cognito" / "users.json"
    with mock_aws():
        kept = KeptUsers(users_file)
        kept.install()
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id, client_id = pool_with_client(cognito)
        sub = cognito.sign_up(ClientId=client_id, Username="ada@example.com", Password=PASSWORD)["UserSub"]
        cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="ada@example.com")
        assert kept.save() == 1
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600

    with mock_aws():
        KeptUsers(users_file).install()
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        new_pool_id, new_client_id = pool_with_client(cognito)
        assert new_pool_id != pool_id
        tokens = cognito.initiate_auth(
            ClientId=new_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ada@example.com", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        claims = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
        assert claims["sub"] == sub  # the user id every kept item refers to
        me = cognito.get_user(AccessToken=tokens["AccessToken"])  # a confirmed user, as before
        assert {item["Name"]: item["Value"] for item in me["UserAttributes"]}["sub"] == sub
        with pytest.raises(cognito.exceptions.UsernameExistsException):
            cognito.sign_up(ClientId=new_client_id, Username="ada@example.com", Password=PASSWORD)


def test_users_of_a_pool_not_created_this_run_are_kept_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CognitoIdpBackend, "create_user_pool", CognitoIdpBackend.create_user_pool)
    users_file = tmp_path / "users.json"
    users_file.write_text(
        '{"gone-pool": [{"username": "u", "sub": "s", "password": "p", "status": "CONFIRMED", '
        '"enabled": true, "attributes": []}]}'
    )
    with mock_aws():
        kept = KeptUsers(users_file)
        kept.install()
        assert kept.save() == 1
