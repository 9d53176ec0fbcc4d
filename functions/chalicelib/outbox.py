"""The outbox's safety net, a schedule no one calls over HTTP: its own Lambda function and area,
so that its cold start loads the event bus's repository and nothing of the other tasks' (the
certificate check loads the agencies' models and services)."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.repositories import event_bus

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.tasks")


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="relay_outbox")
def relay_outbox(event: Any) -> dict[str, int]:
    """Publish the domain events whose immediate publication failed (the outbox's safety net)."""
    published = event_bus.relay()
    if published:
        log(logger, logging.INFO, "outbox relayed", published=published)
    return {"published": published}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
