"""Routes of the working-day calendar: the admin loads a year when it is published."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import ConfigDict, Field

from marketplace.domain.model import Model, StrictModel
from marketplace.errors import NotFound, invalid
from marketplace.services import calendar as service
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


class DateName(StrictModel):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    name: str


class CalendarYear(Model):
    model_config = ConfigDict(defer_build=True, extra="allow")

    region: str
    year: int
    source: str
    holidays: list[DateName]
    adjusted_workdays: list[DateName]


class LoadQuery(StrictModel):
    replace: bool = Field(default=False, description="replace a year already loaded or shipped")


def _year(call: Call) -> int:
    raw = call.params["year"]
    if not raw.isdigit() or len(raw) != 4:
        raise invalid("year", "must be a four-digit year")
    return int(raw)


@route(
    bp,
    "/calendars/{year}",
    "PUT",
    name="load_calendar_year",
    summary="Load a year's official working-day arrangement",
    roles=("admin",),
    body=CalendarYear,
    query=LoadQuery,
    response=CalendarYear,
    description="A year already loaded, or shipped with the code (2026), is a 409 unless `?replace=true`.",
)
def load_year(call: Call) -> dict[str, Any]:
    document = call.body.model_dump(mode="json")
    replace = call.query.replace
    return service.load_year(_year(call), document, call.caller, replace=replace).to_document()


@route(
    bp,
    "/calendars/{year}",
    name="get_calendar_year",
    summary="A year's working-day arrangement, if one is loaded",
    response=CalendarYear,
)
def get_year(call: Call) -> dict[str, Any]:
    year = _year(call)
    document = service.year_document(year)
    if document is None:
        raise NotFound(f"no calendar is loaded for {year}: deadlines in it count weekends only")
    return document
