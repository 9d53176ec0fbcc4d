"""The blacklist (黑名单, DOMAIN.md §9): serious dishonesty, a regulator's finding or an imported one,
blacklists the agency for the credit rules' period (the ledger's standing says until when). While it
lasts the agency cannot enroll (domain.enrollment) nor apply, change or extend (services.agencies),
and every item it offers is expelled (清退): marked on its profile and in the directory with the
reason and the end of the period. When the period ends (or an appeal revokes the finding) the
lifting task restores the items: the restriction lifts by itself.

Each step is idempotent: enforcing again with the same period changes nothing, lifting a period
that was lifted finds no row."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from marketplace.clock import stamp, utcnow
from marketplace.domain.agencies import AGENCY, Agency, AgencyStatus
from marketplace.domain.credit import CreditEvent
from marketplace.domain.credit_actions import blacklist_reason, is_blacklist_reason
from marketplace.domain.lifecycle import SYSTEM, Transition
from marketplace.errors import Conflict, NotFound
from marketplace.events import event
from marketplace.observability import log
from marketplace.repositories import agencies as agencies_repo
from marketplace.repositories import blacklist as repo
from marketplace.repositories import credit_actions as credit_repo
from marketplace.repositories import event_bus

logger = logging.getLogger("marketplace.blacklist")
ATTEMPTS = 4


def enforce(agency_id: str, cause: CreditEvent, *, actor: str, regulator_id: str | None = None) -> str | None:
    """Expel the agency from its items while its standing blacklists it; returns until when (None
    when the standing does not blacklist it, e.g. the finding was revoked)."""
    for attempt in range(ATTEMPTS):
        standing = credit_repo.standing(agency_id)
        now = stamp(utcnow())
        if not standing.blacklisted(now) or standing.blacklisted_until is None:
            return None
        until = standing.blacklisted_until
        current = repo.period(agency_id)
        if current is not None and current.until == until:
            return until  # enforced already
        previous = agencies_repo.find(agency_id, consistent=True)
        agency, transition, items = _expelled(previous, until, cause.reason)
        blacklisted = event(
            "AgencyBlacklisted",
            subject=agency_id,
            data={
                "agency_id": agency_id,
                "name": previous.name if previous else agency_id,
                "credit_event_id": cause.credit_event_id,
                "reason": cause.reason,
                "basis": cause.basis,
                "until": until,
                "items": items,
                "regulator_id": regulator_id,
            },
            actor=actor,
        )
        try:
            repo.save_blacklisted(
                agency_id,
                until,
                cause.credit_event_id,
                cause.reason,
                [blacklisted],
                agency=agency,
                previous=previous,
                transition=transition,
            )
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        event_bus.flush([blacklisted])
        return until
    return None  # pragma: no cover - the loop returns or raises


def _expelled(
    previous: Agency | None, until: str, why: str
) -> tuple[Agency | None, Transition[AgencyStatus] | None, list[str]]:
    """The agency with every offered item expelled for the blacklist (items suspended for another
    reason keep it: lifting the blacklist must not reopen them)."""
    if previous is None or previous.record is None or not AGENCY.allows(previous.status, "blacklist"):
        return None, None, []  # no items yet (applying, returned): the standing refuses it
    transition = AGENCY.expect(previous.status, "blacklist", subject=previous.agency_id)
    reason = blacklist_reason(until, why)
    suspended = dict(previous.suspended_items)
    items = []
    for offering in previous.record.offerings:
        code = offering.item_code
        if code not in suspended or is_blacklist_reason(suspended[code]):
            suspended[code] = reason
            items.append(code)
    return transition.apply(previous, suspended_items=suspended), transition, items


def lift_if_over(agency_id: str, *, actor: str = SYSTEM, why: str = "") -> bool:
    """Restore the items of an agency whose blacklist period is over (or whose finding was revoked);
    a period a new finding extended is enforced to its new end instead. True when lifted."""
    for attempt in range(ATTEMPTS):
        period = repo.period(agency_id)
        if period is None:
            return False
        standing = credit_repo.standing(agency_id)
        now = stamp(utcnow())
        if standing.blacklisted(now):
            if standing.blacklisted_until != period.until:
                _extend(agency_id, period, actor)
            return False
        previous = agencies_repo.find(agency_id, consistent=True)
        agency, transition, items = _restored(previous)
        lifted = event(
            "AgencyReadmitted",
            subject=agency_id,
            data={
                "agency_id": agency_id,
                "name": previous.name if previous else agency_id,
                "until": period.until,
                "reason": why or "the blacklist period ended",
                "items": items,
            },
            actor=actor,
        )
        try:
            repo.save_lifted(
                agency_id, period.until, [lifted], agency=agency, previous=previous, transition=transition
            )
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        event_bus.flush([lifted])
        return True
    return False  # pragma: no cover


def _extend(agency_id: str, period: repo.Due, actor: str) -> None:
    cause = credit_repo.find_event(agency_id, period.credit_event_id)
    if cause is not None:
        enforce(agency_id, cause, actor=actor)


def _restored(previous: Agency | None) -> tuple[Agency | None, Transition[AgencyStatus] | None, list[str]]:
    if previous is None or not AGENCY.allows(previous.status, "lift_blacklist"):
        return None, None, []
    kept = {code: why for code, why in previous.suspended_items.items() if not is_blacklist_reason(why)}
    items = sorted(set(previous.suspended_items) - set(kept))
    transition = AGENCY.expect(previous.status, "lift_blacklist", subject=previous.agency_id)
    return transition.apply(previous, suspended_items=kept), transition, items


@dataclass
class LiftReport:
    lifted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def lift_due() -> LiftReport:
    """The task: every blacklist period that has ended (a Query of the expiry index) is lifted."""
    report = LiftReport()
    for due in list(repo.due(stamp(utcnow()))):
        try:
            if lift_if_over(due.agency_id):
                report.lifted.append(due.agency_id)
            else:
                report.kept.append(due.agency_id)
        except (Conflict, NotFound) as exc:
            report.deferred.append(due.agency_id)
            log(logger, logging.WARNING, "blacklist lift deferred", agency_id=due.agency_id, error=str(exc))
        except Exception:
            # One agency's failure must not keep every other's items closed: the next run retries.
            report.deferred.append(due.agency_id)
            logger.exception("blacklist lift failed for agency %s; deferred", due.agency_id)
    return report
