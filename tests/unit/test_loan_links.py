"""The OpenAPI links from a loan answer: each names the operation it leads to, feeds it the
loan id from the answer's body (plus any parameter of its own) and says what it is for.
``_link`` is called directly because the link tables are built once, at import."""

from __future__ import annotations

from lendbridge.http.links import LOAN_LINKS, _booking_link, _link


def test_a_loan_link_feeds_the_loan_id_of_the_answer_and_its_own_parameters() -> None:
    assert _link("UpdateLoan", "Change the terms", **{"header.If-Match": "$response.header.ETag"}) == {
        "operationId": "UpdateLoan",
        "parameters": {"loan_id": "$response.body#/data/loan_id", "header.If-Match": "$response.header.ETag"},
        "description": "Change the terms",
    }
    assert _link("GetLoan", "Read the loan") == {
        "operationId": "GetLoan",
        "parameters": {"loan_id": "$response.body#/data/loan_id"},
        "description": "Read the loan",
    }


def test_every_loan_link_leads_to_the_operation_it_is_named_after() -> None:
    assert {name: link["operationId"] for name, link in LOAN_LINKS.items()} == {name: name for name in LOAN_LINKS}
    assert all(link["parameters"]["loan_id"] == "$response.body#/data/loan_id" for link in LOAN_LINKS.values())


def test_a_booking_link_feeds_the_booking_id_of_the_answer_and_its_own_parameters() -> None:
    assert _booking_link("UpdateBooking", "Change the booking", **{"header.If-Match": "$response.header.ETag"}) == {
        "operationId": "UpdateBooking",
        "parameters": {"booking_id": "$response.body#/data/booking_id", "header.If-Match": "$response.header.ETag"},
        "description": "Change the booking",
    }
