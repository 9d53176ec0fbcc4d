"""What every consumer of a queue of domain events (the OCDS releases, the red flags, the
statistics) does with an SQS batch: each message handled alone; one that fails is reported in
`batchItemFailures`, so SQS redelivers only it and, after the queue's maxReceiveCount, moves it to
the dead-letter queue. Each consumer applies a redelivered event once (its own DynamoDB guard)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from marketplace.observability import log


class MalformedMessage(ValueError):
    """A queued message that is not a domain event: retrying cannot fix it, so it is reported failed
    and ends in the dead-letter queue for a person to look at."""


def event_detail(message_body: str) -> dict[str, Any]:
    """The event in an EventBridge message, with its `data` object."""
    try:
        envelope = json.loads(message_body)
    except ValueError as exc:
        raise MalformedMessage("the message body is not JSON") from exc
    detail = envelope.get("detail") if isinstance(envelope, dict) else None
    if not isinstance(detail, dict) or not isinstance(detail.get("data"), dict):
        raise MalformedMessage("the message carries no event detail")
    return detail


def handle_batch(
    records: list[dict[str, Any]], handle: Callable[[str], object], *, logger: logging.Logger, done: str
) -> dict[str, list[dict[str, str]]]:
    """Run `handle` on each message body; the SQS answer naming the messages that failed."""
    failed = []
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            outcome = handle(str(record.get("body", "")))
        except MalformedMessage as exc:
            log(logger, logging.ERROR, "not a domain event", message_id=message_id, error=str(exc))
            failed.append(message_id)
            continue
        except Exception:
            # Anything else (throttling, a timeout) may pass: SQS redelivers this message alone.
            logger.exception("%s failed; message %s will be redelivered", done, message_id)
            failed.append(message_id)
            continue
        log(logger, logging.INFO, done, message_id=message_id, outcome=outcome)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
