"""DynamoDB Streams for the local stack: reads a table's stream on DynamoDB Local and hands
batches, shaped as Lambda receives them, to a consumer (the very handler that deploys)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

BATCH_SIZE = 100
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
                    self._iterators[shard_id] = self._streams.get_shard_iterator(
                        StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
                while self._iterators.get(shard_id):
                    response = self._streams.get_records(ShardIterator=self._iterators[shard_id], Limit=BATCH_SIZE)
                    self._iterators[shard_id] = response.get("NextShardIterator")
                    records = response["Records"]
                    if not records:
                        break
                    self._consumer({"Records": [self._as_lambda_record(record) for record in records]})
                    delivered += len(records)
        return delivered

    def start(self, interval_s: float = 0.5) -> StreamPump:
        def run() -> None:
            while not self._stop.wait(interval_s):
                self.drain()

        self._thread = threading.Thread(target=run, name=f"stream-{self._table}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _as_lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        change = dict(record["dynamodb"])
        change.pop("ApproximateCreationDateTime", None)  # a datetime here; Lambda sends epoch seconds
        return {**record, "dynamodb": change, "eventSource": "aws:dynamodb", "eventSourceARN": self._stream_arn}
