"""Routes of a result: the owner's pick from a short list, confirmation, acceptance, abandonment
(DOMAIN.md §5-§6)."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.model import StrictModel
from marketplace.domain.purchases import ORG_ID_PATTERN, Purchase, PurchasePublic, public_view
from marketplace.services import confirmation, purchase_window
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


class PickRequest(StrictModel):
    agency_id: str = Field(pattern=ORG_ID_PATTERN)


class AbandonRequest(StrictModel):
    reason: str = Field(min_length=1, max_length=1000)


@route(
    bp,
    "/purchases/{purchase_id}/pick",
    "POST",
    name="pick_agency",
    summary="Credit best-value: the owner picks one agency from the drawn short list",
    roles=("owner",),
    body=PickRequest,
    response=Purchase,
)
def pick(call: Call) -> Purchase:
    return purchase_window.pick(call.params["purchase_id"], call.body.agency_id, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/confirmation",
    "POST",
    name="confirm_result",
    summary="The owner confirms the result; with the agency's acceptance the letter is issued",
    roles=("owner",),
    response=Purchase,
)
def confirm(call: Call) -> Purchase:
    return confirmation.confirm(call.params["purchase_id"], call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/acceptance",
    "POST",
    name="accept_result",
    summary="The selected agency accepts the result; with the owner's confirmation the letter is issued",
    roles=("agency",),
    response=PurchasePublic,
)
def accept(call: Call) -> PurchasePublic:
    return public_view(confirmation.accept(call.params["purchase_id"], call.caller))


@route(
    bp,
    "/purchases/{purchase_id}/abandonment",
    "POST",
    name="abandon_result",
    summary="The selected agency abandons (放弃中选): a credit penalty; the first reserve moves up",
    roles=("agency",),
    body=AbandonRequest,
    response=PurchasePublic,
)
def abandon(call: Call) -> PurchasePublic:
    return public_view(confirmation.abandon(call.params["purchase_id"], call.body.reason, call.caller))
