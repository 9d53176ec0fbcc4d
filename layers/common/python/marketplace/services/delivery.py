"""Delivery and completion (履约, DOMAIN.md §7): the contracted agency reports the service
delivered; the owner accepts completion or disputes it within the configured working days, and
silence accepts (the scheduled task). The time from the contract's signature to the report is kept
against the time limit the agency's offering promised: late costs a `delivery_late` credit event,
recorded once per purchase in the same transaction as the report. Completion records a
`completion` credit event (it counts completed purchases on the profile) with the purchase's move
to `completed`.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.auth import Principal
from marketplace.clock import parse_iso, stamp, utcnow
from marketplace.domain.credit import CreditCause, CreditEventKind
from marketplace.domain.lifecycle import Transition
from marketplace.domain.performance import (
    DELIVERY,
    CompletionDecision,
    Delivery,
    DeliveryReport,
    DeliveryStatus,
    Dispute,
    EarlierReport,
    summary_of,
)
from marketplace.domain.purchases import PURCHASE, Purchase
from marketplace.errors import Conflict, Forbidden, invalid
from marketplace.events import DomainEvent, event
from marketplace.repositories import event_bus
from marketplace.repositories import performance as repo
from marketplace.repositories import purchases as purchases_repo
from marketplace.services import credit
from marketplace.services.calendar import working_calendar
from marketplace.services.purchase_access import require_owner, require_published
from marketplace.services.retries import with_retries
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.delivery")


def contracted_agency(purchase: Purchase) -> str:
    result = purchase.result
    assert result is not None and result.selected_agency is not None  # contracted or later
    return result.selected_agency


def signed_at(purchase: Purchase) -> str:
    """When the agency countersigned the contract (domain/contracts.py): the promised time limit
    counts from it."""
    contract = purchase.contract
    if contract is None or contract.signed_at is None:
        raise Conflict(f"purchase {purchase.purchase_id} has no signed contract on record")
    return contract.signed_at


def _time_limit(agency_id: str, item_code: str) -> int | None:
    """The time limit (working days) the agency's offering for the item promises, from its record
    in force; None when the record no longer offers the item."""
    from marketplace.repositories import agencies as agencies_repo

    agency = agencies_repo.find(agency_id, consistent=True)
    record = agency.record if agency is not None else None
    for offering in record.offerings if record is not None else []:
        if offering.item_code == item_code:
            return offering.time_limit_working_days
    return None


@dataclass(frozen=True)
class _Timing:
    time_limit: int | None
    promised_by: str | None
    taken: int
    late: bool
    weekends_only: bool
    completion_deadline: str


def _timing(purchase: Purchase, agency_id: str, contracted_at: str, now: datetime) -> _Timing:
    settings = get_settings()
    calendar, zone = working_calendar(), settings.timezone
    signed = parse_iso(contracted_at)
    local = ZoneInfo(zone)
    span = calendar.count_working_days(signed.astimezone(local).date(), now.astimezone(local).date())
    contract = purchase.contract
    held_to = contract.time_limit_working_days if contract is not None else None
    # The limit promised when the contract was registered; a contract from before that was kept
    # falls back to the offering in force.
    limit = held_to if held_to is not None else _time_limit(agency_id, purchase.item_code)
    promised = calendar.deadline(signed, limit, zone) if limit is not None else None
    window = calendar.deadline(now, settings.rules.completion_working_days, zone)
    return _Timing(
        time_limit=limit,
        promised_by=stamp(promised.at) if promised else None,
        taken=span.count,
        late=promised is not None and now > promised.at,
        weekends_only=span.weekends_only or bool(promised and promised.weekends_only) or window.weekends_only,
        completion_deadline=stamp(window.at),
    )


def _data(purchase: Purchase, agency_id: str, **more: object) -> dict[str, object]:
    return {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": agency_id,
        **more,
    }


def report(purchase_id: str, body: DeliveryReport, by: Principal) -> Delivery:
    """The contracted agency reports the service delivered (again, after a dispute)."""

    def attempt() -> Delivery:
        purchase = purchases_repo.get(purchase_id, consistent=True)
        require_published(purchase)
        step = PURCHASE.expect(purchase.status, "deliver", subject=purchase_id)
        agency_id = contracted_agency(purchase)
        if not (by.role == "agency" and by.org_id == agency_id):
            raise Forbidden(f"only the contracted agency of purchase {purchase_id} reports its delivery")
        existing = repo.delivery(purchase_id)
        delivery_step = (
            DELIVERY.expect(existing.status, "report", subject=f"of purchase {purchase_id}")
            if existing is not None
            else None
        )
        contracted_at = signed_at(purchase)
        now_at = utcnow()
        now = stamp(now_at)
        timing = _timing(purchase, agency_id, contracted_at, now_at)
        already_late = existing is not None and existing.late_recorded
        record_late = timing.late and not already_late
        fields: dict[str, Any] = {
            "status": DeliveryStatus.reported,
            "report_number": body.report_number,
            "file_sha256": body.file_sha256,
            "file_ref": body.file_ref,
            "reported_at": now,
            "contracted_at": contracted_at,
            "time_limit_working_days": timing.time_limit,
            "promised_by": timing.promised_by,
            "working_days_taken": timing.taken,
            "late": timing.late,
            "counts_weekends_only": timing.weekends_only,
            "late_recorded": already_late or record_late,
            "completion_deadline": timing.completion_deadline,
            "decided_at": None,
        }
        if existing is None or delivery_step is None:
            delivery = Delivery(
                purchase_id=purchase_id,
                owner_id=purchase.owner_id,
                agency_id=agency_id,
                item_code=purchase.item_code,
                **fields,
            )
        else:
            earlier = EarlierReport(
                report_number=existing.report_number,
                file_sha256=existing.file_sha256,
                file_ref=existing.file_ref,
                reported_at=existing.reported_at,
                working_days_taken=existing.working_days_taken,
                late=existing.late,
                dispute=Dispute(reasons=existing.dispute_reasons or "", at=existing.decided_at or now),
            )
            delivery = delivery_step.apply(
                existing,
                **fields,
                dispute_reasons=None,
                reports=existing.reports + 1,
                earlier=[*existing.earlier, earlier],
            )
        events: list[DomainEvent] = [
            event(
                "DeliveryReported",
                subject=purchase_id,
                data=_data(
                    purchase,
                    agency_id,
                    report_number=delivery.report_number,
                    file_sha256=delivery.file_sha256,
                    reports=delivery.reports,
                    working_days_taken=delivery.working_days_taken,
                    time_limit_working_days=delivery.time_limit_working_days,
                    late=delivery.late,
                    completion_deadline=delivery.completion_deadline,
                ),
                actor=by.subject,
            )
        ]
        credit_event = None
        if record_late:
            credit_event = credit.platform_event(
                CreditEventKind.delivery_late,
                agency_id,
                event_id=f"{purchase_id}-delivery-late-{agency_id}",
                cause=CreditCause(type="delivery", id=purchase_id, purchase_id=purchase_id),
                reason="逾期交付: delivered after the time limit its offering promised",
                basis=(
                    f"purchase {purchase_id}: {timing.taken} working days from the contract's signature, "
                    f"{timing.time_limit} promised (by {timing.promised_by})"
                ),
                occurred_at=now_at,
            )
            events.append(credit.recorded(credit_event, actor=by.subject))
        changed = step.apply(purchase, performance=summary_of(delivery, purchase.performance), updated_at=now)
        repo.save_delivery(
            changed,
            delivery,
            events,
            transition=step,
            delivery_transition=delivery_step,
            credit_event=credit_event,
        )
        event_bus.flush(events)
        return delivery

    return with_retries(attempt)


def decide(purchase_id: str, body: CompletionDecision, by: Principal) -> Delivery:
    """The owner accepts completion or disputes the delivery, within its window."""
    if body.decision == "dispute" and not body.reasons:
        raise invalid("reasons", "a dispute gives its reasons")

    def attempt() -> Delivery:
        purchase = purchases_repo.get(purchase_id, consistent=True)
        require_owner(purchase, by)
        action = "complete" if body.decision == "accept" else "dispute"
        step = PURCHASE.expect(purchase.status, action, subject=purchase_id)
        delivery = repo.delivery(purchase_id)
        if delivery is None:
            raise Conflict(f"purchase {purchase_id} has no delivery reported yet", reason="not_delivered")
        now_at = utcnow()
        now = stamp(now_at)
        if body.decision == "accept":
            delivery_step = DELIVERY.expect(delivery.status, "accept", subject=f"of purchase {purchase_id}")
            return _complete(purchase, delivery, step, delivery_step, now_at, actor=by.subject)
        delivery_step = DELIVERY.expect(delivery.status, "dispute", subject=f"of purchase {purchase_id}")
        if now > delivery.completion_deadline:
            raise Conflict(
                f"the window to dispute ended {delivery.completion_deadline}: silence accepted the delivery",
                reason="late",
            )
        disputed = delivery_step.apply(delivery, decided_at=now, dispute_reasons=body.reasons)
        agency_id = delivery.agency_id
        events = [
            event(
                "DeliveryDisputed",
                subject=purchase_id,
                data=_data(purchase, agency_id, reasons=body.reasons, report_number=delivery.report_number),
                actor=by.subject,
            )
        ]
        changed = step.apply(purchase, performance=summary_of(disputed, purchase.performance), updated_at=now)
        repo.save_delivery(changed, disputed, events, transition=step, delivery_transition=delivery_step)
        event_bus.flush(events)
        return disputed

    return with_retries(attempt)


def _complete(
    purchase: Purchase,
    delivery: Delivery,
    step: Transition[Any],
    delivery_step: Transition[DeliveryStatus],
    now_at: datetime,
    *,
    actor: str,
) -> Delivery:
    """The purchase completes: the delivery accepted, the `completion` credit event, together."""
    now = stamp(now_at)
    by_silence = delivery_step.action == "accept_by_silence"
    accepted = delivery_step.apply(delivery, decided_at=now, accepted_by_silence=by_silence)
    purchase_id, agency_id = purchase.purchase_id, delivery.agency_id
    credit_event = credit.platform_event(
        CreditEventKind.completion,
        agency_id,
        event_id=f"{purchase_id}-completion-{agency_id}",
        cause=CreditCause(type="purchase", id=purchase_id, purchase_id=purchase_id),
        reason="履约完成: the purchase's service was completed"
        + (" (accepted by the owner's silence)" if by_silence else ""),
        basis=f"purchase {purchase_id}: delivery {delivery.report_number} accepted",
        occurred_at=now_at,
    )
    events = [
        event(
            "PurchaseCompleted",
            subject=purchase_id,
            data=_data(
                purchase, agency_id, accepted_by_silence=by_silence, report_number=delivery.report_number
            ),
            actor=actor,
        ),
        credit.recorded(credit_event, actor=actor),
    ]
    changed = step.apply(purchase, performance=summary_of(accepted, purchase.performance), updated_at=now)
    repo.save_delivery(
        changed,
        accepted,
        events,
        transition=step,
        delivery_transition=delivery_step,
        credit_event=credit_event,
    )
    event_bus.flush(events)
    return accepted


def complete_by_silence(purchase_id: str) -> Purchase:
    """The owner let the window pass: the delivery is accepted, recorded as by silence. A purchase
    not waiting for it (decided, disputed, not yet due, already completed) is left as it is."""
    purchase = purchases_repo.get(purchase_id, consistent=True)
    delivery = repo.delivery(purchase_id)
    now_at = utcnow()
    due = (
        delivery is not None
        and PURCHASE.allows(purchase.status, "complete_by_silence")
        and DELIVERY.allows(delivery.status, "accept_by_silence")
        and stamp(now_at) > delivery.completion_deadline
    )
    if not due or delivery is None:
        return purchase
    step = PURCHASE.expect(purchase.status, "complete_by_silence", subject=purchase_id)
    delivery_step = DELIVERY.expect(delivery.status, "accept_by_silence")
    # A Conflict: the owner decided meanwhile, or another run completed it; the purchase says which.
    with suppress(Conflict):
        _complete(purchase, delivery, step, delivery_step, now_at, actor="system")
    return purchases_repo.get(purchase_id, consistent=True)


@dataclass
class SilenceReport:
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def complete_silent_deliveries() -> SilenceReport:
    """The scheduled task: every delivery whose window for the owner's decision has ended."""
    found = SilenceReport()
    for purchase_id in list(repo.completions_due(stamp(utcnow()))):
        try:
            purchase = complete_by_silence(purchase_id)
        except Exception:
            logger.exception("completion by silence failed for %s; the next run retries", purchase_id)
            found.failed.append(purchase_id)
            continue
        if purchase.performance is not None and purchase.performance.accepted_by_silence:
            found.completed.append(purchase_id)
    return found
