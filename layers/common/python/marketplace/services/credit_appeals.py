"""Credit repair (信用修复): the agency appeals an event of its own ledger; the admin upholds it or
revokes it with a compensating event (never an edit). A revoked finding of serious dishonesty lifts
the blacklist it caused."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import stamp, utcnow
from marketplace.domain.credit import CreditCause, CreditEvent, CreditEventKind
from marketplace.domain.credit_actions import revocation_id
from marketplace.domain.credit_appeals import APPEAL, Appeal, AppealDecision, AppealDecisionIn, AppealIn
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.events import DomainEvent, event
from marketplace.repositories import credit as ledger
from marketplace.repositories import credit_actions as repo
from marketplace.repositories import event_bus
from marketplace.services import blacklist
from marketplace.services import credit as credit_service


def _regulator_of(credit_event_id: str) -> str | None:
    guard = repo.recorded_before(credit_event_id)
    value = guard.get("regulator_id") if guard else None
    return value if isinstance(value, str) and value else None


def file(credit_event_id: str, body: AppealIn, by: Principal) -> Appeal:
    """The agency appeals one of its events, once."""
    if by.role != "agency" or not by.org_id:
        raise Forbidden("only the agency a credit event is about appeals it")
    agency_id = by.org_id
    appealed = repo.find_event(agency_id, credit_event_id)
    if appealed is None:
        raise NotFound(f"agency {agency_id} has no credit event {credit_event_id}")
    if appealed.kind == CreditEventKind.revocation:
        raise Conflict(
            f"event {credit_event_id} is a revocation, the outcome of an appeal: it is not appealed"
        )
    appeal = Appeal(
        credit_event_id=credit_event_id,
        agency_id=agency_id,
        reasons=body.reasons,
        evidence=body.evidence,
        filed_at=stamp(utcnow()),
    )
    filed = event(
        "CreditAppealFiled",
        subject=agency_id,
        data={
            "agency_id": agency_id,
            "credit_event_id": credit_event_id,
            "kind": appealed.kind.value,
            "points": appealed.points,
            "reasons": body.reasons,
            "regulator_id": _regulator_of(credit_event_id),
        },
        actor=by.subject,
    )
    repo.file_appeal(appeal, [filed])
    event_bus.flush([filed])
    return appeal


def get(credit_event_id: str) -> Appeal:
    found = repo.appeal_of(credit_event_id)
    if found is None:
        raise NotFound(f"credit event {credit_event_id} has no appeal")
    return found


def decide(credit_event_id: str, body: AppealDecisionIn, by: Principal) -> Appeal:
    """The admin upholds the event, or revokes it with a `revocation` event of the negated points
    that names it (`revokes`), valid as long as the event would have been."""
    if not by.is_admin():
        raise Forbidden("only the admin decides a credit appeal")
    appeal = get(credit_event_id)
    transition = APPEAL.expect(appeal.status, body.decision.value, subject=credit_event_id)
    now = utcnow()
    revocation: CreditEvent | None = None
    original: CreditEvent | None = None
    if body.decision == AppealDecision.revoke:
        original = repo.find_event(appeal.agency_id, credit_event_id)
        if original is None:
            raise NotFound(f"agency {appeal.agency_id} has no credit event {credit_event_id}")
        revocation = credit_service.revocation(
            original,
            event_id=revocation_id(credit_event_id),
            reason=f"信用修复 credit repair: event {credit_event_id} revoked on appeal: {body.reasons}",
            basis=f"the admin's decision on the agency's appeal of {credit_event_id}",
            cause=CreditCause(type="appeal", id=credit_event_id, purchase_id=original.purchase_id),
        )
    decided = transition.apply(
        appeal,
        decision_reasons=body.reasons,
        decided_at=stamp(now),
        revocation_event_id=revocation.credit_event_id if revocation else None,
    )
    events: list[DomainEvent] = [
        event(
            "CreditAppealDecided",
            subject=appeal.agency_id,
            data={
                "agency_id": appeal.agency_id,
                "credit_event_id": credit_event_id,
                "decision": body.decision.value,
                "reasons": body.reasons,
                "revocation_event_id": decided.revocation_event_id,
                "regulator_id": _regulator_of(credit_event_id),
            },
            actor=by.subject,
        )
    ]
    if revocation is not None:
        events.append(credit_service.recorded(revocation, actor=by.subject))
    stage = revocation
    repo.decide_appeal(
        decided, events, revocation=(lambda: ledger.staged(stage)) if stage is not None else None
    )
    event_bus.flush(events)
    if original is not None and original.kind == CreditEventKind.serious_dishonesty:
        blacklist.lift_if_over(
            appeal.agency_id, actor=by.subject, why=f"the finding {credit_event_id} was revoked on appeal"
        )
    return decided
