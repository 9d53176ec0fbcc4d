"""Suspending a purchase's window (质疑暂停) and resuming or cancelling it (DOMAIN.md §10).

An accepted challenge (or an upheld complaint about the announcement) before the result suspends
the purchase: its state goes to `suspended`, the enrollment window row loses its deadline (an
enrollment in flight cannot land), and its Step Functions execution is stopped, so nothing waits or
polls meanwhile. Resuming returns the purchase to the state it had and moves every deadline still
ahead of it by how long it was suspended: the window gets exactly the time it had left. A new
execution times it (repositories/workflows.py). Cancelling ends a suspended purchase.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import parse_iso, stamp, utcnow
from marketplace.domain.model import revised
from marketplace.domain.purchases import (
    PURCHASE,
    RESUME_ACTIONS,
    Cancellation,
    Purchase,
    PurchaseStatus,
    Suspension,
)
from marketplace.errors import Conflict
from marketplace.events import DomainEvent, event
from marketplace.repositories import challenges as challenge_repo
from marketplace.repositories import event_bus, workflows
from marketplace.repositories import purchases as repo
from marketplace.services.purchase_access import require_owner


def suspended(
    purchase: Purchase, challenge_id: str, now: str, actor: str
) -> tuple[Purchase, Any, DomainEvent]:
    """The purchase suspended by `challenge_id`, the transition, and the `PurchaseSuspended` event.
    The caller saves it with `window_stager` in the same transaction, then calls `stop`."""
    transition = PURCHASE.expect(purchase.status, "suspend", subject=purchase.purchase_id)
    suspension = Suspension(challenge_id=challenge_id, from_status=purchase.status.value, suspended_at=now)
    changed = transition.apply(purchase, suspensions=[*purchase.suspensions, suspension], updated_at=now)
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "challenge_id": challenge_id,
        "from_status": purchase.status.value,
    }
    return (
        changed,
        transition,
        event("PurchaseSuspended", subject=purchase.purchase_id, data=data, actor=actor),
    )


def window_stager(purchase: Purchase) -> Any:
    """What a suspension writes besides the purchase: the enrollment window, or the open bidding
    round, shut (the condition a quote or an enrollment in flight is written under)."""
    current = purchase.suspensions[-1]
    if current.from_status in (PurchaseStatus.enrollment_open.value, PurchaseStatus.bidding.value):
        return challenge_repo.window_shut(purchase.purchase_id)
    return None


def stop(purchase: Purchase) -> None:
    """Stop the execution that was timing the window: a suspended purchase waits for its owner."""
    workflows.stop_window(
        purchase.purchase_id, "suspended by a challenge", execution=workflows.execution_name(purchase)
    )


def resume(purchase_id: str, note: str, by: Principal) -> Purchase:
    purchase = repo.get(purchase_id, consistent=True)
    require_owner(purchase, by)
    if purchase.status != PurchaseStatus.suspended or not purchase.suspensions:
        raise PURCHASE.refusal(purchase.status, "resume", subject=purchase_id)
    current = purchase.suspensions[-1]
    from_status = PurchaseStatus(current.from_status)
    transition = PURCHASE.expect(purchase.status, RESUME_ACTIONS[from_status], subject=purchase_id)
    now_at = utcnow().replace(microsecond=0)
    now = stamp(now_at)
    shift = now_at - parse_iso(current.suspended_at)
    seconds = max(int(shift.total_seconds()), 0)
    moved = timedelta(seconds=seconds)
    changes = _moved(purchase, from_status, moved)
    ended = revised(current, resumed_at=now, shifted_seconds=seconds, note=note)
    resumed = transition.apply(
        purchase, **changes, suspensions=[*purchase.suspensions[:-1], ended], updated_at=now
    )
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "status": resumed.status.value,
        "suspended_seconds": seconds,
        "enrollment_deadline": stamp(resumed.enrollment_deadline),
        "selection_time": stamp(resumed.selection_time),
        "confirmation_deadline": resumed.result.confirmation_deadline if resumed.result else None,
        "round_closes_at": resumed.current_round.closes_at if resumed.current_round else None,
        "scoring_deadline": (
            resumed.scoring.deadline
            if resumed.scoring is not None and resumed.status == PurchaseStatus.scoring
            else None
        ),
        "note": note,
    }
    events = [event("PurchaseResumed", subject=purchase_id, data=data, actor=by.subject)]
    repo.save(resumed, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition)
    event_bus.flush(events)
    workflows.start_window(resumed)  # a failure leaves the window to the sweeper (the due index is set)
    if resumed.status == PurchaseStatus.scoring:
        # A last score that landed as the suspension committed could not rank (the purchase was
        # suspended): rank now if every score is in; otherwise the panel's last score will.
        from marketplace.services import proposals

        return proposals.rank(purchase_id, by.subject)
    return resumed


def _moved(purchase: Purchase, from_status: PurchaseStatus, moved: timedelta) -> dict[str, Any]:
    """Every deadline still ahead of the purchase when it was suspended, moved by `moved`: the
    enrollment deadline, the selection time (before the result), the open bidding round's closing
    (later rounds open when it closes, for their regional length), the scoring deadline, the short
    list's confirmation deadline."""
    before_result = (
        PurchaseStatus.enrollment_open,
        PurchaseStatus.enrollment_closed,
        PurchaseStatus.bidding,
        PurchaseStatus.scoring,
    )
    changes: dict[str, Any] = {}
    if from_status == PurchaseStatus.enrollment_open:
        changes["enrollment_deadline"] = purchase.enrollment_deadline + moved
    if from_status in before_result:
        changes["selection_time"] = purchase.selection_time + moved
    if from_status == PurchaseStatus.bidding and purchase.bidding_rounds:
        current = purchase.bidding_rounds[-1]
        if current.closes_at is not None:
            closes_at = stamp(parse_iso(current.closes_at) + moved)
            changes["bidding_rounds"] = [*purchase.bidding_rounds[:-1], revised(current, closes_at=closes_at)]
    if from_status == PurchaseStatus.scoring and purchase.scoring is not None:
        deadline = stamp(parse_iso(purchase.scoring.deadline) + moved)
        changes["scoring"] = revised(purchase.scoring, deadline=deadline)
    if from_status == PurchaseStatus.selecting and purchase.result is not None:
        deadline = stamp(parse_iso(purchase.result.confirmation_deadline) + moved)
        changes["result"] = revised(purchase.result, confirmation_deadline=deadline)
    return changes


def cancel(purchase_id: str, reason: str, by: Principal) -> Purchase:
    purchase = repo.get(purchase_id, consistent=True)
    require_owner(purchase, by)
    transition = PURCHASE.expect(purchase.status, "cancel", subject=purchase_id)
    now = stamp(utcnow())
    cancelled = transition.apply(purchase, cancellation=Cancellation(reason=reason, at=now), updated_at=now)
    data = {"purchase_id": purchase_id, "owner_id": purchase.owner_id, "reason": reason}
    events = [event("PurchaseCancelled", subject=purchase_id, data=data, actor=by.subject)]
    try:
        repo.save(
            cancelled, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition
        )
    except Conflict:
        current = repo.get(purchase_id, consistent=True)
        raise PURCHASE.refusal(current.status, "cancel", subject=purchase_id) from None
    event_bus.flush(events)
    return cancelled
