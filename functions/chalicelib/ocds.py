"""OCDS open data (docs/ocds.md): the release feed, and the consumer that appends a release for
every event that changes a purchase's public state. The record route is `ocds_records` and the
daily export `ocds_export`: their own areas, so that only they load ocdsmerge's layer."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent
from pydantic import AwareDatetime, Field

from chalicelib import startup
from chalicelib.http import Call, route
from chalicelib.ocds_packages import ReleasePackage, request_uri
from chalicelib.pages import PageQuery
from marketplace.observability import log
from marketplace.services import ocds as service

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.ocds")
# Stands in for the ARN of the `ocds` queue (infra/definitions.py QUEUES); see notifications.py.
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:ocds"


class ReleaseQuery(PageQuery):
    limit: int = Field(default=50, ge=1, le=100)
    since: AwareDatetime | None = Field(
        default=None, description="ISO 8601 date-time with its offset: releases published at or after it"
    )


@route(
    bp,
    "/ocds/releases",
    name="list_ocds_releases",
    summary="OCDS releases, oldest first, as a release package per page",
    query=ReleaseQuery,
    response=ReleasePackage,
    description="Every release of every purchase in the order it was published: `?since=` starts at "
    "an instant (ISO 8601 with its offset); `links.next` is the next page, absent on the last. Each "
    "page is an OCDS 1.1 release package (docs/ocds.md).",
)
def list_releases(call: Call) -> dict[str, Any]:
    q: ReleaseQuery = call.query
    asked = {k: v for k, v in {"since": q.since.isoformat() if q.since else None}.items() if v}
    asked["limit"] = str(q.limit)
    if q.cursor:
        asked["cursor"] = q.cursor
    package, cursor = service.releases_page(
        since=q.since, limit=q.limit, cursor=q.cursor, uri=request_uri(call, "/ocds/releases", asked)
    )
    if cursor is not None:
        package["links"] = {"next": request_uri(call, "/ocds/releases", {**asked, "cursor": cursor})}
    return package


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="append_ocds_releases")
def append_releases(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Append the release each queued event makes. A message that fails is reported alone
    (`batchItemFailures`): SQS redelivers it, and after maxReceiveCount moves it to the dead-letter
    queue; a redelivered event finds its release there and appends nothing."""
    records = [record.to_dict() for record in event]
    failed = [str(r.get("messageId", "")) for r in records if not _appended(r)]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _appended(record: dict[str, Any]) -> bool:
    message_id = str(record.get("messageId", ""))
    try:
        added = service.append(str(record.get("body", "")))
    except service.MalformedMessage as exc:
        log(logger, logging.ERROR, "not a domain event", message_id=message_id, error=str(exc))
        return False
    except Exception:
        logger.exception("OCDS release failed; message %s will be redelivered", message_id)
        return False
    log(logger, logging.INFO, "OCDS release", message_id=message_id, added=added)
    return True


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
