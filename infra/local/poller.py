"""The event source mappings moto does not run: each queue's messages go to its consumer handler in
the SQS batch event Lambda receives, one polling thread per queue.

As in AWS with `ReportBatchItemFailures`: a handler that returns normally has its whole batch
deleted, except the messages it lists in `batchItemFailures`; a handler that raises, or lists an
id that is not in the batch, has nothing deleted. Undeleted messages come back after the queue's
visibility timeout, and the queue's redrive policy moves them to its DLQ after maxReceiveCount.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from infra.local import lambdas, naming

logger = logging.getLogger("infra.local.poller")
WAIT_SECONDS = 1  # long-poll length: also how long a stop may take
MAX_BATCH = 10  # SQS hands out at most 10 messages per receive


@dataclass(frozen=True)
class Consumer:
    queue_url: str
    queue_arn: str
    handler_name: str
    handler: lambdas.Handler
    batch_size: int = MAX_BATCH


def batch_size_of(app: Any, handler_name: str) -> int:
    """The Chalice `on_sqs_message(batch_size=...)` of the consumer, capped at what one receive gives."""
    for source in app.event_sources:
        if source.name == handler_name and hasattr(source, "batch_size"):
            return max(1, min(int(source.batch_size), MAX_BATCH))
    return MAX_BATCH


def _attributes(message_attributes: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, value in message_attributes.items():
        converted[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
    return converted


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers."""
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": _attributes(m.get("MessageAttributes", {})),
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": naming.REGION,
        }
        for m in messages
    ]
    return {"Records": records}


def failed_ids(result: Any, batch_ids: set[str]) -> set[str]:
    """The messages to keep; the whole batch when the response is malformed, as in AWS."""
    if not isinstance(result, dict) or not result.get("batchItemFailures"):
        return set()
    failures = result["batchItemFailures"]
    if not isinstance(failures, list):
        return set(batch_ids)
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if len(ids) != len(failures) or not ids <= batch_ids:
        return set(batch_ids)
    return {str(i) for i in ids}


class Poller:
    def __init__(self, sqs: Any, consumers: list[Consumer]) -> None:
        self._sqs = sqs
        self._consumers = consumers
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(c,), name=f"sqs-{c.handler_name}", daemon=True)
            for c in consumers
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = WAIT_SECONDS + 5) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def poll_once(self, consumer: Consumer, wait_seconds: int = 0) -> tuple[int, int]:
        """Receive one batch and hand it to the consumer; returns (received, deleted)."""
        messages = self._sqs.receive_message(
            QueueUrl=consumer.queue_url,
            MaxNumberOfMessages=consumer.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0, 0
        function_name = naming.function_name(consumer.handler_name)
        batch_ids = {m["MessageId"] for m in messages}
        try:
            result = consumer.handler(sqs_event(messages, consumer.queue_arn), lambdas.context(function_name))
            keep = failed_ids(result, batch_ids)
        except Exception:
            logger.exception("queue consumer %s failed; its batch will be retried", consumer.handler_name)
            keep = batch_ids
        done = [m for m in messages if m["MessageId"] not in keep]
        if done:  # a batch is at most 10 messages: one delete call
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            self._sqs.delete_message_batch(QueueUrl=consumer.queue_url, Entries=entries)
        return len(messages), len(done)

    def _loop(self, consumer: Consumer) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(consumer, wait_seconds=WAIT_SECONDS)
            except Exception:
                # The emulator going away at shutdown, mostly; never let the thread die silently.
                if self._stop.wait(1):
                    return
                logger.exception("polling %s failed", consumer.queue_url)
