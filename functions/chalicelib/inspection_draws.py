"""The inspections' draw task: a schedule every minute, its own Lambda function with its own role.
It Queries the `by-due` index for plans whose draw time came, never Scans; each is drawn once
(a conditional update from `planned`: a second run finds it drawn)."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services import inspections

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.inspection_draws")


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="draw_inspections")
def draw_inspections(event: Any) -> dict[str, Any]:
    """Every minute: draw the inspection plans whose draw time has come."""
    report = inspections.draw_due()
    if report.drawn or report.failed:
        log(logger, logging.INFO, "inspections drawn", drawn=len(report.drawn), failed=len(report.failed))
    return {"drawn": report.drawn, "skipped": report.skipped, "failed": report.failed}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
