"""Rate-limit counters on DynamoDB: one item per subject and window, bumped atomically."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lendbridge.data import names
from lendbridge.domain.rate_limits import CounterUnavailable


class DynamoRateCounters:
    """``ADD`` is atomic on the server, so concurrent containers each get their own count (the
    n-th request of a window sees n) and no read is needed first: one UpdateItem, one write unit
    for an item this small."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def hit(self, key: str, expires_at: int) -> int:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={names.PK: {"S": key}},
                UpdateExpression="ADD #hits :one SET #expires = if_not_exists(#expires, :expires)",
                ExpressionAttributeNames={"#hits": names.RATE_LIMIT_HITS, "#expires": names.RATE_LIMIT_EXPIRY},
                ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": str(expires_at)}},
                ReturnValues="UPDATED_NEW",
            )
        except (ClientError, BotoCoreError) as error:
            # Throttled, down, timed out or refused: the limiter goes blind rather than fail the API.
            raise CounterUnavailable(type(error).__name__) from error
        return int(answer["Attributes"][names.RATE_LIMIT_HITS]["N"])
