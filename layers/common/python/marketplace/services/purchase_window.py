"""The purchase's timed steps (DOMAIN.md §5): close enrollment, select, and watch the confirmation
deadline. Each runs from the purchase's Step Functions execution and, as a safety net, from the
sweeper; each is a conditional write on the state it expects, so whichever trigger comes first
applies it and every other trigger, however often it repeats, finds it done and reports the state.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import parse_iso, utcnow
from marketplace.domain.model import revised
from marketplace.domain.purchases import (
    ENROLLMENT,
    PURCHASE,
    RESULT,
    Enrollment,
    Purchase,
    SelectionMethod,
    next_due,
    result_state,
    stamp,
)
from marketplace.domain.selection import SelectionInput, select
from marketplace.domain.selection import pick as pick_from_short_list
from marketplace.errors import Conflict, ServiceUnavailable
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus, workflows
from marketplace.repositories import purchases as repo
from marketplace.services.outcomes import confirmation_due, result_event
from marketplace.services.purchase_access import require_owner
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.purchase_window")
SYSTEM = "system"


class StepNotDue(Exception):
    """A timed step was triggered before its time (clock skew between triggers): retry later.
    The state machine retries on this error type."""


class StepBusy(Exception):
    """A timed step kept meeting concurrent writes (enrollments landing as the window closes, a
    transaction conflict) and did not happen: retry it. The state machine retries on this error type."""


STEP_ATTEMPTS = 3
NOT_DUE_SLACK = timedelta(seconds=60)


def window_state(purchase: Purchase) -> dict[str, Any]:
    """What the state machine needs to decide and wait: the status and the next instants."""
    result = purchase.result
    return {
        "purchase_id": purchase.purchase_id,
        "status": purchase.status.value,
        "selection_time": stamp(purchase.selection_time),
        "confirmation_deadline": result.confirmation_deadline if result else None,
        "escalated": bool(result and result.escalated_at),
        "round_closes_at": _round_closes_at(purchase),
    }


def _round_closes_at(purchase: Purchase) -> str | None:
    """Price bidding: when the open further round closes (the state machine waits for it)."""
    current = purchase.current_round
    return current.closes_at if current is not None else None


def close_enrollment(purchase_id: str) -> Purchase:
    """Close the window at the deadline; too few eligible enrollees fail the purchase (流标). The
    write is conditioned on no enrollment or withdrawal having landed since the enrollments were
    read (one that started before the deadline may still commit): if one did, read again."""
    for _ in range(STEP_ATTEMPTS):
        purchase = repo.get(purchase_id, consistent=True)
        if not PURCHASE.allows(purchase.status, "close"):
            return purchase  # closed (or failed) by another trigger: report the state
        try:
            return _close(purchase)
        except (Conflict, ServiceUnavailable):
            continue
    raise StepBusy(f"purchase {purchase_id}: enrollments kept changing while closing")


def _close(purchase: Purchase) -> Purchase:
    purchase_id = purchase.purchase_id
    now = utcnow()
    if stamp(purchase.enrollment_deadline) > stamp(now):
        raise StepNotDue(f"purchase {purchase_id} closes at {stamp(purchase.enrollment_deadline)}")
    enrolled = [e for e in repo.enrollments(purchase_id) if ENROLLMENT.allows(e.status, "judge")]
    judged = _judge(purchase, enrolled, stamp(now))
    eligible = sorted(e.agency_id for e in judged if e.eligible)
    minimum = get_settings().rules.min_eligible_enrollees
    update: dict[str, Any] = {"eligible": len(eligible), "closed_at": stamp(now), "updated_at": stamp(now)}
    action = "close"
    update["eligible_agencies"] = eligible
    consortia = {e.agency_id: e.consortium for e in judged if e.eligible and e.consortium is not None}
    if consortia:  # consortium mode: every member and its part, public with the candidates
        update["consortia"] = consortia
    closer = CLOSERS.get(purchase.method)
    if closer is not None:
        method_update, action = closer(purchase, eligible, now)
        update |= method_update
    events: list[DomainEvent] = []
    candidates = update["eligible_agencies"]  # a sealed method keeps the eligible that submitted
    reason = None
    if len(eligible) < minimum:
        reason = f"{len(eligible)} eligible enrollment(s), fewer than the minimum of {minimum}"
    elif action == "close_failed" or len(candidates) < minimum:
        # The method's own reason (too few valid quotes, too few proposals).
        reason = str(update.get("failure_reason") or f"{len(candidates)} candidate(s), fewer than {minimum}")
    if reason is not None:
        action = "close_failed"
        update["failure_reason"] = reason
        data = {
            "purchase_id": purchase_id,
            "owner_id": purchase.owner_id,
            "reason": reason,
            "eligible": len(candidates),
            "minimum": minimum,
        }
        events.append(event("PurchaseFailed", subject=purchase_id, data=data, actor=SYSTEM))
    transition = PURCHASE.expect(purchase.status, action, subject=purchase_id)
    closed = transition.apply(purchase, **update)
    if action != "close_failed" and purchase.method in OPENED:
        events.append(OPENED[purchase.method](closed))
    if purchase.method in CLOSE_EVENTS:
        events += CLOSE_EVENTS[purchase.method](closed)
    repo.close(
        closed,
        events,
        judged,
        conflict=f"purchase {purchase_id} changed while closing",
        transition=transition,
    )
    event_bus.flush(events)
    return closed


def _credit_scores(purchase: Purchase, eligible: list[str], now: datetime) -> tuple[dict[str, Any], str]:
    """Credit best-value: each candidate's score, fixed now with the candidates, so a credit event
    recorded before the selection time changes nothing."""
    credit_rules = credit_repo.rules_in_force(now)
    standings = credit_repo.standings(eligible)
    return {"credit_scores": {a: standings[a].score(credit_rules, stamp(now)) for a in eligible}}, "close"


def _lazy(module: str, name: str) -> Callable[..., Any]:
    """A method's step, imported when first called: the functions that import this module for
    another step (a confirmation, a pick) do not load every method's services at their start."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(f"marketplace.services.{module}"), name)(*args, **kwargs)

    return call


# What a method does at closing besides fixing the candidates: (fields set on the purchase, the
# PURCHASE action taken when enough are eligible). Sealed methods open their submissions here.
Closer = Callable[[Purchase, list[str], datetime], tuple[dict[str, Any], str]]
CLOSERS: dict[SelectionMethod, Closer] = {
    SelectionMethod.credit_best_value: _credit_scores,
    SelectionMethod.proposal_best_value: _lazy("proposals", "open_scoring"),
    SelectionMethod.price_bidding: _lazy("bidding", "close_first_round"),
}

# What a method announces when closing opens its next stage (not when the purchase fails).
OPENED: dict[SelectionMethod, Callable[[Purchase], DomainEvent]] = {
    SelectionMethod.proposal_best_value: _lazy("proposals", "opened_event"),
}

# What a method announces when its closing is saved (price bidding: a round closed, the next opened).
CLOSE_EVENTS: dict[SelectionMethod, Callable[[Purchase], list[DomainEvent]]] = {
    SelectionMethod.price_bidding: _lazy("bidding", "round_events"),
}

# What a method ranks by, read for the selection: SelectionInput's keyword arguments.
Figures = Callable[[Purchase], dict[str, Any]]
FIGURES: dict[SelectionMethod, Figures] = {
    SelectionMethod.credit_best_value: lambda purchase: {"credit_scores": purchase.credit_scores},
    SelectionMethod.proposal_best_value: _lazy("proposals", "figures"),
    SelectionMethod.price_bidding: _lazy("bidding", "final_prices"),
}


def _judge(purchase: Purchase, enrolled: list[Enrollment], now: str) -> list[Enrollment]:
    """Each enrollment judged again at closing: an agency expelled, suspended or blacklisted since
    it enrolled is not drawn; a consortium is judged with its members (`_consortia`)."""
    # Imported here: agencies' models are only needed when closing, not by the other steps' functions.
    from marketplace.services import consortium
    from marketplace.services.eligibility import refused_now

    consortia = consortium.at_closing(purchase.purchase_id, enrolled)
    refused = refused_now(purchase, [e.agency_id for e in enrolled], now, consortia)
    for lead, why in _consortia(consortia).items():
        refused[lead] = f"{refused[lead]}; {why}" if lead in refused else why
    return [
        ENROLLMENT.expect(e.status, "judge", subject=e.agency_id).apply(
            e,
            eligible=e.agency_id not in refused,
            ineligible_reason=refused.get(e.agency_id),
            consortium=consortia.get(e.agency_id, e.consortium),
        )
        for e in enrolled
    ]


def _consortia(consortia: dict[str, Any]) -> dict[str, str]:
    """Consortium mode: a consortium whose members have not all accepted their part by closing does
    not count, with the members named."""
    from marketplace.services import consortium

    refused: dict[str, str] = {}
    for lead, formed in consortia.items():
        waiting = consortium.unconfirmed(formed)
        if waiting:
            refused[lead] = (
                f"consortium members {', '.join(waiting)} did not accept their part by the deadline"
            )
    return refused


def close_round(purchase_id: str) -> Purchase:
    """Price bidding: at a further round's deadline, open its quotes, record the best price, and open
    the next round or (after the last) leave the purchase closed for the selection. The write is
    conditioned on the state and round read and on no quote having landed since (a quote that
    started before the deadline may still commit): if one did, read again."""
    for _ in range(STEP_ATTEMPTS):
        purchase = repo.get(purchase_id, consistent=True)
        if not PURCHASE.allows(purchase.status, "next_round") or purchase.current_round is None:
            return purchase  # closed by another trigger (or never bidding): report the state
        current = purchase.current_round
        now = utcnow()
        if current.closes_at is not None and current.closes_at > stamp(now):
            raise StepNotDue(f"purchase {purchase_id}: round {current.round} closes at {current.closes_at}")
        from marketplace.services import bidding

        update, action = bidding.close_open_round(purchase, now)
        transition = PURCHASE.expect(purchase.status, action, subject=purchase_id)
        closed = transition.apply(purchase, **update, updated_at=stamp(now))
        events = bidding.round_events(closed)
        try:
            repo.save(
                closed,
                events,
                conflict=f"purchase {purchase_id}: round {current.round} changed while closing",
                enrollments_unchanged=True,
                transition=transition,
            )
        except (Conflict, ServiceUnavailable):
            continue
        event_bus.flush(events)
        return closed
    raise StepBusy(f"purchase {purchase_id}: quotes kept landing while the round closed")


def run_selection(purchase_id: str) -> Purchase:
    """Draw (or short-list) among the eligible enrollees at the selection time, exactly once: the
    proof row and the result are written together, conditioned on the purchase still being closed."""
    purchase = repo.get(purchase_id, consistent=True)
    if not PURCHASE.allows(purchase.status, "draw"):
        return purchase  # drawn by another trigger (or failed): report the state
    now = utcnow()
    if stamp(purchase.selection_time) > stamp(now):
        raise StepNotDue(f"purchase {purchase_id} selects at {stamp(purchase.selection_time)}")
    if purchase.batch is not None:  # one draw for the batch, one purchase per project (services/batch.py)
        from marketplace.services import batch

        return batch.run_selection(purchase, now)
    eligible = purchase.eligible_agencies
    reserves = purchase.reserves if purchase.reserves is not None else get_settings().rules.reserves
    deadline, weekends_only = confirmation_due(now)
    proof, result = select(
        SelectionInput(
            purchase=purchase,
            seed=bytes.fromhex(repo.seed(purchase_id)),
            eligible=eligible,
            reserves=reserves,
            drawn_at=stamp(now),
            confirmation_deadline=deadline,
            **(FIGURES[purchase.method](purchase) if purchase.method in FIGURES else {}),
        )
    )
    result = revised(result, deadline_counts_weekends_only=weekends_only)
    action = "short_list" if result.selected_agency is None else "draw"
    transition = PURCHASE.expect(purchase.status, action, subject=purchase_id)
    selected = transition.apply(purchase, result=result, updated_at=stamp(now))
    events = [result_event(selected, SYSTEM), *_consortium_selected(selected)]
    try:
        repo.save(
            selected,
            events,
            conflict=f"purchase {purchase_id} was drawn meanwhile",
            draw=proof.as_dict(),
            transition=transition,
        )
    except (Conflict, ServiceUnavailable) as exc:
        current = repo.get(purchase_id, consistent=True)
        if PURCHASE.allows(current.status, action):
            raise StepBusy(f"purchase {purchase_id}: the draw could not be saved; retry") from exc
        return current  # another trigger drew first: the same draw
    event_bus.flush(events)
    return selected


def _consortium_selected(purchase: Purchase) -> list[DomainEvent]:
    if not purchase.consortia:
        return []
    from marketplace.services import consortium

    return consortium.selected_events(purchase, SYSTEM)


def pick(purchase_id: str, agency_id: str, by: Principal) -> Purchase:
    """Credit best-value: the owner picks one agency from the drawn short list."""
    purchase = repo.get(purchase_id, consistent=True)
    require_owner(purchase, by)
    transition = PURCHASE.expect(purchase.status, "pick", subject=purchase_id)
    assert purchase.result is not None  # a selecting purchase has its short list
    if stamp(utcnow()) > purchase.result.confirmation_deadline:
        raise Conflict("the confirmation deadline has passed; the admin has the purchase")
    if agency_id not in purchase.result.short_list:
        raise Conflict(f"agency {agency_id} is not on the short list", short_list=purchase.result.short_list)
    result = pick_from_short_list(purchase.result, agency_id, purchase.result.confirmation_deadline)
    picked = transition.apply(purchase, result=result, updated_at=stamp(utcnow()))
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": agency_id,
        "confirmation_deadline": result.confirmation_deadline,
        "reserves": result.reserves,
    }
    events = [event("AgencyPicked", subject=purchase_id, data=data, actor=by.subject)]
    events += _consortium_selected(picked)
    repo.save(picked, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition)
    event_bus.flush(events)
    return picked


def check_confirmation(purchase_id: str) -> Purchase:
    """At the confirmation deadline: a result still unconfirmed escalates to the admin (once)."""
    purchase = repo.get(purchase_id, consistent=True)
    result = purchase.result
    if not PURCHASE.allows(purchase.status, "escalate") or result is None or result.escalated_at:
        return purchase  # confirmed, failed, or escalated already: report the state
    now_at = utcnow()
    if result.confirmation_deadline >= stamp(now_at):
        # The parties may act until the deadline's last second. Triggered a moment early (a clock
        # behind the execution's), retry; much earlier, a reserve moved up and has its own window.
        if parse_iso(result.confirmation_deadline) - now_at < NOT_DUE_SLACK:
            raise StepNotDue(
                f"purchase {purchase_id}: the confirmation deadline is {result.confirmation_deadline}"
            )
        return purchase
    now = stamp(now_at)
    transition = PURCHASE.expect(purchase.status, "escalate", subject=purchase_id)
    escalated_result = RESULT.expect(result_state(result), "escalate").apply(result, escalated_at=now)
    escalated = transition.apply(purchase, result=escalated_result, updated_at=now)
    data = {
        "purchase_id": purchase_id,
        "owner_id": purchase.owner_id,
        "agency_id": result.selected_agency,
        "reason": f"unconfirmed at the confirmation deadline {result.confirmation_deadline}",
    }
    events = [event("PurchaseEscalated", subject=purchase_id, data=data, actor=SYSTEM)]
    try:
        repo.save(
            escalated, events, conflict=f"purchase {purchase_id} changed meanwhile", transition=transition
        )
    except Conflict:
        return repo.get(purchase_id, consistent=True)
    event_bus.flush(events)
    return escalated


def flag(purchase_id: str, reason: str) -> Purchase:
    """The window's workflow failed for good: the purchase waits for the admin."""
    purchase = repo.get(purchase_id, consistent=True)
    if purchase.flagged:
        return purchase
    flagged = revised(purchase, flagged=reason[:500], updated_at=stamp(utcnow()))
    data = {"purchase_id": purchase_id, "owner_id": purchase.owner_id, "reason": reason[:500]}
    events = [event("PurchaseFlagged", subject=purchase_id, data=data, actor=SYSTEM)]
    repo.save(flagged, events, conflict=f"purchase {purchase_id} changed meanwhile")
    event_bus.flush(events)
    return flagged


# Opening sealed quotes and proposals is the closing tasks' alone: only their roles may decrypt
# (docs/adr/0015). For those steps the sweeper starts the window again instead of running them,
# once the execution has had its own retries' time (StepNotDue retries for about a minute).
SEALED_METHODS = (SelectionMethod.price_bidding, SelectionMethod.proposal_best_value)
RESTART_GRACE = timedelta(minutes=3)


def _sealed_step(purchase: Purchase, step: str) -> bool:
    return purchase.method in SEALED_METHODS and step in ("close", "round")


@dataclass
class SweepReport:
    advanced: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)  # sealed steps handed back to a new execution
    failed: dict[str, str] = field(default_factory=dict)


def sweep() -> SweepReport:
    """Every 5 minutes: run the due step of any purchase whose execution did not (not started,
    failed, or late). The steps are the same conditional writes, so a purchase the execution is
    handling at the same moment is not advanced twice."""
    from marketplace.services import confirmation

    report = SweepReport()
    for purchase in repo.due_by(stamp(utcnow())):
        due = next_due(purchase)
        if due is None or due[0] == "contract":  # the contract task's (services.contracts)
            continue
        if _sealed_step(purchase, due[0]):
            if stamp(utcnow()) >= stamp(parse_iso(due[1]) + RESTART_GRACE):
                if workflows.restart_window(purchase, due[0], due[1]):
                    report.restarted.append(purchase.purchase_id)
                else:
                    report.failed[purchase.purchase_id] = f"{due[0]}: the window could not be restarted"
            continue
        try:
            if due[0] == "close":
                closed = close_enrollment(purchase.purchase_id)
                if PURCHASE.allows(closed.status, "draw") and stamp(closed.selection_time) <= stamp(utcnow()):
                    run_selection(purchase.purchase_id)
            elif due[0] == "select":
                run_selection(purchase.purchase_id)
            elif due[0] == "confirmation":
                check_confirmation(purchase.purchase_id)
            elif due[0] == "scoring":
                from marketplace.services import proposals

                proposals.check_scoring(purchase.purchase_id)
            else:
                confirmation.issue_letter(purchase.purchase_id)
            report.advanced.append(purchase.purchase_id)
        except Exception as exc:
            report.failed[purchase.purchase_id] = f"{type(exc).__name__}: {exc}"
            log(
                logger,
                logging.WARNING,
                "sweep step failed",
                purchase_id=purchase.purchase_id,
                step=due[0],
                error=str(exc),
            )
    return report
