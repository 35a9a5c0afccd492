"""How conditional requests are documented and answered: the 304 without a body, the content
tag of unversioned resources, and the OpenAPI responses ``documented`` builds for a route."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest

from lendbridge.http import envelope
from lendbridge.http.conditional import (
    CONTENT_TAG_HEADER,
    ETAG_HEADER,
    content_tag,
    documented,
    none_match,
    stop_if_current,
)
from lendbridge.http.errors import PreparedResponse
from lendbridge.schemas.common import common_headers, error_response

BASE: dict[int, Any] = {
    200: {"description": "ok", "headers": {"X-Request-Id": {"description": "id"}}},
    404: {"description": "missing"},
}


def test_a_304_has_no_body_and_names_the_current_tag() -> None:
    answer = envelope.not_modified('"7"')
    assert (answer.status_code, answer.body, answer.content_type) == (304, "", None)
    assert answer.headers["ETag"] == '"7"'


def test_a_content_tag_is_the_first_32_hex_digits_of_the_canonical_digest() -> None:
    digest = hashlib.sha256(b'{"a":1,"b":"2026-01-01","c":"1.50"}').hexdigest()
    assert content_tag({"c": Decimal("1.50"), "b": "2026-01-01", "a": 1}) == f'"{digest[:32]}"'


def test_without_options_the_responses_are_the_base_sorted_by_status() -> None:
    result = documented({404: BASE[404], 200: BASE[200]})
    assert result == BASE
    assert list(result) == [200, 404]


def test_headers_are_added_to_those_a_response_already_documents() -> None:
    result = documented(BASE, headers={200: {"ETag": ETAG_HEADER}, 404: {"Retry-After": {"description": "s"}}})
    assert result[200]["headers"] == {"X-Request-Id": {"description": "id"}, "ETag": ETAG_HEADER}
    assert result[404]["headers"] == {"Retry-After": {"description": "s"}}
    assert result[200]["description"] == "ok"
    assert BASE[200]["headers"] == {"X-Request-Id": {"description": "id"}}  # the base is left alone


def test_links_are_attached_to_their_status() -> None:
    links = {"GetLoan": {"operationId": "get_loan", "parameters": {"loan_id": "$response.body#/data/loan_id"}}}
    result = documented(BASE, links={200: links})
    assert result[200] == {**BASE[200], "links": links}
    assert "links" not in result[404]


def test_a_conditional_get_documents_its_304_with_the_tag_it_answers() -> None:
    result = documented(BASE, not_modified=True)
    assert result[304] == {
        "description": "Not modified: If-None-Match names the current ETag",
        "headers": {**common_headers(304), "ETag": ETAG_HEADER},
    }
    assert list(result) == [200, 304, 404]
    unversioned = documented(BASE, not_modified=True, tag_header=CONTENT_TAG_HEADER)
    assert unversioned[304]["headers"]["ETag"] == CONTENT_TAG_HEADER
    assert 304 not in documented(BASE)


def test_a_conditional_update_documents_412_and_428() -> None:
    result = documented(BASE, preconditions=True)
    assert result[412] == error_response(412)
    assert result[428] == error_response(428)
    assert list(result) == [200, 404, 412, 428]
    assert not {412, 428} & set(documented(BASE))


def test_the_documented_header_rules_match_the_tags_the_server_sends() -> None:
    assert ETAG_HEADER["schema"]["pattern"] == '^"[0-9]+"$'
    assert CONTENT_TAG_HEADER["schema"]["pattern"] == '^"[0-9a-f]{32}"$'


def test_each_loan_link_feeds_the_loan_id_of_the_answer_to_its_operation() -> None:
    from lendbridge.http.links import LOAN_LINKS

    assert LOAN_LINKS["GetLoan"] == {
        "operationId": "GetLoan",
        "parameters": {"loan_id": "$response.body#/data/loan_id"},
        "description": "Read the loan",
    }
    assert LOAN_LINKS["UpdateLoan"]["parameters"] == {
        "loan_id": "$response.body#/data/loan_id",
        "header.If-Match": "$response.header.ETag",
    }
    assert all(link["operationId"] == name for name, link in LOAN_LINKS.items())


def test_if_none_match_compares_weakly_with_the_current_tag() -> None:
    assert none_match('"3"', 'W/"3"')
    assert none_match('W/"3"', '"3"')
    assert none_match('"X1"', '"X1"')
    assert not none_match('"1"', '"X1"')


def test_a_current_copy_is_answered_304_with_its_tag_and_a_stale_one_is_not() -> None:
    with pytest.raises(PreparedResponse) as stopped:
        stop_if_current('"4"', '"4"')
    answer = stopped.value.response
    assert (answer.status_code, answer.body, answer.headers["ETag"]) == (304, "", '"4"')
    stop_if_current('"3"', '"4"')
    stop_if_current(None, '"4"')


def test_a_created_answer_names_the_new_resource_beside_its_other_headers() -> None:
    answer = envelope.created({"loan_id": "L1"}, "/v1/loans/L1", headers={"ETag": '"1"'})
    assert answer.status_code == 201
    assert answer.headers["Location"] == "/v1/loans/L1"
    assert answer.headers["ETag"] == '"1"'
    assert answer.body == {"success": True, "data": {"loan_id": "L1"}}
    assert envelope.created({}, "/x").headers["Location"] == "/x"


def test_no_content_is_a_204_with_an_empty_body_and_no_type() -> None:
    answer = envelope.no_content()
    assert (answer.status_code, answer.body, answer.content_type) == (204, "", None)
