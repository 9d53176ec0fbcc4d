"""Functions no one calls over HTTP: schedules. Each is its own Lambda function with its own role,
and imports what it uses, so that a cold start pays for its work at import, not later. The
outbox's relay is its own area (chalicelib/outbox.py): it needs none of this."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services.certificates import daily_check

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.tasks")


@bp.schedule(Rate(1, unit=Rate.DAYS), name="check_certificates")
def check_certificates(event: Any) -> dict[str, Any]:
    """Daily: notify agencies of certificates expiring soon; suspend items whose certificates expired."""
    report = daily_check()
    log(
        logger,
        logging.INFO,
        "certificates checked",
        notified=len(report.notified),
        suspended_items=len(report.suspended_items),
        deferred=len(report.deferred),
    )
    return {
        "notified": report.notified,
        "suspended_items": report.suspended_items,
        "deferred": report.deferred,
    }


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
