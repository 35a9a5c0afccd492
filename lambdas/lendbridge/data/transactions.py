"""One builder for every conditional write: the actions of one TransactWriteItems (puts,
updates, condition checks, audit entries), its commit, and the reading of a cancellation.

Each action may carry a tag (what a failed condition on it means to the caller); a cancelled
transaction comes back as a ``Cancellation`` that lists, per action and in request order, the
tag, DynamoDB's reason code and the item as it was (when the action asked for it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lendbridge.data.audit import Action, audit_put
from lendbridge.data.dynamo import NEW_ITEM, error_code, from_item, put_action, to_item, to_values, translated_errors
from lendbridge.domain.loans import VersionConflict, loan_record_full
from lendbridge.domain.ports import Actor, IdGenerator

CONDITION_FAILED = "ConditionalCheckFailed"
VALIDATION_ERROR = "ValidationError"
# DynamoDB's reason for an update that would make an item larger than 400 KB.
_TOO_LARGE = "exceeded the maximum allowed size"
TRANSACTION_CONFLICT = "TransactionConflict"


@dataclass(frozen=True)
class Reason:
    tag: object
    code: str
    old_item: dict[str, Any] | None
    message: str = ""


@dataclass(frozen=True)
class Cancellation:
    reasons: tuple[Reason, ...]

    @property
    def failed(self) -> tuple[Reason, ...]:
        """The actions whose condition failed."""
        return tuple(reason for reason in self.reasons if reason.code == CONDITION_FAILED)

    @property
    def raced(self) -> bool:
        """A concurrent transaction touched one of the items."""
        return any(reason.code == TRANSACTION_CONFLICT for reason in self.reasons)


Decoder = Callable[[Cancellation], Exception | None]


class Transaction:
    def __init__(
        self, client: Any, table: str, *, audit_table: str | None = None, new_id: IdGenerator | None = None
    ) -> None:
        self._client = client
        self._table = table
        self._audit_table = audit_table
        self._new_id = new_id
        self._actions: list[dict[str, Any]] = []
        self._tags: list[object] = []

    def __len__(self) -> int:
        return len(self._actions)

    def put(
        self,
        item: Mapping[str, Any],
        condition: str = NEW_ITEM,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        tag: object = None,
    ) -> None:
        self._add(put_action(self._table, item, condition, names=names, values=values), tag)

    def update(
        self,
        key: tuple[str, str],
        expression: str,
        condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        return_old: bool = False,
        tag: object = None,
    ) -> None:
        """``return_old`` returns the item as it was if the condition fails (for the reason)."""
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"PK": key[0], "SK": key[1]}),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if names:
            update["ExpressionAttributeNames"] = dict(names)
        if values:
            update["ExpressionAttributeValues"] = to_values(values)
        if return_old:
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._add({"Update": update}, tag)

    def check(
        self,
        key: tuple[str, str],
        condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        tag: object = None,
    ) -> None:
        """A condition on an item the transaction does not change (ConditionCheck)."""
        check: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"PK": key[0], "SK": key[1]}),
            "ConditionExpression": condition,
        }
        if names:
            check["ExpressionAttributeNames"] = dict(names)
        if values:
            check["ExpressionAttributeValues"] = to_values(values)
        self._add({"ConditionCheck": check}, tag)

    def audit(
        self,
        actor: Actor,
        timestamp: str,
        entity: str,
        entity_id: str,
        action: Action,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        *,
        scope_pk: str | None = None,
    ) -> None:
        """The change's audit entry, written in the same transaction as the change."""
        if self._audit_table is None or self._new_id is None:
            raise ValueError("This transaction was built without an audit table")
        entry = audit_put(
            table=self._audit_table,
            audit_id=self._new_id(),
            timestamp=timestamp,
            entity=entity,
            entity_id=entity_id,
            action=action,
            actor=actor,
            before=before,
            after=after,
            scope_pk=scope_pk,
        )
        self._add(entry, None)

    def send(self) -> Cancellation | None:
        """Write every action or none: None when written, else why DynamoDB cancelled it."""
        error = self._write()
        return None if error is None else _cancellation(error, self._tags)

    def commit(self, decode: Decoder) -> None:
        """Write every action or none; a cancellation raises what ``decode`` makes of it (the
        original error if it makes nothing of it)."""
        error = self._write()
        if error is None:
            return
        reason = decode(_cancellation(error, self._tags))
        if reason is None:
            raise error
        raise reason from error

    def _write(self) -> ClientError | None:
        """One TransactWriteItems; returns its cancellation, raises any other failure."""
        try:
            with translated_errors():
                self._client.transact_write_items(TransactItems=self._actions)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            return error
        return None

    def _add(self, action: dict[str, Any], tag: object) -> None:
        self._actions.append(action)
        self._tags.append(tag)


def _cancellation(error: ClientError, tags: list[object]) -> Cancellation:
    reasons = error.response.get("CancellationReasons") or []
    return Cancellation(
        tuple(
            Reason(
                tag=tag,
                code=str(reason.get("Code", "None")),
                old_item=from_item(reason["Item"]) if reason.get("Item") else None,
                message=str(reason.get("Message", "")),
            )
            for tag, reason in zip(tags, reasons, strict=False)
        )
    )


def tagged_conflict(cancellation: Cancellation) -> Exception | None:
    """For writes whose actions are tagged with the exception a failed condition means: the
    first failed action's exception; a race with another transaction is the fallback's."""
    for reason in cancellation.failed:
        if isinstance(reason.tag, Exception):
            return reason.tag
    return None


def too_large(cancellation: Cancellation) -> bool:
    """An update would take an item past DynamoDB's 400 KB (a loan whose roster lists thousands
    of participants, declined ones included)."""
    return any(reason.code == VALIDATION_ERROR and _TOO_LARGE in reason.message for reason in cancellation.reasons)


def loan_conflict(cancellation: Cancellation) -> Exception | None:
    """The loan store's reading: a loan item that cannot grow is full; a failed condition, or a
    race with another transaction, means the loan changed meanwhile."""
    if too_large(cancellation):
        return loan_record_full()
    if cancellation.failed or cancellation.raced:
        return VersionConflict("The loan changed while this request ran")
    return None
