"""Accessors for the request being served, for use inside route functions."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from lendbridge.domain.ports import Actor
from lendbridge.http.request_context import Caller, caller_of, client_of


def request_id(app: APIGatewayRestResolver) -> str:
    return str(app.context.get("request_id", ""))


def caller(app: APIGatewayRestResolver) -> Caller:
    return caller_of(app.current_event)


def actor(app: APIGatewayRestResolver) -> Actor:
    who = caller(app)
    source_ip, user_agent = client_of(app.current_event)
    return Actor(user_id=who.user_id, request_id=request_id(app), ip_address=source_ip, user_agent=user_agent)
