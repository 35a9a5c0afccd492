"""Lambda event source mappings from the template, for DynamoDB streams: each mapping's table
stream is read on DynamoDB Local (``local.streams.StreamPump``) and its batches, filtered by the
mapping's FilterCriteria, are handed to the function's workers, as Lambda's poller would.

Failures follow the mapping's settings, shortened for a laptop: a failed batch (or, with
ReportBatchItemFailures, its failed records) is retried up to MaximumRetryAttempts times
(at most ``LOCAL_MAX_RETRIES``), then described on the OnFailure SQS queue in moto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.apimodel import Function, function_of
from local.streams import StreamPump
from local.template import Assembly
from local.workers import FunctionPool, LogSink

LOCAL_MAX_RETRIES = 2


@dataclass(frozen=True)
class StreamMapping:
    logical_id: str
    function: Function
    table_name: str
    stream_arn: str
    batch_size: int
    filters: tuple[Mapping[str, Any], ...]
    report_item_failures: bool
    max_retries: int
    on_failure_queue_url: str | None


def stream_mappings(assembly: Assembly) -> list[StreamMapping]:
    """Every enabled mapping whose source is a DynamoDB table stream of the assembly."""
    streams = {
        bound.get("StreamArn"): bound["Ref"]
        for (stack, logical_id), bound in assembly.physical.items()
        if assembly.resource(stack, logical_id).get("Type") == "AWS::DynamoDB::Table"
    }
    found = []
    for stack, logical_id, resource in assembly.resources("AWS::Lambda::EventSourceMapping"):
        properties = resource["Properties"]
        source = assembly.resolve(stack, properties.get("EventSourceArn"))
        if source not in streams or properties.get("Enabled") is False:
            continue
        destination = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        found.append(
            StreamMapping(
                logical_id=logical_id,
                function=function_of(assembly, stack, properties["FunctionName"]),
                table_name=streams[source],
                stream_arn=str(source),
                batch_size=int(properties.get("BatchSize", 100)),
                filters=tuple(
                    json.loads(item["Pattern"]) for item in (properties.get("FilterCriteria") or {}).get("Filters", [])
                ),
                report_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                max_retries=min(int(properties.get("MaximumRetryAttempts", LOCAL_MAX_RETRIES)), LOCAL_MAX_RETRIES),
                on_failure_queue_url=_queue_url(assembly, stack, destination) if destination else None,
            )
        )
    return found


def _queue_url(assembly: Assembly, stack: str, destination: Any) -> str | None:
    arn = assembly.resolve(stack, destination)
    for (_, _), bound in assembly.physical.items():
        if bound.get("Arn") == arn and "QueueUrl" in bound:
            return bound["QueueUrl"]
    return None


class StreamConsumer:
    """Delivers one mapping's batches to its function; never raises (the pump would stop)."""

    def __init__(self, mapping: StreamMapping, pool: FunctionPool, sqs: Any, log: LogSink) -> None:
        self.mapping = mapping
        self._pool = pool
        self._sqs = sqs
        self._log = log

    def __call__(self, event: Mapping[str, Any]) -> None:
        try:
            records = [record for record in event.get("Records", []) if self._wanted(record)]
            for start in range(0, len(records), self.mapping.batch_size):
                self._deliver(records[start : start + self.mapping.batch_size])
        except Exception as error:  # noqa: BLE001 - logged; the pump keeps going
            self._log(f"[{self.mapping.function.name}] stream delivery failed: {error!r}")

    def _wanted(self, record: Mapping[str, Any]) -> bool:
        return not self.mapping.filters or any(matches(pattern, record) for pattern in self.mapping.filters)

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        pending = records
        for attempt in range(self.mapping.max_retries + 1):
            invocation = self._pool.invoke({"Records": pending})
            if not invocation.ok:
                failed = pending
            elif self.mapping.report_item_failures and isinstance(invocation.result, dict):
                failures = {item.get("itemIdentifier") for item in invocation.result.get("batchItemFailures") or []}
                failed = [record for record in pending if record["dynamodb"].get("SequenceNumber") in failures]
            else:
                failed = []
            if not failed:
                return
            self._log(f"[{self.mapping.function.name}] {len(failed)} stream record(s) failed (attempt {attempt + 1})")
            pending = failed
        self._dead_letter(pending)

    def _dead_letter(self, records: Sequence[Mapping[str, Any]]) -> None:
        """What Lambda sends to a stream mapping's failure destination: where, not what."""
        sequence = [record["dynamodb"].get("SequenceNumber") for record in records]
        message = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.mapping.max_retries + 1,
            },
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": sequence[0],
                "endSequenceNumber": sequence[-1],
                "batchSize": len(records),
                "streamArn": self.mapping.stream_arn,
            },
        }
        if self.mapping.on_failure_queue_url is None:
            self._log(f"[{self.mapping.function.name}] dropped {len(records)} record(s): no failure destination")
            return
        self._sqs.send_message(QueueUrl=self.mapping.on_failure_queue_url, MessageBody=json.dumps(message))
        self._log(f"[{self.mapping.function.name}] sent {len(records)} failed record(s) to the failure queue")


def start_pump(mapping: StreamMapping, dynamodb_endpoint: str, consumer: StreamConsumer) -> StreamPump:
    return StreamPump(dynamodb_endpoint, mapping.table_name, consumer).start()


def matches(pattern: Mapping[str, Any], value: Any) -> bool:
    """Lambda event filtering (the EventBridge pattern syntax): every key of the pattern must
    match; a list offers alternatives, literal or rules (prefix, exists, anything-but...)."""
    if not isinstance(value, Mapping):
        return False
    for key, rule in pattern.items():
        present = key in value
        field = value.get(key)
        if isinstance(rule, Mapping):
            if not matches(rule, field):
                return False
        elif isinstance(rule, list):
            if not any(_matches_one(option, field, present) for option in rule):
                return False
        elif rule != field:
            return False
    return True


def _matches_one(option: Any, field: Any, present: bool) -> bool:
    values = field if isinstance(field, list) else [field]
    if not isinstance(option, Mapping):
        return present and option in values
    if "exists" in option:
        return present is bool(option["exists"])
    if "prefix" in option:
        return present and any(isinstance(item, str) and item.startswith(option["prefix"]) for item in values)
    if "anything-but" in option:
        excluded = option["anything-but"]
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return present and all(item not in excluded for item in values)
    if "equals-ignore-case" in option:
        wanted = str(option["equals-ignore-case"]).lower()
        return present and any(isinstance(item, str) and item.lower() == wanted for item in values)
    return present  # numeric and other rules: accept rather than drop records silently
