"""The statistics' pure fold (domain/statistics.py): counters from events, cycle times in working
days, groups, figures and the CSV rendering. No AWS."""

from __future__ import annotations

import csv
import io
import random

import pytest

from marketplace.domain import statistics as s
from marketplace.domain.statistics import Dimensions, LedgerEntry, PurchaseState
from marketplace.domain.workdays import WorkingCalendar
from marketplace.settings import get_settings

TZ = "Asia/Shanghai"
DIMS = Dimensions(
    item="ZJ-HP-001",
    industry="environment",
    region="330106",
    owner="OW-001",
    month="2026-09",
    ceiling_fen=18_000_000,
)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar.load_directory(get_settings().calendar_dir, "CN")


def entry(kind: str, at: str, purchase: str = "P-1", dims: Dimensions = DIMS, **data: object) -> LedgerEntry:
    return LedgerEntry(
        event_id=f"{purchase}-{kind}-{at}",
        event_type=kind,
        occurred_at=at,
        purchase_id=purchase,
        data=dict(data),
        dimensions=dims,
    )


def full_flow(purchase: str = "P-1", dims: Dimensions = DIMS) -> list[LedgerEntry]:
    """Published Wed 30 Sep 2026, across the National Day holidays (1-7 Oct, the 10th worked)."""
    return [
        entry("PurchasePublished", "2026-09-30T02:00:00Z", purchase, dims, reannounces=None),
        entry("EnrollmentReceived", "2026-09-30T03:00:00Z", purchase, dims),
        entry("EnrollmentReceived", "2026-09-30T04:00:00Z", purchase, dims),
        entry("EnrollmentReceived", "2026-09-30T05:00:00Z", purchase, dims),
        entry("EnrollmentWithdrawn", "2026-09-30T06:00:00Z", purchase, dims),
        entry("ResultPublished", "2026-10-09T02:00:00Z", purchase, dims),
        entry("PurchaseConfirmed", "2026-10-12T02:00:00Z", purchase, dims),
        entry(
            "ContractSigned",
            "2026-10-13T02:00:00Z",
            purchase,
            dims,
            amount_yuan="150000.00",
            contract_number=1,
        ),
        entry("PurchaseCompleted", "2026-10-20T02:00:00Z", purchase, dims),
        entry(
            "EvaluationRecorded",
            "2026-10-21T02:00:00Z",
            purchase,
            dims,
            rater="owner",
            ratings={"quality": 5, "timeliness": 4, "attitude": 5, "fee_reasonableness": 4, "standards": 5},
        ),
        entry(
            "EvaluationRecorded",
            "2026-10-21T03:00:00Z",
            purchase,
            dims,
            rater="regulator",
            ratings={"output_quality": 3},
        ),
    ]


def counters(entries: list[LedgerEntry], calendar: WorkingCalendar) -> s.Counters:
    state, total = PurchaseState(), {}
    for e in entries:
        state, add = s.fold(state, e, calendar, TZ)
        for k, v in add.items():
            total[k] = total.get(k, 0) + v
    return total


def test_a_full_flow_counts_each_figure_once(calendar: WorkingCalendar) -> None:
    c = counters(full_flow(), calendar)

    assert c["published"] == 1 and c["enrollments"] == 2
    assert (c["ended"], c["deals"], c.get("failed", 0)) == (1, 1, 0)
    assert (c["contracts"], c["completions"]) == (1, 1)
    assert (c["savings_purchases"], c["ceiling_fen"], c["award_fen"]) == (1, 18_000_000, 15_000_000)
    assert (c["owner_evaluations"], c["owner_points"], c["owner_ratings"]) == (1, 23, 5)
    assert (c["regulator_evaluations"], c["regulator_points"], c["regulator_ratings"]) == (1, 3, 1)


def test_cycle_times_count_working_days_skipping_holidays_and_counting_adjusted_weekends(
    calendar: WorkingCalendar,
) -> None:
    c = counters(full_flow(), calendar)

    # 30 Sep -> 9 Oct: 1-7 Oct are holidays, so the 8th and 9th.
    assert (c["to_selection_days"], c["to_selection_count"]) == (2, 1)
    # 9 Oct (Fri) -> 12 Oct (Mon): Saturday the 10th is a working day.
    assert c["to_confirmation_days"] == 2
    assert c["to_contract_days"] == 1
    assert c["to_completion_days"] == 5  # 13 Oct (Tue) -> 20 Oct (Tue)
    assert (c["total_days"], c["total_count"]) == (10, 1)


def test_working_days_are_counted_between_local_dates() -> None:
    cal = WorkingCalendar.load_directory(get_settings().calendar_dir, "CN")
    # 8 Oct 10:00 local to 9 Oct 01:00 local: the same UTC date, the next local working day.
    assert s.working_days("2026-10-08T02:00:00Z", "2026-10-08T17:00:00Z", cal, TZ) == 1
    assert s.working_days("2026-10-08T02:00:00Z", "2026-10-08T09:00:00Z", cal, TZ) == 0


def test_the_fold_does_not_depend_on_the_order_events_arrive_in(calendar: WorkingCalendar) -> None:
    in_order = counters(full_flow(), calendar)
    shuffled = full_flow()
    random.Random(12).shuffle(shuffled)

    assert counters(shuffled, calendar) == in_order


def test_a_repeated_milestone_is_counted_once(calendar: WorkingCalendar) -> None:
    flow = full_flow()
    again = [flow[0], *flow, flow[6], flow[7]]  # publication, confirmation, contract twice

    assert counters(again, calendar) == counters(flow, calendar)


def test_failure_reannouncement_and_cancellation_end_a_purchase_once(calendar: WorkingCalendar) -> None:
    failed = counters(
        [
            entry("PurchasePublished", "2026-09-01T02:00:00Z"),
            entry("EnrollmentReceived", "2026-09-01T03:00:00Z"),
            entry("PurchaseFailed", "2026-09-04T09:00:00Z"),
            entry("PurchaseReannounced", "2026-09-05T02:00:00Z"),
        ],
        calendar,
    )
    republished = counters(
        [entry("PurchasePublished", "2026-09-05T02:00:00Z", "P-2", reannounces="P-1")], calendar
    )
    cancelled_after_confirmation = counters(
        [
            entry("PurchasePublished", "2026-09-01T02:00:00Z", "P-3"),
            entry("PurchaseConfirmed", "2026-09-08T02:00:00Z", "P-3"),
            entry("PurchaseCancelled", "2026-09-09T02:00:00Z", "P-3"),
        ],
        calendar,
    )

    assert (failed["ended"], failed["failed"], failed["reannounced"], failed.get("deals", 0)) == (1, 1, 1, 0)
    assert republished == {"published": 1, "republished": 1}
    assert (cancelled_after_confirmation["ended"], cancelled_after_confirmation["deals"]) == (1, 1)
    assert cancelled_after_confirmation["cancelled"] == 1


def test_a_shelf_purchase_is_published_selected_and_confirmed_at_once(calendar: WorkingCalendar) -> None:
    c = counters([entry("ShelfPurchaseMade", "2026-09-01T02:00:00Z", price_yuan="38000.00")], calendar)

    assert (c["published"], c["deals"], c["ended"]) == (1, 1, 1)
    assert (c["to_selection_count"], c.get("to_selection_days", 0), c["to_confirmation_count"]) == (1, 0, 1)


def test_no_ceiling_no_savings(calendar: WorkingCalendar) -> None:
    dims = Dimensions(item="I", industry="x", region="r", owner="o", month="2026-09", ceiling_fen=None)
    c = counters([entry("ContractSigned", "2026-09-01T02:00:00Z", dims=dims, amount_yuan="1.00")], calendar)

    assert c == {"contracts": 1}


def purchase_dims(item: str, amount_yuan: str, price_kind: str, method: str = "random_draw") -> Dimensions:
    """Dimensions as the consumer resolves them from a stored purchase."""
    return Dimensions(
        item=item,
        industry="environment",
        region="330106",
        owner="OW-001",
        month="2026-09",
        ceiling_fen=s.savings_ceiling(amount_yuan, price_kind, method),
        price_kind=price_kind,
        method=method,
    )


def test_savings_count_only_purchases_priced_with_a_ceiling(calendar: WorkingCalendar) -> None:
    ceiling = purchase_dims("ZJ-HP-001", "180000.00", "ceiling")
    budget = purchase_dims("ZJ-HP-002", "500000.00", "budget")
    sums = s.refold([*full_flow("P-1", ceiling), *full_flow("P-2", budget)], calendar, TZ)

    month = sums[("month", "2026-09", "2026-09")]
    assert month["contracts"] == 2
    assert (month["savings_purchases"], month["ceiling_fen"], month["award_fen"]) == (
        1,
        18_000_000,
        15_000_000,
    )
    assert s.figures(month)["savings"]["savings_percent"] == 16.67
    assert "savings_purchases" not in sums[("item", "ZJ-HP-002", "2026-09")]


def test_a_shelf_purchase_has_no_ceiling_its_price_is_fixed() -> None:
    assert s.savings_ceiling("38000.00", "ceiling", "shelf") is None
    assert s.savings_ceiling("38000.00", "budget", "random_draw") is None
    assert s.savings_ceiling("38000.00", None, None) is None
    assert s.savings_ceiling("38000.00", "ceiling", "price_bidding") == 3_800_000


def test_refold_groups_every_purchase_under_each_dimension(calendar: WorkingCalendar) -> None:
    other = Dimensions(
        item="ZJ-HP-002", industry="environment", region="330108", owner="OW-002", month="2026-10"
    )
    sums = s.refold([*full_flow(), *full_flow("P-9", other)], calendar, TZ)

    assert sums[("item", "ZJ-HP-001", "2026-09")]["published"] == 1
    assert sums[("item", "ZJ-HP-002", "2026-10")]["published"] == 1
    assert ("industry", "environment", "2026-09") in sums and ("industry", "environment", "2026-10") in sums
    assert sums[("month", "2026-09", "2026-09")]["deals"] == 1
    assert {k[0] for k in sums} == set(s.GROUP_BYS)


def test_summed_months_make_the_figures() -> None:
    rows = [
        s.Aggregate(
            "item", "A", "2026-09", {"published": 2, "ended": 2, "deals": 1, "failed": 1, "enrollments": 5}
        ),
        s.Aggregate(
            "item",
            "A",
            "2026-10",
            {
                "published": 1,
                "ended": 1,
                "deals": 1,
                "ceiling_fen": 300,
                "award_fen": 200,
                "savings_purchases": 1,
                "total_days": 9,
                "total_count": 2,
            },
        ),
        s.Aggregate("item", "B", "2026-10", {"published": 1}),
    ]

    totals = s.summed(rows)
    a = s.figures(totals["A"])

    assert (a["published"], a["deal_rate"], a["failed_share"], a["mean_enrollments"]) == (
        3,
        0.6667,
        0.3333,
        1.67,
    )
    assert a["savings"] == {
        "purchases": 1,
        "ceiling_yuan": "3.00",
        "contract_yuan": "2.00",
        "savings_yuan": "1.00",
        "savings_percent": 33.33,
    }
    assert a["cycle_times"]["total"]["mean_working_days"] == 4.5
    b = s.figures(totals["B"])
    assert b["deal_rate"] is None and b["evaluations"]["owner"]["mean_rating"] is None


def test_csv_has_a_header_row_and_one_row_per_group() -> None:
    f = s.figures({"published": 2, "ended": 2, "deals": 1})
    text = s.to_csv(
        [
            s.csv_row("owner", "OW-1", "2026-01", "2026-12", f),
            s.csv_row("owner", "=HYPERLINK()", "2026-01", "2026-12", f),
        ]
    )

    lines = text.split("\r\n")
    assert lines[0] == ",".join(s.CSV_COLUMNS) and lines[-1] == ""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["value"] for r in rows] == ["OW-1", "'=HYPERLINK()"]  # never a formula
    assert (
        rows[0]["deal_rate"] == "0.5"
        and rows[0]["failed_share"] == "0.0"
        and rows[0]["to_selection_mean_working_days"] == ""
    )
    assert s.to_csv([]) == ",".join(s.CSV_COLUMNS) + "\r\n"


def test_negative_figures_are_numbers_not_formulas() -> None:
    assert s._cell(-3) == "-3" and s._cell("-1.50") == "-1.50"


def test_ledger_entries_round_trip_through_their_documents() -> None:
    e = full_flow()[7]
    assert LedgerEntry.from_dict(e.as_dict()) == e
    priced = entry("ContractSigned", "2026-10-13T02:00:00Z", dims=purchase_dims("I", "1.00", "budget"))
    assert LedgerEntry.from_dict(priced.as_dict()) == priced
    assert s.kept_data("ContractSigned", {"amount_yuan": "1.00", "sha256": "x", "agency_id": "AG"}) == {
        "amount_yuan": "1.00"
    }


def test_months() -> None:
    assert s.month_at(s.month_index("2026-12") + 1) == "2027-01"
    assert s.months_between("2026-01", "2027-12") == 24
    assert s.month_of("2026-11-30T16:30:00Z", TZ) == "2026-12"  # already December in Hangzhou
