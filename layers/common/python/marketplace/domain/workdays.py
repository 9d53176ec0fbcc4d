"""Working days on a regional calendar: weekends, public holidays and adjusted working weekends (调休).

A year's arrangement is loaded from a published document (see `parse_calendar_document`), never
guessed. A date in a year with no loaded calendar counts weekends only, and every result that
stepped through such a year says so in `uncovered_years`, so callers can show a warning.

Standard library only: this module is part of the domain and must not import AWS or pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "CalendarDocumentError",
    "Deadline",
    "WorkingCalendar",
    "WorkingDayCount",
    "WorkingDaySpan",
    "YearCalendar",
    "parse_calendar_document",
]

MIN_YEAR = 1900
MAX_YEAR = 2200
DEFAULT_TZ = "Asia/Shanghai"
END_OF_DAY = time(23, 59, 59)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DOCUMENT_KEYS = frozenset({"region", "year", "source", "holidays", "adjusted_workdays"})
_ENTRY_KEYS = frozenset({"date", "name"})
_SATURDAY = 5


class CalendarDocumentError(ValueError):
    """A calendar document failed validation; `problems` lists every (field, message) found."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems: list[tuple[str, str]] = list(problems)
        super().__init__("; ".join(f"{where}: {message}" for where, message in self.problems))


@dataclass(frozen=True)
class YearCalendar:
    """One region's published arrangement for one year.

    `names` maps every listed date to its festival name. The invariants checked by
    `parse_calendar_document` (dates inside the year, the two sets disjoint, adjusted
    workdays on a weekend) are enforced here too, so a YearCalendar is always valid.
    """

    region: str
    year: int
    source: str
    holidays: frozenset[date]
    adjusted_workdays: frozenset[date]
    names: Mapping[date, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        problems = _date_set_problems(self.year, "holidays", self.holidays)
        problems += _date_set_problems(self.year, "adjusted_workdays", self.adjusted_workdays)
        for d in sorted(self.holidays & self.adjusted_workdays):
            problems.append(("adjusted_workdays", f"{d.isoformat()} is also listed as a holiday"))
        for d in sorted(self.adjusted_workdays):
            if d.weekday() < _SATURDAY:
                problems.append(
                    ("adjusted_workdays", f"{d.isoformat()} is a {d:%A}, not a Saturday or Sunday")
                )
        if problems:
            raise CalendarDocumentError(problems)

    def to_document(self) -> dict[str, Any]:
        """The JSON-ready document that `parse_calendar_document` turns back into this calendar."""
        return {
            "region": self.region,
            "year": self.year,
            "source": self.source,
            "holidays": [self._entry(d) for d in sorted(self.holidays)],
            "adjusted_workdays": [self._entry(d) for d in sorted(self.adjusted_workdays)],
        }

    def _entry(self, d: date) -> dict[str, str]:
        return {"date": d.isoformat(), "name": self.names.get(d, "")}


def _date_set_problems(year: int, where: str, dates: Iterable[date]) -> list[tuple[str, str]]:
    return [(where, f"{d.isoformat()} is outside {year}") for d in sorted(dates) if d.year != year]


def parse_calendar_document(doc: Mapping[str, Any]) -> YearCalendar:
    """Validate a year document and build its YearCalendar.

    Raises CalendarDocumentError naming every problem found, not just the first.
    """
    if not isinstance(doc, Mapping):
        raise CalendarDocumentError([("document", "must be a JSON object")])
    problems: list[tuple[str, str]] = []
    for key in sorted(set(doc) - _DOCUMENT_KEYS):
        problems.append((str(key), "unknown field"))

    region = doc.get("region")
    if not isinstance(region, str) or not region.strip():
        problems.append(("region", "must be a non-empty string"))
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append(("source", "must be a non-empty string naming where the arrangement was published"))
    year = doc.get("year")
    year_ok = isinstance(year, int) and not isinstance(year, bool) and MIN_YEAR <= year <= MAX_YEAR
    if not year_ok:
        problems.append(("year", f"must be an integer from {MIN_YEAR} to {MAX_YEAR}"))

    names: dict[date, str] = {}
    lists: dict[str, set[date]] = {}
    for list_name in ("holidays", "adjusted_workdays"):
        lists[list_name] = _parse_entries(
            doc.get(list_name), list_name, year if year_ok else None, names, problems
        )
    holidays, adjusted = lists["holidays"], lists["adjusted_workdays"]
    for d in sorted(holidays & adjusted):
        problems.append(("adjusted_workdays", f"{d.isoformat()} is also listed as a holiday"))

    if problems:
        raise CalendarDocumentError(problems)
    assert isinstance(region, str) and isinstance(source, str) and isinstance(year, int)
    return YearCalendar(
        region=region,
        year=year,
        source=source,
        holidays=frozenset(holidays),
        adjusted_workdays=frozenset(adjusted),
        names=names,
    )


def _parse_entries(
    raw: object,
    list_name: str,
    year: int | None,
    names: dict[date, str],
    problems: list[tuple[str, str]],
) -> set[date]:
    """Parse one list of {date, name} entries, adding valid ones to `names` and problems to `problems`."""
    found: set[date] = set()
    if not isinstance(raw, list):
        problems.append((list_name, "must be a list of {date, name} objects"))
        return found
    for index, entry in enumerate(raw):
        where = f"{list_name}[{index}]"
        if not isinstance(entry, dict):
            problems.append((where, "must be an object with date and name"))
            continue
        for key in sorted(set(entry) - _ENTRY_KEYS):
            problems.append((f"{where}.{key}", "unknown field"))
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append((f"{where}.name", "must be a non-empty string"))
            name = ""
        d = _parse_iso_date(entry.get("date"))
        if d is None:
            problems.append((f"{where}.date", f"must be an ISO date YYYY-MM-DD, got {entry.get('date')!r}"))
            continue
        if year is not None and d.year != year:
            problems.append((f"{where}.date", f"{d.isoformat()} is outside {year}"))
        if list_name == "adjusted_workdays" and d.weekday() < _SATURDAY:
            problems.append((f"{where}.date", f"{d.isoformat()} is a {d:%A}, not a Saturday or Sunday"))
        if d in found:
            problems.append((f"{where}.date", f"{d.isoformat()} is listed more than once"))
        found.add(d)
        names[d] = name
    return found


def _parse_iso_date(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class WorkingDayCount:
    """The date reached by counting working days, and the years counted on weekends only."""

    date: date
    uncovered_years: tuple[int, ...] = ()

    @property
    def weekends_only(self) -> bool:
        """True when part of the count fell in a year with no loaded calendar."""
        return bool(self.uncovered_years)


@dataclass(frozen=True)
class WorkingDaySpan:
    """A number of working days, and the years counted on weekends only."""

    count: int
    uncovered_years: tuple[int, ...] = ()

    @property
    def weekends_only(self) -> bool:
        return bool(self.uncovered_years)


@dataclass(frozen=True)
class Deadline:
    """The end (23:59:59 local) of a local working day, as an aware UTC instant."""

    at: datetime
    local_date: date
    uncovered_years: tuple[int, ...] = ()

    @property
    def weekends_only(self) -> bool:
        return bool(self.uncovered_years)


class WorkingCalendar:
    """The working-day calendar of one region, built from its loaded years."""

    def __init__(self, region: str, calendars: Iterable[YearCalendar] = ()) -> None:
        self.region = region
        self._years: dict[int, YearCalendar] = {}
        for calendar in calendars:
            if calendar.region != region:
                raise ValueError(f"calendar for {calendar.region} {calendar.year} is not for region {region}")
            if calendar.year in self._years:
                raise ValueError(f"two calendars for {region} {calendar.year}")
            self._years[calendar.year] = calendar

    @classmethod
    def load_directory(cls, path: Path, region: str = "CN") -> WorkingCalendar:
        """Load every `<region lowercased>-calendar-<year>.json` file in `path`.

        Raises CalendarDocumentError if a file is invalid or does not match its file name.
        """
        pattern = re.compile(rf"{re.escape(region.lower())}-calendar-(\d{{4}})\.json")
        calendars: list[YearCalendar] = []
        for file in sorted(path.iterdir()):
            match = pattern.fullmatch(file.name)
            if match is None or not file.is_file():
                continue
            try:
                doc = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as error:
                raise CalendarDocumentError([(file.name, f"is not valid JSON: {error}")]) from error
            try:
                calendar = parse_calendar_document(doc)
            except CalendarDocumentError as error:
                problems = [(f"{file.name}: {where}", msg) for where, msg in error.problems]
                raise CalendarDocumentError(problems) from error
            mismatches: list[tuple[str, str]] = []
            if calendar.region != region:
                mismatches.append((f"{file.name}: region", f"is {calendar.region!r}, expected {region!r}"))
            if calendar.year != int(match.group(1)):
                named = match.group(1)
                mismatches.append(
                    (f"{file.name}: year", f"is {calendar.year}, but the file name says {named}")
                )
            if mismatches:
                raise CalendarDocumentError(mismatches)
            calendars.append(calendar)
        return cls(region, calendars)

    def covers(self, year: int) -> bool:
        return year in self._years

    def years(self) -> list[int]:
        return sorted(self._years)

    def calendar_for(self, year: int) -> YearCalendar | None:
        return self._years.get(year)

    def is_working_day(self, d: date) -> bool:
        calendar = self._years.get(d.year)
        if calendar is not None:
            if d in calendar.holidays:
                return False
            if d in calendar.adjusted_workdays:
                return True
        return d.weekday() < _SATURDAY

    def add_working_days(self, start: date, days: int) -> WorkingDayCount:
        """The date `days` working days after `start` (start itself not counted; 0 gives `start`)."""
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        current = start
        uncovered: set[int] = set()
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if not self.covers(current.year):
                uncovered.add(current.year)
            if self.is_working_day(current):
                remaining -= 1
        return WorkingDayCount(current, tuple(sorted(uncovered)))

    def count_working_days(self, start: date, end: date) -> WorkingDaySpan:
        """The working days in (start, end]: start excluded, end included; 0 if end <= start."""
        count = 0
        uncovered: set[int] = set()
        for d in _days_after(start, end):
            if not self.covers(d.year):
                uncovered.add(d.year)
            if self.is_working_day(d):
                count += 1
        return WorkingDaySpan(count, tuple(sorted(uncovered)))

    def deadline(self, start: datetime, days: int, tz: str = DEFAULT_TZ) -> Deadline:
        """The end (23:59:59 in `tz`) of the `days`-th working day after `start`'s local date."""
        zone = ZoneInfo(tz)
        reached = self.add_working_days(_local_date(start, zone), days)
        at = datetime.combine(reached.date, END_OF_DAY, tzinfo=zone).astimezone(UTC)
        return Deadline(at=at, local_date=reached.date, uncovered_years=reached.uncovered_years)

    def window_working_days(self, opens: datetime, closes: datetime, tz: str = DEFAULT_TZ) -> WorkingDaySpan:
        """Working days after the local opening date, up to and including the local closing date. A
        window closing at 00:00:00 local time ends with the day before: it never reaches that day."""
        zone = ZoneInfo(tz)
        last = _local_date(closes - timedelta(seconds=1), zone)
        return self.count_working_days(_local_date(opens, zone), last)

    def minimum_window_met(
        self, opens: datetime, closes: datetime, min_working_days: int, tz: str = DEFAULT_TZ
    ) -> bool:
        """Whether the window holds at least `min_working_days` working days (see window_working_days)."""
        return self.window_working_days(opens, closes, tz).count >= min_working_days


def _days_after(start: date, end: date) -> Iterator[date]:
    current = start + timedelta(days=1)
    while current <= end:
        yield current
        current += timedelta(days=1)


def _local_date(instant: datetime, zone: ZoneInfo) -> date:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {instant.isoformat()}")
    return instant.astimezone(zone).date()
