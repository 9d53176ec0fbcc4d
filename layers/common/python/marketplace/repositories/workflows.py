"""Step Functions: each published purchase's window runs as one execution of
statemachines/purchase-window.asl.json, named after the purchase so that it starts once."""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from marketplace.domain.purchases import Purchase, SelectionMethod, stamp
from marketplace.observability import log
from marketplace.repositories.base import forget_sdk_clients, sdk_client
from marketplace.settings import get_settings

PURCHASE_WINDOW = "purchase-window"
logger = logging.getLogger("marketplace.workflows")


def _sfn() -> Any:
    return sdk_client("stepfunctions")


def reset_client() -> None:
    forget_sdk_clients("stepfunctions")


def window_input(purchase: Purchase) -> dict[str, Any]:
    # Direct selection has no enrollment: its window starts waiting for confirmation at once.
    opens = purchase.method == SelectionMethod.direct and purchase.published_at
    return {
        "purchase_id": purchase.purchase_id,
        "enrollment_deadline": opens or stamp(purchase.enrollment_deadline),
        "selection_time": stamp(purchase.selection_time),
    }


def start_window(purchase: Purchase) -> bool:
    """Start the purchase's window; False when it could not be started. Publication has already
    been saved by then, so a failure here is not the caller's: the sweeper (every 5 minutes) runs
    each timed step of a purchase whose execution is missing, from the same `by-due` index."""
    arn = get_settings().state_machine_arn_prefix + PURCHASE_WINDOW
    try:
        _sfn().start_execution(
            stateMachineArn=arn, name=purchase.purchase_id, input=json.dumps(window_input(purchase))
        )
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else ""
        if code == "ExecutionAlreadyExists":
            return True
        log(
            logger,
            logging.ERROR,
            "window not started; the sweeper will run it",
            purchase_id=purchase.purchase_id,
            error=str(exc),
        )
        return False
    return True
