"""Working-day calendars the admin loads, one row per region and year."""

from __future__ import annotations

from typing import Any

from marketplace.repositories.base import translated
from marketplace.repositories.tables import CalendarRow


def save(
    region: str, year: int, document: dict[str, Any], *, loaded_at: str, loaded_by: str, new: bool
) -> None:
    """`new`: only if no row for the year exists (two admins loading at once: one wins, one 409)."""
    row = CalendarRow(region=region, year=year, document=document, loaded_at=loaded_at, loaded_by=loaded_by)
    with translated(conflict=f"a calendar for {year} was loaded meanwhile"):
        row.save(condition=CalendarRow.year.does_not_exist() if new else None)


def for_region(region: str) -> list[dict[str, Any]]:
    with translated():
        return [row.document for row in CalendarRow.query(region)]
