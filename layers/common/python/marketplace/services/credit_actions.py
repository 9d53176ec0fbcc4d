"""Credit events from outside the platform (DOMAIN.md §9): a regulator's reward, penalty or finding
of serious dishonesty in its industries, and the records an external credit system sends in a batch.
Each is recorded once (its id derives from the regulator's decision, or from the record's source and
source id). Serious dishonesty blacklists: `services.blacklist` expels the agency from its items."""

from __future__ import annotations

from marketplace.auth import Principal
from marketplace.clock import local_today
from marketplace.domain.credit import CreditCause, CreditEvent, CreditEventKind, CreditSource
from marketplace.domain.credit_actions import (
    ImportBatch,
    ImportedRecord,
    ImportOutcome,
    ImportRecord,
    ImportReport,
    OutsideKind,
    RegulatorEventIn,
    date_problems,
    end_of,
    import_event_id,
    points_problem,
    regulator_event_id,
    start_of,
)
from marketplace.errors import FieldError, Forbidden, NotFound, ValidationFailed
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import credit_actions as repo
from marketplace.repositories import credit_codes, event_bus
from marketplace.services import agencies as agencies_service
from marketplace.services import blacklist
from marketplace.services import credit as credit_service
from marketplace.settings import get_settings


def _timezone() -> str:
    return get_settings().timezone


def _with_link(basis: str, url: str | None) -> str:
    return f"{basis} ({url})" if url else basis


def record_regulator_event(agency_id: str, body: RegulatorEventIn, by: Principal) -> tuple[bool, CreditEvent]:
    """A regulator's event about an agency offering (or applying to offer) items of its industries;
    the admin's about any agency. Returns whether it is new, and the event."""
    if not (by.is_admin() or by.role == "regulator"):
        raise Forbidden("only a regulator or the admin records credit events")
    agency = agencies_repo.get(agency_id)
    if by.role == "regulator" and not agencies_service.regulates(agency, by):
        raise Forbidden(
            f"agency {agency_id} offers no item in the caller's industries "
            f"({', '.join(by.industries) or 'none'}): a regulator records credit events only there"
        )
    tz, today = _timezone(), local_today()
    occurred = start_of(body.occurred_on, tz)
    rules = credit_service.rules_in_force(occurred)
    errors = date_problems(
        body.occurred_on, body.valid_until, today, occurred_field="occurred_on", until_field="valid_until"
    )
    problem = points_problem(body.kind, body.points, rules)
    if problem:
        errors.append(FieldError("points", problem))
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    credit_event = credit_service.external_event(
        CreditSource.regulator,
        CreditEventKind(body.kind.value),
        agency_id,
        # The authority that issued the decision: the regulator's organisation, or the platform for
        # every admin alike, so one decision recorded by two admins is one event.
        event_id=regulator_event_id(
            by.org_id if by.role == "regulator" else "admin", body.decision_number, agency_id
        ),
        cause=CreditCause(type="decision", id=body.decision_number),
        reason=body.reason,
        basis=_with_link(body.basis, body.url),
        occurred_at=occurred,
        points=body.points,
        valid_until=end_of(body.valid_until, tz) if body.valid_until else None,
    )
    events = [credit_service.recorded(credit_event, actor=by.subject)]
    recorder = by.org_id if by.role == "regulator" else None
    new = repo.record_once(credit_event, events, recorded_by=recorder)
    if new:
        event_bus.flush(events)
    found = repo.find_event(agency_id, credit_event.credit_event_id)  # as the ledger holds it
    if found is None:
        raise NotFound(f"credit event {credit_event.credit_event_id} is being recorded; retry shortly")
    credit_event = found
    if credit_event.kind == CreditEventKind.serious_dishonesty:
        blacklist.enforce(agency_id, credit_event, actor=by.subject, regulator_id=recorder)
    return new, credit_event


# Imports (docs/credit-imports.md).


def import_batch(batch: ImportBatch, by: Principal) -> ImportReport:
    """Validate every record first (the whole batch is refused, naming each field, or accepted);
    then each record is recorded once: a record imported before, by this batch sent again or by
    another, is reported `already_recorded`; one whose credit code no agency has, `unknown_agency`
    (not an error: external systems send records of agencies outside the marketplace)."""
    if not by.is_admin():
        raise Forbidden("only the admin imports credit records")
    tz, today = _timezone(), local_today()
    errors: list[FieldError] = []
    for n, record in enumerate(batch.records):
        at = f"records.{n}"
        errors += date_problems(
            record.occurred,
            record.valid_until,
            today,
            occurred_field=f"{at}.occurred",
            until_field=f"{at}.valid_until",
        )
        problem = points_problem(
            record.kind, record.points, credit_service.rules_in_force(start_of(record.occurred, tz))
        )
        if problem:
            errors.append(FieldError(f"{at}.points", problem))
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(
            f"{len(errors)} invalid field(s); nothing was recorded: {summary}", errors=errors
        )
    holders = credit_codes.holders([r.credit_code for r in batch.records])
    results = [_import_one(batch.source, r, holders.get(r.credit_code), by) for r in batch.records]
    return ImportReport(
        source=batch.source,
        recorded=sum(1 for r in results if r.outcome == ImportOutcome.recorded),
        already_recorded=sum(1 for r in results if r.outcome == ImportOutcome.already_recorded),
        unknown_agency=sum(1 for r in results if r.outcome == ImportOutcome.unknown_agency),
        records=results,
    )


def _import_one(source: str, record: ImportRecord, agency_id: str | None, by: Principal) -> ImportedRecord:
    event_id = import_event_id(source, record.source_id)
    if agency_id is None:
        return ImportedRecord(
            source_id=record.source_id, outcome=ImportOutcome.unknown_agency, credit_event_id=event_id
        )
    tz = _timezone()
    credit_event = credit_service.external_event(
        CreditSource.imported,
        CreditEventKind(record.kind.value),
        agency_id,
        event_id=event_id,
        cause=CreditCause(type="import", id=f"{source}/{record.source_id}"),
        reason=record.reason or f"{source}: {_KIND_WORDS[record.kind]}",
        basis=_with_link(record.basis, record.url),
        occurred_at=start_of(record.occurred, tz),
        points=record.points,
        valid_until=end_of(record.valid_until, tz) if record.valid_until else None,
    )
    events = [credit_service.recorded(credit_event, actor=by.subject)]
    new = repo.record_once(credit_event, events)
    if new:
        event_bus.flush(events)
    if credit_event.kind == CreditEventKind.serious_dishonesty:
        blacklist.enforce(agency_id, credit_event, actor=by.subject)
    return ImportedRecord(
        source_id=record.source_id,
        outcome=ImportOutcome.recorded if new else ImportOutcome.already_recorded,
        credit_event_id=event_id,
        agency_id=agency_id,
    )


_KIND_WORDS = {
    OutsideKind.reward: "守信激励 reward",
    OutsideKind.penalty: "失信惩戒 penalty",
    OutsideKind.serious_dishonesty: "严重失信 serious dishonesty",
}
