"""Routes of proposal best-value (方案择优, docs/proposals.md): sealed submissions, the panel's
scores, and the scores published with the result."""

from __future__ import annotations

from chalice import Blueprint

from marketplace.domain.proposal_scores import (
    ProposalReceipt,
    ProposalSubmission,
    Score,
    ScoreSheet,
    ScoresView,
)
from marketplace.services import proposals as service
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


@route(
    bp,
    "/purchases/{purchase_id}/proposals",
    "POST",
    name="submit_proposal",
    summary="Submit, or replace, the caller agency's sealed proposal before the enrollment deadline",
    roles=("agency",),
    body=ProposalSubmission,
    response=ProposalReceipt,
    status=201,
    idempotent=True,
    description="The reference and hash are encrypted under the sealing key at once: no route, event or "
    "log shows them before the deadline; the receipt's `digest` (SHA-256 of the canonical JSON sent) is the "
    "agency's proof of what it submitted. 409 with `reason`: `late` (the deadline has passed), "
    "`not_enrolled` (the agency has no current enrollment), `method` (not a proposal purchase).",
)
def submit(call: Call) -> ProposalReceipt:
    return service.submit(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/proposals/{agency_id}/scores",
    "POST",
    name="score_proposal",
    summary="The owner (one of its users, for its seat) or a named reviewer scores one proposal, once",
    roles=("owner", "regulator"),
    body=ScoreSheet,
    response=Score,
    status=201,
    idempotent=True,
    description="One score per criterion, from 0 to the criterion's weight (two decimal places): the "
    "total is out of 100. 422 naming `scores.<criterion>` when a score is missing, unknown or out of range; "
    "409 `duplicate` for a second score of the same proposal by the same seat, `not_scoring` outside "
    "scoring. The last missing score selects the highest mean total (ties broken by the draw).",
)
def score(call: Call) -> Score:
    return service.score(call.params["purchase_id"], call.params["agency_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/scores",
    name="list_scores",
    summary="Every score of every reviewer once the result is out; before it, a reviewer's own only",
    optional_auth=True,
    response=ScoresView,
    description="Before the result, a panel member sees its own scores and which seats have scored which "
    "proposal, never another seat's figures; anyone else gets 409 `sealed`. After the result, anyone sees "
    "every score by seat (`owner`, `reviewer-<n>`) and each proposal's mean weighted total.",
)
def scores(call: Call) -> ScoresView:
    return service.score_view(call.params["purchase_id"], call.principal)
