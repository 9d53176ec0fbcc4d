"""Challenges and complaints (质疑投诉, DOMAIN.md §10): filing, the owner's answer, the complaint
to the regulator and its decision, and the sweeper that escalates unanswered challenges and closes
complaint windows. docs/challenges.md tells the whole story.

Deadlines count working days on the regional calendar (services/calendar.py) from the rules
`challenge_working_days` (from the announcement's publication or the result's),
`challenge_answer_working_days` (from the filing) and `complaint_working_days` (from the rejection,
or from the answer deadline when no answer came).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import parse_iso, stamp, utcnow
from marketplace.domain.challenges import (
    CHALLENGE,
    Answer,
    AnswerRequest,
    Challenge,
    ChallengeRequest,
    ChallengeStatus,
    ChallengeSubject,
    Complaint,
    ComplaintRequest,
    Decision,
    DecisionRequest,
    annul,
    challenge_id,
    public_view,
)
from marketplace.domain.credit import CreditCause, CreditEvent, CreditEventKind
from marketplace.domain.model import revised
from marketplace.domain.purchases import PURCHASE, EnrollmentStatus, Purchase, PurchaseStatus
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import challenges as repo
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories import purchases as purchase_repo
from marketplace.services import suspension
from marketplace.services.calendar import working_calendar
from marketplace.services.purchase_access import require_owner, require_published
from marketplace.services.retries import with_retries
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.challenges")
SYSTEM = "system"

# Before the result: enrollment open or closed, a further bidding round open, the proposals being
# scored. Not while suspended: the window is stopped for the owner to correct the announcement;
# challenges filed before the suspension are still answered, complained of and decided.
ANNOUNCEMENT_STATES = (
    PurchaseStatus.enrollment_open,
    PurchaseStatus.enrollment_closed,
    PurchaseStatus.bidding,
    PurchaseStatus.scoring,
)
RESULT_STATES = (PurchaseStatus.selecting, PurchaseStatus.selected, PurchaseStatus.confirmed)


def _deadline(start: datetime, days: int) -> tuple[str, bool]:
    due = working_calendar().deadline(start, days, get_settings().timezone)
    return stamp(due.at), bool(due.uncovered_years)


def _base(challenge: Challenge) -> dict[str, Any]:
    return {
        "challenge_id": challenge.challenge_id,
        "purchase_id": challenge.purchase_id,
        "owner_id": challenge.owner_id,
        "agency_id": challenge.challenger_id,
        "subject": challenge.subject.value,
        "industry": challenge.industry,
    }


# Filing.


def _filing_period(purchase: Purchase, subject: ChallengeSubject) -> str:
    """When the period to challenge `subject` started, if the purchase is where it may be challenged."""
    if subject == ChallengeSubject.announcement:
        if purchase.status not in ANNOUNCEMENT_STATES or purchase.published_at is None:
            raise Conflict(
                f"purchase {purchase.purchase_id} is {purchase.status.value}: its announcement may be "
                "challenged before the result (enrollment open or closed, bidding, scoring)",
                state=purchase.status.value,
                reason="wrong_subject",
            )
        return purchase.published_at
    if purchase.status not in RESULT_STATES or purchase.result is None:
        raise Conflict(
            f"purchase {purchase.purchase_id} is {purchase.status.value}: its result may be challenged "
            "once it is published",
            state=purchase.status.value,
            reason="wrong_subject",
        )
    # The agency selected now was selected when the last abandonment or annulment moved it up:
    # its selection is challengeable for the whole period from then.
    changes = [a.at for a in purchase.result.abandoned] + [a.at for a in purchase.result.annulled]
    return max([purchase.result.selected_at, *changes])


def file(purchase_id: str, request: ChallengeRequest, by: Principal) -> Challenge:
    if by.role != "agency" or not by.org_id:
        raise Forbidden("only an agency enrolled in the purchase may challenge it")
    purchase = purchase_repo.get(purchase_id, consistent=True)
    require_published(purchase)
    # A batch's project (domain/batch.py): the agencies enrolled in its announcement.
    enrollment = repo.enrollment(purchase.batch_of or purchase_id, by.org_id)
    if enrollment is None or enrollment.status != EnrollmentStatus.enrolled:
        raise Forbidden(f"only an agency enrolled in purchase {purchase_id} may challenge it")
    started = _filing_period(purchase, request.subject)
    rules = get_settings().rules
    now_at = utcnow()
    now = stamp(now_at)
    last_day, weekends_only = _deadline(parse_iso(started), rules.challenge_working_days)
    if now > last_day:
        raise Conflict(
            f"the {request.subject.value} may be challenged until {last_day} "
            f"({rules.challenge_working_days} working days after {started})",
            deadline=last_day,
            reason="late",
        )
    answer_deadline, answer_weekends_only = _deadline(now_at, rules.challenge_answer_working_days)
    from marketplace.repositories import catalogue

    challenge = Challenge(
        challenge_id=challenge_id(purchase_id, secrets.token_hex(4)),
        purchase_id=purchase_id,
        owner_id=purchase.owner_id,
        item_code=purchase.item_code,
        industry=catalogue.latest(purchase.item_code).industry,
        subject=request.subject,
        grounds=request.grounds,
        reasons=request.reasons,
        status=ChallengeStatus.filed,
        challenger_id=by.org_id,
        challenger_name=enrollment.agency_name,
        purchase_status=purchase.status.value,
        challenged_agency=(
            purchase.result.selected_agency
            if request.subject == ChallengeSubject.result and purchase.result is not None
            else None
        ),
        filed_at=now,
        answer_deadline=answer_deadline,
        deadlines_count_weekends_only=weekends_only or answer_weekends_only,
    )
    data = {**_base(challenge), "answer_deadline": answer_deadline}
    events = [event("ChallengeFiled", subject=purchase_id, data=data, actor=by.subject)]
    repo.add(challenge, events)
    event_bus.flush(events)
    return challenge


# Reading.


def sees_challenger(challenge: Challenge, purchase: Purchase, by: Principal | None) -> bool:
    """The owner, the admin, a regulator of the item's industry, and the challenger itself."""
    if by is None:
        return False
    if by.is_admin() or (by.role == "owner" and purchase.is_owned_by(by.org_id)):
        return True
    if by.role == "regulator" and challenge.industry in by.industries:
        return True
    return by.role == "agency" and by.org_id == challenge.challenger_id


def list_for_purchase(purchase_id: str, by: Principal | None) -> list[Challenge]:
    purchase = purchase_repo.get(purchase_id)
    if purchase.published_at is None and not (
        by is not None and (by.is_admin() or (by.role == "owner" and purchase.is_owned_by(by.org_id)))
    ):
        raise NotFound(f"purchase {purchase_id} not found")
    return [c if sees_challenger(c, purchase, by) else public_view(c) for c in repo.of_purchase(purchase_id)]


def complaint_queue(by: Principal, industry: str | None) -> list[Challenge]:
    """The complaints waiting for a decision: a regulator's in its industries (or the one named),
    the admin's in the industry it names."""
    if by.is_admin():
        if industry is None:
            raise ValidationFailed(
                "name the industry whose complaints to list",
                errors=[FieldError("industry", "required for the admin")],
            )
        industries: tuple[str, ...] = (industry,)
    elif by.role == "regulator":
        if industry is not None and industry not in by.industries:
            raise Forbidden(f"industry {industry} is not one of the caller's")
        industries = (industry,) if industry is not None else by.industries
    else:
        raise Forbidden("only regulators and the admin decide complaints")
    found = [c for i in sorted(set(industries)) for c in repo.complaints(i)]
    return sorted(found, key=lambda c: (c.complaint.at if c.complaint else "", c.challenge_id))


# The owner's answer.


def answer(challenge: str, request: AnswerRequest, by: Principal) -> Challenge:
    def attempt() -> Challenge:
        current = repo.get(challenge)
        purchase = purchase_repo.get(current.purchase_id, consistent=True)
        require_owner(
            purchase, by, f"only the owner of purchase {purchase.purchase_id} answers its challenges"
        )
        transition = CHALLENGE.expect(current.status, request.decision, subject=challenge)
        now_at = utcnow()
        now = stamp(now_at)
        if now > current.answer_deadline:
            raise Conflict(
                f"the answer deadline {current.answer_deadline} has passed: the challenger may complain "
                "to the regulator",
                deadline=current.answer_deadline,
                reason="late",
            )
        if request.decision == "reject":
            complaint_deadline, weekends_only = _deadline(now_at, get_settings().rules.complaint_working_days)
            answered = transition.apply(
                current,
                answer=Answer(decision="reject", answer=request.answer, at=now, effect="none"),
                complaint_deadline=complaint_deadline,
                deadlines_count_weekends_only=current.deadlines_count_weekends_only or weekends_only,
            )
            events = [_answered(answered, by)]
            repo.save(answered, events, transition=transition)
            event_bus.flush(events)
            return answered
        return _accept(current, purchase, transition, request.answer, now_at, by)

    return with_retries(attempt)


def _answered(challenge: Challenge, by: Principal) -> DomainEvent:
    assert challenge.answer is not None
    data = {
        **_base(challenge),
        "decision": challenge.answer.decision,
        "answer": challenge.answer.answer,
        "effect": challenge.answer.effect,
        "complaint_deadline": challenge.complaint_deadline,
    }
    return event("ChallengeAnswered", subject=challenge.purchase_id, data=data, actor=by.subject)


def _accept(
    current: Challenge, purchase: Purchase, transition: Any, text: str, now_at: datetime, by: Principal
) -> Challenge:
    """An accepted challenge before the result suspends the purchase; one about a result still
    awaiting confirmation annuls it; one accepted while the purchase is suspended already is
    recorded. Anywhere else the owner cannot do what accepting means (a confirmed result has its
    signed letter): refused, naming the state; the owner rejects with its reasons, or the
    challenger complains to the regulator, who may refer the purchase to the admin."""
    now = stamp(now_at)
    if PURCHASE.allows(purchase.status, "suspend"):
        effect = "suspended: the owner resumes the purchase (with the time it had left) or cancels it"
        accepted = _accepted(current, transition, text, now, effect)
        changed, purchase_transition, suspended_event = suspension.suspended(
            purchase, current.challenge_id, now, by.subject
        )
        events = [_answered(accepted, by), suspended_event]
        stage = repo.together(repo.staged(accepted, transition), suspension.window_stager(changed))
        purchase_repo.save(
            changed,
            events,
            conflict=f"purchase {purchase.purchase_id} changed meanwhile",
            stage_also=stage,
            transition=purchase_transition,
        )
        event_bus.flush(events)
        suspension.stop(changed)
        return accepted
    if (
        current.subject == ChallengeSubject.result
        and PURCHASE.allows(purchase.status, "annul")
        and not _still_selected(current, purchase)
    ):
        # The challenged agency abandoned or was annulled meanwhile: accepting cannot annul another.
        effect = f"recorded: {current.challenged_agency} is no longer selected"
        accepted = _accepted(current, transition, text, now, effect)
        events = [_answered(accepted, by)]
        repo.save(accepted, events, transition=transition)
        event_bus.flush(events)
        return accepted
    if current.subject == ChallengeSubject.result and PURCHASE.allows(purchase.status, "annul"):
        effect = "result annulled"
        accepted = _accepted(current, transition, text, now, effect)
        _annul(purchase, accepted, transition, f"质疑成立：{text}", now_at, by, credit_event=None)
        return accepted
    if purchase.status != PurchaseStatus.suspended:
        action = "annul" if current.subject == ChallengeSubject.result else "suspend"
        raise PURCHASE.refusal(
            purchase.status, action, subject=purchase.purchase_id, reason="too_late_to_accept"
        )
    effect = "recorded: the purchase is suspended already"
    accepted = _accepted(current, transition, text, now, effect)
    events = [_answered(accepted, by)]
    repo.save(accepted, events, transition=transition)
    event_bus.flush(events)
    return accepted


def _still_selected(challenge: Challenge, purchase: Purchase) -> bool:
    selected = purchase.result.selected_agency if purchase.result is not None else None
    return challenge.challenged_agency is None or challenge.challenged_agency == selected


def _accepted(current: Challenge, transition: Any, text: str, now: str, effect: str) -> Challenge:
    answered: Challenge = transition.apply(
        current, answer=Answer(decision="accept", answer=text, at=now, effect=effect)
    )
    return answered


def _annul(
    purchase: Purchase,
    challenge: Challenge,
    transition: Any,
    reason: str,
    now_at: datetime,
    by: Principal,
    *,
    credit_event: CreditEvent | None,
    more_events: list[DomainEvent] | None = None,
) -> Purchase:
    """The result's selected agency is replaced (the next reserve, else the draw's ranking), with
    the challenge's change, the credit event and the events in one transaction."""
    from marketplace.services.eligibility import refused_now
    from marketplace.services.outcomes import confirmation_due

    result = purchase.result
    assert result is not None and result.selected_agency is not None
    now = stamp(now_at)
    # A batch's project (domain/batch.py) rests on its batch's one draw: the same ranking.
    proof = purchase_repo.draw_proof(purchase.batch_of or purchase.purchase_id) or {}
    ranking = _proof_order(proof)
    refused = refused_now(purchase, [*result.reserves, *ranking], now)
    deadline, weekends_only = confirmation_due(now_at)
    annulled = revised(
        annul(result, challenge.challenge_id, reason, now, deadline, ranking, refused),
        deadline_counts_weekends_only=weekends_only,
    )
    replacement = annulled.annulled[-1]
    update: dict[str, Any] = {"result": annulled, "updated_at": now}
    base = {"purchase_id": purchase.purchase_id, "owner_id": purchase.owner_id}
    events: list[DomainEvent] = list(more_events or [])
    if challenge.answer is not None and challenge.decision is None:
        events.insert(0, _answered(challenge, by))
    data = {
        **base,
        "challenge_id": challenge.challenge_id,
        "agency_id": result.selected_agency,
        "replaced_by": replacement.replaced_by,
        "replaced_from": replacement.replaced_from,
        "confirmation_deadline": annulled.confirmation_deadline if replacement.replaced_by else None,
        "reason": reason,
    }
    events.append(event("ResultAnnulled", subject=purchase.purchase_id, data=data, actor=by.subject))
    action = "annul"
    if annulled.selected_agency is None:
        action = "annul_last"
        failure = "the selected agency's result was annulled and no candidate remains"
        update["failure_reason"] = failure
        rules = get_settings().rules
        failed = {
            **base,
            "reason": failure,
            "eligible": purchase.eligible or 0,
            "minimum": rules.min_eligible_enrollees,
        }
        events.append(event("PurchaseFailed", subject=purchase.purchase_id, data=failed, actor=SYSTEM))
    credit_stage = None
    if credit_event is not None:
        events.append(_credit_recorded(credit_event, by))
        credit_stage = credit_repo.staged(credit_event)
    purchase_transition = PURCHASE.expect(purchase.status, action, subject=purchase.purchase_id)
    changed = purchase_transition.apply(purchase, **update)
    if action == "annul" and changed.consortia:  # consortium mode: a lead moved up tells its members
        from marketplace.services.consortium import selected_events

        events += selected_events(changed, by.subject)
    purchase_repo.save(
        changed,
        events,
        conflict=f"purchase {purchase.purchase_id} changed meanwhile",
        stage_also=repo.together(repo.staged(challenge, transition), credit_stage),
        transition=purchase_transition,
    )
    event_bus.flush(events)
    return changed


def _credit_recorded(credit_event: CreditEvent, by: Principal) -> DomainEvent:
    from marketplace.services import credit

    return credit.recorded(credit_event, actor=by.subject)


# The complaint and its decision.


def complain(challenge: str, request: ComplaintRequest, by: Principal) -> Challenge:
    current = repo.get(challenge)
    if not (by.role == "agency" and by.org_id == current.challenger_id):
        raise Forbidden(f"only the agency that filed challenge {challenge} may complain about its answer")
    transition = CHALLENGE.expect(current.status, "complain", subject=challenge)
    now_at = utcnow()
    now = stamp(now_at)
    deadline = current.complaint_deadline
    if current.status == ChallengeStatus.filed:
        if now <= current.answer_deadline:
            raise Conflict(
                f"the owner may answer until {current.answer_deadline}: a complaint follows a rejection "
                "or the answer deadline passing unanswered",
                deadline=current.answer_deadline,
                reason="not_yet",
            )
        deadline, _ = _deadline(
            parse_iso(current.answer_deadline), get_settings().rules.complaint_working_days
        )
    assert deadline is not None
    if now > deadline:
        raise Conflict(f"the complaint period ended at {deadline}", deadline=deadline, reason="late")
    unanswered = current.status == ChallengeStatus.filed  # past its answer deadline: not escalated yet
    complained = transition.apply(
        current,
        complaint=Complaint(reasons=request.reasons, at=now),
        complaint_deadline=deadline,
        escalated_at=now if unanswered else current.escalated_at,
    )
    data = {**_base(complained), "reasons": request.reasons}
    events = [event("ComplaintFiled", subject=current.purchase_id, data=data, actor=by.subject)]
    if unanswered:
        # The sweeper will never lapse it now: the admin learns of the owner's silence here, once.
        escalated = {
            **_base(complained),
            "answer_deadline": current.answer_deadline,
            "complaint_deadline": deadline,
        }
        events.insert(
            0, event("ChallengeEscalated", subject=current.purchase_id, data=escalated, actor=SYSTEM)
        )
    repo.save(complained, events, transition=transition)
    event_bus.flush(events)
    return complained


def _require_decider(challenge: Challenge, by: Principal) -> None:
    if by.is_admin() or (by.role == "regulator" and challenge.industry in by.industries):
        return
    raise Forbidden(
        f"only a regulator of the {challenge.industry} industry (the item {challenge.item_code}'s) or the "
        "admin decides this complaint"
    )


def decide(challenge: str, request: DecisionRequest, by: Principal) -> Challenge:
    def attempt() -> Challenge:
        current = repo.get(challenge)
        _require_decider(current, by)
        transition = CHALLENGE.expect(current.status, request.decision, subject=challenge)
        if request.against_agency and not (
            request.decision == "uphold" and current.subject == ChallengeSubject.result
        ):
            raise ValidationFailed(
                "against_agency applies only to upholding a complaint about a result",
                errors=[FieldError("against_agency", "only with decision uphold on a result challenge")],
            )
        purchase = purchase_repo.get(current.purchase_id, consistent=True)
        now_at = utcnow()
        return _decided(current, purchase, transition, request, now_at, by)

    return with_retries(attempt)


def _decided(
    current: Challenge,
    purchase: Purchase,
    transition: Any,
    request: DecisionRequest,
    now_at: datetime,
    by: Principal,
) -> Challenge:
    now = stamp(now_at)

    def decided(effect: str) -> Challenge:
        decision = Decision(
            decision=request.decision,
            reasons=request.reasons,
            against_agency=request.against_agency,
            at=now,
            by_role=by.role,
            effect=effect,
        )
        moved: Challenge = transition.apply(current, decision=decision)
        return moved

    def decided_event(challenge: Challenge) -> DomainEvent:
        assert challenge.decision is not None
        data = {
            **_base(challenge),
            "decision": challenge.decision.decision,
            "reasons": challenge.decision.reasons,
            "against_agency": challenge.decision.against_agency,
            "effect": challenge.decision.effect,
        }
        return event("ComplaintDecided", subject=challenge.purchase_id, data=data, actor=by.subject)

    if request.decision == "dismiss":
        dismissed = decided("none")
        events = [decided_event(dismissed)]
        repo.save(dismissed, events, transition=transition)
        event_bus.flush(events)
        return dismissed

    if current.subject == ChallengeSubject.announcement:
        if PURCHASE.allows(purchase.status, "suspend"):
            upheld = decided("suspended: the owner corrects the announcement and resumes, or cancels")
            changed, purchase_transition, suspended_event = suspension.suspended(
                purchase, current.challenge_id, now, by.subject
            )
            events = [decided_event(upheld), suspended_event]
            purchase_repo.save(
                changed,
                events,
                conflict=f"purchase {purchase.purchase_id} changed meanwhile",
                stage_also=repo.together(repo.staged(upheld, transition), suspension.window_stager(changed)),
                transition=purchase_transition,
            )
            event_bus.flush(events)
            suspension.stop(changed)
            return upheld
        if purchase.status == PurchaseStatus.suspended:
            effect = (
                "the purchase stays suspended: the owner corrects the announcement and resumes, or cancels"
            )
        else:
            effect = f"recorded: the purchase is {purchase.status.value}; referred to the admin"
        upheld = decided(effect)
        events = [decided_event(upheld)]
        repo.save(upheld, events, transition=transition)
        event_bus.flush(events)
        return upheld

    result = purchase.result
    selected = result.selected_agency if result is not None else None
    # The complaint is about the agency selected when the challenge was filed: it alone is annulled
    # (if still selected) and bears the credit event.
    annulled_agency = current.challenged_agency or selected
    credit_event = None
    if request.against_agency and annulled_agency:
        credit_event = _complaint_credit(current, annulled_agency, request.reasons, now_at)
    if PURCHASE.allows(purchase.status, "annul") and annulled_agency and annulled_agency == selected:
        upheld = decided(f"result annulled: {annulled_agency} is no longer selected")
        _annul(
            purchase,
            upheld,
            transition,
            f"投诉成立：{request.reasons}",
            now_at,
            by,
            credit_event=credit_event,
            more_events=[decided_event(upheld)],
        )
        return upheld
    upheld = decided(f"recorded: the purchase is {purchase.status.value}; referred to the admin")
    events = [decided_event(upheld)]
    also = []
    if credit_event is not None:
        events.append(_credit_recorded(credit_event, by))
        also.append(credit_repo.staged(credit_event))
    repo.save(upheld, events, transition=transition, also=also)
    event_bus.flush(events)
    return upheld


def _complaint_credit(challenge: Challenge, agency_id: str, reasons: str, now_at: datetime) -> CreditEvent:
    from marketplace.services import credit

    return credit.platform_event(
        CreditEventKind.complaint_upheld,
        agency_id,
        event_id=f"{challenge.challenge_id}-complaint-upheld-{agency_id}",
        cause=CreditCause(type="challenge", id=challenge.challenge_id, purchase_id=challenge.purchase_id),
        reason="投诉成立：the regulator upheld a complaint about the agency's conduct in a purchase",
        basis=f"purchase {challenge.purchase_id}, challenge {challenge.challenge_id}: {reasons}"[:1000],
        occurred_at=now_at,
    )


# The sweeper.


@dataclass
class SweepReport:
    escalated: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def sweep() -> SweepReport:
    """Escalate every challenge left unanswered past its deadline to the admin (once: the write is
    conditioned on the challenge still waiting), and close those whose complaint window passed."""
    report = SweepReport()
    now_at = utcnow()
    now = stamp(now_at)
    for challenge in repo.due_by(now):
        try:
            if challenge.status == ChallengeStatus.filed:
                _lapse(challenge, now_at)
                report.escalated.append(challenge.challenge_id)
            elif CHALLENGE.allows(challenge.status, "close"):
                _close(challenge, now)
                report.closed.append(challenge.challenge_id)
        except Conflict:
            continue  # answered, complained or swept meanwhile: nothing left to do
        except Exception as exc:
            report.failed[challenge.challenge_id] = f"{type(exc).__name__}: {exc}"
            log(
                logger,
                logging.WARNING,
                "challenge sweep failed",
                challenge_id=challenge.challenge_id,
                error=str(exc),
            )
    return report


def _lapse(challenge: Challenge, now_at: datetime) -> None:
    transition = CHALLENGE.expect(challenge.status, "lapse", subject=challenge.challenge_id)
    deadline, _ = _deadline(parse_iso(challenge.answer_deadline), get_settings().rules.complaint_working_days)
    lapsed = transition.apply(challenge, escalated_at=stamp(now_at), complaint_deadline=deadline)
    data = {**_base(lapsed), "answer_deadline": challenge.answer_deadline, "complaint_deadline": deadline}
    events = [event("ChallengeEscalated", subject=challenge.purchase_id, data=data, actor=SYSTEM)]
    repo.save(lapsed, events, transition=transition)
    event_bus.flush(events)


def _close(challenge: Challenge, now: str) -> None:
    transition = CHALLENGE.expect(challenge.status, "close", subject=challenge.challenge_id)
    repo.save(transition.apply(challenge, closed_at=now), [], transition=transition)


def _proof_order(proof: dict[str, Any]) -> list[str]:
    """The candidates in the order the proof selected them: the draw's ranking, or, for a proof
    with `values` (proposals: highest score first; bidding: lowest quote), by value with the draw
    breaking ties, so the next candidate after the reserves is the next best, not the next drawn."""
    from decimal import Decimal

    from marketplace.domain.draw import by_value

    ranked = [(str(r["rank"]), str(r["agency_id"])) for r in proof.get("ranking", [])]
    if not proof.get("values"):
        return [agency for _, agency in ranked]
    values = {str(a): Decimal(str(v)) for a, v in proof["values"].items()}
    return by_value(ranked, values, str(proof.get("values_order", "ascending")))
