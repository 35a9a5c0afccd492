"""Cognito's post-confirmation trigger for the local stack. moto keeps a user pool's LambdaConfig
but never invokes it; this does what Cognito does after a confirmed sign-up: it builds a
``PostConfirmation_ConfirmSignUp`` event from the user's attributes and invokes the function the
template names in the pool's ``LambdaConfig.PostConfirmation``, synchronously (ConfirmSignUp
answers only once its trigger has).

The gateway calls ``after_response`` after every request: a 2xx answer to the confirm route
(``POST /v1/auth/confirm``, whose handler calls ConfirmSignUp) fires the trigger for the email
in its body. A test can call ``fire`` for a user confirmed directly on moto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.apimodel import Function, function_of
from local.events import HttpRequest, HttpResponse
from local.template import REGION, Assembly
from local.workers import FunctionPool, Invocation, LogSink

CONFIRM_ROUTE = ("POST", "/v1/auth/confirm")
CONFIRM_SIGN_UP = "PostConfirmation_ConfirmSignUp"

FunctionKey = tuple[str, str]


@dataclass(frozen=True)
class PoolTrigger:
    pool_id: str
    function: Function


def post_confirmation_triggers(assembly: Assembly) -> list[PoolTrigger]:
    """Every user pool's post-confirmation function (call after provisioning)."""
    found = []
    for stack, logical_id, resource in assembly.resources("AWS::Cognito::UserPool"):
        reference = (resource.get("Properties", {}).get("LambdaConfig") or {}).get("PostConfirmation")
        if reference is not None:
            pool_id = assembly.physical[(stack, logical_id)]["Ref"]
            found.append(PoolTrigger(pool_id, function_of(assembly, stack, reference)))
    return found


def confirmation_event(pool_id: str, user: Mapping[str, Any], client_id: str | None = None) -> dict[str, Any]:
    """The event Cognito sends the trigger, from an AdminGetUser answer."""
    attributes = {item["Name"]: item["Value"] for item in user.get("UserAttributes", [])}
    attributes["cognito:user_status"] = str(user.get("UserStatus", "CONFIRMED"))
    return {
        "version": "1",
        "region": REGION,
        "userPoolId": pool_id,
        "userName": user["Username"],
        "callerContext": {
            "awsSdkVersion": "aws-sdk-unknown-unknown",
            "clientId": client_id or "CLIENT_ID_NOT_APPLICABLE",
        },
        "triggerSource": CONFIRM_SIGN_UP,
        "request": {"userAttributes": attributes},
        "response": {},
    }


class PostConfirmation:
    def __init__(
        self, triggers: list[PoolTrigger], pools: Mapping[FunctionKey, FunctionPool], cognito: Any, log: LogSink
    ) -> None:
        self._triggers = triggers
        self._pools = pools
        self._cognito = cognito
        self._log = log

    @property
    def functions(self) -> list[Function]:
        return [trigger.function for trigger in self._triggers]

    def fire(self, username: str) -> list[Invocation]:
        """Invoke the trigger of every pool where ``username`` is a confirmed user."""
        invocations = []
        for trigger in self._triggers:
            try:
                user = self._cognito.admin_get_user(UserPoolId=trigger.pool_id, Username=username)
            except self._cognito.exceptions.UserNotFoundException:
                continue
            if user.get("UserStatus") != "CONFIRMED":
                continue
            pool = self._pools[(trigger.function.stack, trigger.function.logical_id)]
            invocation = pool.invoke(confirmation_event(trigger.pool_id, user))
            outcome = "ok" if invocation.ok else f"failed: {(invocation.error or {}).get('errorMessage')}"
            name, took = trigger.function.name, f"{invocation.duration_ms:.0f} ms"
            self._log(f"[{name}] post-confirmation trigger {outcome} in {took}")
            invocations.append(invocation)
        return invocations

    def after_response(self, request: HttpRequest, response: HttpResponse) -> None:
        if (request.method, request.path) != CONFIRM_ROUTE or not 200 <= response.status < 300:
            return
        try:
            email = json.loads(request.body or b"{}").get("email")
        except (ValueError, AttributeError):
            return
        if isinstance(email, str) and email.strip():
            self.fire(email.strip().lower())
