"""The task that lifts the blacklist (黑名单) when its period ends: its own Lambda function and role."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services.blacklist import lift_due

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.blacklist")


@bp.schedule(Rate(1, unit=Rate.HOURS), name="lift_blacklists")
def lift_blacklists(event: Any) -> dict[str, Any]:
    """Hourly: restore the items of every agency whose blacklist period has ended."""
    report = lift_due()
    if report.lifted or report.deferred:
        log(
            logger,
            logging.INFO,
            "blacklists lifted",
            lifted=len(report.lifted),
            deferred=len(report.deferred),
        )
    return {"lifted": report.lifted, "kept": report.kept, "deferred": report.deferred}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
