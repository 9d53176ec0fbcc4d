"""Confirmation (中选确认, DOMAIN.md §6): within the confirmation deadline the owner confirms the
result and the selected agency accepts it, in either order; the second of the two confirms the
purchase and the platform issues the signed confirmation letter. An agency that abandons (放弃中选)
gets a credit penalty and the first reserve moves up with a window of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import parse_iso, utcnow
from marketplace.domain.credit import CreditCause, CreditEventKind
from marketplace.domain.model import revised
from marketplace.domain.purchase_contract import deadline_from
from marketplace.domain.purchases import (
    PURCHASE,
    RESULT,
    Purchase,
    Result,
    ResultState,
    result_state,
    stamp,
)
from marketplace.domain.selection import move_up
from marketplace.errors import Conflict, Forbidden
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus, workflows
from marketplace.repositories import purchases as repo
from marketplace.services import credit
from marketplace.services.outcomes import confirmation_due
from marketplace.services.purchase_access import require_owner, require_published
from marketplace.services.retries import with_retries
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.letters")


def _result(purchase: Purchase, action: str) -> Result:
    """The result a party acts on, if the purchase's table allows `action` (confirm, accept,
    abandon) in its state."""
    PURCHASE.expect(purchase.status, action, subject=purchase.purchase_id)
    result = purchase.result
    assert result is not None and result.selected_agency is not None  # selected or confirmed
    return result


def _within_deadline(result: Result, now: str) -> None:
    if now > result.confirmation_deadline:
        raise Conflict(
            f"the confirmation deadline {result.confirmation_deadline} has passed; the admin has the purchase"
        )


def confirm(purchase_id: str, by: Principal) -> Purchase:
    """The owner confirms the result: the agency selected when it first read the purchase, never
    one that moved up while it was confirming."""
    seen: list[str | None] = []

    def attempt() -> Purchase:
        purchase = repo.get(purchase_id, consistent=True)
        require_owner(purchase, by)
        result = _result(purchase, "confirm")
        step = RESULT.expect(result_state(result), "confirm")
        if step.target == step.source:
            return purchase  # a repeat: nothing changes
        now = stamp(utcnow())
        _within_deadline(result, now)
        seen.append(seen[0] if seen else result.selected_agency)
        if result.selected_agency != seen[0]:
            raise Conflict(
                f"the selected agency changed to {result.selected_agency} while confirming: read the "
                "purchase again and confirm the new result",
                reason="selection_changed",
            )
        return _record(purchase, step.apply(result, owner_confirmed_at=now), "ResultConfirmed", by, now)

    return _finish(with_retries(attempt))


def accept(purchase_id: str, by: Principal) -> Purchase:
    """The selected agency accepts the result."""

    def attempt() -> Purchase:
        purchase = repo.get(purchase_id, consistent=True)
        require_published(purchase)
        result = _result(purchase, "accept")
        if not (by.role == "agency" and result.selected_agency == by.org_id):
            raise Forbidden(f"only the selected agency of purchase {purchase_id} accepts its result")
        step = RESULT.expect(result_state(result), "accept")
        if step.target == step.source:
            return purchase  # a repeat: nothing changes
        now = stamp(utcnow())
        _within_deadline(result, now)
        return _record(purchase, step.apply(result, agency_accepted_at=now), "ResultAccepted", by, now)

    return _finish(with_retries(attempt))


def _record(purchase: Purchase, result: Result, detail_type: str, by: Principal, now: str) -> Purchase:
    """Save one party's confirmation; when both have confirmed, the purchase is confirmed."""
    assert result.selected_agency is not None
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": result.selected_agency,
    }
    events = [event(detail_type, subject=purchase.purchase_id, data=data, actor=by.subject)]
    update: dict[str, Any] = {"result": result, "updated_at": now}
    action = "confirm" if detail_type == "ResultConfirmed" else "accept"
    if result_state(result) == ResultState.confirmed:
        action = "conclude"  # the second of the two confirms the purchase
        update["confirmed_at"] = now
        # The contract is due within RULE_CONTRACT_DAYS calendar days of confirmation (合同).
        days = get_settings().rules.contract_days
        update["contract_deadline"] = stamp(deadline_from(parse_iso(now), days, get_settings().timezone))
        events.append(event("PurchaseConfirmed", subject=purchase.purchase_id, data=data, actor=by.subject))
    transition = PURCHASE.expect(purchase.status, action, subject=purchase.purchase_id)
    changed = transition.apply(purchase, **update)
    repo.save(
        changed, events, conflict=f"purchase {purchase.purchase_id} changed meanwhile", transition=transition
    )
    event_bus.flush(events)
    # Both parties have confirmed: the window has nothing left to watch. A batch's project has no
    # execution of its own (the sweeper watches its deadline; docs/batch.md).
    if action == "conclude" and changed.batch_of is None:
        workflows.stop_window(
            purchase.purchase_id,
            "confirmed: no deadline left to watch",
            execution=workflows.execution_name(changed),
        )
    return changed


def _finish(purchase: Purchase) -> Purchase:
    """A confirmed purchase gets its letter now; if issuing fails, the sweeper issues it later."""
    if not PURCHASE.allows(purchase.status, "issue_letter") or purchase.letter_id:
        return purchase
    try:
        return issue_letter(purchase.purchase_id)
    except Exception:
        log(
            logger,
            logging.ERROR,
            "letter not issued; the sweeper retries",
            purchase_id=purchase.purchase_id,
        )
        return purchase


def abandon(purchase_id: str, reason: str, by: Principal) -> Purchase:
    """The selected agency abandons: a credit event, and the first reserve moves up (or, with none
    left, the purchase fails and the owner may re-announce it)."""
    purchase = repo.get(purchase_id, consistent=True)
    require_published(purchase)
    now_at = utcnow()
    now = stamp(now_at)
    result = _result(purchase, "abandon")
    _within_deadline(result, now)
    agency_id = result.selected_agency
    if not (by.role == "agency" and agency_id == by.org_id):
        raise Forbidden(f"only the selected agency of purchase {purchase_id} may abandon its result")
    assert agency_id is not None
    rules = get_settings().rules
    credit_event = credit.platform_event(
        CreditEventKind.abandonment,
        agency_id,
        event_id=f"{purchase_id}-abandoned-{agency_id}",
        cause=CreditCause(type="purchase", id=purchase_id, purchase_id=purchase_id),
        reason="放弃中选: abandoned a selection result",
        basis=f"purchase {purchase_id}: {reason}",
        occurred_at=now_at,
    )
    # A reserve expelled, suspended or blacklisted since the draw does not move up (DOMAIN: such an
    # agency takes part nowhere); it is passed over, with why, in the published result. Imported
    # here: it loads the agencies' models, which the confirming functions sharing this module never use.
    from marketplace.services.eligibility import refused_now

    refused = refused_now(purchase, result.reserves, now)
    deadline, weekends_only = confirmation_due(now_at)
    moved = revised(
        move_up(result, agency_id, reason, now, deadline, refused),
        deadline_counts_weekends_only=weekends_only,
    )
    base = {"purchase_id": purchase_id, "owner_id": purchase.owner_id}
    events: list[DomainEvent] = [
        event(
            "ResultAbandoned",
            subject=purchase_id,
            data={**base, "agency_id": agency_id, "reason": reason},
            actor=by.subject,
        ),
        credit.recorded(credit_event, actor=by.subject),
    ]
    update: dict[str, Any] = {"result": moved, "updated_at": now}
    action = "abandon"
    if moved.selected_agency is None:
        failure = "the selected agency abandoned and no reserve remains"
        action = "abandon_last"
        update["failure_reason"] = failure
        data = {
            **base,
            "reason": failure,
            "eligible": purchase.eligible or 0,
            "minimum": rules.min_eligible_enrollees,
        }
        events.append(event("PurchaseFailed", subject=purchase_id, data=data, actor="system"))
    else:
        data = {
            **base,
            "agency_id": moved.selected_agency,
            "previous_agency_id": agency_id,
            "confirmation_deadline": moved.confirmation_deadline,
        }
        events.append(event("ReserveMovedUp", subject=purchase_id, data=data, actor="system"))
    transition = PURCHASE.expect(purchase.status, action, subject=purchase_id)
    changed = transition.apply(purchase, **update)
    if action == "abandon" and changed.consortia:  # consortium mode: a lead moved up tells its members
        from marketplace.services.consortium import selected_events

        events += selected_events(changed, "system")
    repo.save(
        changed,
        events,
        conflict=f"purchase {purchase_id} changed meanwhile",
        stage_also=credit_repo.staged(credit_event),
        transition=transition,
    )
    event_bus.flush(events)
    return changed


def issue_letter(purchase_id: str) -> Purchase:
    """Sign and store the confirmation letter of a confirmed purchase, once."""
    from marketplace.services import letters
    from marketplace.services.letter_content import letter_for

    purchase = repo.get(purchase_id, consistent=True)
    if not PURCHASE.allows(purchase.status, "issue_letter") or purchase.letter_id:
        return purchase
    transition = PURCHASE.expect(purchase.status, "issue_letter", subject=purchase_id)
    issued = letters.issue(letter_for(purchase))
    now = stamp(utcnow())
    result = purchase.result
    assert result is not None and result.selected_agency is not None
    with_letter = transition.apply(purchase, letter_id=issued.letter_id, updated_at=now)
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": result.selected_agency,
        "letter_id": issued.letter_id,
    }
    events = [event("LetterIssued", subject=purchase_id, data=data, actor="system")]
    try:
        repo.save(
            with_letter, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition
        )
    except Conflict:
        return repo.get(purchase_id, consistent=True)  # issued by another trigger: the same letter
    event_bus.flush(events)
    return with_letter
