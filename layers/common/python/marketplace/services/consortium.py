"""Consortium mode (联合体, docs/consortium.md): a lead forms its consortium with its enrollment,
each member accepts or declines its part before the deadline, a withdrawal frees the members, and
the draw's result tells the members when their consortium is selected.

Who may be a member is read and judged here; that an agency is in one consortium at most, or
enrolled alone, is held by the enrollment's transaction (repositories.purchases.enroll), never by
a check before it."""

from __future__ import annotations

from dataclasses import dataclass, field

from marketplace.auth import Principal
from marketplace.clock import local_today, utcnow
from marketplace.domain.agencies import Agency
from marketplace.domain.consortium import (
    HOLDING,
    MEMBERSHIP,
    Consortium,
    ConsortiumMember,
    Membership,
    MembershipStatus,
)
from marketplace.domain.consortium_requests import ConsortiumRequest, MembershipDecision, request_problems
from marketplace.domain.credit import CreditStanding
from marketplace.domain.purchases import PURCHASE, Enrollment, Purchase, stamp
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import consortium as members_repo
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as repo
from marketplace.services.eligibility import consortium_refusals


@dataclass(frozen=True)
class Formed:
    """What the lead's enrollment writes besides itself: the consortium, its members' rows, and
    the event inviting them."""

    consortium: Consortium
    memberships: list[Membership]
    events: list[DomainEvent] = field(default_factory=list)


def form(
    purchase: Purchase,
    lead: Agency,
    standing: CreditStanding,
    request: ConsortiumRequest,
    by: Principal,
    now: str,
) -> Formed:
    """The consortium the lead asks for, if the purchase allows it and every party may take part:
    422 naming the field for a body the terms refuse, 403 naming each party that may not take part
    and why (nothing is written in either case)."""
    problems = request_problems(request, purchase.consortium, lead.agency_id)
    if problems:
        raise ValidationFailed(
            "; ".join(message for _, message in problems), errors=[FieldError(f, m) for f, m in problems]
        )
    member_ids = [m.agency_id for m in request.members]
    agencies = {lead.agency_id: lead, **agencies_repo.profiles(member_ids)}
    standings = {lead.agency_id: standing, **credit_repo.standings(member_ids)}
    consortium = Consortium(
        lead_id=lead.agency_id,
        lead_name=lead.name,
        lead_part=request.lead_part,
        members=[
            ConsortiumMember(
                agency_id=m.agency_id,
                agency_name=agencies[m.agency_id].name if m.agency_id in agencies else "",
                part=m.part,
            )
            for m in request.members
        ],
    )
    refused = consortium_refusals(
        purchase,
        consortium,
        agencies,
        standings,
        today=local_today(),
        now=now,
        rules=credit_repo.rules_in_force(utcnow()),
    )
    if refused:
        raise Forbidden(
            "the consortium may not enroll: "
            + "; ".join(f"{party}: {why}" for party, why in refused.items()),
            reasons=[
                {"code": "consortium", "agency_id": party, "message": why} for party, why in refused.items()
            ],
        )
    memberships = [
        Membership(
            purchase_id=purchase.purchase_id,
            agency_id=m.agency_id,
            agency_name=m.agency_name,
            lead_id=lead.agency_id,
            part=m.part,
            status=MembershipStatus.invited,
            invited_at=now,
        )
        for m in consortium.members
    ]
    data = {
        "purchase_id": purchase.purchase_id,
        "lead_id": lead.agency_id,
        "lead_name": lead.name,
        "lead_part": request.lead_part,
        "members": [{"agency_id": m.agency_id, "part": m.part} for m in consortium.members],
        "enrollment_deadline": stamp(purchase.enrollment_deadline),
    }
    formed = event("ConsortiumFormed", subject=purchase.purchase_id, data=data, actor=by.subject)
    return Formed(consortium, memberships, [formed])


def released(purchase_id: str, enrollment: Enrollment, now: str) -> list[Membership]:
    """The members a lead's withdrawal frees: those this lead still holds."""
    if enrollment.consortium is None:
        return []
    rows = {m.agency_id: m for m in members_repo.memberships(purchase_id)}
    freed = []
    for member_id in enrollment.consortium.member_ids:
        row = rows.get(member_id)
        if row is not None and row.lead_id == enrollment.agency_id and row.status in HOLDING:
            transition = MEMBERSHIP.expect(row.status, "release", subject=member_id)
            freed.append(transition.apply(row, decided_at=now, decided_by="lead withdrew"))
    return freed


def released_event(purchase_id: str, lead_id: str, freed: list[Membership], by: Principal) -> DomainEvent:
    data = {"purchase_id": purchase_id, "lead_id": lead_id, "members": [m.agency_id for m in freed]}
    return event("ConsortiumReleased", subject=purchase_id, data=data, actor=by.subject)


def decide(purchase_id: str, lead_id: str, decision: MembershipDecision, by: Principal) -> Membership:
    """A member's users accept or decline the part the lead named, before the enrollment deadline;
    a decline frees the member (it may enroll alone or join another consortium)."""
    if by.role != "agency" or not by.org_id:
        raise Forbidden("only a member agency answers its invitation")
    member_id = by.org_id
    now = stamp(utcnow())
    purchase = repo.get(purchase_id, consistent=True)
    if purchase.published_at is None:
        raise NotFound(f"purchase {purchase_id} not found")
    if not PURCHASE.allows(purchase.status, "enroll") or stamp(purchase.enrollment_deadline) <= now:
        raise Conflict("enrollment is closed: the members answer before the deadline", reason="late")
    current = members_repo.get(purchase_id, member_id)
    if current is None or current.lead_id != lead_id:
        raise NotFound(
            f"agency {member_id} is not invited to agency {lead_id}'s consortium in purchase {purchase_id}"
        )
    transition = MEMBERSHIP.expect(current.status, decision.decision, subject=member_id)
    decided = transition.apply(current, decided_at=now, decided_by=by.subject, note=decision.note)
    kind = "MembershipAccepted" if decision.decision == "accept" else "MembershipDeclined"
    data = {
        "purchase_id": purchase_id,
        "lead_id": lead_id,
        "agency_id": member_id,
        "part": current.part,
        "note": decision.note,
    }
    events = [event(kind, subject=purchase_id, data=data, actor=by.subject)]
    members_repo.decide(decided, now, events, transition=transition)
    event_bus.flush(events)
    return decided


def own_membership(purchase_id: str, lead_id: str, by: Principal) -> Membership:
    """The caller member's own place in the lead's consortium (the lead reads its members' answers
    on its enrollment)."""
    current = members_repo.get(purchase_id, by.org_id) if by.role == "agency" else None
    if current is None or current.lead_id != lead_id:
        raise NotFound(f"agency {by.org_id} has no membership in agency {lead_id}'s consortium here")
    return current


def with_statuses(purchase_id: str, enrollment: Enrollment) -> Enrollment:
    """A lead's enrollment with each member's answer as its row says now."""
    if enrollment.consortium is None:
        return enrollment
    rows = {m.agency_id: m for m in members_repo.memberships(purchase_id)}
    return enrollment.model_copy(update={"consortium": enrollment.consortium.with_statuses(rows)})


# At closing (services/purchase_window._judge): the consortia as their members answered.


def unconfirmed(consortium: Consortium) -> list[str]:
    """The members that have not accepted their part."""
    return [m.agency_id for m in consortium.members if m.status != MembershipStatus.accepted]


def at_closing(purchase_id: str, enrolled: list[Enrollment]) -> dict[str, Consortium]:
    """Each lead's consortium among `enrolled`, with its members' answers read now."""
    leads = [e for e in enrolled if e.consortium is not None]
    if not leads:
        return {}
    rows = {m.agency_id: m for m in members_repo.memberships(purchase_id)}
    return {e.agency_id: e.consortium.with_statuses(rows) for e in leads if e.consortium is not None}


def selected_events(purchase: Purchase, actor: str) -> list[DomainEvent]:
    """When the selected agency is a consortium's lead: the event telling its members and the owner."""
    result = purchase.result
    chosen = result.selected_agency if result is not None else None
    consortium = purchase.consortia.get(chosen) if chosen else None
    if consortium is None:
        return []
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "lead_id": consortium.lead_id,
        "lead_name": consortium.lead_name,
        "lead_part": consortium.lead_part,
        "members": [
            {"agency_id": m.agency_id, "agency_name": m.agency_name, "part": m.part}
            for m in consortium.members
        ],
    }
    return [event("ConsortiumSelected", subject=purchase.purchase_id, data=data, actor=actor)]
