"""Enrollment (报名) and withdrawal (撤销报名), DOMAIN.md §4: one read of everything the check needs,
then one transaction that holds the invariants (window open at the deadline, one enrollment per
agency, counted once). An agency that changes after the check is judged again at closing."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import local_today, utcnow
from marketplace.domain.consortium_requests import EnrollmentRequest
from marketplace.domain.enrollment import refusals
from marketplace.domain.purchases import (
    ENROLLMENT,
    PURCHASE,
    Enrollment,
    EnrollmentStatus,
    Purchase,
    PurchaseStatus,
    SelectionMethod,
    stamp,
)
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.events import event
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as repo
from marketplace.services import consortium as consortia
from marketplace.services.purchase_access import require_owner


def _require_agency(agency_id: str, by: Principal) -> None:
    if not (by.role == "agency" and by.org_id == agency_id):
        raise Forbidden(f"only agency {agency_id} itself may act on its enrollment")


def _require_open(purchase: Purchase, now: str, action: str) -> None:
    """The purchase's table allows `action` (enroll, withdraw) in its state, and the deadline
    has not passed. An agency does not learn of a purchase that is not published."""
    if not PURCHASE.allows(purchase.status, action):
        if purchase.published_at is None:
            raise NotFound(f"purchase {purchase.purchase_id} not found")
        # A direct selection never had a window; otherwise closing runs at the deadline, so to
        # the agency this is the same situation as a passed deadline: one reason (README: `late`).
        reason = "direct" if purchase.method in (SelectionMethod.direct, SelectionMethod.reward) else "late"
        if purchase.status == PurchaseStatus.suspended:
            reason = "suspended"  # an accepted challenge stopped the window; it may resume
        raise PURCHASE.refusal(purchase.status, action, subject=purchase.purchase_id, reason=reason)
    if stamp(purchase.enrollment_deadline) <= now:
        raise Conflict("enrollment is closed: the deadline has passed", reason="late")


def _refuse_alone(context: repo.EnrollmentContext, now: str) -> None:
    assert context.agency is not None
    found = refusals(
        context.purchase,
        context.agency,
        context.standing,
        context.purchase.item_qualification,
        today=local_today(),
        now=now,
        rules=credit_repo.rules_in_force(utcnow()),
    )
    if found:
        raise Forbidden(
            "the agency may not enroll: " + "; ".join(r.message for r in found),
            reasons=[r.as_dict() for r in found],
        )


def enroll(purchase_id: str, by: Principal, request: EnrollmentRequest | None = None) -> Enrollment:
    """Enroll alone, or as the lead of a consortium (`request.consortium`, docs/consortium.md)."""
    agency_id = by.org_id
    if by.role != "agency" or not agency_id:
        raise Forbidden("only an agency enrolls")
    now = stamp(utcnow())
    context = repo.enrollment_context(purchase_id, agency_id)
    purchase = context.purchase
    _require_open(purchase, now, "enroll")
    again = None  # enrolled before: only a withdrawn enrollment enrolls again
    if context.enrollment is not None:
        again = ENROLLMENT.expect(context.enrollment.status, "enroll", subject=agency_id, reason="duplicate")
    if context.agency is None:
        raise Forbidden(
            f"organisation {agency_id} is not an agency of the marketplace",
            reasons=[{"code": "not_admitted", "message": "apply for admission first (POST /agencies)"}],
        )
    formed = None  # a consortium's parties are judged together (services/consortium.form)
    if request is not None and request.consortium is not None:
        formed = consortia.form(purchase, context.agency, context.standing, request.consortium, by, now)
    else:
        _refuse_alone(context, now)
    fields = {
        "agency_name": context.agency.name,
        "enrolled_at": now,
        "by": by.subject,
        "consortium": formed.consortium if formed else None,
    }
    if again is not None and context.enrollment is not None:
        enrollment = again.apply(context.enrollment, **fields, withdrawn_at=None)
    else:
        enrollment = Enrollment(
            purchase_id=purchase_id, agency_id=agency_id, status=EnrollmentStatus.enrolled, **fields
        )
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": agency_id,
        "enrollments": purchase.enrollments + 1,
    }
    events = [event("EnrollmentReceived", subject=purchase_id, data=data, actor=by.subject)]
    events += formed.events if formed else []
    repo.enroll(enrollment, now, events, formed.memberships if formed else None)
    event_bus.flush(events)
    return enrollment


def withdraw(purchase_id: str, agency_id: str, by: Principal) -> Enrollment:
    _require_agency(agency_id, by)
    now = stamp(utcnow())
    context = repo.enrollment_context(purchase_id, agency_id)
    _require_open(context.purchase, now, "withdraw")
    current = context.enrollment
    if current is None:
        raise NotFound(f"agency {agency_id} has no enrollment in purchase {purchase_id}")
    withdrawn = ENROLLMENT.expect(current.status, "withdraw", subject=agency_id).apply(
        current, withdrawn_at=now
    )
    data = {
        "purchase_id": purchase_id,
        "owner_id": context.purchase.owner_id,
        "agency_id": agency_id,
        "enrollments": max(context.purchase.enrollments - 1, 0),
    }
    events = [event("EnrollmentWithdrawn", subject=purchase_id, data=data, actor=by.subject)]
    freed = consortia.released(purchase_id, current, now)  # a lead's members are free again
    if freed:
        events.append(consortia.released_event(purchase_id, agency_id, freed, by))
    repo.withdraw(withdrawn, now, events, freed)
    event_bus.flush(events)
    return withdrawn


def own_enrollment(purchase_id: str, agency_id: str, by: Principal) -> Enrollment:
    _require_agency(agency_id, by)
    context = repo.enrollment_context(purchase_id, agency_id)
    if context.enrollment is None:
        raise NotFound(f"agency {agency_id} has no enrollment in purchase {purchase_id}")
    return consortia.with_statuses(purchase_id, context.enrollment)


def list_for_purchase(purchase_id: str, by: Principal) -> list[Enrollment]:
    """The owner sees the list once enrollment has closed (until then only the count is public);
    the admin always."""
    purchase = repo.get(purchase_id)
    if not by.is_admin():
        require_owner(purchase, by, f"only the owner of purchase {purchase_id} sees its enrollments")
        if PURCHASE.allows(purchase.status, "enroll") or purchase.published_at is None:
            raise Conflict("the enrollment list is sealed until enrollment closes; the count is public")
    return repo.enrollments(purchase_id)


def list_for_agency(by: Principal, limit: int, cursor: str | None) -> tuple[list[Enrollment], str | None]:
    if by.role != "agency":
        raise Forbidden("only an agency has enrollments")
    return repo.agency_enrollments(by.org_id, limit, cursor)
