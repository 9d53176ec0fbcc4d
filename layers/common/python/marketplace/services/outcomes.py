"""What every step that produces a result shares (publication of a direct selection, the draw, a
reserve moving up): the confirmation deadline it starts and the event that publishes it. Kept apart
from the application use cases so the functions that only confirm do not load those."""

from __future__ import annotations

from datetime import datetime

from marketplace.domain.purchases import Purchase, stamp
from marketplace.events import DomainEvent, event
from marketplace.services.calendar import working_calendar
from marketplace.settings import get_settings


def confirmation_due(start: datetime) -> tuple[str, bool]:
    """The confirmation deadline, and whether it was counted on weekends only (it runs into a year
    with no calendar loaded): the result says so."""
    settings = get_settings()
    due = working_calendar().deadline(start, settings.rules.confirmation_working_days, settings.timezone)
    return stamp(due.at), bool(due.uncovered_years)


def result_event(purchase: Purchase, actor: str) -> DomainEvent:
    result = purchase.result
    assert result is not None
    data = {
        "purchase_id": purchase.purchase_id,
        "owner_id": purchase.owner_id,
        "method": purchase.method.value,
        "selected_agency": result.selected_agency,
        "short_list": result.short_list,
        "reserves": result.reserves,
        "confirmation_deadline": result.confirmation_deadline,
    }
    if purchase.batch_of is not None:  # a batch's project (domain/batch.py): which one
        data |= {"batch_of": purchase.batch_of, "project_code": purchase.project_code}
    return event("ResultPublished", subject=purchase.purchase_id, data=data, actor=actor)
