"""The district's statistics (docs/statistics.md): the public `GET /statistics` (JSON, or CSV with
`Accept: text/csv`) and the consumer that keeps its aggregates current from the domain events."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib import startup
from chalicelib.http import Call, TextBody, route
from marketplace.domain.statistics_report import Figures, StatisticsQuery, StatisticsReport
from marketplace.observability import log
from marketplace.services import statistics as service

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.statistics")
# Stands in for the ARN of the `statistics` queue (infra/definitions.py QUEUES), which the infra
# build puts in its place (see chalicelib/notifications.py).
QUEUE_ARN = "arn:aws-cn:sqs:cn-north-1:000000000000:statistics"
CSV = "text/csv; charset=utf-8"


@route(
    bp,
    "/statistics",
    name="get_statistics",
    summary="The district's statistics by item, industry, region, owner or month",
    query=StatisticsQuery,
    response=StatisticsReport,
    alternates=(CSV,),
    description="Purchases are counted in their month of publication (local time). JSON by default; "
    "`Accept: text/csv` answers CSV, a header row and one row per group. docs/statistics.md "
    "defines every figure.",
)
def get_statistics(call: Call) -> StatisticsReport | TextBody:
    q: StatisticsQuery = call.query
    result = service.report(q.group_by, q.from_, q.to)
    if _wants_csv(call.headers.get("accept", "")):
        return TextBody(CSV, service.report_csv(result))
    return StatisticsReport(
        group_by=result.group_by,
        from_month=result.start,
        to_month=result.end,
        groups=[Figures(value=value, **figures) for value, figures in result.groups],
    )


def _wants_csv(accept: str) -> bool:
    """CSV when the caller accepts it and does not rank JSON above it (no q-values: listed order)."""
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    if "text/csv" not in types:
        return False
    return "application/json" not in types or types.index("text/csv") < types.index("application/json")


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="fold_statistics")
def fold_statistics(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Fold each queued event into the aggregates. A message that fails is reported alone
    (`batchItemFailures`): SQS redelivers it, and after maxReceiveCount moves it to the
    dead-letter queue; a redelivered event is folded once (the ledger's conditional put)."""
    records = [record.to_dict() for record in event]
    failed = [str(r.get("messageId", "")) for r in records if not _folded(r)]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _folded(record: dict[str, Any]) -> bool:
    message_id = str(record.get("messageId", ""))
    try:
        changed = service.fold_message(str(record.get("body", "")))
    except service.MalformedEvent as exc:
        log(logger, logging.ERROR, "not a domain event", message_id=message_id, error=str(exc))
        return False
    except Exception:
        logger.exception("statistics fold failed; message %s will be redelivered", message_id)
        return False
    log(logger, logging.INFO, "statistics folded", message_id=message_id, changed=changed)
    return True


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
