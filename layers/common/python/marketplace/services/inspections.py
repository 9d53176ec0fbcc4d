"""Random inspections (双随机、一公开, docs/inspections.md): a regulator's staff list and plans, the
draw task, and results (with an optional credit penalty through the credit ledger)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.auth import Principal
from marketplace.clock import local_today, parse_iso, stamp, utcnow
from marketplace.domain import draw, inspection_draw
from marketplace.domain.credit import CreditCause, CreditEventKind, CreditSource
from marketplace.domain.inspections import (
    INSPECTION,
    Assignment,
    CancelIn,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Outcome,
    PlanIn,
    ResultIn,
    Staff,
    StaffList,
    assigned,
    new_inspection_id,
    plan_problems,
    result_problems,
)
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import event_bus
from marketplace.repositories import inspections as repo
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.inspections")
RESULT_ATTEMPTS = 3
SYSTEM_ACTOR = "system"


def _inspection_event(event_type: str, inspection: Inspection, *, actor: str, **data: Any) -> DomainEvent:
    """An inspection's event: every one names the plan, its industry and its regulator first."""
    head = {
        "inspection_id": inspection.inspection_id,
        "industry": inspection.industry,
        "regulator_id": inspection.regulator_id,
    }
    return event(event_type, subject=inspection.inspection_id, data={**head, **data}, actor=actor)


def _refuse(errors: list[tuple[str, str]]) -> None:
    if errors:
        fields = [FieldError(f, m) for f, m in errors]
        raise ValidationFailed("; ".join(f"{f}: {m}" for f, m in errors), errors=fields)


def _regulator(by: Principal) -> None:
    if by.role != "regulator":
        raise Forbidden("only a regulator does this")


def _of_industry(by: Principal, industry: str) -> None:
    _regulator(by)
    if industry not in by.industries:
        raise Forbidden(
            f"industry {industry} is not one of the caller's ({', '.join(by.industries) or 'none'})"
        )


# The staff list.


def put_staff(body: StaffList, by: Principal) -> Staff:
    _regulator(by)
    staff = Staff(regulator_id=by.org_id, inspectors=sorted(body.inspectors), updated_at=stamp(utcnow()))
    repo.save_staff(staff)
    return staff


def get_staff(by: Principal) -> Staff:
    _regulator(by)
    found = repo.staff(by.org_id)
    if found is None:
        raise NotFound(f"regulator {by.org_id} has no staff list yet (PUT /inspections/inspectors)")
    return found


# Plans.


def candidates(industry: str) -> list[str]:
    """The agencies admitted in the industry now (Queries: docs/inspections.md)."""
    return repo.admitted_for(repo.industry_items(industry))


def create(body: PlanIn, by: Principal) -> Inspection:
    """Freeze the candidates, commit to a fresh seed, publish both: all before the draw."""
    _of_industry(by, body.industry)
    now = utcnow()
    staff = repo.staff(by.org_id)
    agencies = candidates(body.industry)
    inspectors = staff.inspectors if staff else []
    _refuse(plan_problems(body, agencies_available=len(agencies), staff=len(inspectors), now=now))
    seed = draw.new_seed()
    agency_candidates, inspector_candidates = sorted(agencies), sorted(inspectors)
    inspection = Inspection(
        inspection_id=new_inspection_id(now),
        status=InspectionStatus.planned,
        industry=body.industry,
        regulator_id=by.org_id,
        title=body.title,
        basis=body.basis,
        agencies=body.agencies,
        inspectors=body.inspectors,
        inspectors_per_agency=body.inspectors_per_agency,
        draw_at=stamp(body.draw_at),
        created_at=stamp(now),
        commitment=draw.commitment(seed),
        agency_candidates=agency_candidates,
        agency_digest=draw.candidates_digest(agency_candidates),
        inspector_candidates=inspector_candidates,
        inspector_digest=draw.candidates_digest(inspector_candidates),
    )
    planned = _inspection_event(
        "InspectionPlanned",
        inspection,
        actor=by.subject,
        title=inspection.title,
        agencies=inspection.agencies,
        inspectors=inspection.inspectors,
        draw_at=inspection.draw_at,
        commitment=inspection.commitment,
        agency_digest=inspection.agency_digest,
        inspector_digest=inspection.inspector_digest,
    )
    repo.add(inspection, seed, [planned])
    event_bus.flush([planned])
    return inspection


def get(inspection_id: str) -> Inspection:
    return repo.get(inspection_id)[0]


def list_page(limit: int, cursor: str | None) -> tuple[list[Inspection], str | None]:
    return repo.list_page(limit=limit, cursor=cursor)


def draw_proof(inspection_id: str) -> dict[str, Any]:
    found = repo.proof(inspection_id)
    if found is None:
        inspection = get(inspection_id)
        raise NotFound(
            f"inspection {inspection_id} is {inspection.status.value}: no draw yet "
            f"(due {inspection.draw_at}; its commitment is {inspection.commitment})"
        )
    return found


def cancel(inspection_id: str, body: CancelIn, by: Principal) -> Inspection:
    inspection, _ = repo.get(inspection_id)
    _owns(inspection, by)
    transition = INSPECTION.expect(inspection.status, "cancel", subject=inspection_id)
    cancelled = transition.apply(inspection, cancelled_at=stamp(utcnow()), cancel_reason=body.reason)
    events = [
        _inspection_event(
            "InspectionCancelled",
            inspection,
            actor=by.subject,
            reason=body.reason,
        )
    ]
    repo.save_cancel(cancelled, transition, events)
    event_bus.flush(events)
    return cancelled


def _owns(inspection: Inspection, by: Principal) -> None:
    """The regulator organisation that made the plan, still of its industry: another regulator
    organisation of the same industry reads it (public) but neither records results (with their
    credit penalties) nor cancels it."""
    _of_industry(by, inspection.industry)
    if by.org_id != inspection.regulator_id:
        raise Forbidden(
            f"inspection {inspection.inspection_id} is regulator {inspection.regulator_id}'s plan: "
            "only its organisation records results and cancels it"
        )


# The draw.


@dataclass
class DrawReport:
    drawn: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def draw_due() -> DrawReport:
    """Every plan whose draw time has come (one Query of the by-due index): drawn once."""
    report = DrawReport()
    now = stamp(utcnow())
    for inspection_id in repo.due_by(now):
        try:
            if draw_one(inspection_id):
                report.drawn.append(inspection_id)
            else:
                report.skipped.append(inspection_id)
        except Conflict:
            report.skipped.append(inspection_id)  # another run drew it first
        except Exception as exc:
            log(logger, logging.ERROR, "inspection draw failed", inspection_id=inspection_id, error=str(exc))
            report.failed.append(inspection_id)
    return report


def draw_one(inspection_id: str) -> bool:
    """Draw a planned inspection whose time has come; False when it is not (any more) to draw."""
    inspection, _ = repo.get(inspection_id)
    now = utcnow()
    if inspection.status != InspectionStatus.planned or parse_iso(inspection.draw_at) > now:
        return False
    transition = INSPECTION.expect(inspection.status, "draw", subject=inspection_id)
    drawn_at = stamp(now)
    proof = inspection_draw.proof(
        inspection_id,
        repo.seed_of(inspection_id),
        agency_candidates=inspection.agency_candidates,
        inspector_candidates=inspection.inspector_candidates,
        agencies=inspection.agencies,
        inspectors=inspection.inspectors,
        per_agency=inspection.inspectors_per_agency,
        drawn_at=drawn_at,
    )
    drawn = transition.apply(
        inspection,
        drawn_at=drawn_at,
        drawn_agencies=proof["agencies"]["winners"],
        team=proof["inspectors"]["winners"],
        assignment=[Assignment.model_validate(a) for a in proof["assignment"]],
    )
    events = [
        _inspection_event(
            "InspectionDrawn",
            inspection,
            actor=SYSTEM_ACTOR,
            title=inspection.title,
            agencies=drawn.drawn_agencies,
            inspectors=drawn.team,
            drawn_at=drawn_at,
        )
    ]
    repo.save_draw(drawn, proof, transition, events)
    event_bus.flush(events)
    return True


# Results.


def _correct_by_end(day: Any) -> str:
    zone = ZoneInfo(get_settings().timezone)
    return stamp(datetime.combine(day, time(23, 59, 59), tzinfo=zone))


def _max_event_points() -> int:
    """The credit rules' bound on a regulator's own points, as the credit service will check it."""
    from marketplace.services import credit as credit_service

    return credit_service.rules_in_force(utcnow()).max_event_points


def credit_event_id(inspection_id: str, agency_id: str) -> str:
    """One credit event per inspection and agency."""
    return "IN-" + hashlib.sha256(f"{inspection_id}\n{agency_id}".encode()).hexdigest()[:24]


def record_result(inspection_id: str, body: ResultIn, by: Principal) -> InspectionResult:
    """A regulator of the industry records a drawn agency's result, once; the last result closes
    the inspection. A credit penalty, when asked, is in the same transaction."""
    inspection, _ = repo.get(inspection_id)
    _owns(inspection, by)
    _refuse(result_problems(body, today=local_today(), max_points=_max_event_points()))
    for attempt in range(RESULT_ATTEMPTS):
        try:
            return _record(inspection_id, body, by)
        except Conflict:
            if repo.result_of(inspection_id, body.agency_id) is not None:
                raise Conflict(
                    f"the result of {body.agency_id} in inspection {inspection_id} is recorded already",
                    reason="recorded",
                ) from None
            if attempt == RESULT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record(inspection_id: str, body: ResultIn, by: Principal) -> InspectionResult:
    inspection, revision = repo.get(inspection_id)
    if inspection.status != InspectionStatus.drawn:
        raise INSPECTION.refusal(inspection.status, "record_result", subject=inspection_id)
    inspectors = assigned(inspection, body.agency_id)
    if inspectors is None:
        raise ValidationFailed(
            f"agency {body.agency_id} was not drawn in inspection {inspection_id}",
            errors=[FieldError("agency_id", "not one of the drawn agencies")],
        )
    if any(r.agency_id == body.agency_id for r in inspection.results):
        raise Conflict(f"the result of {body.agency_id} is recorded already", reason="recorded")
    now = utcnow()
    last = len(inspection.results) + 1 == len(inspection.drawn_agencies)
    transition = INSPECTION.expect(inspection.status, "close" if last else "record_result")
    events: list[DomainEvent] = []
    also = None
    credit_id = None
    if body.credit_event:
        from marketplace.repositories import credit as credit_repo
        from marketplace.services import credit as credit_service

        credit_id = credit_event_id(inspection_id, body.agency_id)
        credit_event = credit_service.external_event(
            CreditSource.regulator,
            CreditEventKind.penalty,
            body.agency_id,
            event_id=credit_id,
            cause=CreditCause(type="inspection", id=inspection_id),
            reason=f"双随机抽查发现问题：{'；'.join(body.problems)}"[:1000],
            basis=inspection.basis,
            occurred_at=now,
            points=body.credit_points,
        )
        stage = credit_repo.staged(credit_event)
        if stage.recording:
            also = stage
            events.append(credit_service.recorded(credit_event, actor=by.subject))
    result = InspectionResult(
        inspection_id=inspection_id,
        agency_id=body.agency_id,
        outcome=body.outcome,
        problems=body.problems,
        correct_by=body.correct_by,
        inspectors=inspectors,
        recorded_at=stamp(now),
        recorded_by=by.org_id,
        credit_event_id=credit_id,
    )
    changed = transition.apply(inspection, closed_at=stamp(now) if last else None)
    events.insert(
        0,
        _inspection_event(
            "InspectionResultRecorded",
            inspection,
            actor=by.subject,
            title=inspection.title,
            agency_id=body.agency_id,
            outcome=body.outcome.value,
            problems=len(body.problems),
            correct_by=_correct_by_end(body.correct_by) if body.outcome == Outcome.problems_found else None,
            credit_event_id=credit_id,
            closed=last,
        ),
    )
    repo.save_result(changed, result, revision=revision, transition=transition, events=events, also=also)
    event_bus.flush(events)
    return result
