"""Inboxes (DOMAIN.md §11): the consumer that turns domain events into inbox entries, and the
routes a signed-in caller reads and marks their own inbox with."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent
from pydantic import Field

from chalicelib import startup
from marketplace.domain.model import StrictModel
from marketplace.domain.notifications import MalformedEvent, Notification
from marketplace.observability import log
from marketplace.services import notifications as service
from marketplace.web.http import SIGNED_IN, Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.notifications")
# Stands in for the ARN of the `notifications` queue (infra/definitions.py QUEUES), which the
# infra build puts in its place. An ARN, not a queue name: Chalice writes a name as an `Fn::Sub`
# object, which the merge template could only add keys to, not replace.
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:notifications"


class NotificationQuery(PageQuery):
    unread: bool = False
    industry: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="a regulator: read the inbox its industry's regulators share instead of its own",
    )


class ReadQuery(StrictModel):
    industry: str | None = Field(default=None, min_length=1, max_length=40)


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="notify")
def notify(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Deliver each queued event to its inboxes. A message that fails is reported alone
    (`batchItemFailures`), so SQS redelivers only it, and after the queue's maxReceiveCount moves
    it to the dead-letter queue; the rest of the batch is done."""
    records = [record.to_dict() for record in event]
    failed = [str(r.get("messageId", "")) for r in records if not _delivered(r)]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _delivered(record: dict[str, Any]) -> bool:
    message_id = str(record.get("messageId", ""))
    try:
        added = service.deliver(str(record.get("body", "")))
    except MalformedEvent as exc:
        # Retrying cannot fix it: reported as failed, it ends in the dead-letter queue for a person.
        log(logger, logging.ERROR, "not a domain event", message_id=message_id, error=str(exc))
        return False
    except Exception:
        # Anything else (throttling, a timeout) may pass: SQS redelivers this message alone.
        logger.exception("notification delivery failed; message %s will be redelivered", message_id)
        return False
    log(logger, logging.INFO, "notifications delivered", message_id=message_id, added=added)
    return True


@route(
    bp,
    "/me/notifications",
    name="list_notifications",
    summary="The caller's inbox, newest first (admins share one inbox)",
    roles=SIGNED_IN,
    query=NotificationQuery,
    response=Page[Notification],
    description="`?unread=true` lists unread entries only. Owners and agencies read their "
    "organisation's inbox; admins read the admins' inbox; a regulator reads its own, or with "
    "`?industry=` the one its industry's regulators share (complaints to decide).",
)
def list_notifications(call: Call) -> Page[Notification]:
    q: NotificationQuery = call.query
    items, cursor = service.list_notifications(
        call.caller, unread_only=q.unread, limit=q.limit, cursor=q.cursor, industry=q.industry
    )
    return Page[Notification](items=items, cursor=cursor)


@route(
    bp,
    "/me/notifications/{notification_id}/read",
    "POST",
    name="mark_notification_read",
    summary="Mark one of the caller's notifications read (again: no change)",
    roles=SIGNED_IN,
    query=ReadQuery,
    response=Notification,
)
def mark_read(call: Call) -> Notification:
    return service.mark_read(call.caller, call.params["notification_id"], call.query.industry)


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
