"""Step Functions: each published purchase's window runs as one execution of
statemachines/purchase-window.asl.json, named after the purchase so that it starts once.

A suspension (an accepted challenge) stops the execution: nothing waits or polls while the purchase
is suspended. Resuming starts a new execution, named after the purchase and how many times its
window was resumed (`<purchase id>-r<n>`, execution names cannot be reused), with the moved
deadlines as its input (docs/adr/0011-suspension.md)."""

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
    # Direct selection and reward mode have no enrollment: the window waits for confirmation at once.
    chosen = purchase.method in (SelectionMethod.direct, SelectionMethod.reward)
    opens = chosen and purchase.published_at
    return {
        "purchase_id": purchase.purchase_id,
        "enrollment_deadline": opens or stamp(purchase.enrollment_deadline),
        "selection_time": stamp(purchase.selection_time),
    }


def execution_name(purchase: Purchase) -> str:
    """The name of the purchase's current execution."""
    runs = purchase.window_runs
    return purchase.purchase_id if not runs else f"{purchase.purchase_id}-r{runs}"


def start_window(purchase: Purchase) -> bool:
    """Start the purchase's window; False when it could not be started. Publication has already
    been saved by then, so a failure here is not the caller's: the sweeper (every 5 minutes) runs
    each timed step of a purchase whose execution is missing, from the same `by-due` index."""
    arn = get_settings().state_machine_arn_prefix + PURCHASE_WINDOW
    try:
        _sfn().start_execution(
            stateMachineArn=arn, name=execution_name(purchase), input=json.dumps(window_input(purchase))
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


def restart_window(purchase: Purchase, step: str, due_at: str) -> bool:
    """Start the window again for a sealed step its execution missed (docs/adr/0015): the new
    execution's idempotent tasks report what is done and carry on from the due step, and only the
    closing tasks' roles open sealed quotes and proposals. Named for the step and its due instant,
    so the sweeper's repeated runs start it once."""
    arn = get_settings().state_machine_arn_prefix + PURCHASE_WINDOW
    compact = due_at.replace("-", "").replace(":", "")
    name = f"{purchase.purchase_id}-{step}-{compact}"[:80]
    try:
        _sfn().start_execution(stateMachineArn=arn, name=name, input=json.dumps(window_input(purchase)))
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else ""
        if code == "ExecutionAlreadyExists":
            return True
        log(logger, logging.ERROR, "window not restarted", purchase_id=purchase.purchase_id, error=str(exc))
        return False
    return True


def stop_window(purchase_id: str, why: str, *, execution: str | None = None) -> None:
    """Stop the purchase's window once nothing is left for it to time (the purchase is confirmed),
    or while it is suspended: otherwise it would wait for the confirmation deadline only to find the
    purchase confirmed, and AWS bills every state it enters. A failure leaves the execution to end
    by itself, as before: each of its tasks finds the purchase in a state it does not act on.
    `execution`: the current execution's name (`execution_name`), the purchase id by default."""
    prefix = get_settings().state_machine_arn_prefix
    name = execution or purchase_id
    arn = prefix.replace(":stateMachine:", ":execution:", 1) + f"{PURCHASE_WINDOW}:{name}"
    try:
        _sfn().stop_execution(executionArn=arn, cause=why)
    except (ClientError, BotoCoreError) as exc:
        log(
            logger,
            logging.WARNING,
            "window not stopped; it ends by itself",
            purchase_id=purchase_id,
            error=str(exc),
        )
