"""Functions no one calls over HTTP: schedules. Each is its own Lambda function with its own role;
both import what either uses, so that a cold start pays for its work at import, not later."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from marketplace.observability import log
from marketplace.repositories import event_bus
from marketplace.services.certificates import daily_check

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.tasks")


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="relay_outbox")
def relay_outbox(event: Any) -> dict[str, int]:
    """Publish the domain events whose immediate publication failed (the outbox's safety net)."""
    published = event_bus.relay()
    if published:
        log(logger, logging.INFO, "outbox relayed", published=published)
    return {"published": published}


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
