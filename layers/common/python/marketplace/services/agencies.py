"""Use cases of agency admission (DOMAIN.md §2): apply, change, extend, jointly review; suspend,
expel and reinstate; the public directory."""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError as PydanticValidationError

from marketplace.auth import Principal
from marketplace.clock import iso, local_today, stamp, utcnow
from marketplace.domain.agencies import (
    AGENCY,
    SUBMISSION,
    Agency,
    AgencyProfile,
    AgencyStatus,
    AgencySummary,
    Decision,
    OfferingEligibility,
    QualificationCertificate,
    RecordVersion,
    ReviewDecision,
    StatusChange,
    Submission,
    SubmissionKind,
    check_requirements,
    required_slots,
    slots_of_reviewer,
)
from marketplace.domain.catalogue import ItemStatus, describe, in_force
from marketplace.domain.credit import CreditLevel
from marketplace.domain.model import revised
from marketplace.errors import Conflict, FieldError, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from marketplace.events import DomainEvent, event
from marketplace.repositories import agencies as repo
from marketplace.repositories import catalogue as catalogue_repo
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.services.calendar import working_calendar
from marketplace.settings import get_settings


def eligibility(profile: AgencyProfile, on: date | None = None) -> tuple[list[OfferingEligibility], set[str]]:
    """For every offered item: the catalogue version in force, which certificate meets which
    requirement and what is missing; and the industries of the eligible items."""
    today = on or local_today()
    results: list[OfferingEligibility] = []
    industries: set[str] = set()
    for offering in profile.offerings:
        try:
            versions = catalogue_repo.history(offering.item_code)
        except NotFound:
            results.append(
                _ineligible(offering.item_code, "not in the catalogue: items not listed cannot be traded")
            )
            continue
        item = in_force(versions, today)
        if item is None:
            results.append(_ineligible(offering.item_code, "no version of this item is in force yet"))
            continue
        if item.status == ItemStatus.retired:
            results.append(
                _ineligible(offering.item_code, "the item is retired from the catalogue", item.version)
            )
            continue
        met, checks = check_requirements(item.qualification, profile.certificates, today)
        problems = [] if met else [f"qualification not met: {describe(item.qualification)}"]
        problems += [
            f"missing a valid {c.certificate_type}"
            + (f" of grade {c.min_grade} or better" if c.min_grade else "")
            for c in checks
            if not c.met and not met
        ]
        results.append(
            OfferingEligibility(
                item_code=offering.item_code,
                item_version=item.version,
                eligible=met,
                requirement=describe(item.qualification),
                checks=checks,
                problems=problems,
            )
        )
        if met:
            industries.add(item.industry)
    return results, industries


def _ineligible(code: str, why: str, version: int | None = None) -> OfferingEligibility:
    return OfferingEligibility(
        item_code=code, item_version=version, eligible=False, requirement="", checks=[], problems=[why]
    )


def _require_eligible(results: list[OfferingEligibility]) -> None:
    refused = [r for r in results if not r.eligible]
    if refused:
        errors = [FieldError(f"offerings[{r.item_code}]", "; ".join(r.problems)) for r in refused]
        raise ValidationFailed(
            "some offered items cannot be admitted: " + ", ".join(r.item_code for r in refused),
            errors=errors,
            eligibility=[r.model_dump(mode="json") for r in results],
        )


def _new_submission(
    agency_id: str, number: int, kind: SubmissionKind, profile: AgencyProfile, by: Principal, note: str
) -> tuple[Submission, list[OfferingEligibility]]:
    results, industries = eligibility(profile)
    _require_eligible(results)
    now = utcnow()
    settings = get_settings()
    deadline = working_calendar().deadline(now, settings.rules.agency_review_working_days, settings.timezone)
    submission = Submission(
        agency_id=agency_id,
        number=number,
        kind=kind,
        profile=profile,
        note=note,
        submitted_at=iso(now),
        submitted_by=by.subject,
        due_at=iso(deadline.at),
        due_counts_weekends_only=deadline.weekends_only,
        required_slots=required_slots(industries),
        eligibility=results,
    )
    return submission, results


def _submitted_event(submission: Submission, name: str, by: Principal) -> DomainEvent:
    return event(
        "AgencyApplied",
        subject=submission.agency_id,
        data={
            "agency_id": submission.agency_id,
            "name": name,
            "submission": submission.number,
            "kind": submission.kind.value,
            "items": [o.item_code for o in submission.profile.offerings],
            "reviewers": submission.required_slots,
            "due_at": submission.due_at,
        },
        actor=by.subject,
    )


def _require_credit(agency_id: str, doing: str) -> None:
    """A blacklisted agency (黑名单) or one at credit level D may not apply, change or extend: a
    403 whose `reason` a client acts on (`blacklisted`, with `until`; `credit_level`)."""
    now = utcnow()
    standing = credit_repo.standings([agency_id])[agency_id]
    at = stamp(now)
    if standing.blacklisted(at):
        until = standing.blacklisted_until
        message = f"agency {agency_id} is blacklisted (黑名单) until {until}: it may not {doing}"
        raise Forbidden(
            message,
            reason="blacklisted",
            until=until,
            reasons=[{"code": "blacklisted", "message": message, "until": until}],
        )
    rules = credit_repo.rules_in_force(now)
    if standing.level(rules, at) == CreditLevel.D:
        message = (
            f"agency {agency_id} is at credit level D (score {standing.score(rules, at)}): it may not {doing}"
        )
        raise Forbidden(
            message,
            reason="credit_level",
            level=CreditLevel.D.value,
            reasons=[{"code": "credit_level", "message": message, "level": CreditLevel.D.value}],
        )


def apply(profile: AgencyProfile, by: Principal, note: str = "") -> Submission:
    """An agency applies for admission, or resubmits an application that was returned."""
    agency_id = by.org_id
    _require_credit(agency_id, "apply for admission")
    current = repo.find(agency_id, consistent=True)
    now = iso(utcnow())
    if current is None:
        submission, _ = _new_submission(agency_id, 1, SubmissionKind.admission, profile, by, note)
        agency = Agency(
            agency_id=agency_id,
            name=profile.legal_entity.name,
            credit_code=profile.legal_entity.credit_code,
            status=AgencyStatus.applying,
            history=[StatusChange(at=now, status=AgencyStatus.applying, by=by.subject, by_role=by.role)],
            administrators=[by.subject],
            created_at=now,
            updated_at=now,
        )
        events = [_submitted_event(submission, agency.name, by)]
        repo.open_first_submission(agency, submission, events)
        event_bus.flush(events)
        return submission
    transition = AGENCY.expect(current.status, "resubmit", subject=agency_id)
    _same_legal_entity(current, profile)
    number = current.submissions + 1
    submission, _ = _new_submission(agency_id, number, SubmissionKind.admission, profile, by, note)
    events = [_submitted_event(submission, profile.legal_entity.name, by)]
    resubmitted = StatusChange(
        at=submission.submitted_at,
        status=AgencyStatus.applying,
        by=by.subject,
        by_role=by.role,
        reason="resubmitted",
    )
    applying = transition.apply(current, history=[*current.history, resubmitted])
    repo.open_next_submission(applying, submission, transition=transition, events=events)
    event_bus.flush(events)
    return submission


def _same_legal_entity(current: Agency, profile: AgencyProfile) -> None:
    if profile.legal_entity.credit_code != current.credit_code:
        raise ValidationFailed(
            "the unified social credit code identifies the agency and cannot change",
            errors=[FieldError("legal_entity.credit_code", f"must stay {current.credit_code}")],
        )


def _require_own(agency_id: str, by: Principal) -> None:
    if by.role != "agency" or by.org_id != agency_id:
        raise Forbidden(f"only agency {agency_id} itself may do this")


def request_change(agency_id: str, profile: AgencyProfile, by: Principal, note: str) -> Submission:
    """A change (变更): the admitted record stays in force until the change is approved."""
    _require_own(agency_id, by)
    _require_credit(agency_id, "change its record")
    current = repo.get(agency_id, consistent=True)
    _require_serving(current)
    _same_legal_entity(current, profile)
    return _open_follow_up(current, SubmissionKind.change, profile, by, note)


def request_extension(
    agency_id: str, certificates: list[QualificationCertificate], by: Principal, note: str
) -> Submission:
    """An extension (延期): renewed certificates replace those with the same number (or are added),
    reviewed like a change."""
    _require_own(agency_id, by)
    _require_credit(agency_id, "extend its record")
    current = repo.get(agency_id, consistent=True)
    _require_serving(current)
    assert current.record is not None
    renewed = {c.number: c for c in certificates}
    kept = [renewed.pop(c.number, c) for c in current.record.certificates]
    try:
        profile = revised(current.record, certificates=kept + list(renewed.values()))
    except PydanticValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "certificates", e["msg"]) for e in exc.errors()
        ]
        raise ValidationFailed("the record with these certificates is not valid", errors=errors) from exc
    return _open_follow_up(current, SubmissionKind.extension, profile, by, note)


def _require_serving(agency: Agency) -> None:
    AGENCY.expect(agency.status, "change", subject=agency.agency_id)
    if agency.record is None:
        raise Conflict(f"agency {agency.agency_id} has no record in force to change")


def _open_follow_up(
    current: Agency, kind: SubmissionKind, profile: AgencyProfile, by: Principal, note: str
) -> Submission:
    number = current.submissions + 1
    submission, _ = _new_submission(current.agency_id, number, kind, profile, by, note)
    events = [_submitted_event(submission, current.name, by)]
    transition = AGENCY.expect(current.status, "change", subject=current.agency_id)
    repo.open_next_submission(current, submission, transition=transition, events=events)
    event_bus.flush(events)
    return submission


def review(agency_id: str, number: int, decision: ReviewDecision, reasons: str, by: Principal) -> Submission:
    """A reviewer approves or rejects, for every review slot they fill. When every slot has
    approved the submission is approved; one rejection returns it."""
    found = repo.submissions(agency_id, number)
    if not found:
        raise NotFound(f"agency {agency_id} has no submission {number}")
    submission = found[0]
    slots = slots_of_reviewer(by.role, by.industries, submission.required_slots)
    if not slots:
        raise Forbidden(
            "this submission is reviewed by "
            + ", ".join(submission.required_slots)
            + f"; the caller ({by.role}"
            + (f", industries {', '.join(by.industries)}" if by.industries else "")
            + ") is not one of its reviewers"
        )
    SUBMISSION.expect(submission.status, "review", subject=f"{agency_id}/{number}")
    if decision == ReviewDecision.approve:
        # Blacklisted or at level D since it applied: no item may be opened to it (a change could add
        # one the blacklist never expelled); the reviewers may only reject.
        _require_credit(agency_id, "be approved (reject it instead)")
    now = iso(utcnow())
    decided = {d.slot for d in submission.decisions}
    open_slots = [s for s in slots if s not in decided]
    if not open_slots:
        if _fully_decided(submission):
            return _close_if_decided(agency_id, number, by)  # a close that did not happen is retried
        raise Conflict("the caller's review of this submission is already recorded")
    decisions = [
        Decision(
            slot=slot,
            decision=decision,
            reasons=reasons,
            reviewer=by.subject,
            reviewer_org=by.org_id,
            reviewer_role=by.role,
            decided_at=now,
        )
        for slot in open_slots
    ]
    reviewed = event(
        "AgencyReviewed",
        subject=agency_id,
        data={
            "agency_id": agency_id,
            "submission": number,
            "slots": open_slots,
            "decision": decision.value,
            "reasons": reasons,
        },
        actor=by.subject,
    )
    repo.record_decisions(agency_id, number, decisions, [reviewed])
    event_bus.flush([reviewed])
    return _close_if_decided(agency_id, number, by)


CLOSE_ATTEMPTS = 4


def _fully_decided(submission: Submission) -> bool:
    rejected = any(d.decision == ReviewDecision.reject for d in submission.decisions)
    return rejected or len(submission.decisions) >= len(submission.required_slots)


def _close_if_decided(agency_id: str, number: int, by: Principal) -> Submission:
    """Whoever records the deciding review closes the submission. The close is conditioned on
    the profile being unchanged since it was read: when another writer got there first (another
    reviewer's close, a suspension, the daily check) it reads again and retries, until the
    submission is closed by someone. Returns the submission as it is."""
    submission = repo.submissions(agency_id, number, consistent=True)[0]
    for _ in range(CLOSE_ATTEMPTS):
        rejected = any(d.decision == ReviewDecision.reject for d in submission.decisions)
        closing = "return" if rejected else "approve"
        if not SUBMISSION.allows(submission.status, closing) or not _fully_decided(submission):
            return submission  # closed by someone else, or reviews still owed
        previous = repo.get(agency_id, consistent=True)
        now = iso(utcnow())
        closed = revised(submission, closed_at=now)
        try:
            if rejected:
                return _close_returned(previous, closed, by, now)
            return _close_approved(previous, closed, by, now)
        except Conflict:
            submission = repo.submissions(agency_id, number, consistent=True)[0]
    raise ServiceUnavailable("the submission is decided but could not be closed yet; retry", retry_after=1)


def _close_returned(previous: Agency, submission: Submission, by: Principal, now: str) -> Submission:
    reasons = [d.reasons for d in submission.decisions if d.decision == ReviewDecision.reject]
    agency, transition = previous, None
    if AGENCY.allows(previous.status, "return"):  # a first application: the agency is returned
        transition = AGENCY.expect(previous.status, "return")
        change = StatusChange(
            at=now, status=transition.target, by=by.subject, by_role=by.role, reason="; ".join(reasons)
        )
        agency = transition.apply(previous, history=[*previous.history, change], updated_at=now)
    step = SUBMISSION.expect(submission.status, "return")
    submission = step.apply(submission)
    rejected = event(
        "AgencyRejected",
        subject=previous.agency_id,
        data={
            "agency_id": previous.agency_id,
            "submission": submission.number,
            "kind": submission.kind.value,
            "reasons": reasons,
        },
        actor=by.subject,
    )
    repo.close_returned(agency, previous, submission, [rejected], transition=transition, submission_step=step)
    event_bus.flush([rejected])
    return submission


def _close_approved(previous: Agency, submission: Submission, by: Principal, now: str) -> Submission:
    first = submission.kind == SubmissionKind.admission
    history = list(previous.history)
    changes = {
        "name": submission.profile.legal_entity.name,
        "record": submission.profile,
        "record_version": previous.record_version + 1,
        "suspended_items": _suspensions_after_approval(previous, submission.profile),
        "updated_at": now,
    }
    transition = AGENCY.expect(previous.status, "admit", subject=previous.agency_id) if first else None
    if transition is not None:
        history.append(StatusChange(at=now, status=transition.target, by=by.subject, by_role=by.role))
        agency = transition.apply(previous, **changes, history=history)
    else:  # a change or an extension: the agency's state stays
        agency = revised(previous, **changes)
    step = SUBMISSION.expect(submission.status, "approve")
    submission = step.apply(submission)
    detail = {
        "agency_id": agency.agency_id,
        "name": agency.name,
        "submission": submission.number,
        "record_version": agency.record_version,
        "items": [o.item_code for o in submission.profile.offerings],
        "regions": submission.profile.all_regions(),
    }
    done = event(
        "AgencyAdmitted" if first else "AgencyChanged",
        subject=agency.agency_id,
        data=detail,
        actor=by.subject,
    )
    offered = {o.item_code for o in submission.profile.offerings}
    restored = [
        event(
            "ItemRestored",
            subject=agency.agency_id,
            data={
                "agency_id": agency.agency_id,
                "item_code": code,
                "reason": "valid certificates meet the item again",
            },
            actor=by.subject,
        )
        for code in previous.suspended_items
        if code not in agency.suspended_items and code in offered
    ]
    repo.close_approved(
        agency, previous, submission, [done, *restored], transition=transition, submission_step=step
    )
    event_bus.flush([done, *restored])
    return submission


def _suspensions_after_approval(previous: Agency, profile: AgencyProfile) -> dict[str, str]:
    """Eligibility is checked again on the day of approval (a certificate may have expired, an
    item been retired, since the submission): items that no longer qualify are suspended; those
    suspended for an expired certificate that qualify again are restored."""
    results, _ = eligibility(profile)
    offered = {o.item_code for o in profile.offerings}
    kept = {
        code: why
        for code, why in previous.suspended_items.items()
        if code in offered and not why.startswith(("certificate expired", "not eligible"))
    }
    for result in results:
        if not result.eligible and result.item_code not in kept:
            kept[result.item_code] = "not eligible: " + "; ".join(result.problems)
    return kept


# Supervision: suspension, expulsion (清退) and reinstatement.


def suspend(agency_id: str, reason: str, basis: str, by: Principal) -> Agency:
    return _supervise(agency_id, "suspend", reason, basis, by, "AgencySuspended")


def expel(agency_id: str, reason: str, basis: str, by: Principal) -> Agency:
    return _supervise(agency_id, "expel", reason, basis, by, "AgencyExpelled")


def reinstate(agency_id: str, reason: str, basis: str, by: Principal) -> Agency:
    """Only the admin reverses a suspension or an expulsion, with a record of why."""
    if not by.is_admin():
        raise Forbidden("only the admin reverses a suspension or an expulsion")
    return _supervise(agency_id, "reinstate", reason, basis, by, "AgencyReinstated")


def _supervise(
    agency_id: str, action: str, reason: str, basis: str, by: Principal, event_type: str
) -> Agency:
    previous = repo.get(agency_id, consistent=True)
    _require_supervisor(previous, by)
    transition = AGENCY.expect(previous.status, action, subject=agency_id)
    if action == "reinstate" and previous.record is None:
        # expelled while applying: reinstated, it may apply again
        transition = AGENCY.expect(previous.status, "reinstate_applicant", subject=agency_id)
    to = transition.target
    now = iso(utcnow())
    change = StatusChange(at=now, status=to, by=by.subject, by_role=by.role, reason=reason, basis=basis)
    agency = transition.apply(previous, history=[*previous.history, change], updated_at=now)
    happened = event(
        event_type,
        subject=agency_id,
        data={
            "agency_id": agency_id,
            "name": agency.name,
            "status": to.value,
            "reason": reason,
            "basis": basis,
        },
        actor=by.subject,
    )
    closing = _open_submission(previous) if action == "expel" else None
    step = None
    if closing is not None:
        step = SUBMISSION.expect(closing.status, "close_on_expulsion")
        closing = step.apply(closing, closed_at=now)
    repo.change_status(
        agency, previous, [happened], closing=closing, transition=transition, submission_step=step
    )
    event_bus.flush([happened])
    return agency


def _open_submission(agency: Agency) -> Submission | None:
    """The submission the profile (read consistently) says is open: the expulsion's write is
    conditioned on that profile, so one opened since makes the expulsion retry, not miss it."""
    if agency.open_submission is None:
        return None
    return repo.submissions(agency.agency_id, agency.open_submission, consistent=True)[0]


def _require_supervisor(agency: Agency, by: Principal) -> None:
    """The admin supervises every agency; a regulator those offering items of its industries."""
    if by.is_admin():
        return
    if by.role != "regulator":
        raise Forbidden("only the admin or a regulator supervises agencies")
    if not _regulates(agency, by):
        raise Forbidden(f"agency {agency.agency_id} offers no item in the caller's industries")


def _regulates(agency: Agency, by: Principal) -> bool:
    """A regulator's remit: agencies offering, applying to offer or asking to add items of its
    industries: the record in force and the open submission both count, since a regulator whose
    industry a change brings in must read the change it reviews."""
    mine = set(by.industries)
    if _industries(agency.record) & mine:
        return True
    return bool(_industries(_pending_profile(agency)) & mine)


def _pending_profile(agency: Agency) -> AgencyProfile | None:
    if agency.open_submission is not None:
        found = repo.submissions(agency.agency_id, agency.open_submission)
        return found[0].profile if found else None
    return None if agency.record is not None else _latest_profile(agency.agency_id)


def _latest_profile(agency_id: str) -> AgencyProfile | None:
    found = repo.submissions(agency_id)
    return found[-1].profile if found else None


def _industries(profile: AgencyProfile | None) -> set[str]:
    if profile is None:
        return set()
    industries = set()
    for offering in profile.offerings:
        try:
            industries.add(catalogue_repo.latest(offering.item_code).industry)
        except NotFound:
            continue
    return industries


# Reading.


def get_agency(agency_id: str) -> Agency:
    return repo.get(agency_id)


def regulates(agency: Agency, by: Principal) -> bool:
    """Whether `by` is a regulator whose industries the agency offers (or applies to offer) items of."""
    return by.role == "regulator" and _regulates(agency, by)


def may_see_private(agency: Agency, viewer: Principal | None) -> bool:
    """Personal data is for the agency itself, the admin and the regulators of its industries;
    never for the public."""
    if viewer is None:
        return False
    if viewer.is_admin() or (viewer.role == "agency" and viewer.org_id == agency.agency_id):
        return True
    return viewer.role == "regulator" and _regulates(agency, viewer)


def submissions_of(agency_id: str, viewer: Principal) -> list[Submission]:
    if not may_see_private(repo.get(agency_id), viewer):
        raise Forbidden(f"the submissions of agency {agency_id} are for the agency and its reviewers")
    return repo.submissions(agency_id)


def record_versions(agency_id: str, viewer: Principal | None) -> tuple[list[RecordVersion], bool]:
    """The versions, and whether the viewer may see their personal data."""
    agency = repo.get(agency_id)
    return repo.record_versions(agency_id), may_see_private(agency, viewer)


def review_queue(by: Principal, limit: int) -> list[repo.PendingReview]:
    """Reviews the caller owes, oldest deadline first: the admin's, or the regulator's industries'."""
    slots = ["admin"] if by.is_admin() else [f"industry:{i}" for i in by.industries]
    pending: list[repo.PendingReview] = []
    for slot in slots:
        pending += repo.review_queue(slot, limit)
    return sorted(pending, key=lambda p: (p.due_at, p.agency_id, p.number))[:limit]


def directory(
    *,
    item_code: str | None,
    region: str | None,
    status: str | None,
    keyword: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AgencySummary], str | None]:
    """A page of the directory, each with its credit level and blacklist (services.credit.levels:
    one BatchGetItem for the page)."""
    from marketplace.services.credit import levels

    found, next_cursor = repo.list_agencies(
        item_code=item_code, region=region, status=status, keyword=keyword, limit=limit, cursor=cursor
    )
    credit = levels([a.agency_id for a in found])
    shown = [
        revised(a, credit_level=credit[a.agency_id][0], blacklisted_until=credit[a.agency_id][1])
        for a in found
    ]
    return shown, next_cursor
