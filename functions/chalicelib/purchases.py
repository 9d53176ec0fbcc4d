"""Routes of a purchase's application, review, publication and public pages (DOMAIN.md §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, Field, model_validator

from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.disclosure import PurchasePage
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.purchases import Purchase, PurchasePublic, PurchaseRequest, PurchaseStatus, stamp
from marketplace.domain.regions import DIVISION_PATTERN
from marketplace.services import purchases as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


class ReviewRequest(StrictModel):
    decision: Literal["approve", "return"]
    reasons: str = Field(default="", max_length=2000, description="required when returning")


class ReannounceRequest(StrictModel):
    enrollment_deadline: AwareDatetime
    selection_time: AwareDatetime

    @model_validator(mode="after")
    def _in_order(self) -> ReannounceRequest:
        if self.selection_time < self.enrollment_deadline:
            raise ValueError("selection_time cannot be before enrollment_deadline")
        return self


class PurchaseListQuery(PageQuery):
    status: PurchaseStatus | None = None
    item_code: str | None = Field(default=None, pattern=ITEM_CODE_PATTERN)
    region: str | None = Field(
        default=None, pattern=DIVISION_PATTERN, description="a division and those below it"
    )
    published_from: AwareDatetime | None = None
    published_to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _range_in_order(self) -> PurchaseListQuery:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError("published_from cannot be after published_to")
        return self


class OwnPurchasesQuery(PageQuery):
    status: PurchaseStatus | None = None


class DrawProof(Model):
    """`hmac-sha256-rank/v1` (docs/draw.md): recompute it with `python -m marketplace.verify_draw`."""

    algorithm: str
    purchase_id: str
    commitment: str
    seed: str
    candidates: list[str]
    digest: str
    ranking: list[dict[str, str]]
    winners: list[str]
    reserves: list[str]
    drawn_at: str
    method: str | None = None
    credit: dict[str, Any] | None = None


def _stamp(value: datetime | None) -> str | None:
    return stamp(value) if value else None


@route(
    bp,
    "/purchases",
    "POST",
    name="draft_purchase",
    summary="Draft a purchase (the caller's unit is the owner)",
    roles=("owner",),
    body=PurchaseRequest,
    response=Purchase,
    status=201,
    idempotent=True,
    description="The item must be active in the catalogue; the enrollment window must hold the regional "
    "minimum of working days. Nothing is public until the purchase is published.",
)
def draft(call: Call) -> Purchase:
    return service.draft(call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}",
    "PUT",
    name="amend_purchase",
    summary="Amend a draft or a returned purchase",
    roles=("owner",),
    body=PurchaseRequest,
    response=Purchase,
)
def amend(call: Call) -> Purchase:
    return service.amend(call.params["purchase_id"], call.body, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/submit",
    "POST",
    name="submit_purchase",
    summary="Submit: fiscal purchases go to the admin's review, private ones are published",
    roles=("owner",),
    response=Purchase,
)
def submit(call: Call) -> Purchase:
    return service.submit(call.params["purchase_id"], call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/review",
    "POST",
    name="review_purchase",
    summary="Approve (publish) or return a purchase pending review",
    roles=("admin",),
    body=ReviewRequest,
    response=Purchase,
)
def review(call: Call) -> Purchase:
    body: ReviewRequest = call.body
    return service.review(call.params["purchase_id"], body.decision == "approve", body.reasons, call.caller)


@route(
    bp,
    "/purchases/{purchase_id}/reannouncement",
    "POST",
    name="reannounce_purchase",
    summary="Announce a failed purchase again: a new purchase linked to it, submitted at once",
    roles=("owner",),
    body=ReannounceRequest,
    response=Purchase,
    status=201,
    idempotent=True,
)
def reannounce(call: Call) -> Purchase:
    body: ReannounceRequest = call.body
    return service.reannounce(
        call.params["purchase_id"], body.enrollment_deadline, body.selection_time, call.caller
    )


@route(
    bp,
    "/purchases",
    name="list_purchases",
    summary="Published purchases, newest first, by status, item, region and publication date",
    query=PurchaseListQuery,
    response=Page[PurchasePublic],
)
def list_purchases(call: Call) -> Page[PurchasePublic]:
    q: PurchaseListQuery = call.query
    items, cursor = service.list_public(
        status=q.status.value if q.status else None,
        item_code=q.item_code,
        region=q.region,
        published_from=_stamp(q.published_from),
        published_to=_stamp(q.published_to),
        limit=q.limit,
        cursor=q.cursor,
    )
    return Page[PurchasePublic](items=items, cursor=cursor)


@route(
    bp,
    "/owners/{owner_id}/purchases",
    name="list_owner_purchases",
    summary="An owner's purchases, drafts included (the owner itself and the admin)",
    roles=("owner", "admin"),
    query=OwnPurchasesQuery,
    response=Page[Purchase],
)
def list_owned(call: Call) -> Page[Purchase]:
    q: OwnPurchasesQuery = call.query
    items, cursor = service.list_owned(
        call.params["owner_id"],
        call.caller,
        status=q.status.value if q.status else None,
        limit=q.limit,
        cursor=q.cursor,
    )
    return Page[Purchase](items=items, cursor=cursor)


@route(
    bp,
    "/purchases/{purchase_id}",
    name="get_purchase",
    summary="A purchase: its owner and the admin see everything, anyone its public page once published",
    optional_auth=True,
    response=Purchase | PurchasePage,
)
def get(call: Call) -> Purchase | PurchasePage:
    return service.get(call.params["purchase_id"], call.principal)


@route(
    bp,
    "/purchases/{purchase_id}/draw",
    name="get_draw_proof",
    summary="The draw's proof: everything needed to recompute it (hmac-sha256-rank/v1)",
    response=DrawProof,
)
def draw_proof(call: Call) -> dict[str, Any]:
    return service.draw_proof(call.params["purchase_id"])
