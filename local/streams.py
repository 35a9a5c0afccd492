"""DynamoDB Streams for the local stack: reads a table's stream on DynamoDB Local and hands
batches, shaped as Lambda receives them, to a consumer (the very handler that deploys)."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.shutdown import remaining

BATCH_SIZE = 100
_STALE_ITERATOR = ("TrimmedDataAccessException", "ExpiredIteratorException")
logger = logging.getLogger(__name__)
Consumer = Callable[[dict[str, Any]], Any]


class StreamPump:
    def __init__(self, endpoint: str, table_name: str, consumer: Consumer, region: str = "us-east-1") -> None:
        settings: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            "config": Config(retries={"mode": "standard", "total_max_attempts": 3}),
        }
        self._dynamodb = boto3.client("dynamodb", **settings)
        self._streams = boto3.client("dynamodbstreams", **settings)
        self._table = table_name
        self._consumer = consumer
        self._iterators: dict[str, str | None] = {}
        self._last_sequence: dict[str, str] = {}
        self._stream_arn = self._dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def drain(self) -> int:
        """Deliver every record written so far; returns how many were delivered."""
        delivered = 0
        with self._lock:
            for shard in self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]:
                shard_id = shard["ShardId"]
                if shard_id not in self._iterators:
                    self._iterators[shard_id] = self._fresh_iterator(shard_id)
                while self._iterators.get(shard_id) and not self._stop.is_set():
                    response = self._records(shard_id)
                    self._iterators[shard_id] = response.get("NextShardIterator")
                    records = response["Records"]
                    if not records:
                        break
                    self._consumer({"Records": [self._as_lambda_record(record) for record in records]})
                    self._last_sequence[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                    delivered += len(records)
        return delivered

    def _records(self, shard_id: str) -> dict[str, Any]:
        try:
            return dict(self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=BATCH_SIZE))
        except ClientError as error:
            # DynamoDB Local leaves gaps in sequence numbers (a transaction's condition check
            # takes one), after which an iterator saved from an empty read is refused as
            # "trimmed"; iterators also expire after 15 minutes. Start again after the last
            # record delivered.
            if error.response.get("Error", {}).get("Code") not in _STALE_ITERATOR:
                raise
            self._iterators[shard_id] = self._fresh_iterator(shard_id)
            return dict(self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=BATCH_SIZE))

    def _fresh_iterator(self, shard_id: str) -> str:
        position: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in self._last_sequence:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_sequence[shard_id]}
        response = self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard_id, **position)
        return str(response["ShardIterator"])

    def start(self, interval_s: float = 0.5) -> StreamPump:
        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.drain()
                except Exception:  # a failed poll is logged and retried at the next interval
                    logger.exception("stream poll failed for %s", self._table)

        self._thread = threading.Thread(target=run, name=f"stream-{self._table}", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """No read starts after this; a delivery under way is finished."""
        self._stop.set()

    def join(self, deadline: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=remaining(deadline))

    def _as_lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = {
            name: {key: _as_json_value(value) for key, value in images.items()}
            if name in ("Keys", "NewImage", "OldImage")
            else images
            for name, images in record["dynamodb"].items()
        }
        change.pop("ApproximateCreationDateTime", None)  # a datetime here; Lambda sends epoch seconds
        return {**record, "dynamodb": change, "eventSource": "aws:dynamodb", "eventSourceARN": self._stream_arn}


def _as_json_value(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as Lambda's event JSON carries it: boto3 gives binaries as bytes,
    Lambda sends them base64-encoded (a loan's set of invitee tags is one)."""
    kind, content = next(iter(value.items()))
    if kind == "B":
        return {"B": base64.b64encode(content).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(item).decode() for item in content]}
    if kind == "M":
        return {"M": {name: _as_json_value(item) for name, item in content.items()}}
    if kind == "L":
        return {"L": [_as_json_value(item) for item in content]}
    return value
