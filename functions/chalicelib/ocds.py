"""OCDS (docs/ocds.md): the release feed, the consumer appending a release for each event that
changes a purchase's public state, the daily export. The record route is an area of its own: the
one that loads ocdsmerge."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate
from chalice.app import SQSEvent
from pydantic import AwareDatetime, Field

from chalicelib import startup
from marketplace.domain.ocds import ReleasePackage
from marketplace.observability import log
from marketplace.services import ocds as service
from marketplace.web.http import Call, route
from marketplace.web.pages import PageQuery

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.ocds")
# Stands in for the `ocds` queue's ARN (infra/definitions.py QUEUES), as in notifications.py.
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:ocds"


class ReleaseQuery(PageQuery):
    limit: int = Field(default=50, ge=1, le=100)
    since: AwareDatetime | None = Field(default=None, description="releases published at or after it")


@route(
    bp,
    "/ocds/releases",
    name="list_ocds_releases",
    summary="OCDS releases in the order published, a release package per page",
    query=ReleaseQuery,
    response=ReleasePackage,
    description="`?since=` an ISO 8601 date-time with its offset (releases published at or after "
    "it: the feed is in the order releases were published, each release's `date` is its event's "
    "time); `links.next` is the next page. **204 No Content**, with no body, when there is no "
    "release to list (nothing published since `since`, or none yet): a release package holds at "
    "least one release.",
    no_content="no release to list (none published since `since`, or none yet)",
)
def list_releases(call: Call) -> dict[str, Any] | tuple[int, None]:
    q: ReleaseQuery = call.query
    asked = {"since": q.since.isoformat()} if q.since else {}
    asked["limit"] = str(q.limit)
    uri = service.package_uri(
        call.headers, "/ocds/releases", {**asked, **({"cursor": q.cursor} if q.cursor else {})}
    )
    package, cursor = service.releases_page(since=q.since, limit=q.limit, cursor=q.cursor, uri=uri)
    if package is None:
        return 204, None  # nothing to list: no package (an empty one is not valid OCDS)
    if cursor is not None:
        package["links"] = {
            "next": service.package_uri(call.headers, "/ocds/releases", {**asked, "cursor": cursor})
        }
    return package


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="append_ocds_releases")
def append_ocds_releases(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """A failed message is reported alone (`batchItemFailures`) for SQS to redeliver."""
    return service.consume([m.to_dict() for m in event])


@bp.schedule(Rate(1, unit=Rate.DAYS), name="export_ocds")
def export_ocds(event: Any) -> dict[str, Any]:
    """The previous local day's releases as ocds/releases/YYYY/MM/DD.jsonl (a rerun: same bytes)."""
    report = service.export_day()
    log(logger, logging.INFO, "OCDS releases exported", **report)
    return report


startup.resume_collection()  # a task function's entry module (chalicelib/startup.py)
