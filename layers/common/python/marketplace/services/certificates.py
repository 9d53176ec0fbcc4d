"""The daily certificate check (DOMAIN.md §2): certificates about to expire notify their agency;
expired ones suspend the items they alone supported. A valid certificate, added by an approved
change or extension, restores them (services.agencies)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from marketplace.clock import local_today
from marketplace.domain.agencies import AGENCY, QualificationCertificate
from marketplace.errors import Conflict, NotFound
from marketplace.events import DomainEvent, event
from marketplace.observability import log
from marketplace.repositories import agencies as repo
from marketplace.repositories import event_bus
from marketplace.services.agencies import eligibility
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.certificates")
SYSTEM = "system"


@dataclass
class CheckReport:
    notified: list[str] = field(default_factory=list)
    suspended_items: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)


def daily_check(today: date | None = None) -> CheckReport:
    today = today or local_today()
    notice_until = today + timedelta(days=get_settings().rules.certificate_expiry_notice_days)
    report = CheckReport()
    expired_by_agency: dict[str, list[str]] = {}
    for agency_id, document in repo.certificates_expiring(notice_until.isoformat()):
        certificate = QualificationCertificate.model_validate(document)
        if certificate.expires_on < today:
            expired_by_agency.setdefault(agency_id, []).append(certificate.number)
        elif _notify(agency_id, certificate, today):
            report.notified.append(f"{agency_id}/{certificate.number}")
    for agency_id, numbers in expired_by_agency.items():
        try:
            report.suspended_items += _suspend_unsupported_items(agency_id, numbers, today)
        except (Conflict, NotFound) as exc:
            report.deferred.append(agency_id)
            log(logger, logging.WARNING, "certificate check deferred", agency_id=agency_id, error=str(exc))
        except Exception:
            # One agency's failure must not leave every other agency's expired items open: it is
            # deferred (tomorrow's check finds its certificates again) and logged with its trace.
            report.deferred.append(agency_id)
            logger.exception("certificate check failed for agency %s; deferred", agency_id)
    return report


def _notify(agency_id: str, certificate: QualificationCertificate, today: date) -> bool:
    """Tell the agency once per certificate and expiry date."""
    expiring = event(
        "CertificateExpiring",
        subject=agency_id,
        data={
            "agency_id": agency_id,
            "certificate_number": certificate.number,
            "certificate_type": certificate.certificate_type,
            "expires_on": certificate.expires_on.isoformat(),
            "days_left": (certificate.expires_on - today).days,
        },
        actor=SYSTEM,
    )
    if not repo.mark_expiry_notified(
        agency_id, certificate.number, certificate.expires_on.isoformat(), [expiring]
    ):
        return False
    event_bus.flush([expiring])
    return True


def _suspend_unsupported_items(agency_id: str, expired: list[str], today: date) -> list[str]:
    previous = repo.get(agency_id)
    if previous.record is None or not AGENCY.allows(previous.status, "suspend_items"):
        return []  # expelled: nothing of it is offered any more
    transition = AGENCY.expect(previous.status, "suspend_items", subject=agency_id)
    results, _ = eligibility(previous.record, on=today)
    reason = "certificate expired: " + ", ".join(sorted(expired))
    newly = {
        r.item_code: reason for r in results if not r.eligible and r.item_code not in previous.suspended_items
    }
    agency = transition.apply(previous, suspended_items={**previous.suspended_items, **newly})
    events: list[DomainEvent] = [
        event(
            "ItemSuspended",
            subject=agency_id,
            data={"agency_id": agency_id, "item_code": code, "reason": why, "certificates": sorted(expired)},
            actor=SYSTEM,
        )
        for code, why in newly.items()
    ]
    repo.save_item_suspensions(agency, previous, expired, events, transition=transition)
    event_bus.flush(events)
    return [f"{agency_id}/{code}" for code in newly]
