"""Routes of a contracted purchase's performance (履约) and evaluation (服务评价), and the task that
completes a delivery the owner let pass (DOMAIN.md §7-§8)."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import startup
from marketplace.domain.performance import (
    CompletionDecision,
    Delivery,
    DeliveryReport,
    EvaluationPublic,
    EvaluationRequest,
    PurchaseEvaluations,
    public_evaluation,
)
from marketplace.observability import log
from marketplace.services import delivery, evaluations
from marketplace.web.http import Call, route

bp = Blueprint(__name__)
logger = logging.getLogger("marketplace.performance")


@route(
    bp,
    "/purchases/{purchase_id}/delivery",
    "POST",
    name="report_delivery",
    summary="The contracted agency reports the service delivered, with the result's reference",
    roles=("agency",),
    body=DeliveryReport,
    response=Delivery,
    status=201,
    idempotent=True,
    description="The time from the contract's signature is kept against the time limit the agency's "
    "offering promised; a late delivery records a `delivery_late` credit event. After the owner "
    "disputes a delivery, the agency reports it again.",
)
def report_delivery(call: Call) -> Delivery:
    return delivery.report(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/completion",
    "POST",
    name="decide_completion",
    summary="The owner accepts completion (the purchase is completed) or disputes the delivery with reasons",
    roles=("owner",),
    body=CompletionDecision,
    response=Delivery,
    description="Within `RULE_COMPLETION_WORKING_DAYS` working days of the delivery report; after "
    "them silence accepts (the `complete_silent_deliveries` task), recorded as `accepted_by_silence`.",
)
def decide_completion(call: Call) -> Delivery:
    return delivery.decide(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/evaluations",
    "POST",
    name="evaluate_purchase",
    summary="The owner rates the service, or the item's regulator the output's quality: once each",
    roles=("owner", "regulator"),
    body=EvaluationRequest,
    response=EvaluationPublic,
    status=201,
    idempotent=True,
    description="The owner gives quality, timeliness, attitude, fee_reasonableness and standards; a "
    "regulator of the item's industry gives output_quality. Each 1-5; a rating below the credit "
    "rules' `low_rating_mark` needs a comment. A second evaluation by the same rater is a 409.",
)
def evaluate(call: Call) -> EvaluationPublic:
    return public_evaluation(evaluations.evaluate(call.params["purchase_id"], call.body, call.caller))


@route(
    bp,
    "/purchases/{purchase_id}/evaluations",
    name="list_evaluations",
    summary="A purchase's evaluations, public, without the raters' personal data",
    response=PurchaseEvaluations,
)
def list_evaluations(call: Call) -> PurchaseEvaluations:
    return evaluations.public(call.params["purchase_id"])


@bp.schedule(Rate(1, unit=Rate.HOURS), name="complete_silent_deliveries")
def complete_silent_deliveries(event: Any) -> dict[str, Any]:
    """Hourly: every delivery whose window for the owner's decision ended is accepted by silence."""
    report = delivery.complete_silent_deliveries()
    if report.completed or report.failed:
        log(logger, logging.INFO, "silence task", completed=len(report.completed), failed=len(report.failed))
    return {"completed": report.completed, "failed": report.failed}


# A task function's entry module too: its import is done (chalicelib/startup.py).
startup.resume_collection()
