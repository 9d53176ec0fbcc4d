"""Routes of challenges and complaints (质疑投诉, DOMAIN.md §10), and of resuming or cancelling a
purchase a challenge suspended. docs/challenges.md."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.catalogue import INDUSTRY_PATTERN
from marketplace.domain.challenges import (
    AnswerRequest,
    Challenge,
    ChallengeRequest,
    ComplaintRequest,
    DecisionRequest,
)
from marketplace.domain.model import StrictModel
from marketplace.domain.purchases import Purchase
from marketplace.services import challenges as service
from marketplace.services import suspension
from marketplace.web.http import Call, route
from marketplace.web.pages import Page

bp = Blueprint(__name__)


class ResumptionRequest(StrictModel):
    note: str = Field(
        default="", max_length=2000, description="what was corrected, published with the resumption"
    )


class CancellationRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=2000, description="published with the cancellation")


@route(
    bp,
    "/purchases/{purchase_id}/challenges",
    "POST",
    name="file_challenge",
    summary="An agency enrolled in the purchase challenges its announcement or its result (质疑)",
    roles=("agency",),
    body=ChallengeRequest,
    response=Challenge,
    status=201,
    idempotent=True,
    description="Within `RULE_CHALLENGE_WORKING_DAYS` working days of the announcement's publication "
    "(subject `announcement`, while enrollment is open or closed) or of the result's (subject `result`). "
    "403 to an agency not enrolled; 409 `reason: late` (with the `deadline`) after the period, "
    "`reason: wrong_subject` when the purchase is not where that subject may be challenged.",
)
def file_challenge(call: Call) -> Challenge:
    return service.file(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/challenges",
    name="list_challenges",
    summary="A purchase's challenges, answers, complaints and decisions (the challenger's identity only "
    "to the owner, the item's regulators, the admin and the challenger itself)",
    optional_auth=True,
    response=Page[Challenge],
)
def list_challenges(call: Call) -> Page[Challenge]:
    return Page[Challenge](
        items=service.list_for_purchase(call.params["purchase_id"], call.principal), cursor=None
    )


class ComplaintQuery(StrictModel):
    industry: str | None = Field(
        default=None,
        pattern=INDUSTRY_PATTERN,
        description="the admin names one; a regulator's own by default",
    )


@route(
    bp,
    "/complaints",
    name="list_complaints",
    summary="The complaints waiting for a decision: in the caller's industries (regulator), or the one "
    "named (admin)",
    roles=("regulator", "admin"),
    query=ComplaintQuery,
    response=Page[Challenge],
)
def list_complaints(call: Call) -> Page[Challenge]:
    return Page[Challenge](items=service.complaint_queue(call.caller, call.query.industry), cursor=None)


@route(
    bp,
    "/challenges/{challenge_id}/answer",
    "POST",
    name="answer_challenge",
    summary="The purchase's owner accepts or rejects a challenge (答复); accepting before the result "
    "suspends the purchase",
    roles=("owner",),
    body=AnswerRequest,
    response=Challenge,
    description="Within `RULE_CHALLENGE_ANSWER_WORKING_DAYS` working days of the filing (409 `reason: late` "
    "after). Accepting a challenge while enrollment is open or closed, or the short list awaits the "
    "owner's pick, suspends the purchase and stops its window; accepting one about a result not yet "
    "confirmed annuls it (the next reserve moves up); accepting where neither can happen (a confirmed "
    "result) is a 409 `reason: too_late_to_accept`. Answered once: a second answer is a 409.",
)
def answer(call: Call) -> Challenge:
    return service.answer(call.params["challenge_id"], call.body, call.caller)


@route(
    bp,
    "/challenges/{challenge_id}/complaint",
    "POST",
    name="file_complaint",
    summary="The challenger, unsatisfied (a rejection, or no answer in time), complains to the item's "
    "regulator (投诉)",
    roles=("agency",),
    body=ComplaintRequest,
    response=Challenge,
    description="Within `RULE_COMPLAINT_WORKING_DAYS` working days of the rejection, or of the answer "
    "deadline when no answer came. 409 `reason: not_yet` while the owner may still answer, "
    "`reason: late` after the period.",
)
def complain(call: Call) -> Challenge:
    return service.complain(call.params["challenge_id"], call.body, call.caller)


@route(
    bp,
    "/challenges/{challenge_id}/decision",
    "POST",
    name="decide_complaint",
    summary="A regulator of the item's industry (or the admin) upholds or dismisses a complaint",
    roles=("regulator", "admin"),
    body=DecisionRequest,
    response=Challenge,
    description="Upholding a complaint about a result not yet confirmed annuls it: the next reserve (or "
    "the next candidate of the draw proof's ranking) is selected with a fresh confirmation deadline; "
    "`against_agency: true` records a `complaint_upheld` credit event for the annulled agency. "
    "Upholding one about the announcement suspends the purchase (or keeps it suspended) for the owner "
    "to correct and resume, or cancel.",
)
def decide(call: Call) -> Challenge:
    return service.decide(call.params["challenge_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/resumption",
    "POST",
    name="resume_purchase",
    summary="The owner resumes a suspended purchase: its window gets exactly the time it had left",
    roles=("owner",),
    body=ResumptionRequest,
    response=Purchase,
)
def resume(call: Call) -> Purchase:
    return suspension.resume(call.params["purchase_id"], call.body.note, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/cancellation",
    "POST",
    name="cancel_purchase",
    summary="The owner cancels a suspended purchase, with the reason",
    roles=("owner",),
    body=CancellationRequest,
    response=Purchase,
)
def cancel(call: Call) -> Purchase:
    return suspension.cancel(call.params["purchase_id"], call.body.reason, call.caller)
