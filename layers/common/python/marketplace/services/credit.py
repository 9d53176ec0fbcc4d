"""Recording credit events (DOMAIN.md §9). Other use cases (abandonment, contracts, delivery,
evaluations, complaints) build their event with `platform_event` and write it in their own
transaction (`repositories.credit.staged`) together with `recorded(...)`, the domain event that
tells the agency's inbox at once."""

from __future__ import annotations

from datetime import datetime

from marketplace.clock import stamp, utcnow
from marketplace.domain.credit import (
    CreditCause,
    CreditEvent,
    CreditEventKind,
    CreditRules,
    CreditSource,
)
from marketplace.events import DomainEvent, event
from marketplace.repositories import credit as credit_repo


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
    )


def record(credit_event: CreditEvent, *, actor: str) -> None:
    """Record an event on its own (not part of another change): the ledger, the agency's score and
    the `CreditEventRecorded` event together. Recording the same event id again changes nothing."""
    credit_repo.record(credit_event, [recorded(credit_event, actor=actor)])


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
