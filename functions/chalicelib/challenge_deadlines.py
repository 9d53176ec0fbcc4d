"""The challenges' sweeper: a schedule, its own Lambda function with its own role. It Queries the
`by-due` index for challenges whose deadline passed, never Scans."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services import challenges

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.challenge_deadlines")


@bp.schedule(Rate(15, unit=Rate.MINUTES), name="sweep_challenges")
def sweep_challenges(event: Any) -> dict[str, Any]:
    """Escalate challenges unanswered past their deadline to the admin; close passed complaint windows."""
    report = challenges.sweep()
    if report.escalated or report.closed or report.failed:
        log(
            logger,
            logging.INFO,
            "challenges swept",
            escalated=len(report.escalated),
            closed=len(report.closed),
            failed=len(report.failed),
        )
    return {"escalated": report.escalated, "closed": report.closed, "failed": report.failed}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
