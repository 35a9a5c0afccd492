"""The local stand-in for Cognito's post-confirmation trigger: which responses fire it, and the
event it builds from moto's user (the documented PostConfirmation_ConfirmSignUp shape)."""

from __future__ import annotations

from typing import Any

from local.apimodel import Function, RestApi
from local.cognito_triggers import PoolTrigger, PostConfirmation
from local.events import HttpRequest, HttpResponse
from local.gateway import Gateway
from local.workers import Invocation

TRIGGER = Function("Identity", "PostConfirmationFnFunction1234ABCD", "x.handler", "python3.13", {}, 10, 512, None)


class FakeCognito:
    class exceptions:
        class UserNotFoundException(Exception):
            pass

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users

    def admin_get_user(self, UserPoolId: str, Username: str) -> dict[str, Any]:
        if Username not in self.users:
            raise self.exceptions.UserNotFoundException(Username)
        return self.users[Username]


class FakePool:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Invocation:
        self.events.append(event)
        return Invocation(result=event, duration_ms=3.0)


def user(name: str, status: str = "CONFIRMED") -> dict[str, Any]:
    return {
        "Username": name,
        "UserStatus": status,
        "UserAttributes": [
            {"Name": "sub", "Value": "sub-1"},
            {"Name": "email", "Value": name},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": "Ada"},
        ],
    }


def hook(users: dict[str, dict[str, Any]]) -> tuple[PostConfirmation, FakePool]:
    pool = FakePool()
    trigger = PostConfirmation(
        [PoolTrigger("us-east-1_pool", TRIGGER)],
        {(TRIGGER.stack, TRIGGER.logical_id): pool},  # type: ignore[dict-item]
        FakeCognito(users),
        lambda line: None,
    )
    return trigger, pool


def confirm(email: str) -> HttpRequest:
    return HttpRequest("POST", "/v1/auth/confirm", [], f'{{"email": "{email}", "code": "123456"}}'.encode(), "")


def test_a_successful_confirmation_invokes_the_trigger_with_cognitos_event() -> None:
    trigger, pool = hook({"ada@example.com": user("ada@example.com")})
    trigger.after_response(confirm(" Ada@Example.com "), HttpResponse(200, []))
    [event] = pool.events
    assert event["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert event["userPoolId"] == "us-east-1_pool"
    assert event["userName"] == "ada@example.com"
    assert event["request"]["userAttributes"] == {
        "sub": "sub-1",
        "email": "ada@example.com",
        "email_verified": "true",
        "name": "Ada",
        "cognito:user_status": "CONFIRMED",
    }
    assert event["response"] == {}


def test_failed_confirmations_other_routes_and_unconfirmed_users_fire_nothing() -> None:
    trigger, pool = hook(
        {"ada@example.com": user("ada@example.com"), "bo@example.com": user("bo@example.com", "UNCONFIRMED")}
    )
    trigger.after_response(confirm("ada@example.com"), HttpResponse(400, []))
    trigger.after_response(
        HttpRequest("POST", "/v1/auth/login", [], b'{"email": "ada@example.com"}', ""), HttpResponse(200, [])
    )
    trigger.after_response(confirm("bo@example.com"), HttpResponse(200, []))
    trigger.after_response(confirm("nobody@example.com"), HttpResponse(200, []))
    trigger.after_response(HttpRequest("POST", "/v1/auth/confirm", [], b"not json", ""), HttpResponse(200, []))
    assert pool.events == []


def test_the_gateway_runs_its_hooks_on_every_answer() -> None:
    api = RestApi("Api", "local", "dev", {}, {}, {}, None, ())
    seen: list[tuple[str, int]] = []
    gateway = Gateway(api, {}, {}, lambda line: None, after=[lambda req, res: seen.append((req.path, res.status))])
    answer = gateway.handle(HttpRequest("POST", "/v1/auth/confirm", [], b"{}", "127.0.0.1"))
    assert seen == [("/v1/auth/confirm", answer.status)]
