"""Red flags (docs/red-flags.md): the consumer recomputing a purchase's flags, and GET /red-flags."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib import startup
from marketplace.domain.red_flags import Flag, RedFlagQuery
from marketplace.services import red_flags as service
from marketplace.web.http import route
from marketplace.web.pages import Page

bp = Blueprint(__name__)
# The `red-flags` queue's ARN, replaced by the infra build (see chalicelib/notifications.py).
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:red-flags"


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="compute_red_flags")
def compute_red_flags(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    return service.consume([record.to_dict() for record in event])


@route(
    bp,
    "/red-flags",
    name="list_red_flags",
    summary="Integrity red flags, newest first, by code, owner and agency (public)",
    query=RedFlagQuery,
    response=Page[Flag],
    description="Filters combine; each combination is one Query. Cleared flags stay, with `state`.",
)
def list_red_flags(call: Any) -> Page[Flag]:
    q: RedFlagQuery = call.query
    items, cursor = service.list_flags(
        code=q.code, owner=q.owner, agency=q.agency, limit=q.limit, cursor=q.cursor
    )
    return Page[Flag](items=items, cursor=cursor)


startup.resume_collection()  # a task function's entry module (chalicelib/startup.py)
