"""The functions a purchase's window runs (statemachines/purchase-window.asl.json), and the sweeper
that runs any step an execution missed. Each is its own Lambda function with its own role."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.observability import log
from marketplace.services import purchase_window

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.windows")


def _purchase_id(event: Any) -> str:
    if not isinstance(event, dict) or not isinstance(event.get("purchase_id"), str):
        raise ValueError("the task input must carry purchase_id")
    return event["purchase_id"]


@bp.lambda_function(name="close_enrollment")
def close_enrollment(event: Any, context: Any) -> dict[str, Any]:
    """At the enrollment deadline: close, judge every enrollee again, fail with too few."""
    return purchase_window.window_state(purchase_window.close_enrollment(_purchase_id(event)))


@bp.lambda_function(name="close_round")
def close_round(event: Any, context: Any) -> dict[str, Any]:
    """Price bidding, at a further round's deadline: open its quotes, then the next round or the end."""
    return purchase_window.window_state(purchase_window.close_round(_purchase_id(event)))


@bp.lambda_function(name="run_selection")
def run_selection(event: Any, context: Any) -> dict[str, Any]:
    """At the selection time: draw (or short-list) exactly once and publish the result."""
    return purchase_window.window_state(purchase_window.run_selection(_purchase_id(event)))


@bp.lambda_function(name="check_confirmation")
def check_confirmation(event: Any, context: Any) -> dict[str, Any]:
    """At the confirmation deadline: escalate a result still unconfirmed."""
    return purchase_window.window_state(purchase_window.check_confirmation(_purchase_id(event)))


@bp.lambda_function(name="flag_purchase")
def flag_purchase(event: Any, context: Any) -> dict[str, Any]:
    """The window failed after its retries: flag the purchase for the admin, with the error."""
    error = event.get("error") if isinstance(event, dict) else None
    cause = error.get("Error", "") if isinstance(error, dict) else ""
    reason = f"the purchase's window stopped with {cause or 'an error'}; the sweeper retries its due step"
    return purchase_window.window_state(purchase_window.flag(_purchase_id(event), reason))


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="sweep_purchases")
def sweep_purchases(event: Any) -> dict[str, Any]:
    """Close, select, escalate or issue the letter of any purchase whose execution did not."""
    report = purchase_window.sweep()
    if report.advanced or report.restarted or report.failed:
        log(
            logger,
            logging.INFO,
            "purchases swept",
            advanced=len(report.advanced),
            restarted=len(report.restarted),
            failed=len(report.failed),
        )
    return {"advanced": report.advanced, "restarted": report.restarted, "failed": report.failed}


# A task function's entry module: its import is done (chalicelib/startup.py).
startup.resume_collection()
