"""The route table, the resolvers, the OpenAPI document and the per-function bundles agree."""

from __future__ import annotations

import importlib

import pytest

from lendbridge.routes import FUNCTIONS, ROUTES
from lendbridge_infra.bundling import module_closure
from tools import openapi


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_resolver_serves_exactly_its_routes(function: str) -> None:
    app = importlib.import_module(f"lendbridge.handlers.{function}").app
    served = {
        (route.method, route.path.replace("<", "{").replace(">", "}"))
        for route in app._static_routes + app._dynamic_routes
    }
    declared = {(route.method, route.path) for route in ROUTES if route.function == function}
    assert served == declared


def test_openapi_document_matches_the_handlers() -> None:
    with open(openapi.DOCUMENT) as committed:
        assert committed.read() == openapi.render(openapi.build()), "run `make openapi`"


def test_every_route_is_documented_with_its_security() -> None:
    document = openapi.build()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["security"] == ([{"bearer": []}] if route.authenticated else [])
        assert "400" in operation["responses"]


def test_a_function_ships_only_the_modules_its_handler_imports() -> None:
    health = {str(path) for path in module_closure("lendbridge.handlers.health")}
    accounts = {str(path) for path in module_closure("lendbridge.handlers.accounts")}
    assert "lendbridge/handlers/health.py" in health
    assert "lendbridge/handlers/accounts.py" not in health
    assert "lendbridge/data/users.py" not in health
    assert {"lendbridge/data/users.py", "lendbridge/http/errors.py", "lendbridge/__init__.py"} <= accounts
