"""The working-day calendar and the rules, as a review found them wanting: deadlines counted on
weekends only that did not say so, a window closing at local midnight, loads that replaced a year
silently, the review deadline's time zone, rules that could not hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from marketplace.clock import FixedClock, get_clock, use_clock
from marketplace.services.calendar import forget_cache, working_calendar
from marketplace.settings import get_settings, reset_settings
from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market
from tests.support.samples import CALENDAR_2027

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "layers/common/python/marketplace/settings.py"


@pytest.fixture(autouse=True)
def fresh_calendar_and_settings() -> Iterator[None]:
    """The calendar cache and the settings cache are per process: start and end every test clean."""
    forget_cache()
    reset_settings()
    yield
    forget_cache()
    reset_settings()


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=3)


# --- deadlines in a year with no calendar must say so --------------------------------------------


def test_a_confirmation_deadline_in_a_year_without_a_calendar_is_flagged_weekends_only(
    market: Market,
) -> None:
    """A draw on Thursday 31 December 2026 starts a 2-working-day confirmation window that ends in
    2027, a year with no loaded calendar (its New Year holiday is unknown): the result must say the
    deadline counts weekends only, as an agency's review deadline does (`due_counts_weekends_only`)."""
    from app import app

    market.clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=UTC))  # Monday 28 Dec, 10:00 local
    purchase_id = market.publish(
        enrollment_deadline="2026-12-31T01:00:00Z", selection_time="2026-12-31T01:00:00Z"
    )
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(datetime(2026, 12, 31, 1, 0, 1, tzinfo=UTC))
    assert app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)["status"] == (
        "enrollment_closed"
    )
    app.handler_map["run_selection"]({"purchase_id": purchase_id}, None)

    result = market.purchase(purchase_id)["result"]
    assert result["confirmation_deadline"].startswith("2027-01-")
    flags = {k: v for k, v in result.items() if "weekends_only" in k}
    assert flags and all(flags.values()), (
        f"the confirmation deadline {result['confirmation_deadline']} falls in 2027, which has no "
        f"calendar, but the result does not say it counts weekends only: {sorted(result)}"
    )


def test_an_enrollment_window_counted_in_a_year_without_a_calendar_is_flagged_weekends_only(
    market: Market,
) -> None:
    """A window from Wednesday 30 December 2026 to Monday 4 January 2027 is counted as 3 working days
    only because 1 January 2027 is taken for a working day (no 2027 calendar). The purchase is
    accepted with nothing saying its minimum window was checked on weekends only."""
    market.clock.set(datetime(2026, 12, 30, 2, 0, tzinfo=UTC))
    reply = market.owner.post(
        "/purchases",
        {
            **_request(),
            "enrollment_deadline": "2027-01-04T09:00:00Z",
            "selection_time": "2027-01-04T09:00:00Z",
        },
    )
    assert reply.status == 201, reply.body
    flagged = _find_weekends_only_flags(reply.body)
    assert flagged and all(flagged), (
        "the enrollment window runs into 2027, which has no calendar, but the purchase does not "
        "say its working days were counted on weekends only"
    )


# --- near midnight in Asia/Shanghai ---------------------------------------------------------------


def test_an_enrollment_window_closing_at_local_midnight_does_not_count_the_day_it_never_reaches(
    market: Market,
) -> None:
    """Published Monday 2 March 2026 10:00 Beijing time, closing Wednesday 4 March 00:00 Beijing time
    (2026-03-03T16:00Z): agencies get Monday afternoon and Tuesday, one working day, not the two
    the rule requires. Wednesday is counted although the window closes at its first instant."""
    market.clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    reply = market.owner.post(
        "/purchases",
        {
            **_request(),
            "enrollment_deadline": "2026-03-03T16:00:00Z",
            "selection_time": "2026-03-03T16:00:00Z",
        },
    )
    assert reply.status == 422, (
        "a window ending at 00:00 Wednesday (local) holds one working day, "
        f"yet it was accepted: {reply.status}"
    )


# --- loading a year: malformed or replacing --------------------------------------------------------


def test_an_unknown_field_in_a_calendar_entry_is_refused_not_silently_dropped(api: Api) -> None:
    """The domain parser refuses unknown fields in an entry, but the route's DateName model (extra
    ignored) strips them first: an entry marked as a working day lands in `holidays` as a holiday."""
    document = {
        **CALENDAR_2027,
        "holidays": [
            {"date": "2027-01-01", "name": "元旦"},
            {"date": "2027-02-06", "name": "春节", "workday": True},
        ],
    }
    reply = api.as_role("admin").put("/calendars/2027", document)
    assert reply.status == 422, reply.body
    assert api.call("GET", "/calendars/2027").status == 404


def test_loading_a_year_again_does_not_silently_replace_the_loaded_one(api: Api) -> None:
    admin = api.as_role("admin")
    assert admin.put("/calendars/2027", CALENDAR_2027).status == 200
    other = {**CALENDAR_2027, "source": "a draft", "holidays": [], "adjusted_workdays": []}
    reply = admin.put("/calendars/2027", other)
    assert reply.status == 409, f"a second load of 2027 silently replaced the first: {reply.status}"
    assert api.call("GET", "/calendars/2027").body["holidays"] == CALENDAR_2027["holidays"]


def test_the_shipped_official_2026_calendar_is_not_silently_replaced_by_a_load(api: Api) -> None:
    """A PUT /calendars/2026 overlays the official arrangement shipped in marketplace/data: here one
    with no Spring Festival makes 16 February 2026 (a Monday of the festival) a working day."""
    document = {
        "region": "CN",
        "year": 2026,
        "source": "someone's draft",
        "holidays": [{"date": "2026-01-01", "name": "元旦"}],
        "adjusted_workdays": [],
    }
    reply = api.as_role("admin").put("/calendars/2026", document)
    assert reply.status == 409, f"the shipped 2026 arrangement was replaced: {reply.status}"
    assert not working_calendar().is_working_day(datetime(2026, 2, 16).date())


# --- the regional time zone setting ----------------------------------------------------------------


def test_an_agency_review_deadline_uses_the_configured_region_timezone(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REGION_TIMEZONE is a setting; purchase deadlines use it, the agency review deadline ignores it
    (services/agencies.py passes no tz, so Asia/Shanghai is hard-wired)."""
    from tests.support.samples import agency_profile, catalogue_item

    monkeypatch.setenv("REGION_TIMEZONE", "UTC")
    reset_settings()
    assert get_settings().timezone == "UTC"
    previous = get_clock()
    # Monday 2 March 2026 20:00 UTC (already Tuesday 04:00 in Shanghai).
    use_clock(FixedClock(datetime(2026, 3, 2, 20, 0, tzinfo=UTC)))
    try:
        assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
        applied = api.as_role("agency", "AG-001").post("/agencies", agency_profile())
        assert applied.status == 201, applied.body
        submissions = api.as_role("agency", "AG-001").get("/agencies/AG-001/submissions")
        assert submissions.status == 200, submissions.body
    finally:
        use_clock(previous)
    # In UTC: Monday + 2 working days = Wednesday 4 March, ending 23:59:59 UTC.
    assert submissions.body[0]["due_at"] == "2026-03-04T23:59:59Z"


# --- RULE_* overrides -------------------------------------------------------------------------------


def test_a_misspelt_boolean_rule_is_refused_not_read_as_false(monkeypatch: pytest.MonkeyPatch) -> None:
    """RULE_PRIVATE_PURCHASES_NEED_REVIEW=ture (or "enabled", "y") silently becomes False: private
    purchases then skip review that the deployment meant to require."""
    monkeypatch.setenv("RULE_PRIVATE_PURCHASES_NEED_REVIEW", "ture")
    reset_settings()
    with pytest.raises(RuntimeError, match="RULE_PRIVATE_PURCHASES_NEED_REVIEW"):
        get_settings()


def test_a_negative_working_day_rule_is_refused_when_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """RULE_CONFIRMATION_WORKING_DAYS=-2 is accepted; the first draw then fails inside the calendar
    (`days must be >= 0`) as a 500 instead of the deployment refusing the value."""
    monkeypatch.setenv("RULE_CONFIRMATION_WORKING_DAYS", "-2")
    reset_settings()
    with pytest.raises(RuntimeError, match="RULE_CONFIRMATION_WORKING_DAYS"):
        get_settings()


def test_every_rule_override_is_documented_in_the_readme() -> None:
    names = set(re.findall(r'"(RULE_[A-Z_]+)"', SETTINGS_FILE.read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Regional rules", 1)[1].split("\n## ", 1)[0]
    expanded = set(re.findall(r"RULE_[A-Z_]+", section))
    for group in re.findall(r"(RULE_[A-Z_]*)\{([A-Z,]+)\}(_[A-Z_]+)", section):
        expanded |= {f"{group[0]}{x}{group[2]}" for x in group[1].split(",")}
    assert sorted(names - expanded) == []


# --- helpers ----------------------------------------------------------------------------------------


def _request() -> dict[str, Any]:
    from tests.support.market import purchase_request

    return purchase_request()


def _find_weekends_only_flags(body: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if "weekends_only" in key:
                found.append(value)
            else:
                found += _find_weekends_only_flags(value)
    elif isinstance(body, list):
        for value in body:
            found += _find_weekends_only_flags(value)
    return found


def test_a_replacement_is_explicit_and_its_event_survives_a_failed_publication(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`?replace=true` replaces a year in force; the CalendarYearLoaded event is staged in the
    outbox with the calendar, so a bus that refuses it leaves it for the relay, not lost."""
    from marketplace.repositories import event_bus
    from marketplace.repositories.tables import OutboxRow

    admin = api.as_role("admin")
    assert admin.put("/calendars/2027", CALENDAR_2027).status == 200

    def refused(entries: Any) -> None:
        raise RuntimeError("the bus is down")

    monkeypatch.setattr(event_bus, "_put", refused)
    corrected = {**CALENDAR_2027, "source": "a corrected notice"}
    assert admin.put("/calendars/2027?replace=true", corrected).status == 200
    assert api.call("GET", "/calendars/2027").body["source"] == "a corrected notice"
    waiting = [row.detail for row in OutboxRow.scan() if row.detail_type == "CalendarYearLoaded"]
    assert waiting and waiting[-1]["data"] == {"year": 2027, "replaced": True}


def test_a_misspelt_time_zone_stops_the_function_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION_TIMEZONE", "Asia/Shanghia")
    reset_settings()
    try:
        with pytest.raises(RuntimeError, match="REGION_TIMEZONE"):
            get_settings()
    finally:
        monkeypatch.delenv("REGION_TIMEZONE")
        reset_settings()
