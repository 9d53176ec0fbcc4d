"""Use cases of a purchase before its window opens, and reading purchases (DOMAIN.md §4): the owner
drafts, amends and submits; the admin reviews fiscal purchases; publication commits to the draw's
seed, makes the announcement public and starts the purchase's timed window."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from marketplace.auth import Principal
from marketplace.clock import local_today, utcnow
from marketplace.domain import draw
from marketplace.domain.catalogue import ItemStatus, in_force
from marketplace.domain.model import revised
from marketplace.domain.purchases import (
    PUBLIC_STATUSES,
    PURCHASE,
    FundingType,
    Purchase,
    PurchasePublic,
    PurchaseRequest,
    PurchaseStatus,
    Review,
    SelectionMethod,
    public_view,
    stamp,
)
from marketplace.domain.regions import stem as region_stem
from marketplace.domain.selection import direct_result
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.repositories import catalogue as catalogue_repo
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus, workflows
from marketplace.repositories import owners as owners_repo
from marketplace.repositories import purchases as repo
from marketplace.services.calendar import working_calendar
from marketplace.services.outcomes import confirmation_due, result_event
from marketplace.services.purchase_access import require_owner
from marketplace.settings import get_settings

if TYPE_CHECKING:
    from marketplace.domain.disclosure import PurchasePage


def _now() -> str:
    return stamp(utcnow())


def new_purchase_id(at: datetime) -> str:
    return f"P-{at:%Y%m%d}-{secrets.token_hex(5).upper()}"


def _problem(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field, message)])


def _check_request(request: PurchaseRequest) -> tuple[str, int, Any, str]:
    """The item must be in the catalogue, active and in force; a fiscal purchase at or above the
    procurement threshold belongs to the government procurement system. The item's name, version
    and qualification as they stand now, and how a consortium meets that qualification."""
    try:
        versions = catalogue_repo.history(request.item_code)
    except NotFound as exc:
        raise _problem("item_code", f"catalogue item {request.item_code} does not exist") from exc
    current = in_force(versions, local_today())
    if current is None or versions[-1].status != ItemStatus.active:
        raise _problem("item_code", f"catalogue item {request.item_code} is not active: it cannot be traded")
    rules = get_settings().rules
    if request.method == SelectionMethod.reward and request.amount_yuan >= rules.reward_limit_yuan:
        raise _problem(
            "amount_yuan",
            f"reward mode (守信激励) is for purchases below RULE_REWARD_LIMIT_YUAN = "
            f"{rules.reward_limit_yuan} yuan",
        )
    threshold = rules.procurement_threshold_yuan
    if request.funding_type == FundingType.fiscal and request.amount_yuan >= threshold:
        raise _problem(
            "amount_yuan",
            f"fiscal purchases of {threshold} yuan or more go through government procurement, "
            "not the marketplace",
        )
    return current.name, current.version, current.qualification, current.consortium_qualification


def _check_window(request: PurchaseRequest, opens: datetime, field: str = "enrollment_deadline") -> bool:
    """Refuse a window shorter than the rule; True when it was counted on weekends only (it runs
    into a year with no calendar loaded), which the purchase then says."""
    rules = get_settings().rules
    if request.enrollment_deadline <= opens:
        raise _problem(field, "the enrollment deadline has passed")
    tz = get_settings().timezone
    span = working_calendar().window_working_days(opens, request.enrollment_deadline, tz)
    if span.count < rules.enrollment_min_working_days:
        raise _problem(
            field,
            f"the enrollment window must hold at least {rules.enrollment_min_working_days} working days "
            f"from publication; it holds {span.count}",
        )
    return bool(span.uncovered_years)


def _refuse_shelf(request: PurchaseRequest) -> None:
    """A shelf purchase is bought, not drafted: it has its own route, which writes it confirmed."""
    if request.method == SelectionMethod.shelf:
        raise _problem("method", "buy from the shelf at POST /shelf/{offer_id}/purchase")


def draft(request: PurchaseRequest, by: Principal) -> Purchase:
    _refuse_shelf(request)
    try:
        owners_repo.get(by.org_id)
    except NotFound as exc:
        raise Conflict(
            f"register unit {by.org_id} as an owner (POST /owners) before drafting purchases"
        ) from exc
    purchase = _new_draft(request, by.org_id, by)
    repo.add(purchase, [])
    return purchase


def _new_draft(
    request: PurchaseRequest, owner_id: str, by: Principal, reannounces: str | None = None
) -> Purchase:
    """A draft of a checked request, with the item as it stands now (its name, version, qualification)."""
    name, version, qualification, consortium_rule = _check_request(request)
    now = utcnow()
    weekends_only = _check_window(request, now)
    return Purchase(
        **request.model_dump(),
        window_counts_weekends_only=weekends_only,
        purchase_id=new_purchase_id(now),
        owner_id=owner_id,
        status=PurchaseStatus.draft,
        item_name=name,
        item_version=version,
        item_qualification=qualification,
        item_consortium_qualification=consortium_rule,
        created_at=stamp(now),
        created_by=by.subject,
        updated_at=stamp(now),
        reannounces=reannounces,
    )


def amend(purchase_id: str, request: PurchaseRequest, by: Principal) -> Purchase:
    current = repo.get(purchase_id, consistent=True)
    require_owner(current, by)
    transition = PURCHASE.expect(current.status, "amend", subject=purchase_id)
    _refuse_shelf(request)
    name, version, qualification, consortium_rule = _check_request(request)
    weekends_only = _check_window(request, utcnow())
    changed = transition.apply(
        current,
        **request.model_dump(),
        window_counts_weekends_only=weekends_only,
        item_name=name,
        item_version=version,
        item_qualification=qualification,
        item_consortium_qualification=consortium_rule,
        updated_at=_now(),
    )
    repo.save(changed, [], conflict=f"purchase {purchase_id} changed meanwhile", transition=transition)
    return changed


def _needs_review(purchase: Purchase) -> bool:
    return purchase.funding_type == FundingType.fiscal or get_settings().rules.private_purchases_need_review


# Methods whose result is the owner's named choice, public at once (reward mode as direct selection).
CHOSEN = {SelectionMethod.direct: "direct", SelectionMethod.reward: "reward"}


def _publish_action(purchase: Purchase, *, reviewed: bool) -> str:
    direct = purchase.method in CHOSEN
    if reviewed:
        return "approve_direct" if direct else "approve"
    return "publish_direct" if direct else "publish"


def submit(purchase_id: str, by: Principal) -> Purchase:
    """Fiscal purchases (and private ones where the rules say so) go to the admin; others publish."""
    current = repo.get(purchase_id, consistent=True)
    require_owner(current, by)
    review = _needs_review(current)
    action = "submit" if review else _publish_action(current, reviewed=False)
    transition = PURCHASE.expect(current.status, action, subject=purchase_id)
    if review:  # publication checks both itself, at the moment it publishes
        _check_window(current, utcnow())
        if current.method in CHOSEN:
            _check_direct_choice(current)
    submitted = revised(current, submitted_at=_now(), updated_at=_now())
    data = {
        "purchase_id": purchase_id,
        "owner_id": current.owner_id,
        "project_code": current.project_code,
        "funding_type": current.funding_type.value,
        "needs_review": review,
    }
    events = [event("PurchaseSubmitted", subject=purchase_id, data=data, actor=by.subject)]
    if not review:
        return publish(submitted, by, events, reviewed=False)
    pending = transition.apply(submitted)
    repo.save(pending, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition)
    event_bus.flush(events)
    return pending


def review(purchase_id: str, approve: bool, reasons: str, by: Principal) -> Purchase:
    current = repo.get(purchase_id, consistent=True)
    action = _publish_action(current, reviewed=True) if approve else "return"
    transition = PURCHASE.expect(current.status, action, subject=purchase_id)
    if not approve and not reasons.strip():
        raise _problem("reasons", "a returned purchase must say why")
    decided = Review(decision="approve" if approve else "return", reasons=reasons, by=by.subject, at=_now())
    reviewed = revised(current, review=decided, updated_at=_now())
    if approve:
        return publish(reviewed, by, [], reviewed=True)
    returned = transition.apply(reviewed)
    data = {"purchase_id": purchase_id, "owner_id": current.owner_id, "reasons": reasons}
    events = [event("PurchaseReturned", subject=purchase_id, data=data, actor=by.subject)]
    repo.save(
        returned, events, conflict=f"purchase {purchase_id} was reviewed meanwhile", transition=transition
    )
    event_bus.flush(events)
    return returned


def _check_direct_choice(purchase: Purchase) -> None:
    """The agency a direct selection (or a reward purchase) names must be one that could enroll;
    for reward mode it must also be at the rule's credit level (RULE_REWARD_LEVEL) now."""
    # Imported here: only direct selection needs the agencies' models.
    from marketplace.domain.enrollment import refusals
    from marketplace.repositories import agencies as agencies_repo

    terms = CHOSEN[purchase.method]
    choice = purchase.reward if purchase.method == SelectionMethod.reward else purchase.direct
    assert choice is not None
    agency_id = choice.agency_id
    agency = agencies_repo.find(agency_id)
    if agency is None:
        raise _problem(f"{terms}.agency_id", f"agency {agency_id} does not exist")
    standing = credit_repo.standings([agency_id])[agency_id]
    now, rules = _now(), credit_repo.rules_in_force(utcnow())
    found = refusals(
        purchase,
        agency,
        standing,
        purchase.item_qualification,
        today=local_today(),
        now=now,
        rules=rules,
    )
    if found:
        raise _problem(f"{terms}.agency_id", "; ".join(r.message for r in found))
    if purchase.method == SelectionMethod.reward:
        wanted = get_settings().rules.reward_level
        level = standing.level(rules, now).value
        if level != wanted:
            raise _problem(
                "reward.agency_id",
                f"reward mode (守信激励) chooses among agencies at credit level {wanted} "
                f"(RULE_REWARD_LEVEL); agency {agency_id} is at level {level}",
            )


def _reward_tally(purchase: Purchase) -> Any:
    """The owner's tally of the year, checked against RULE_REWARD_SHARE_PERCENT for one more reward
    purchase; the publication's write is conditioned on it being unchanged (repositories.purchases)."""
    from marketplace.domain.shelf import reward_share_allows

    share = get_settings().rules.reward_share_percent
    counted = repo.tally(purchase.owner_id, local_today().year)
    if not reward_share_allows(counted.rewards, counted.published, share):
        raise _problem(
            "method",
            f"reward purchases may be at most RULE_REWARD_SHARE_PERCENT = {share}% of the owner's "
            f"purchases in {counted.year}: with this one it would be {counted.rewards + 1} of "
            f"{counted.published + 1}",
        )
    return counted


def publish(purchase: Purchase, by: Principal, events: list[DomainEvent], *, reviewed: bool) -> Purchase:
    """Make the announcement public with the draw's commitment and start the purchase's window
    (on submission, or on the admin's approval when `reviewed`). Direct selection has no draw: the
    named agency is the result at once."""
    action = _publish_action(purchase, reviewed=reviewed)
    transition = PURCHASE.expect(purchase.status, action, subject=purchase.purchase_id)
    now = utcnow()
    weekends_only = _check_window(purchase, now)
    published_at = stamp(now)
    seed: bytes | None = None
    update: dict[str, Any] = {
        "published_at": published_at,
        "updated_at": published_at,
        "window_counts_weekends_only": weekends_only,
    }
    reward_read = None
    if purchase.method in CHOSEN:
        _check_direct_choice(purchase)
        if purchase.method == SelectionMethod.reward:
            reward_read = _reward_tally(purchase)
        deadline, deadline_weekends_only = confirmation_due(now)
        result = direct_result(purchase, published_at, deadline)
        update["result"] = revised(result, deadline_counts_weekends_only=deadline_weekends_only)
    else:
        seed = draw.new_seed()
        update["commitment"] = draw.commitment(seed)
    published = transition.apply(purchase, **update)
    events = [*events, _published_event(published, by)]
    if published.result is not None:
        events.append(result_event(published, "system"))
    if reward_read is not None:
        events.append(_reward_event(published, by))
    repo.save(
        published,
        events,
        conflict=f"purchase {purchase.purchase_id} changed meanwhile (or another reward purchase of "
        "its owner was published at the same moment: submit again)",
        seed=seed.hex() if seed else None,
        # Every publication counts in its owner's yearly tally (reward mode's share).
        stage_also=repo.count_published(purchase.owner_id, local_today().year, reward_read=reward_read),
        transition=transition,
    )
    event_bus.flush(events)
    workflows.start_window(published)
    return published


def _reward_event(purchase: Purchase, by: Principal) -> DomainEvent:
    assert purchase.reward is not None
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": purchase.reward.agency_id,
        "reason": purchase.reward.reason,
        "level": get_settings().rules.reward_level,
        "amount_yuan": str(purchase.amount_yuan),
    }
    return event("RewardSelected", subject=purchase.purchase_id, data=data, actor=by.subject)


def _published_event(purchase: Purchase, by: Principal) -> DomainEvent:
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "project_code": purchase.project_code,
        "title": purchase.title,
        "item_code": purchase.item_code,
        "region": purchase.region,
        "method": purchase.method.value,
        "enrollment_deadline": stamp(purchase.enrollment_deadline),
        "commitment": purchase.commitment,
        "reannounces": purchase.reannounces,
        "excluded": [e.agency_id for e in purchase.exclusions],
    }
    return event("PurchasePublished", subject=purchase.purchase_id, data=data, actor=by.subject)


def reannounce(
    purchase_id: str, enrollment_deadline: datetime, selection_time: datetime, by: Principal
) -> Purchase:
    """A failed purchase announced again in one call: a new purchase with the same request and new
    dates, linked both ways, submitted at once (reviewed or published as any submission)."""
    old = repo.get(purchase_id, consistent=True)
    require_owner(old, by)
    transition = PURCHASE.expect(old.status, "reannounce", subject=purchase_id)
    if old.reannounced_as:
        raise Conflict(f"purchase {purchase_id} was already re-announced as {old.reannounced_as}")
    request = PurchaseRequest.model_validate(
        {
            **old.model_dump(include=set(PurchaseRequest.model_fields)),
            "enrollment_deadline": enrollment_deadline,
            "selection_time": selection_time,
        }
    )
    new = _new_draft(request, old.owner_id, by, reannounces=purchase_id)
    if new.method in CHOSEN:
        _check_direct_choice(new)  # before anything is written: a refused re-announcement changes nothing
    linked = transition.apply(old, reannounced_as=new.purchase_id, updated_at=new.created_at)
    data = {"purchase_id": purchase_id, "owner_id": old.owner_id, "new_purchase_id": new.purchase_id}
    events = [event("PurchaseReannounced", subject=purchase_id, data=data, actor=by.subject)]
    repo.add_linked(new, linked, events, transition=transition)
    event_bus.flush(events)
    return submit(new.purchase_id, by)


# Reading.


def may_see_everything(purchase: Purchase, viewer: Principal | None) -> bool:
    return viewer is not None and (
        viewer.is_admin() or (viewer.role == "owner" and purchase.is_owned_by(viewer.org_id))
    )


def get(purchase_id: str, viewer: Principal | None) -> Purchase | PurchasePage:
    """The owner and the admin see everything; anyone sees a published purchase's public page."""
    purchase = repo.get(purchase_id)
    if may_see_everything(purchase, viewer):
        return purchase
    if purchase.status not in PUBLIC_STATUSES or purchase.published_at is None:
        raise NotFound(f"purchase {purchase_id} not found")
    return public_page(purchase)


def public_page(purchase: Purchase) -> PurchasePage:
    """The public page: the purchase (read above, one Query) and its challenges, draw proof and
    evaluations (one more Query: repositories/disclosure.py). Imported here, when a page is built:
    the purchase's other operations need none of it."""
    from marketplace.domain.disclosure import purchase_page
    from marketplace.repositories.disclosure import public_records

    records = public_records(purchase.purchase_id)
    return purchase_page(
        purchase, challenges=records.challenges, evaluations=records.evaluations, draw=records.draw
    )


def draw_proof(purchase_id: str) -> dict[str, Any]:
    proof = repo.draw_proof(purchase_id)
    if proof is None:
        purchase = repo.get(purchase_id)
        if purchase.batch_of is not None and purchase.published_at is not None:
            return draw_proof(purchase.batch_of)  # a batch's project: its announcement's one draw
        if purchase.published_at is None:
            raise NotFound(f"purchase {purchase_id} not found")
        raise NotFound(f"purchase {purchase_id} has no draw yet ({purchase.status.value})")
    return proof


def list_public(
    *,
    status: str | None,
    item_code: str | None,
    region: str | None,
    published_from: str | None,
    published_to: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[PurchasePublic], str | None]:
    page = repo.list_public(
        status=status,
        item_code=item_code,
        region_prefix=region_stem(region) if region else None,
        published_from=published_from,
        published_to=published_to,
        limit=limit,
        cursor=cursor,
    )
    return [public_view(p) for p in page.purchases], page.cursor


def list_owned(
    owner_id: str, by: Principal, *, status: str | None, limit: int, cursor: str | None
) -> tuple[list[Purchase], str | None]:
    if not (by.is_admin() or (by.role == "owner" and by.org_id == owner_id)):
        raise Forbidden(f"only owner {owner_id} itself and the admin list its purchases")
    page = repo.list_owned(owner_id, status=status, limit=limit, cursor=cursor)
    return page.purchases, page.cursor
