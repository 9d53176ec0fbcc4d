"""The district's statistics (docs/statistics.md): the public `GET /statistics` (JSON, or CSV with
`Accept: text/csv`) and the consumer that keeps its aggregates current from the domain events."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib import startup
from marketplace.domain.statistics_report import Figures, StatisticsQuery, StatisticsReport
from marketplace.services import statistics as service
from marketplace.web.http import Call, TextBody, route

bp = Blueprint(__name__)
# The `statistics` queue's ARN stand-in (infra/definitions.py QUEUES; see chalicelib/notifications.py).
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
    if service.wants_csv(call.headers.get("accept", "")):
        return TextBody(CSV, service.report_csv(result))
    return StatisticsReport(
        group_by=result.group_by,
        from_month=result.start,
        to_month=result.end,
        groups=[Figures(value=value, **figures) for value, figures in result.groups],
    )


@bp.on_sqs_message(queue_arn=QUEUE_ARN, batch_size=10, name="fold_statistics")
def fold_statistics(event: SQSEvent) -> dict[str, list[dict[str, str]]]:
    """Fold each queued event; a failed message is reported alone (services.statistics.fold_batch)."""
    return service.fold_batch([record.to_dict() for record in event])


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
