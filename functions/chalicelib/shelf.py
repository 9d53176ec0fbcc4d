"""Routes of the shelf (网上直购, docs/shelf.md): agencies list and withdraw fixed-price offerings,
the public browses them by item and region, an owner buys one outright."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.catalogue import ITEM_CODE_PATTERN
from marketplace.domain.purchases import Purchase
from marketplace.domain.regions import DIVISION_PATTERN
from marketplace.domain.shelf_offers import ShelfOffer, ShelfOfferPublic, ShelfOfferRequest
from marketplace.services import shelf as service
from marketplace.services.shelf import ShelfPurchaseRequest
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


class ShelfQuery(PageQuery):
    item_code: str = Field(pattern=ITEM_CODE_PATTERN, description="the catalogue item")
    region: str | None = Field(
        default=None,
        pattern=DIVISION_PATTERN,
        description="a division: the offerings that serve it, and those for places inside it",
    )


@route(
    bp,
    "/agencies/{agency_id}/shelf",
    "POST",
    name="list_shelf_offer",
    summary="List a fixed-price offering on the shelf (the agency's own users)",
    roles=("agency",),
    body=ShelfOfferRequest,
    response=ShelfOffer,
    status=201,
    idempotent=True,
    description="Refused with 403 (`reasons[]`) when the agency is not admitted for the item, has it "
    "suspended, is expelled, suspended, blacklisted or at credit level D; 422 when the price is not "
    "below RULE_DIRECT_PURCHASE_LIMIT_YUAN or a region is one the agency does not serve.",
)
def list_offer(call: Call) -> ShelfOffer:
    return service.list_offer(call.params["agency_id"], call.body, call.caller)


@route(
    bp,
    "/agencies/{agency_id}/shelf/{offer_id}",
    "DELETE",
    name="withdraw_shelf_offer",
    summary="Withdraw an offering from the shelf (the agency's own users, or the admin)",
    roles=("agency", "admin"),
    response=ShelfOffer,
    description="409 when it is already withdrawn; 404 for an offering of another agency; 403 for "
    "another agency's users.",
)
def withdraw(call: Call) -> ShelfOffer:
    return service.withdraw(call.params["agency_id"], call.params["offer_id"], call.caller)


@route(
    bp,
    "/shelf",
    name="browse_shelf",
    summary="The shelf: an item's listed offerings that may be bought now, newest first, with price, "
    "time limit, what is included, the agency and its credit level",
    description="An offering whose agency may not sell now (expelled, suspended, blacklisted, credit "
    "level D, the item suspended for it) is left out; a page may hold fewer than `limit` items while "
    "`cursor` goes on.",
    query=ShelfQuery,
    response=Page[ShelfOfferPublic],
)
def browse(call: Call) -> Page[ShelfOfferPublic]:
    q: ShelfQuery = call.query
    items, cursor = service.browse(q.item_code, q.region, limit=q.limit, cursor=q.cursor)
    return Page[ShelfOfferPublic](items=items, cursor=cursor)


@route(
    bp,
    "/shelf/{offer_id}",
    name="get_shelf_offer",
    summary="One offering, listed or withdrawn, with `available` (may it be bought now) and "
    "`unavailable_reasons`",
    response=ShelfOfferPublic,
)
def get(call: Call) -> ShelfOfferPublic:
    return service.get(call.params["offer_id"])


@route(
    bp,
    "/shelf/{offer_id}/purchase",
    "POST",
    name="buy_from_shelf",
    summary="Buy a listed offering directly: the purchase is confirmed at once, with its result, "
    "its published reason and its signed letter",
    roles=("owner",),
    body=ShelfPurchaseRequest,
    response=Purchase,
    status=201,
    idempotent=True,
    description="422 naming RULE_DIRECT_PURCHASE_LIMIT_YUAN when the price is not below it, or when the "
    "offering does not serve the region; 409 when the offering was withdrawn (`reason: withdrawn`) or "
    "its agency may no longer take part (`reason: agency_ineligible`, with `reasons[]`), or when the owner "
    "already bought the item for this project from the shelf (`reason: already_bought`, with its "
    "`purchase_id`).",
)
def buy(call: Call) -> Purchase:
    return service.buy(call.params["offer_id"], call.body, call.caller)
