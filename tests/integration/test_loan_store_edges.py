"""The loan store's less travelled paths on DynamoDB Local: lists read page after page, a loan
whose items come back in several query pages, cancellation leaving every list, an orphaned
invitation, a claim that loses its race, and how each way a transaction can be cancelled
reaches the domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lendbridge.data import keys
from lendbridge.domain.lending import LoanTerms
from lendbridge.domain.loans import Invitee, Lender, LoanStatus, ParticipantStatus, VersionConflict
from lendbridge.errors import Conflict
from tests.integration.conftest import World
from tests.integration.faults import failing, transaction_cancelled
from tests.integration.test_lending import collection

TERMS = LoanTerms(Decimal("10000.00"), Decimal("7.5"), 36, "Bakery equipment")


def stranger_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


def every_page(read: Any, limit: int) -> list[list[Any]]:
    """Follow next positions from the first page to the last; the pages as read."""
    pages, position = [], None
    while True:
        page = read(limit, position)
        pages.append(list(page.items))
        position = page.next_position
        if position is None:
            return pages


@contextmanager
def queries_limited_to(client: Any, items: int) -> Iterator[None]:
    """Every Query on ``client`` asks for at most ``items`` items, as a 1 MB page boundary would
    cut a big item collection: the code must follow LastEvaluatedKey to see it all."""

    def limit(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = items

    event = "provide-client-params.dynamodb.Query"
    client.meta.events.register(event, limit)
    try:
        yield
    finally:
        client.meta.events.unregister(event, limit)


# -- lists read page by page ------------------------------------------------------------------


def test_a_lenders_pending_list_read_two_at_a_time_lists_each_invitation_once_newest_first(world: World) -> None:
    (_, borrower), (alice, _) = world.user("b"), world.user("alice")
    created = [world.lending.create_loan(borrower, TERMS, [Invitee(alice.email, Decimal("100"))]) for _ in range(5)]

    pages = every_page(
        lambda limit, position: world.lending.lender_participations(
            alice.user_id, ParticipantStatus.PENDING, limit, position
        ),
        2,
    )

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [loan.loan_id for page in pages for _, loan in page]
    assert listed == [loan.loan_id for loan in reversed(created)]


def test_a_loans_audit_log_read_two_at_a_time_has_every_entry_once(world: World) -> None:
    (borrower, actor) = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(stranger_email(), Decimal("10")) for _ in range(2)])
    world.lending.add_lenders(actor, loan.loan_id, [Invitee(stranger_email(), Decimal("10"))])
    # At creation one entry for the loan and one per invitation (1 + 2); adding lenders writes one
    # entry for the whole request, listing its invitations.
    everything = world.lending.audit_log(borrower.user_id, loan.loan_id, 100, None).items

    pages = every_page(
        lambda limit, position: world.lending.audit_log(borrower.user_id, loan.loan_id, limit, position), 2
    )

    assert len(everything) == 4
    assert [len(page) for page in pages] == [2, 2]
    assert [entry.audit_id for page in pages for entry in page] == [entry.audit_id for entry in everything]


def test_a_loan_whose_items_come_back_in_many_query_pages_is_read_whole(world: World) -> None:
    (borrower, actor) = world.user("b")
    emails = [stranger_email() for _ in range(5)]
    loan = world.lending.create_loan(actor, TERMS, [Invitee(email, Decimal("10")) for email in emails])

    with queries_limited_to(world.dynamodb, 2):
        read = world.lending.get_loan(borrower.user_id, loan.loan_id)
        page = world.lending.my_loans(borrower.user_id, 10, None)

    assert sorted(p.lender_email for p in read.participants) == sorted(emails)
    assert read.total_invited == Decimal("50.00")
    assert [len(item.participants) for item in page.items] == [5]


# -- cancellation -----------------------------------------------------------------------------


def test_a_cancelled_loan_leaves_the_borrowers_list_and_its_invitations_the_lenders(world: World) -> None:
    (borrower, actor), (alice, _) = world.user("b"), world.user("alice")
    kept = world.lending.create_loan(actor, TERMS, [])
    cancelled = world.lending.create_loan(actor, TERMS, [Invitee(alice.email, Decimal("100"))])

    world.lending.cancel(actor, cancelled.loan_id, "no longer needed")

    assert [loan.loan_id for loan in world.lending.my_loans(borrower.user_id, 10, None).items] == [kept.loan_id]
    # Still readable by its borrower, as CANCELLED (the contract keeps cancelled loans readable).
    assert world.lending.get_loan(borrower.user_id, cancelled.loan_id).status == LoanStatus.CANCELLED
    pending = world.lending.lender_participations(alice.user_id, ParticipantStatus.PENDING, 10, None)
    assert pending.items == []
    stored = world.store.get(cancelled.loan_id)
    assert stored is not None
    assert stored.status == LoanStatus.CANCELLED
    assert stored.participants == ()  # withdrawn invitations leave the roster
    assert {item["status"] for item in collection(world, cancelled.loan_id, "PART#")} == {"REMOVED"}


# -- orphans and races ------------------------------------------------------------------------


def test_an_invitation_whose_loan_item_is_gone_is_not_found(world: World) -> None:
    (_, actor) = world.user("b")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(stranger_email(), Decimal("10"))])
    [participant] = loan.participants
    assert world.store.find_participant(participant.participant_id) is not None
    world.dynamodb.delete_item(
        TableName=world.tables["MainTable"],
        Key={"PK": {"S": keys.loan_pk(loan.loan_id)}, "SK": {"S": keys.LOAN}},
    )

    assert world.store.find_participant(participant.participant_id) is None


def test_a_second_claim_of_the_same_invitation_loses_and_changes_nothing(world: World) -> None:
    (_, actor), (first, first_actor), (second, second_actor) = world.user("b"), world.user("one"), world.user("two")
    loan = world.lending.create_loan(actor, TERMS, [Invitee(stranger_email(), Decimal("10"))])
    [invitation] = loan.participants
    now = datetime.now(UTC)

    won = world.store.claim(invitation, Lender(first.user_id, first.full_name), first_actor, now)
    lost = world.store.claim(invitation, Lender(second.user_id, second.full_name), second_actor, now)

    assert (won, lost) == (True, False)
    found = world.store.find_participant(invitation.participant_id)
    assert found is not None
    assert found[1].lender_id == first.user_id


# -- how a cancelled or failed transaction reaches the domain ---------------------------------


def _open_loan(world: World) -> tuple[Any, str]:
    (_, actor) = world.user("b")
    return actor, world.lending.create_loan(actor, TERMS, []).loan_id


def test_a_loan_cancelled_between_read_and_write_refuses_new_lenders_with_its_status(world: World) -> None:
    actor, loan_id = _open_loan(world)
    cancelled = {"status": {"S": "CANCELLED"}, "invitees_kept": {"N": "1"}}
    reasons = [{"Code": "ConditionalCheckFailed", "Item": cancelled}, {"Code": "None"}]

    with transaction_cancelled(world.dynamodb, reasons), pytest.raises(Conflict, match="CANCELLED") as refused:
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("10"))])

    assert not isinstance(refused.value, VersionConflict)


def test_a_refused_loan_update_without_the_old_item_is_a_version_conflict(world: World) -> None:
    actor, loan_id = _open_loan(world)

    with (
        transaction_cancelled(world.dynamodb, [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}]),
        pytest.raises(VersionConflict),
    ):
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("10"))])


def test_a_transaction_conflict_is_a_version_conflict(world: World) -> None:
    actor, loan_id = _open_loan(world)

    with (
        transaction_cancelled(world.dynamodb, [{"Code": "None"}, {"Code": "TransactionConflict"}]),
        pytest.raises(VersionConflict),
    ):
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("10"))])


def test_a_cancellation_for_another_reason_is_not_disguised_as_a_conflict(world: World) -> None:
    actor, loan_id = _open_loan(world)

    with (
        transaction_cancelled(world.dynamodb, [{"Code": "None"}, {"Code": "ValidationError"}]),
        pytest.raises(ClientError) as failed,
    ):
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("10"))])

    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_an_unexpected_write_error_propagates_unchanged(world: World) -> None:
    actor, loan_id = _open_loan(world)

    with (
        failing(world.dynamodb, "TransactWriteItems", "ValidationException", times=1),
        pytest.raises(ClientError) as failed,
    ):
        world.lending.add_lenders(actor, loan_id, [Invitee(stranger_email(), Decimal("10"))])

    assert failed.value.response["Error"]["Code"] == "ValidationException"
    after = world.store.get(loan_id)
    assert after is not None
    assert (after.version, after.participants) == (1, ())
