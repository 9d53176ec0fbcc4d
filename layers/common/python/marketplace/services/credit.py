"""Credit (DOMAIN.md §9, docs/credit.md): recording events, the rules as data, the daily expiry
and the public profile.

Other use cases (abandonment, contracts, delivery, evaluations, complaints) build their event with
`platform_event` and write it in their own transaction (`repositories.credit.staged`) together with
`recorded(...)`, the domain event that tells the agency's inbox at once. Regulators' and imported
events are built with `external_event` (their own points, within the rules' bounds), a credit
repair's with `revocation`; all are written with `record`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import Field, ValidationError

from marketplace.clock import local_today, parse_iso, stamp, utcnow
from marketplace.domain.credit import (
    DEFAULT_RULES,
    CreditCause,
    CreditEvent,
    CreditEventKind,
    CreditLevel,
    CreditRules,
    CreditSource,
    CreditStanding,
    InvalidCreditEvent,
    ScorePoint,
    blacklist_end,
    changes,
    check_own_points,
    compute_standing,
    revocation_of,
)
from marketplace.domain.credit_appeals import Appeal
from marketplace.domain.model import Model
from marketplace.errors import Conflict, FieldError, ValidationFailed, invalid
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories.credit_actions import appeals_from

logger = logging.getLogger("marketplace.credit")
EXTERNAL_KINDS = frozenset(
    {CreditEventKind.reward, CreditEventKind.penalty, CreditEventKind.serious_dishonesty}
)


def rules_in_force(at: datetime) -> CreditRules:
    return credit_repo.rules_in_force(at)


def platform_event(
    kind: CreditEventKind,
    agency_id: str,
    *,
    event_id: str,
    cause: CreditCause,
    reason: str,
    basis: str,
    occurred_at: datetime,
    rating: float | None = None,
    ratings: dict[str, int] | None = None,
) -> CreditEvent:
    """The platform's event of `kind`, its points and validity from the rules in force when it
    occurred. `event_id` is deterministic (derived from the cause), so a retried use case records
    the same event, once."""
    rules = rules_in_force(occurred_at)
    return CreditEvent(
        credit_event_id=event_id,
        agency_id=agency_id,
        source=CreditSource.platform,
        kind=kind,
        points=rules.points_for(kind, rating=rating),
        reason=reason,
        basis=basis,
        cause=cause,
        occurred_at=stamp(occurred_at),
        recorded_at=stamp(utcnow()),
        valid_until=stamp(rules.valid_until(kind, occurred_at)),
        rules_version=rules.version,
        purchase_id=cause.purchase_id,
        ratings=ratings,
        blacklists_until=(
            stamp(blacklist_end(rules, occurred_at)) if kind == CreditEventKind.serious_dishonesty else None
        ),
    )


def external_event(
    source: CreditSource,
    kind: CreditEventKind,
    agency_id: str,
    *,
    event_id: str,
    cause: CreditCause,
    reason: str,
    basis: str,
    occurred_at: datetime,
    points: int | None = None,
    valid_until: datetime | None = None,
) -> CreditEvent:
    """A regulator's or an imported event: a reward or a penalty with its own `points` (a reward
    adds, a penalty takes away, within the rules' `max_event_points`), or serious dishonesty (the
    rules' points, and a blacklist for the rules' days from when it occurred). `valid_until`
    defaults to the rules' validity for the kind. A 422 naming the field otherwise."""
    if source == CreditSource.platform:
        raise invalid("source", "a regulator's or an imported event")
    if kind not in EXTERNAL_KINDS:
        raise invalid("kind", "reward, penalty or serious_dishonesty")
    rules = rules_in_force(occurred_at)
    if kind == CreditEventKind.serious_dishonesty:
        if points is not None and points != rules.points_for(kind):
            raise invalid("points", f"serious dishonesty scores the rules' {rules.points_for(kind)}")
        points = rules.points_for(kind)
    try:
        if points is None:
            raise InvalidCreditEvent("points", "a reward's or a penalty's points are required")
        if kind != CreditEventKind.serious_dishonesty:
            check_own_points(rules, kind, points)
    except InvalidCreditEvent as exc:
        raise invalid(exc.field, exc.message) from exc
    until = valid_until or rules.valid_until(kind, occurred_at)
    if until <= occurred_at:
        raise invalid("valid_until", "must be after the date it occurred")
    return CreditEvent(
        credit_event_id=event_id,
        agency_id=agency_id,
        source=source,
        kind=kind,
        points=points,
        reason=reason,
        basis=basis,
        cause=cause,
        occurred_at=stamp(occurred_at),
        recorded_at=stamp(utcnow()),
        valid_until=stamp(until),
        rules_version=rules.version,
        purchase_id=cause.purchase_id,
        blacklists_until=(
            stamp(blacklist_end(rules, occurred_at)) if kind == CreditEventKind.serious_dishonesty else None
        ),
    )


def revocation(
    original: CreditEvent, *, event_id: str, reason: str, basis: str, cause: CreditCause
) -> CreditEvent:
    """Credit repair: the event compensating `original` (never an edit of it)."""
    now = utcnow()
    return revocation_of(
        original,
        event_id=event_id,
        reason=reason,
        basis=basis,
        cause=cause,
        at=stamp(now),
        rules_version=rules_in_force(now).version,
    )


def record(credit_event: CreditEvent, *, actor: str) -> bool:
    """Record an event on its own (not part of another change): the ledger, the agency's standing
    and the `CreditEventRecorded` event together. Recording the same event id again changes
    nothing and returns False."""
    events = [recorded(credit_event, actor=actor)]
    done = credit_repo.record(credit_event, events)
    if done:
        event_bus.flush(events)
    return done


def recorded(credit_event: CreditEvent, *, actor: str) -> DomainEvent:
    """`CreditEventRecorded`: the agency's inbox links to its public credit profile."""
    return event(
        "CreditEventRecorded",
        subject=credit_event.agency_id,
        data={
            "agency_id": credit_event.agency_id,
            "credit_event_id": credit_event.credit_event_id,
            "source": credit_event.source.value,
            "kind": credit_event.kind.value,
            "points": credit_event.points,
            "reason": credit_event.reason,
            "purchase_id": credit_event.purchase_id,
            "valid_until": credit_event.valid_until,
        },
        actor=actor,
    )


def levels(agency_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each agency's credit level and, while blacklisted, until when (the directory shows them):
    the standings in one BatchGetItem, scored with the rules in force."""
    if not agency_ids:
        return {}
    now = utcnow()
    rules, instant = rules_in_force(now), stamp(now)
    return {
        a: (s.level(rules, instant).value, s.blacklisted_until if s.blacklisted(instant) else None)
        for a, s in credit_repo.standings(agency_ids).items()
    }


# The rules as data.


def _field_errors(exc: ValidationError) -> list[FieldError]:
    """Each error at its field; the rules' own checks name theirs first ("points: ...")."""
    found = []
    for e in exc.errors():
        message = e["msg"].removeprefix("Value error, ")
        where = ".".join(str(p) for p in e["loc"])
        named, _, rest = message.partition(": ")
        if not where and named in CreditRules.model_fields:
            where, message = named, rest
        found.append(FieldError(where or "body", message))
    return found


@dataclass(frozen=True)
class RulesDocument:
    in_force: CreditRules
    versions: list[dict[str, Any]] = field(default_factory=list)


def rules_document() -> RulesDocument:
    """Every version loaded (oldest first) and the one in force now: public."""
    versions = credit_repo.rule_versions()
    today = local_today()
    from marketplace.domain.credit import CreditRuleBook

    book = CreditRuleBook([v.rules for v in versions])
    return RulesDocument(
        in_force=book.in_force(today),
        versions=[{**v.rules.model_dump(mode="json"), "loaded_at": v.loaded_at} for v in versions],
    )


def load_rules(document: dict[str, Any], *, by: str) -> CreditRules:
    """A new version of the rules, effective from a date not in the past, numbered after the
    latest; two loads at once: one takes the number, the other is a 409 (load again)."""
    effective = document.get("effective_from")
    try:
        day = date.fromisoformat(str(effective)) if effective is not None else None
    except ValueError:
        day = None
    if day is None:
        raise invalid("effective_from", "a date (YYYY-MM-DD) from which the rules are in force")
    if day < local_today():
        raise invalid("effective_from", f"must not be in the past (today is {local_today().isoformat()})")
    versions = credit_repo.rule_versions()
    version = max((v.rules.version for v in versions), default=1) + 1  # the shipped defaults are 1
    try:
        rules = CreditRules.model_validate({**_over_defaults(document), "version": version})
    except ValidationError as exc:
        errors = _field_errors(exc)
        raise ValidationFailed("the credit rules are not valid", errors=errors) from exc
    loaded = event(
        "CreditRulesLoaded",
        subject=f"credit-rules-{version}",
        data={"version": version, "effective_from": rules.effective_from.isoformat()},
        actor=by,
    )
    credit_repo.add_rules(rules, loaded_at=stamp(utcnow()), loaded_by=by, events=[loaded])
    event_bus.flush([loaded])
    return rules


def _over_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """A table given in part (`{"points": {"abandonment": -8}}`) changes the entries it names; the
    kinds and ratings it leaves out keep their shipped values instead of falling to nothing."""
    defaults = DEFAULT_RULES.model_dump(mode="json")
    merged = dict(document)
    for table in ("points", "validity_days", "rating_points"):
        given = document.get(table)
        if isinstance(given, dict):
            merged[table] = {**defaults[table], **given}
    return merged


# The daily expiry.


@dataclass
class ExpiryReport:
    recomputed: list[str] = field(default_factory=list)
    lifted: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def _changed_events(before: CreditStanding, after: CreditStanding, now: str) -> list[DomainEvent]:
    found = []
    if before.computed_level != after.computed_level and after.computed_level is not None:
        found.append(
            event(
                "CreditLevelChanged",
                subject=after.agency_id,
                data={
                    "agency_id": after.agency_id,
                    "level": after.computed_level.value,
                    "previous_level": before.computed_level.value if before.computed_level else None,
                    "score": after.computed_score,
                },
                actor="system",
            )
        )
    if before.blacklisted_until is not None and not after.blacklisted(now):
        found.append(
            event(
                "BlacklistLifted",
                subject=after.agency_id,
                data={"agency_id": after.agency_id, "blacklisted_until": before.blacklisted_until},
                actor="system",
            )
        )
    return found


def _refresh(agency_id: str, now: str, report: ExpiryReport) -> None:
    try:
        refresh = credit_repo.refreshed(agency_id, now)
        if refresh is None:
            return
        events = _changed_events(refresh.before, refresh.after, now)
        credit_repo.save_refresh(refresh, events)
        event_bus.flush(events)
    except Conflict:
        report.deferred.append(agency_id)  # recorded meanwhile: that recording recomputed it
        return
    report.recomputed.append(agency_id)
    if any(e.detail_type == "BlacklistLifted" for e in events):
        report.lifted.append(agency_id)
    log(logger, logging.INFO, "credit recomputed", agency_id=agency_id, score=refresh.after.computed_score)


def expire_due(batch: int = 100) -> ExpiryReport:
    """Daily: recompute every standing whose next date has passed (an event stops, or starts,
    counting; a blacklist ends), found by a Query on the `by-credit-due` index; and, on the first
    run after a new version of the rules takes effect, every standing (its base score and level
    thresholds apply from then). A level that changes emits `CreditLevelChanged`; a blacklist that
    ends emits `BlacklistLifted` (the agency's expulsion for it is undone by its consumer). One
    that another change got to first is skipped; one that fails is left for the next run."""
    now = stamp(utcnow())
    report = ExpiryReport()
    seen: set[str] = set()
    while True:
        todo = [a for a in credit_repo.due(now, limit=batch) if a not in seen]
        if not todo:
            break
        for agency_id in todo:
            seen.add(agency_id)
            _refresh(agency_id, now, report)
    in_force, applied = rules_in_force(parse_iso(now)).version, credit_repo.applied_rules_version()
    if in_force != applied:
        for agency_id in credit_repo.every_standing():
            if agency_id not in seen:
                _refresh(agency_id, now, report)
        # One deferred was recorded meanwhile, and so computed with the rules in force.
        credit_repo.mark_rules_applied(in_force, previous=applied)
    return report


# The public profile.


class ProfileEvent(Model):
    credit_event_id: str
    source: CreditSource
    kind: CreditEventKind
    points: int
    reason: str
    basis: str
    occurred_at: str
    recorded_at: str
    valid_until: str
    counting: bool = Field(description="counts in the score now")
    cause: CreditCause
    link: str | None = Field(description="where the public reads what caused it")
    revokes: str | None = None
    revoked_by: str | None = Field(default=None, description="the revocation that compensates it")
    blacklists_until: str | None = None
    ratings: dict[str, int] | None = None
    rules_version: int


class EvaluationAverage(Model):
    dimension: str
    average: float
    count: int


class CreditProfile(Model):
    agency_id: str
    score: int
    level: CreditLevel
    blacklisted: bool
    blacklisted_until: str | None
    rules_version: int = Field(description="the credit rules' version the score was computed with")
    computed_at: str | None = Field(description="when the score was last computed; null: no record yet")
    completed_purchases: int
    evaluations: list[EvaluationAverage]
    history: list[ScorePoint] = Field(description="the score over time: each change, oldest first")
    events: list[ProfileEvent] = Field(description="every event, the latest to occur first")
    appeals: list[Appeal] = Field(
        default_factory=list,
        description="credit repair (信用修复): each appeal and its decision, oldest first",
    )


def _link(e: CreditEvent) -> str | None:
    if e.purchase_id or e.cause.purchase_id:
        return f"/purchases/{e.purchase_id or e.cause.purchase_id}"
    if e.revokes:
        return f"/agencies/{e.agency_id}/credit/events"
    return None


def profile_event(e: CreditEvent, now: str, revoked_by: str | None = None) -> ProfileEvent:
    return ProfileEvent(
        credit_event_id=e.credit_event_id,
        source=e.source,
        kind=e.kind,
        points=e.points,
        reason=e.reason,
        basis=e.basis,
        occurred_at=e.occurred_at,
        recorded_at=e.recorded_at,
        valid_until=e.valid_until,
        counting=e.counts(now),
        cause=e.cause,
        link=_link(e),
        revokes=e.revokes,
        revoked_by=revoked_by,
        blacklists_until=e.blacklists_until,
        ratings=e.ratings,
        rules_version=e.rules_version,
    )


def profile(agency_id: str) -> CreditProfile:
    """The public credit profile (信用脸谱) from one Query of the agency's partition. An agency
    with no record shows the base score of the rules in force (no read of the agency: an unknown
    id looks the same)."""
    now = stamp(utcnow())
    found = credit_repo.ledger(agency_id, consistent=False)
    standing = found.standing
    if standing is None or standing.computed_at is None:
        rules = rules_in_force(parse_iso(now))
        standing = compute_standing(agency_id, [], rules, now)
        computed_at = None
    elif standing.stale(now):
        # The daily task has not run yet since an event's date passed: what it will keep.
        found.points = [*found.points, *credit_repo.pending_points(found, now)]
        standing = compute_standing(agency_id, found.events, credit_repo.rules_at(now), now)
        computed_at = standing.computed_at
    else:
        computed_at = standing.computed_at
    assert standing.computed_score is not None and standing.computed_level is not None
    revokers = {e.revokes: e.credit_event_id for e in found.events if e.revokes}
    events = sorted(found.events, key=lambda e: (e.occurred_at, e.credit_event_id), reverse=True)
    return CreditProfile(
        agency_id=agency_id,
        score=standing.computed_score,
        level=standing.computed_level,
        blacklisted=standing.blacklisted(now),
        blacklisted_until=standing.blacklisted_until if standing.blacklisted(now) else None,
        rules_version=standing.rules_version or 1,
        computed_at=computed_at,
        completed_purchases=standing.completed_purchases,
        evaluations=[
            EvaluationAverage(dimension=d, average=t.average, count=t.count)
            for d, t in standing.evaluations.items()
            if t.average is not None
        ],
        history=changes(found.points),
        events=[profile_event(e, now, revokers.get(e.credit_event_id)) for e in events],
        appeals=appeals_from(found.others),
    )


def events_page(agency_id: str, *, limit: int, cursor: str | None) -> tuple[list[ProfileEvent], str | None]:
    """One page of the agency's events, the latest to occur first (revocations name what they
    revoke; the profile shows which event each revocation compensates)."""
    now = stamp(utcnow())
    found, next_cursor = credit_repo.events_page(agency_id, limit=limit, cursor=cursor)
    return [profile_event(e, now) for e in found], next_cursor
