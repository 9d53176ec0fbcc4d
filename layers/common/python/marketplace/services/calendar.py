"""The regional working-day calendar: years shipped with the code plus years the admin loads
when they are published (never guessed)."""

from __future__ import annotations

import time
from typing import Any

from marketplace.auth import Principal
from marketplace.clock import iso, utcnow
from marketplace.domain.workdays import (
    CalendarDocumentError,
    WorkingCalendar,
    YearCalendar,
    parse_calendar_document,
)
from marketplace.errors import Conflict, FieldError, ValidationFailed
from marketplace.events import event
from marketplace.repositories import calendars as repo
from marketplace.repositories import event_bus
from marketplace.settings import get_settings

CACHE_SECONDS = 300
_cache: tuple[float, WorkingCalendar] | None = None


def working_calendar() -> WorkingCalendar:
    """Shipped years, overlaid by loaded ones; cached for a few minutes per execution environment."""
    global _cache
    if _cache is not None and time.monotonic() - _cache[0] < CACHE_SECONDS:
        return _cache[1]
    settings = get_settings()
    shipped = WorkingCalendar.load_directory(settings.calendar_dir, settings.calendar_region)
    years: dict[int, YearCalendar] = {y: c for y in shipped.years() if (c := shipped.calendar_for(y))}
    for document in repo.for_region(settings.calendar_region):
        loaded = parse_calendar_document(document)
        years[loaded.year] = loaded
    calendar = WorkingCalendar(settings.calendar_region, years.values())
    _cache = (time.monotonic(), calendar)
    return calendar


def forget_cache() -> None:
    global _cache
    _cache = None


def load_year(year: int, document: dict[str, Any], by: Principal, *, replace: bool = False) -> YearCalendar:
    """Load a published year. One already in force (loaded, or shipped with the code) is replaced
    only when the admin says so: deadlines already computed stand, and the event records it."""
    settings = get_settings()
    try:
        calendar = parse_calendar_document(document)
    except CalendarDocumentError as exc:
        errors = [FieldError(f, m) for f, m in exc.problems]
        raise ValidationFailed("the calendar document is not valid", errors=errors) from exc
    if calendar.year != year:
        raise ValidationFailed(
            f"the document is for {calendar.year}, not {year}",
            errors=[FieldError("year", f"must be {year}")],
        )
    if calendar.region != settings.calendar_region:
        raise ValidationFailed(
            f"this deployment's calendar region is {settings.calendar_region}",
            errors=[FieldError("region", f"must be {settings.calendar_region}")],
        )
    forget_cache()
    present = working_calendar().calendar_for(year) is not None
    if present and not replace:
        raise Conflict(f"a calendar for {year} is already in force; load it with ?replace=true to replace it")
    loaded = event(
        "CalendarYearLoaded",
        subject=f"{calendar.region}-{year}",
        data={"year": year, "replaced": present},
        actor=by.subject,
    )
    repo.save(
        calendar.region,
        year,
        calendar.to_document(),
        [loaded],
        loaded_at=iso(utcnow()),
        loaded_by=by.subject,
        new=not replace,
    )
    forget_cache()
    event_bus.flush([loaded])
    return calendar


def year_document(year: int) -> dict[str, Any] | None:
    found = working_calendar().calendar_for(year)
    return found.to_document() if found else None
