"""Integrity red flags (docs/red-flags.md): the consumer that recomputes a purchase's flags when a
domain event can change them, and the public list `GET /red-flags`."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent
from pydantic import Field

from chalicelib import startup
from chalicelib.http import route
from chalicelib.pages import Page, PageQuery
from marketplace.domain.red_flags import CODES, Flag
from marketplace.observability import log
from marketplace.services import red_flags as service

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.red_flags")
# Stands in for the ARN of the `red-flags` queue (infra/definitions.py QUEUES), which the infra
# build puts in its place (see chalicelib/notifications.py).
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:red-flags"
CODE_CHOICE = "^(" + "|".join(CODES) + ")$"
ID = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


class RedFlagQuery(PageQuery):
    code: str | None = Field(default=None, pattern=CODE_CHOICE, description="an indicator code, e.g. R018")
    owner: str | None = Field(default=None, pattern=ID, description="the owner's id")
    agency: str | None = Field(default=None, pattern=ID, description="an agency the flag concerns")


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="compute_red_flags")
def compute_red_flags(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Recompute the flags each queued event can change. A message that fails is reported alone
    (`batchItemFailures`): SQS redelivers only it, then moves it to the dead-letter queue."""
    records = [record.to_dict() for record in event]
    failed = [str(r.get("messageId", "")) for r in records if not _applied(r)]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _applied(record: dict[str, Any]) -> bool:
    message_id = str(record.get("messageId", ""))
    try:
        raised = service.apply(str(record.get("body", "")))
    except service.MalformedEvent as exc:
        log(logger, logging.ERROR, "not a domain event", message_id=message_id, error=str(exc))
        return False
    except Exception:
        logger.exception("red flags not computed; message %s will be redelivered", message_id)
        return False
    log(logger, logging.INFO, "red flags computed", message_id=message_id, raised=raised)
    return True


@route(
    bp,
    "/red-flags",
    name="list_red_flags",
    summary="Integrity red flags, newest first, by code, owner and agency (public)",
    query=RedFlagQuery,
    response=Page[Flag],
    description="Every filter is optional and they combine; each combination is one Query. A flag "
    "is a reason to look closer, never a verdict; a cleared flag stays listed with `state` "
    "`cleared` and its history (docs/red-flags.md).",
)
def list_red_flags(call: Any) -> Page[Flag]:
    q: RedFlagQuery = call.query
    items, cursor = service.list_flags(
        code=q.code, owner=q.owner, agency=q.agency, limit=q.limit, cursor=q.cursor
    )
    return Page[Flag](items=items, cursor=cursor)


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
