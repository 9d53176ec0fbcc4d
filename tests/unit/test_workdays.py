"""Working days on the 2026 mainland-China calendar (holidays, 调休 adjusted working weekends)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import marketplace
from marketplace.domain.workdays import (
    CalendarDocumentError,
    Deadline,
    WorkingCalendar,
    WorkingDayCount,
    WorkingDaySpan,
    YearCalendar,
    parse_calendar_document,
)

DATA_DIR = Path(marketplace.__file__).parent / "data"
CN_2026_FILE = DATA_DIR / "cn-calendar-2026.json"


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.load_directory(DATA_DIR, region="CN")


@pytest.fixture
def doc_2026() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CN_2026_FILE.read_text(encoding="utf-8"))
    return loaded


def minimal_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "region": "CN",
        "year": 2026,
        "source": "test",
        "holidays": [{"date": "2026-10-01", "name": "National Day"}],
        "adjusted_workdays": [{"date": "2026-10-10", "name": "National Day"}],
    }
    doc.update(overrides)
    return doc


def fields_of(error: pytest.ExceptionInfo[CalendarDocumentError]) -> list[str]:
    return [where for where, _ in error.value.problems]


# --- loading ------------------------------------------------------------------------------------


def test_given_the_package_data_directory_when_loaded_then_the_2026_cn_calendar_is_found(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.region == "CN"
    assert calendar.years() == [2026]
    assert calendar.covers(2026)
    assert not calendar.covers(2025)
    assert not calendar.covers(2027)


def test_given_the_2026_file_when_parsed_then_it_holds_33_holidays_and_6_adjusted_workdays(
    doc_2026: dict[str, Any],
) -> None:
    year = parse_calendar_document(doc_2026)
    assert (year.region, year.year) == ("CN", 2026)
    assert len(year.holidays) == 33
    assert len(year.adjusted_workdays) == 6
    assert year.names[date(2026, 2, 14)] == "春节 Spring Festival"


def test_given_the_2026_file_when_parsed_and_serialised_then_the_document_round_trips(
    doc_2026: dict[str, Any],
) -> None:
    year = parse_calendar_document(doc_2026)
    assert year.to_document() == doc_2026
    assert parse_calendar_document(year.to_document()) == year


def test_given_a_directory_with_other_regions_and_files_when_loaded_then_only_the_region_files_count(
    tmp_path: Path, doc_2026: dict[str, Any]
) -> None:
    (tmp_path / "cn-calendar-2026.json").write_text(json.dumps(doc_2026), encoding="utf-8")
    (tmp_path / "hk-calendar-2026.json").write_text("not even json", encoding="utf-8")
    (tmp_path / "cn-calendar-2026.json.bak").write_text("not even json", encoding="utf-8")
    (tmp_path / "README.md").write_text("calendars", encoding="utf-8")

    loaded = WorkingCalendar.load_directory(tmp_path)

    assert loaded.years() == [2026]


def test_given_an_empty_directory_when_loaded_then_every_year_counts_weekends_only(tmp_path: Path) -> None:
    loaded = WorkingCalendar.load_directory(tmp_path)

    assert loaded.years() == []
    result = loaded.add_working_days(date(2026, 9, 30), 1)
    assert result == WorkingDayCount(date(2026, 10, 1), (2026,))
    assert result.weekends_only


def test_given_a_file_whose_name_disagrees_with_its_year_when_loaded_then_the_mismatch_is_named(
    tmp_path: Path, doc_2026: dict[str, Any]
) -> None:
    (tmp_path / "cn-calendar-2027.json").write_text(json.dumps(doc_2026), encoding="utf-8")

    with pytest.raises(CalendarDocumentError) as error:
        WorkingCalendar.load_directory(tmp_path)

    assert fields_of(error) == ["cn-calendar-2027.json: year"]


def test_given_an_invalid_file_when_loaded_then_the_problems_are_prefixed_with_the_file_name(
    tmp_path: Path,
) -> None:
    doc = minimal_doc(adjusted_workdays=[{"date": "2026-10-12", "name": "Monday"}])
    (tmp_path / "cn-calendar-2026.json").write_text(json.dumps(doc), encoding="utf-8")

    with pytest.raises(CalendarDocumentError) as error:
        WorkingCalendar.load_directory(tmp_path)

    assert fields_of(error) == ["cn-calendar-2026.json: adjusted_workdays[0].date"]


def test_given_calendars_of_two_regions_when_combined_then_it_is_refused() -> None:
    cn = parse_calendar_document(minimal_doc())
    hk = parse_calendar_document(minimal_doc(region="HK", year=2026))

    with pytest.raises(ValueError, match="not for region CN"):
        WorkingCalendar("CN", [cn, hk])


def test_given_two_calendars_for_one_year_when_combined_then_it_is_refused() -> None:
    cn = parse_calendar_document(minimal_doc())

    with pytest.raises(ValueError, match="two calendars"):
        WorkingCalendar("CN", [cn, cn])


# --- is_working_day -----------------------------------------------------------------------------


def test_given_adjusted_working_sunday_2026_01_04_when_checked_then_it_is_a_working_day(
    calendar: WorkingCalendar,
) -> None:
    assert date(2026, 1, 4).weekday() == 6
    assert calendar.is_working_day(date(2026, 1, 4))
    assert not calendar.is_working_day(date(2026, 1, 11))  # an ordinary Sunday


def test_given_adjusted_working_saturday_2026_02_28_when_checked_then_it_is_a_working_day(
    calendar: WorkingCalendar,
) -> None:
    assert date(2026, 2, 28).weekday() == 5
    assert calendar.is_working_day(date(2026, 2, 28))
    assert not calendar.is_working_day(date(2026, 3, 7))  # an ordinary Saturday


def test_given_a_weekday_holiday_when_checked_then_it_is_not_a_working_day(calendar: WorkingCalendar) -> None:
    assert not calendar.is_working_day(date(2026, 2, 16))  # Monday, Spring Festival
    assert not calendar.is_working_day(date(2026, 10, 7))  # Wednesday, National Day
    assert calendar.is_working_day(date(2026, 10, 8))  # Thursday, back to work


def test_given_a_year_without_a_calendar_when_checked_then_only_weekends_are_days_off(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.is_working_day(date(2027, 1, 1))  # a Friday; 2027 holidays are not loaded
    assert not calendar.is_working_day(date(2027, 1, 2))  # Saturday


def test_given_the_whole_of_2026_when_counted_then_there_are_248_working_days(
    calendar: WorkingCalendar,
) -> None:
    # 261 weekdays - 19 weekday holidays + 6 adjusted working weekends = 248
    # (19 - 6 = 13, the statutory public-holiday days).
    span = calendar.count_working_days(date(2025, 12, 31), date(2026, 12, 31))
    assert span == WorkingDaySpan(248, ())


# --- add_working_days ---------------------------------------------------------------------------


def test_given_friday_before_spring_festival_when_adding_2_working_days_then_the_answer_is_feb_24(
    calendar: WorkingCalendar,
) -> None:
    # Fri 13 Feb -> Sat 14 is an adjusted working day (1); 15..23 are the holiday; Tue 24 (2).
    result = calendar.add_working_days(date(2026, 2, 13), 2)

    assert result == WorkingDayCount(date(2026, 2, 24), ())
    assert not result.weekends_only


def test_given_friday_before_spring_festival_when_adding_1_working_day_then_the_adjusted_saturday_is_it(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.add_working_days(date(2026, 2, 13), 1).date == date(2026, 2, 14)


def test_given_friday_27_feb_when_adding_1_working_day_then_adjusted_saturday_28_feb_counts(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.add_working_days(date(2026, 2, 27), 1).date == date(2026, 2, 28)
    assert calendar.add_working_days(date(2026, 2, 27), 2).date == date(2026, 3, 2)


def test_given_new_years_eve_2025_when_adding_1_working_day_then_adjusted_sunday_jan_4_is_it(
    calendar: WorkingCalendar,
) -> None:
    # 1-3 Jan are the New Year holiday; Sunday 4 Jan is worked. The start (in 2025, unloaded) is not
    # counted, so no uncovered year is reported.
    result = calendar.add_working_days(date(2025, 12, 31), 1)

    assert result == WorkingDayCount(date(2026, 1, 4), ())


def test_given_the_eve_of_national_day_when_adding_working_days_then_the_golden_week_is_skipped(
    calendar: WorkingCalendar,
) -> None:
    start = date(2026, 9, 30)
    assert calendar.add_working_days(start, 1).date == date(2026, 10, 8)
    assert calendar.add_working_days(start, 2).date == date(2026, 10, 9)
    assert calendar.add_working_days(start, 3).date == date(2026, 10, 10)  # adjusted working Saturday
    assert calendar.add_working_days(start, 4).date == date(2026, 10, 12)  # Sunday 11th is off


def test_given_a_count_entirely_in_2026_when_adding_then_no_year_is_uncovered(
    calendar: WorkingCalendar,
) -> None:
    result = calendar.add_working_days(date(2026, 3, 2), 20)

    assert result.uncovered_years == ()
    assert not result.weekends_only


def test_given_dec_30_2026_when_adding_into_2027_then_2027_is_reported_as_weekends_only(
    calendar: WorkingCalendar,
) -> None:
    # Thu 31 Dec (1); Fri 1 Jan 2027 counts (2) because no 2027 calendar is loaded; Mon 4 Jan (3).
    result = calendar.add_working_days(date(2026, 12, 30), 3)

    assert result.date == date(2027, 1, 4)
    assert result.uncovered_years == (2027,)
    assert result.weekends_only


def test_given_dec_30_2026_when_adding_1_working_day_then_it_stays_in_2026_and_is_covered(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.add_working_days(date(2026, 12, 30), 1) == WorkingDayCount(date(2026, 12, 31), ())


def test_given_zero_days_when_adding_then_the_start_is_returned(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(date(2026, 2, 15), 0) == WorkingDayCount(date(2026, 2, 15), ())


def test_given_negative_days_when_adding_then_it_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        calendar.add_working_days(date(2026, 3, 2), -1)


# --- count_working_days -------------------------------------------------------------------------


def test_given_a_span_over_spring_festival_when_counted_then_start_is_excluded_and_end_included(
    calendar: WorkingCalendar,
) -> None:
    # (Fri 13 Feb, Tue 24 Feb]: Sat 14 and Tue 24.
    assert calendar.count_working_days(date(2026, 2, 13), date(2026, 2, 24)) == WorkingDaySpan(2, ())
    assert calendar.count_working_days(date(2026, 2, 12), date(2026, 2, 23)) == WorkingDaySpan(2, ())


def test_given_an_empty_or_reversed_span_when_counted_then_it_is_zero(calendar: WorkingCalendar) -> None:
    assert calendar.count_working_days(date(2026, 3, 2), date(2026, 3, 2)) == WorkingDaySpan(0, ())
    assert calendar.count_working_days(date(2026, 3, 9), date(2026, 3, 2)) == WorkingDaySpan(0, ())


def test_given_a_span_from_2025_to_2027_when_counted_then_both_unloaded_years_are_reported(
    calendar: WorkingCalendar,
) -> None:
    span = calendar.count_working_days(date(2025, 12, 30), date(2027, 1, 1))

    # Wed 31 Dec 2025 (1) + 248 in 2026 + Fri 1 Jan 2027 (1), weekends only outside 2026.
    assert span == WorkingDaySpan(250, (2025, 2027))
    assert span.weekends_only


# --- deadline -----------------------------------------------------------------------------------


def test_deadline_across_spring_festival_skips_the_holiday_week(calendar: WorkingCalendar) -> None:
    # Thu 12 Feb 10:00 Beijing; 3 working days: Fri 13, Sat 14 (adjusted), Tue 24.
    result = calendar.deadline(datetime(2026, 2, 12, 2, 0, tzinfo=UTC), 3)

    assert result == Deadline(
        at=datetime(2026, 2, 24, 15, 59, 59, tzinfo=UTC), local_date=date(2026, 2, 24), uncovered_years=()
    )
    assert not result.weekends_only


def test_given_a_monday_morning_start_when_a_deadline_is_set_then_it_ends_at_2359_beijing_time(
    calendar: WorkingCalendar,
) -> None:
    result = calendar.deadline(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 1)  # Mon 09:00 local

    assert result.local_date == date(2026, 3, 3)
    assert result.at == datetime(2026, 3, 3, 15, 59, 59, tzinfo=UTC)
    assert result.at.tzinfo is UTC


def test_given_a_late_utc_evening_start_already_next_local_day_when_deadline_set_then_counts_from_local_day(
    calendar: WorkingCalendar,
) -> None:
    # 2026-03-02T17:00Z is Tue 3 Mar 01:00 in Shanghai, so 1 working day later is Wed 4 Mar.
    result = calendar.deadline(datetime(2026, 3, 2, 17, 0, tzinfo=UTC), 1)

    assert result.local_date == date(2026, 3, 4)
    assert result.at == datetime(2026, 3, 4, 15, 59, 59, tzinfo=UTC)


def test_given_a_start_one_second_before_local_midnight_when_a_deadline_is_set_then_it_counts_from_that_day(
    calendar: WorkingCalendar,
) -> None:
    result = calendar.deadline(datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC), 1)  # Mon 23:59:59 local

    assert result.local_date == date(2026, 3, 3)


def test_given_a_deadline_running_into_2027_when_set_then_it_warns_weekends_only(
    calendar: WorkingCalendar,
) -> None:
    result = calendar.deadline(datetime(2026, 12, 30, 2, 0, tzinfo=UTC), 3)

    assert result.local_date == date(2027, 1, 4)
    assert result.at == datetime(2027, 1, 4, 15, 59, 59, tzinfo=UTC)
    assert result.uncovered_years == (2027,)
    assert result.weekends_only


def test_given_another_timezone_when_a_deadline_is_set_then_the_end_of_day_is_local_to_it(
    calendar: WorkingCalendar,
) -> None:
    result = calendar.deadline(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 1, tz="UTC")

    assert result.at == datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC)


def test_given_a_naive_start_when_a_deadline_is_set_then_it_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.deadline(datetime(2026, 3, 2, 1, 0), 1)


# --- window_working_days / minimum_window_met ---------------------------------------------------


def test_given_a_window_over_spring_festival_when_measured_then_only_full_working_days_after_opening_count(
    calendar: WorkingCalendar,
) -> None:
    opens = datetime(2026, 2, 13, 1, 0, tzinfo=UTC)  # Fri 13 Feb 09:00 local
    closes = datetime(2026, 2, 24, 15, 59, 59, tzinfo=UTC)  # Tue 24 Feb 23:59:59 local

    assert calendar.window_working_days(opens, closes) == WorkingDaySpan(2, ())
    assert calendar.minimum_window_met(opens, closes, 2)
    assert not calendar.minimum_window_met(opens, closes, 3)


def test_given_a_window_closing_after_local_midnight_when_measured_then_the_local_closing_date_is_used(
    calendar: WorkingCalendar,
) -> None:
    opens = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Mon 2 Mar local
    closes = datetime(2026, 3, 3, 16, 30, tzinfo=UTC)  # Wed 4 Mar 00:30 local

    # (Mon 2 Mar, Wed 4 Mar]: Tue 3 and Wed 4; the UTC date (3 Mar) would give only 1.

    assert calendar.window_working_days(opens, closes) == WorkingDaySpan(2, ())


# --- document validation ------------------------------------------------------------------------


def test_given_a_monday_listed_as_an_adjusted_workday_when_parsed_then_it_is_rejected() -> None:
    doc = minimal_doc(adjusted_workdays=[{"date": "2026-03-02", "name": "Monday"}])

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert error.value.problems == [
        ("adjusted_workdays[0].date", "2026-03-02 is a Monday, not a Saturday or Sunday")
    ]


def test_given_a_date_outside_the_year_when_parsed_then_it_is_rejected() -> None:
    doc = minimal_doc(holidays=[{"date": "2025-12-31", "name": "last year"}])

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert error.value.problems == [("holidays[0].date", "2025-12-31 is outside 2026")]


def test_given_a_date_in_both_lists_when_parsed_then_it_is_rejected() -> None:
    doc = minimal_doc(
        holidays=[{"date": "2026-10-10", "name": "National Day"}],
        adjusted_workdays=[{"date": "2026-10-10", "name": "National Day"}],
    )

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert error.value.problems == [("adjusted_workdays", "2026-10-10 is also listed as a holiday")]


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "2026/10/01", "20261001", "", None, 20261001])
def test_given_a_malformed_date_when_parsed_then_it_is_rejected(bad: object) -> None:
    doc = minimal_doc(holidays=[{"date": "2026-10-01", "name": "ok"}, {"date": bad, "name": "bad"}])

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert fields_of(error) == ["holidays[1].date"]
    assert "ISO date" in error.value.problems[0][1]


def test_given_a_duplicated_date_when_parsed_then_it_is_rejected() -> None:
    doc = minimal_doc(holidays=[{"date": "2026-10-01", "name": "a"}, {"date": "2026-10-01", "name": "b"}])

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert error.value.problems == [("holidays[1].date", "2026-10-01 is listed more than once")]


def test_given_a_document_with_every_kind_of_problem_when_parsed_then_each_problem_is_named() -> None:
    doc = minimal_doc(
        holidays=[
            {"date": "2025-12-31", "name": "outside"},
            {"date": "2026-10-10", "name": "both"},
            {"date": "2026-1-5", "name": "malformed"},
        ],
        adjusted_workdays=[
            {"date": "2026-03-02", "name": "monday"},
            {"date": "2026-10-10", "name": "both"},
        ],
    )

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert sorted(fields_of(error)) == sorted(
        ["holidays[0].date", "holidays[2].date", "adjusted_workdays[0].date", "adjusted_workdays"]
    )
    message = str(error.value)
    for fragment in ("outside 2026", "ISO date", "Monday", "also listed as a holiday"):
        assert fragment in message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"region": ""}, "region"),
        ({"region": 86}, "region"),
        ({"year": "2026"}, "year"),
        ({"year": True}, "year"),
        ({"year": 1899}, "year"),
        ({"year": 2201}, "year"),
        ({"source": ""}, "source"),
        ({"holidays": None}, "holidays"),
        ({"adjusted_workdays": {"date": "2026-10-10"}}, "adjusted_workdays"),
        ({"holidays": ["2026-10-01"]}, "holidays[0]"),
        ({"holidays": [{"date": "2026-10-01"}]}, "holidays[0].name"),
        ({"holidays": [{"date": "2026-10-01", "name": "x", "note": "?"}]}, "holidays[0].note"),
        ({"adjusted_workday": []}, "adjusted_workday"),
    ],
)
def test_given_a_malformed_field_when_parsed_then_that_field_is_named(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(minimal_doc(**overrides))

    assert field in fields_of(error)


def test_given_a_missing_list_when_parsed_then_it_is_rejected() -> None:
    doc = minimal_doc()
    del doc["adjusted_workdays"]

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert fields_of(error) == ["adjusted_workdays"]


def test_given_the_real_file_with_one_broken_entry_when_parsed_then_only_that_entry_is_named(
    doc_2026: dict[str, Any],
) -> None:
    doc = copy.deepcopy(doc_2026)
    doc["adjusted_workdays"][3]["date"] = "2026-05-08"  # the Friday before the real Saturday 9 May

    with pytest.raises(CalendarDocumentError) as error:
        parse_calendar_document(doc)

    assert fields_of(error) == ["adjusted_workdays[3].date"]


def test_given_a_year_calendar_built_directly_when_invalid_then_it_is_refused() -> None:
    with pytest.raises(CalendarDocumentError):
        YearCalendar(
            region="CN",
            year=2026,
            source="test",
            holidays=frozenset(),
            adjusted_workdays=frozenset({date(2026, 3, 2)}),
        )
