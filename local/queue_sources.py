"""Lambda event source mappings from the template, for SQS queues: each mapping's queue is
long-polled on moto and its messages, shaped as Lambda's SQS poller delivers them, are handed to
the function's workers (the very handler that deploys).

As in AWS: a batch that succeeds is deleted; with ReportBatchItemFailures only the messages the
function names stay; a failed invocation leaves the whole batch. What stays becomes visible
again (after ``LOCAL_RETRY_DELAY_S`` here rather than the queue's visibility timeout, which is
minutes) and, once received as often as the queue's RedrivePolicy allows, moto moves it to the
dead-letter queue.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local.apimodel import Function, function_of
from local.shutdown import remaining
from local.template import REGION, Assembly
from local.workers import FunctionPool, LogSink

LOCAL_RETRY_DELAY_S = 1
# Lambda polls a queue with many concurrent batches (up to the mapping's MaximumConcurrency);
# here a mapping gets that many polling threads, at most this many, so one slow invocation
# (a webhook receiver that hangs for its whole timeout) does not hold the messages behind it.
LOCAL_MAX_POLLERS = 4
LONG_POLL_S = 1  # short enough for a prompt stop
SQS_MAX_BATCH = 10  # ReceiveMessage's limit; larger mapping batches arrive in several calls
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueueMapping:
    logical_id: str
    function: Function
    queue_url: str
    queue_arn: str
    batch_size: int
    report_item_failures: bool
    concurrency: int = 1


def queue_mappings(assembly: Assembly) -> list[QueueMapping]:
    """Every enabled mapping whose source is an SQS queue of the assembly (call after provisioning)."""
    queues = {
        bound.get("Arn"): bound["QueueUrl"]
        for (stack, logical_id), bound in assembly.physical.items()
        if assembly.resource(stack, logical_id).get("Type") == "AWS::SQS::Queue" and "QueueUrl" in bound
    }
    found = []
    for stack, logical_id, resource in assembly.resources("AWS::Lambda::EventSourceMapping"):
        properties = resource["Properties"]
        source = assembly.resolve(stack, properties.get("EventSourceArn"))
        if source not in queues or properties.get("Enabled") is False:
            continue
        found.append(
            QueueMapping(
                logical_id=logical_id,
                function=function_of(assembly, stack, properties["FunctionName"]),
                queue_url=queues[source],
                queue_arn=str(source),
                batch_size=int(properties.get("BatchSize", 10)),
                report_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
                concurrency=min(
                    int((properties.get("ScalingConfig") or {}).get("MaximumConcurrency", 1)), LOCAL_MAX_POLLERS
                ),
            )
        )
    return found


def lambda_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One SQS message as Lambda puts it in the event's ``Records``."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {key[0].lower() + key[1:]: value for key, value in attribute.items()}
            for name, attribute in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


class QueuePoller:
    """Delivers one mapping's messages to its function; ``poll`` never raises from the thread."""

    def __init__(self, mapping: QueueMapping, pool: FunctionPool, sqs: Any, log: LogSink) -> None:
        self.mapping = mapping
        self._pool = pool
        self._sqs = sqs
        self._log = log
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def poll(self, wait_s: int = 0) -> int:
        """Receive one batch and deliver it; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(self.mapping.batch_size, SQS_MAX_BATCH),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if received and self._stop.is_set():
            # Received while stopping: the function's workers are going too. Handed back at once,
            # not counted as a failed delivery.
            self._release(received, 0)
        elif received:
            self._deliver(received)
        return len(received)

    def _release(self, messages: Sequence[Mapping[str, Any]], visible_in_s: int) -> None:
        self._sqs.change_message_visibility_batch(
            QueueUrl=self.mapping.queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": visible_in_s}
                for n, message in enumerate(messages)
            ],
        )

    def _deliver(self, messages: Sequence[Mapping[str, Any]]) -> None:
        records = [lambda_record(message, self.mapping.queue_arn) for message in messages]
        invocation = self._pool.invoke({"Records": records})
        if not invocation.ok:
            failed = {record["messageId"] for record in records}
            error = invocation.error or {}
            self._log(f"[{self.mapping.function.name}] batch failed: {error.get('errorType')}")
        elif self.mapping.report_item_failures and isinstance(invocation.result, dict):
            failed = {item.get("itemIdentifier") for item in invocation.result.get("batchItemFailures") or []}
        else:
            failed = set()
        done = [record for record in records if record["messageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.mapping.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(done)],
            )
        retry = [message for message in messages if message["MessageId"] in failed]
        if retry:
            name = self.mapping.function.name
            self._log(f"[{name}] {len(retry)} message(s) failed; retried in {LOCAL_RETRY_DELAY_S} s")
            self._release(retry, LOCAL_RETRY_DELAY_S)

    def start(self) -> QueuePoller:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    self.poll(wait_s=LONG_POLL_S)
                except Exception:  # a failed poll is logged and tried again
                    if self._stop.is_set():
                        return  # moto may be going too: nothing to report
                    logger.exception("queue poll failed for %s", self.mapping.queue_url)
                    # Interrupted by stop: a stop never waits for this pause.
                    self._stop.wait(LONG_POLL_S)

        for number in range(max(1, self.mapping.concurrency)):
            thread = threading.Thread(target=run, name=f"queue-{self.mapping.function.name}-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def request_stop(self) -> None:
        """No poll starts after this; one under way ends within its long poll (``LONG_POLL_S``)
        or with the delivery it is making."""
        self._stop.set()

    def join(self, deadline: float) -> None:
        for thread in self._threads:
            thread.join(timeout=remaining(deadline))

    def stop(self, timeout_s: float = LONG_POLL_S + 5) -> None:
        self.request_stop()
        self.join(time.monotonic() + timeout_s)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until the queue holds no message, visible or in flight (for tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.mapping.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if not any(int(value) for value in attributes.values()):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.mapping.queue_url} still holds messages after {timeout_s} s")
