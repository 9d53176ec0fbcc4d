"""Credit's scheduled task: its own Lambda function and role (chalicelib/tasks.py explains why)."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services.credit import expire_due

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.credit")


@bp.schedule(Rate(1, unit=Rate.DAYS), name="expire_credit")
def expire_credit(event: Any) -> dict[str, Any]:
    """Daily: recompute the standings whose next date has passed (an event stops counting, a
    blacklist ends), found by a Query on the `by-credit-due` index."""
    report = expire_due()
    log(
        logger,
        logging.INFO,
        "credit expired",
        recomputed=len(report.recomputed),
        lifted=len(report.lifted),
        deferred=len(report.deferred),
    )
    return {"recomputed": report.recomputed, "lifted": report.lifted, "deferred": report.deferred}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
