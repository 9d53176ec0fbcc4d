"""Working-day calendars: 2026 ships with the code; the admin loads later years when published."""

from __future__ import annotations

from datetime import date

from marketplace.services.calendar import working_calendar
from tests.conftest import Api
from tests.support.samples import CALENDAR_2027


def test_the_shipped_2026_calendar_is_public(api: Api) -> None:
    reply = api.call("GET", "/calendars/2026")
    assert reply.status == 200
    assert {"date": "2026-02-14", "name": "春节 Spring Festival"} in reply.body["adjusted_workdays"]


def test_a_year_without_a_calendar_says_weekends_only(api: Api) -> None:
    reply = api.call("GET", "/calendars/2027")
    assert reply.status == 404 and "weekends only" in reply.body["detail"]


def test_the_admin_loads_a_published_year_and_deadlines_use_it(api: Api, published_events) -> None:
    before = working_calendar().add_working_days(date(2026, 12, 31), 1)
    assert before.date == date(2027, 1, 1) and before.weekends_only

    loaded = api.as_role("admin").put("/calendars/2027", CALENDAR_2027)
    assert loaded.status == 200
    after = working_calendar().add_working_days(date(2026, 12, 31), 1)
    assert after.date == date(2027, 1, 2) and not after.weekends_only
    assert api.call("GET", "/calendars/2027").body["year"] == 2027
    assert published_events.types() == ["CalendarYearLoaded"]


def test_an_invalid_calendar_is_refused_naming_each_problem(api: Api) -> None:
    document = {
        **CALENDAR_2027,
        "holidays": [{"date": "2028-01-01", "name": "元旦"}],
        "adjusted_workdays": [{"date": "2027-01-04", "name": "周一"}],
    }
    reply = api.as_role("admin").put("/calendars/2027", document)
    assert reply.status == 422
    fields = {e["field"] for e in reply.body["errors"]}
    assert any(f.startswith("holidays") for f in fields) and any(
        f.startswith("adjusted_workdays") for f in fields
    )
    assert api.call("GET", "/calendars/2027").status == 404


def test_a_document_for_another_year_than_the_path_is_refused(api: Api) -> None:
    reply = api.as_role("admin").put("/calendars/2028", CALENDAR_2027)
    assert reply.status == 422 and reply.body["errors"][0]["field"] == "year"


def test_only_the_admin_loads_calendars(api: Api) -> None:
    assert api.as_role("regulator", "RG-1").put("/calendars/2027", CALENDAR_2027).status == 403
    assert api.call("PUT", "/calendars/2027", CALENDAR_2027).status == 401
