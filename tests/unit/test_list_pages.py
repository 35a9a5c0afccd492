"""Pages of a list route (lendbridge.http.pages.list_page) through the loans handler on the
in-memory store, and the ``fields`` query parameter's documentation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lendbridge.data.cursors import SignedCursors
from lendbridge.handlers import loans as loans_handler
from lendbridge.http.idempotency import Idempotency
from lendbridge.http.params import fields_pattern, fields_query
from lendbridge.lazy import Lazy
from lendbridge.wiring.lending import LendingServices
from tests.events import FakeContext, api_event, body_of
from tests.memory_world import MemoryWorld

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BODY = {"amount": "1000.00", "interest_rate": "5", "term_months": 12}


def _no_store() -> Any:
    raise AssertionError("no keyed request here")


@pytest.fixture
def world() -> Iterator[MemoryWorld]:
    memory = MemoryWorld()
    loans_handler.services.override(
        LendingServices(
            lending=memory.lending,
            cursors=SignedCursors(lambda: b"cursor-key", lambda: NOW),
            idempotency=Idempotency(Lazy(_no_store), lambda: b"k"),
        )
    )
    yield memory
    loans_handler.services.reset()


def get(path: str, user: str, **query: str) -> dict[str, Any]:
    return loans_handler.handler(api_event("GET", path, query=query or None, user_id=user), FakeContext())


def test_a_list_is_paged_under_its_own_name_with_a_token_for_the_next_page(world: MemoryWorld) -> None:
    borrower = world.user("borrower")[0].user_id
    created = [
        body_of(loans_handler.handler(api_event("POST", "/v1/loans", body=BODY, user_id=borrower), FakeContext()))
        for _ in range(3)
    ]
    first = body_of(get("/v1/loans/my-loans", borrower, limit="2"))["data"]
    assert set(first) == {"loans", "count", "has_more", "next_token"}
    assert (first["count"], first["has_more"], len(first["loans"])) == (2, True, 2)
    assert isinstance(first["next_token"], str)
    second = body_of(get("/v1/loans/my-loans", borrower, limit="2", next_token=first["next_token"]))["data"]
    assert (second["count"], second["has_more"], second["next_token"]) == (1, False, None)
    seen = [loan["loan_id"] for loan in first["loans"] + second["loans"]]
    assert sorted(seen) == sorted(c["data"]["loan_id"] for c in created)
    assert first["loans"][0] == next(c["data"] for c in created if c["data"]["loan_id"] == seen[0])


def test_a_token_is_bound_to_its_caller(world: MemoryWorld) -> None:
    borrower, other = world.user("borrower")[0].user_id, world.user("other")[0].user_id
    for _ in range(2):
        loans_handler.handler(api_event("POST", "/v1/loans", body=BODY, user_id=borrower), FakeContext())
    token = body_of(get("/v1/loans/my-loans", borrower, limit="1"))["data"]["next_token"]
    refused = get("/v1/loans/my-loans", other, limit="1", next_token=token)
    assert (refused["statusCode"], body_of(refused)["error"]) == (400, "VALIDATION_ERROR")


def test_the_fields_parameter_documents_its_names_and_bounds() -> None:
    parameter = fields_query(frozenset({"status", "amount"}))
    assert [m.max_length for m in parameter.metadata if hasattr(m, "max_length")] == [1000]
    assert parameter.description == "Comma-separated top-level fields to return, e.g. `status,total_funded`"
    assert parameter.json_schema_extra == {"pattern": fields_pattern(frozenset({"status", "amount"}))}
    assert fields_pattern(frozenset({"status", "amount"})) == "^ *(?:amount|status) *(?:, *(?:amount|status) *)*$"


def test_tokens_are_unpadded_url_safe_base64_whatever_they_end_with() -> None:
    from lendbridge.data.cursors import _b64, _unb64

    assert _b64(b"\x00\x00\x17") == "AAAX"
    assert _b64(b"\xfb\xff") == "-_8"
    assert _unb64("AAAX") == b"\x00\x00\x17"
    assert _unb64("-_8") == b"\xfb\xff"


def test_a_token_is_good_up_to_and_including_its_expiry_second() -> None:
    from datetime import timedelta

    from lendbridge.data.cursors import TOKEN_LIFETIME
    from lendbridge.errors import ValidationFailed

    now = [NOW]
    cursors = SignedCursors(lambda: b"cursor-key", lambda: now[0])
    token = cursors.encode("my-loans", "u1", {"k": "v"})
    now[0] = NOW + TOKEN_LIFETIME
    assert cursors.decode("my-loans", "u1", token) == {"k": "v"}
    now[0] = NOW + TOKEN_LIFETIME + timedelta(seconds=1)
    with pytest.raises(ValidationFailed):
        cursors.decode("my-loans", "u1", token)
