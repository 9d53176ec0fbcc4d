"""The shelf (网上直购, docs/shelf.md): agencies list fixed-price offerings for the items they are
admitted to; the public browses them; an owner buys one below the direct-purchase limit, and the
purchase is confirmed at once with its result, its reason and its signed letter."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from marketplace.auth import Principal
from marketplace.clock import local_today, utcnow
from marketplace.domain.agencies import Agency
from marketplace.domain.catalogue import Requirement
from marketplace.domain.enrollment import PurchaseTerms, Refusal, refusals
from marketplace.domain.model import StrictModel
from marketplace.domain.purchase_contract import deadline_from
from marketplace.domain.purchases import (
    PROJECT_CODE_PATTERN,
    PURCHASE,
    Exclusion,
    FundingType,
    PriceKind,
    Purchase,
    PurchaseRequest,
    PurchaseStatus,
    Result,
    SelectionMethod,
    stamp,
)
from marketplace.domain.regions import DIVISION_PATTERN, serves
from marketplace.domain.shelf import OFFER, OfferStatus, ShelfOrder
from marketplace.domain.shelf_offers import ShelfOffer, ShelfOfferPublic, ShelfOfferRequest
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import catalogue as catalogue_repo
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories import owners as owners_repo
from marketplace.repositories import purchases as purchases_repo
from marketplace.repositories import shelf as repo
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.shelf")


class ShelfPurchaseRequest(StrictModel):
    """What an owner sends to buy an offering: the project, where, how it is funded, and why it
    buys directly (published with the result). The item, the amount and the agency are the offer's."""

    project_code: str = Field(pattern=PROJECT_CODE_PATTERN, description="一项一码: the project's code")
    title: str = Field(min_length=1, max_length=200)
    region: str = Field(
        pattern=DIVISION_PATTERN, description="where the service is needed; the offer must serve it"
    )
    funding_type: FundingType
    reason: str = Field(min_length=1, max_length=1000, description="why buy from the shelf: published")
    description: str = Field(default="", max_length=2000)


def _problem(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field, message)])


def new_offer_id(at: datetime) -> str:
    return f"S-{at:%Y%m%d}-{secrets.token_hex(5).upper()}"


def _limit() -> Decimal:
    return Decimal(get_settings().rules.direct_purchase_limit_yuan)


def _below_limit(price: Decimal, field: str) -> None:
    limit = _limit()
    if price >= limit:
        raise _problem(
            field,
            f"a shelf purchase must be below the direct-purchase limit RULE_DIRECT_PURCHASE_LIMIT_YUAN = "
            f"{limit} yuan; this offering costs {price} yuan",
        )


@dataclass(frozen=True)
class ItemOnly:
    """What enrollment's refusals read of a purchase, for a listing: the item, no terms of its own."""

    item_code: str
    extra_qualification: Requirement | None = None
    exclusions: tuple[Exclusion, ...] = ()


def _refusals(agency: Agency, terms: PurchaseTerms, item_requirement: Requirement | None) -> list[Refusal]:
    """Whether the agency may take part now: the same refusals as at enrollment (expelled,
    suspended, blacklisted, level D, not admitted for the item, qualification no longer met)."""
    standing = credit_repo.standings([agency.agency_id])[agency.agency_id]
    return refusals(
        terms,
        agency,
        standing,
        item_requirement,
        today=local_today(),
        now=stamp(utcnow()),
        rules=credit_repo.rules_in_force(utcnow()),
    )


def _item(item_code: str, field: str = "item_code") -> Any:
    from marketplace.domain.catalogue import ItemStatus, in_force

    try:
        versions = catalogue_repo.history(item_code)
    except NotFound as exc:
        raise _problem(field, f"catalogue item {item_code} does not exist") from exc
    current = in_force(versions, local_today())
    if current is None or versions[-1].status != ItemStatus.active:
        raise _problem(field, f"catalogue item {item_code} is not active: it cannot be traded")
    return current


def _require_agency_user(agency_id: str, by: Principal) -> None:
    if not (by.role == "agency" and by.org_id == agency_id):
        raise Forbidden(f"only agency {agency_id}'s own users manage its shelf")


# Listing and withdrawing.


def list_offer(agency_id: str, request: ShelfOfferRequest, by: Principal) -> ShelfOffer:
    _require_agency_user(agency_id, by)
    agency = agencies_repo.get(agency_id, consistent=True)
    item = _item(request.item_code)
    _below_limit(request.price_yuan, "price_yuan")
    served = agency.record.all_regions() if agency.record else []
    outside = [r for r in request.regions if not serves(served, r)]
    if outside:
        raise _problem(
            "regions",
            f"agency {agency_id} does not serve {', '.join(outside)}: list only the regions it serves",
        )
    # The refusals of enrollment, for the item alone (no purchase, so no terms of its own).
    found = _refusals(agency, ItemOnly(request.item_code), item.qualification)
    if found:
        raise Forbidden(
            f"agency {agency_id} may not list item {request.item_code}: "
            + "; ".join(r.message for r in found),
            reasons=[r.as_dict() for r in found],
        )
    now = stamp(utcnow())
    offer = ShelfOffer(
        **request.model_dump(),
        offer_id=new_offer_id(utcnow()),
        agency_id=agency_id,
        agency_name=agency.name,
        item_name=item.name,
        status=OfferStatus.listed,
        listed_at=now,
        listed_by=by.subject,
    )
    data = {
        "offer_id": offer.offer_id,
        "agency_id": agency_id,
        "agency_name": agency.name,
        "item_code": offer.item_code,
        "regions": offer.regions,
        "price_yuan": str(offer.price_yuan),
        "time_limit_working_days": offer.time_limit_working_days,
        "included": offer.included,
    }
    events = [event("ShelfOfferListed", subject=offer.offer_id, data=data, actor=by.subject)]
    repo.add(offer, events)
    event_bus.flush(events)
    return offer


def withdraw(agency_id: str, offer_id: str, by: Principal) -> ShelfOffer:
    """The agency's own users take an offering off the shelf; so may the admin (e.g. an offering
    whose agency was expelled, or that misleads)."""
    if not by.is_admin():
        _require_agency_user(agency_id, by)
    offer = repo.require(offer_id)
    if offer.agency_id != agency_id:
        raise NotFound(f"shelf offering {offer_id} not found")  # another agency's: not this one's to see
    transition = OFFER.expect(offer.status, "withdraw", subject=offer_id)
    now = stamp(utcnow())
    withdrawn = transition.apply(offer, withdrawn_at=now, withdrawn_by=by.subject)
    data = {
        "offer_id": offer_id,
        "agency_id": agency_id,
        "item_code": offer.item_code,
        "by_role": "admin" if by.is_admin() else "agency",
    }
    events = [event("ShelfOfferWithdrawn", subject=offer_id, data=data, actor=by.subject)]
    repo.withdraw(withdrawn, events, transition=transition)
    event_bus.flush(events)
    return withdrawn


# Browsing.


def _public(offers: list[ShelfOffer]) -> list[ShelfOfferPublic]:
    """Each offering with its agency's credit level now and whether it may be bought now: the
    refusals of a purchase (expelled, suspended, not admitted for the item or the item suspended,
    blacklisted, level D), judged from the page's agencies' profiles and credit standings, one
    BatchGetItem each. The item's qualification is left to the purchase itself (it would need
    the catalogue, and the certificates' dates)."""
    agency_ids = sorted({o.agency_id for o in offers})
    if not agency_ids:
        return []
    profiles = agencies_repo.profiles(agency_ids)
    standings = credit_repo.standings(agency_ids)
    at = utcnow()
    now, rules, today = stamp(at), credit_repo.rules_in_force(at), local_today()
    shown = []
    for o in offers:
        standing = standings[o.agency_id]
        agency = profiles.get(o.agency_id)
        if agency is None:
            codes = ["not_admitted"]
        else:
            found = refusals(ItemOnly(o.item_code), agency, standing, None, today=today, now=now, rules=rules)
            codes = list(dict.fromkeys(r.code for r in found))
        blacklisted = standing.blacklisted(now)
        shown.append(
            ShelfOfferPublic(
                **o.model_dump(include=set(ShelfOfferPublic.model_fields) - PUBLIC_COMPUTED),
                credit_level=standing.level(rules, now).value,
                blacklisted_until=standing.blacklisted_until if blacklisted else None,
                available=o.status == OfferStatus.listed and not codes,
                unavailable_reasons=codes,
            )
        )
    return shown


PUBLIC_COMPUTED = {"credit_level", "blacklisted_until", "available", "unavailable_reasons"}


def browse(
    item_code: str, region: str | None, *, limit: int, cursor: str | None
) -> tuple[list[ShelfOfferPublic], str | None]:
    """One page of the shelf: the offerings that may be bought now. An offering whose agency may
    not sell now (expelled, suspended, blacklisted, level D, the item suspended) is left out of the
    page, as the region filter leaves others out: a page may hold fewer than `limit`, and the cursor
    goes on. It is back on the shelf when its agency may sell again (or the admin withdraws it)."""
    offers, next_cursor = repo.listed(item_code, region, limit=limit, cursor=cursor)
    return [o for o in _public(offers) if o.available], next_cursor


def get(offer_id: str) -> ShelfOfferPublic:
    """One offering, listed or withdrawn, marked `available` or not (with the reasons' codes)."""
    return _public([repo.get(offer_id)])[0]


# Buying.


def buy(offer_id: str, request: ShelfPurchaseRequest, by: Principal) -> Purchase:
    """Buy a listed offering: the purchase is written confirmed, with its result (the offer's
    agency, the owner's reason) and its letter, in one transaction conditioned on the offering
    still being listed. Nothing is written when any check refuses."""
    if by.role != "owner":
        raise Forbidden("only an owner buys from the shelf")
    try:
        owners_repo.get(by.org_id)
    except NotFound as exc:
        raise Conflict(f"register unit {by.org_id} as an owner (POST /owners) before buying") from exc
    offer = repo.require(offer_id)
    if offer.status != OfferStatus.listed:
        raise Conflict(
            f"shelf offering {offer_id} was withdrawn at {offer.withdrawn_at}: it can no longer be bought",
            reason="withdrawn",
        )
    _below_limit(offer.price_yuan, "price_yuan")
    if not serves(offer.regions, request.region):
        raise _problem("region", f"shelf offering {offer_id} does not serve region {request.region}")
    at = utcnow()
    now = stamp(at)
    purchase_request = PurchaseRequest(
        project_code=request.project_code,
        title=request.title,
        item_code=offer.item_code,
        region=request.region,
        funding_type=request.funding_type,
        price_kind=PriceKind.budget,
        amount_yuan=offer.price_yuan,
        method=SelectionMethod.shelf,
        enrollment_deadline=at,
        selection_time=at,
        description=request.description,
    )
    threshold = get_settings().rules.procurement_threshold_yuan
    if request.funding_type == FundingType.fiscal and offer.price_yuan >= threshold:
        raise _problem(
            "funding_type",
            f"fiscal purchases of {threshold} yuan or more go through government procurement, "
            "not the marketplace",
        )
    item = _item(offer.item_code, "offer_id")
    from marketplace.services.purchases import new_purchase_id

    draft = Purchase(
        **purchase_request.model_dump(),
        purchase_id=new_purchase_id(at),
        owner_id=by.org_id,
        status=PurchaseStatus.draft,
        item_name=item.name,
        item_version=item.version,
        item_qualification=item.qualification,
        created_at=now,
        created_by=by.subject,
        updated_at=now,
        shelf=ShelfOrder(
            offer_id=offer.offer_id,
            agency_id=offer.agency_id,
            price_yuan=offer.price_yuan,
            time_limit_working_days=offer.time_limit_working_days,
            included=offer.included,
            reason=request.reason,
            listed_at=offer.listed_at,
        ),
    )
    agency = agencies_repo.find(offer.agency_id, consistent=True)
    if agency is None:
        raise Conflict(f"agency {offer.agency_id} no longer exists", reason="agency_ineligible")
    found = _refusals(agency, draft, draft.item_qualification)
    if found:
        raise Conflict(
            f"agency {offer.agency_id} may not be bought from now: " + "; ".join(r.message for r in found),
            reason="agency_ineligible",
            reasons=[r.as_dict() for r in found],
        )
    replaces = _not_bought_yet(by.org_id, request.project_code, offer.item_code)
    transition = PURCHASE.expect(draft.status, "shelf_purchase", subject=draft.purchase_id)
    result = Result(
        method=SelectionMethod.shelf,
        selected_agency=offer.agency_id,
        direct_reason=request.reason,
        selected_at=now,
        confirmation_deadline=now,
        owner_confirmed_at=now,  # buying is the owner's confirmation
        agency_accepted_at=offer.listed_at,  # listing the price was the agency's acceptance
    )
    confirmed = transition.apply(
        draft,
        result=result,
        submitted_at=now,
        published_at=now,
        confirmed_at=now,
        contract_deadline=stamp(
            deadline_from(at, get_settings().rules.contract_days, get_settings().timezone)
        ),
    )
    data = {
        "purchase_id": confirmed.purchase_id,
        "owner_id": confirmed.owner_id,
        "agency_id": offer.agency_id,
        "offer_id": offer_id,
        "project_code": confirmed.project_code,
        "title": confirmed.title,
        "item_code": offer.item_code,
        "region": confirmed.region,
        "price_yuan": str(offer.price_yuan),
        "reason": request.reason,
    }
    events: list[DomainEvent] = [
        event("ShelfPurchaseMade", subject=confirmed.purchase_id, data=data, actor=by.subject)
    ]
    try:
        purchases_repo.add_confirmed(
            confirmed,
            events,
            conflict=f"shelf offering {offer_id} changed meanwhile: read it again",
            stage_also=purchases_repo.both(
                repo.still_listed(offer_id),
                purchases_repo.count_published(by.org_id, local_today().year),
                purchases_repo.claim_shelf_project(
                    by.org_id, request.project_code, offer.item_code, confirmed.purchase_id, replaces=replaces
                ),
            ),
            transition=transition,
        )
    except Conflict:
        again = repo.require(offer_id)
        if again.status != OfferStatus.listed:
            raise Conflict(
                f"shelf offering {offer_id} was withdrawn at {again.withdrawn_at}: "
                "it can no longer be bought",
                reason="withdrawn",
            ) from None
        _not_bought_yet(by.org_id, request.project_code, offer.item_code)  # bought meanwhile: 409
        raise
    event_bus.flush(events)
    return _with_letter(confirmed)


def _not_bought_yet(owner_id: str, project_code: str, item_code: str) -> str | None:
    """An owner buys an item for a project from the shelf once (a retried request without an
    Idempotency-Key must not buy it twice): 409 naming the purchase that bought it. A cancelled one
    (final) does not count: its id is returned, for the new purchase's marker to replace it on the
    condition that it still names it."""
    existing = purchases_repo.shelf_bought(owner_id, project_code, item_code)
    if existing is None:
        return None
    if purchases_repo.get(existing, consistent=True).status == PurchaseStatus.cancelled:
        return existing
    raise Conflict(
        f"project {project_code} already bought item {item_code} from the shelf: purchase {existing}",
        reason="already_bought",
        purchase_id=existing,
    )


def _with_letter(purchase: Purchase) -> Purchase:
    """The letter at once; if issuing fails, the sweeper issues it (the purchase is due `letter`)."""
    from marketplace.services.confirmation import issue_letter

    try:
        return issue_letter(purchase.purchase_id)
    except Exception:
        log(logger, logging.ERROR, "letter not issued; the sweeper retries", purchase_id=purchase.purchase_id)
        return purchase
