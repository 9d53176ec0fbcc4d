"""Working-day calendars the admin loads, one row per region and year."""

from __future__ import annotations

from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import CalendarRow


def save(
    region: str,
    year: int,
    document: dict[str, Any],
    events: list[DomainEvent],
    *,
    loaded_at: str,
    loaded_by: str,
    new: bool,
) -> None:
    """`new`: only if no row for the year exists (two admins loading at once: one wins, one 409).
    The event is staged in the outbox in the same transaction, so it cannot be lost."""
    row = CalendarRow(region=region, year=year, document=document, loaded_at=loaded_at, loaded_by=loaded_by)
    conflict = f"a calendar for {year} was loaded meanwhile"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(row, condition=CalendarRow.year.does_not_exist() if new else None)
        event_bus.stage(tx, events)


def for_region(region: str) -> list[dict[str, Any]]:
    with translated():
        return [row.document for row in CalendarRow.query(region)]
