"""The contract deadline's task: reminders before it and the escalation at it (services.contracts).
Its own function and role, scheduled hourly."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services import contracts

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.contract_deadlines")


@bp.schedule(Rate(1, unit=Rate.HOURS), name="check_contracts")
def check_contracts(event: Any) -> dict[str, Any]:
    """Hourly: remind the parties 7 and 1 days before the contract deadline; at the deadline tell
    the admin of every confirmed purchase with no signed contract (once)."""
    report = contracts.check_deadlines()
    if report.reminded or report.escalated or report.failed:
        log(
            logger,
            logging.INFO,
            "contract deadlines checked",
            reminded=len(report.reminded),
            escalated=len(report.escalated),
            failed=len(report.failed),
        )
    return {"reminded": report.reminded, "escalated": report.escalated, "failed": report.failed}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
