"""The transaction builder's reading of a cancelled TransactWriteItems: each reason is matched
to the action that caused it, and the loan store's decoder turns it into the domain's error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from lendbridge.data.transactions import Transaction, loan_conflict
from lendbridge.domain.loans import VersionConflict
from lendbridge.errors import Conflict, Throttled


class Refusing:
    """A client whose TransactWriteItems fails with the given error code and reasons."""

    def __init__(self, code: str, reasons: list[dict[str, Any]] | None = None) -> None:
        self.sent: list[list[dict[str, Any]]] = []
        self._code = code
        self._reasons = reasons

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        self.sent.append(TransactItems)
        response: dict[str, Any] = {"Error": {"Code": self._code, "Message": "refused"}}
        if self._reasons is not None:
            response["CancellationReasons"] = self._reasons
        raise ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


def transaction(client: Any) -> Transaction:
    txn = Transaction(client, "main")
    txn.put({"PK": "LOAN#l1", "SK": "LOAN"}, tag="loan")
    txn.check(("LOAN#l1", "INVITEE#x"), "attribute_not_exists(PK)", tag="check")
    return txn


def reasons(*codes: str) -> list[dict[str, Any]]:
    return [{"Code": code} for code in codes]


def test_a_condition_check_goes_out_as_its_own_action() -> None:
    client = Refusing("TransactionCanceledException", reasons("None", "ConditionalCheckFailed"))
    cancelled = transaction(client).send()
    assert cancelled is not None
    assert [(r.tag, r.code) for r in cancelled.failed] == [("check", "ConditionalCheckFailed")]
    assert client.sent[0][1] == {
        "ConditionCheck": {
            "TableName": "main",
            "Key": {"PK": {"S": "LOAN#l1"}, "SK": {"S": "INVITEE#x"}},
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


@pytest.mark.parametrize("codes", [("ConditionalCheckFailed", "None"), ("None", "TransactionConflict")])
def test_any_other_failed_condition_or_race_is_a_version_conflict(codes: tuple[str, str]) -> None:
    with pytest.raises(VersionConflict):
        transaction(Refusing("TransactionCanceledException", reasons(*codes))).commit(loan_conflict)


def test_a_cancellation_the_decoder_cannot_read_is_raised_as_it_came() -> None:
    with pytest.raises(ClientError):
        transaction(Refusing("TransactionCanceledException", reasons("ValidationError", "None"))).commit(loan_conflict)


def test_send_returns_each_reason_with_its_tag_and_the_old_item() -> None:
    old = {"status": {"S": "FUNDED"}}
    client = Refusing(
        "TransactionCanceledException", [{"Code": "ConditionalCheckFailed", "Item": old}, {"Code": "None"}]
    )
    cancelled = transaction(client).send()
    assert cancelled is not None
    assert [(r.tag, r.code, r.old_item) for r in cancelled.failed] == [
        ("loan", "ConditionalCheckFailed", {"status": "FUNDED"})
    ]


def test_throttling_is_translated_not_decoded() -> None:
    with pytest.raises(Throttled):
        transaction(Refusing("ThrottlingException")).commit(loan_conflict)


def test_audit_entries_need_an_audit_table() -> None:
    with pytest.raises(ValueError, match="audit table"):
        Transaction(object(), "main").audit(
            actor=None,  # type: ignore[arg-type]
            timestamp="t",
            entity="loan",
            entity_id="l1",
            action="CREATE",
            before=None,
            after={},
        )


def test_an_update_past_the_item_size_limit_is_a_full_loan_not_a_crash() -> None:
    too_big = {"Code": "ValidationError", "Message": "Item size to update has exceeded the maximum allowed size"}
    with pytest.raises(Conflict, match="^This loan cannot record more invitations") as refused:
        transaction(Refusing("TransactionCanceledException", [too_big, {"Code": "None"}])).commit(loan_conflict)
    assert not isinstance(refused.value, VersionConflict)
    assert refused.value.message == (
        "This loan cannot record more invitations or changes to them: it already lists the most "
        "participants one loan can hold, declined ones included"
    )


def test_any_other_validation_error_is_raised_as_it_came() -> None:
    other = {"Code": "ValidationError", "Message": "One or more parameter values were invalid"}
    with pytest.raises(ClientError):
        transaction(Refusing("TransactionCanceledException", [other, {"Code": "None"}])).commit(loan_conflict)
