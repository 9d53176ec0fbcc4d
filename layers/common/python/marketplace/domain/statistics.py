"""The district's statistics (DOMAIN.md §12, issue 12 item 3): the pure fold of domain events into
counters, and the figures computed from summed counters. No AWS here.

One fold serves both the event consumer (incremental, each event applied once) and the
recomputation from the ledger: `fold(state, entry, calendar)` takes a purchase's milestone state
and one ledger entry (the event with the dimensions resolved for it) and returns the new state and
the counters to add to every group the purchase belongs to. Every counter is an integer (money in
fen, durations in working days, ratings in points), so the aggregates are exact sums that atomic
ADDs keep and a recomputation reproduces.

Every figure of a purchase is counted in the month it was published (its cohort), in the local
time zone: a purchase published in November and completed in January changes November's figures.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from marketplace.domain.statistics_counters import COUNTERS, STAGES
from marketplace.domain.workdays import WorkingCalendar

GROUP_BYS = ("item", "industry", "region", "owner", "month")
UNKNOWN = "unknown"  # a dimension the fold could not resolve (named in the ledger entry)

# The events the fold reads; every other event changes no figure.
FOLDED_TYPES = (
    "PurchasePublished",
    "ShelfPurchaseMade",
    "EnrollmentReceived",
    "EnrollmentWithdrawn",
    "PurchaseFailed",
    "PurchaseReannounced",
    "PurchaseCancelled",
    "ResultPublished",
    "RewardSelected",
    "PurchaseConfirmed",
    "ContractSigned",
    "PurchaseCompleted",
    "EvaluationRecorded",
)

# Milestones in the order a purchase reaches them.
MILESTONES = ("publication", "selection", "confirmation", "contract", "completion")

Counters = dict[str, int]


@dataclass(frozen=True)
class Dimensions:
    """What a purchase is grouped by, resolved when its first event is folded, and its ceiling
    (`savings_ceiling`: set only for a ceiling-priced, non-shelf purchase)."""

    item: str
    industry: str
    region: str
    owner: str
    month: str  # YYYY-MM of publication, local time
    ceiling_fen: int | None = None
    resolved: tuple[str, ...] = ()  # the dimensions looked up rather than read from the event
    price_kind: str | None = None  # the purchase's PriceKind value: what its amount_yuan is
    method: str | None = None  # the purchase's SelectionMethod value

    def value(self, group_by: str) -> str:
        return str(getattr(self, group_by))

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "industry": self.industry,
            "region": self.region,
            "owner": self.owner,
            "month": self.month,
            "ceiling_fen": self.ceiling_fen,
            "resolved": list(self.resolved),
            "price_kind": self.price_kind,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Dimensions:
        return cls(
            item=str(doc["item"]),
            industry=str(doc["industry"]),
            region=str(doc["region"]),
            owner=str(doc["owner"]),
            month=str(doc["month"]),
            ceiling_fen=None if doc.get("ceiling_fen") is None else int(doc["ceiling_fen"]),
            resolved=tuple(doc.get("resolved") or ()),
            price_kind=None if doc.get("price_kind") is None else str(doc["price_kind"]),
            method=None if doc.get("method") is None else str(doc["method"]),
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One folded event as the ledger keeps it: the envelope, the data the fold reads, and the
    dimensions resolved for its purchase."""

    event_id: str
    event_type: str
    occurred_at: str
    purchase_id: str
    data: dict[str, Any]
    dimensions: Dimensions

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "occurred_at": self.occurred_at,
            "purchase_id": self.purchase_id,
            "data": self.data,
            "dimensions": self.dimensions.as_dict(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> LedgerEntry:
        return cls(
            event_id=str(doc["event_id"]),
            event_type=str(doc["event_type"]),
            occurred_at=str(doc["occurred_at"]),
            purchase_id=str(doc["purchase_id"]),
            data=dict(doc.get("data") or {}),
            dimensions=Dimensions.from_dict(doc["dimensions"]),
        )


@dataclass(frozen=True)
class PurchaseState:
    """A purchase's milestones as folded so far (the first instant folded for each), and whether
    an outcome was counted: what lets a later event complete a cycle time."""

    reached: dict[str, str] = field(default_factory=dict)  # milestone -> ISO instant
    ended: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"reached": dict(self.reached), "ended": self.ended}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any] | None) -> PurchaseState:
        if not doc:
            return cls()
        return cls(reached=dict(doc.get("reached") or {}), ended=bool(doc.get("ended")))


# The data fields the fold reads, per event type: the ledger keeps these (no names, no reasons).
KEPT_DATA = {
    "PurchasePublished": ("reannounces",),
    "ShelfPurchaseMade": ("price_yuan",),
    "ContractSigned": ("amount_yuan", "contract_number"),
    "EvaluationRecorded": ("rater", "ratings"),
}


def kept_data(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in KEPT_DATA.get(event_type, ()) if k in data}


def month_of(instant: str, timezone: str) -> str:
    return _local_date(instant, timezone).strftime("%Y-%m")


def _local_date(instant: str, timezone: str) -> date:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZoneInfo(timezone)).date()


def working_days(start: str, end: str, calendar: WorkingCalendar, timezone: str) -> int:
    """Working days from `start`'s local date to `end`'s: the days after the first, up to and
    including the last (0 within one day)."""
    return calendar.count_working_days(_local_date(start, timezone), _local_date(end, timezone)).count


def fen(amount: object) -> int | None:
    """Yuan (a decimal string) to fen; None when it is not an amount."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite():
        return None
    return int((value * 100).to_integral_value())


# The price kind whose amount is a ceiling (domain/purchases.py PriceKind.ceiling, 最高限价), and the
# method whose contract price is fixed in advance (a shelf offering's price: nothing to save against).
CEILING_PRICE_KIND = "ceiling"
FIXED_PRICE_METHODS = frozenset({"shelf"})


def savings_ceiling(amount_yuan: object, price_kind: str | None, method: str | None) -> int | None:
    """The ceiling, in fen, a purchase's contract saves against: its amount when that amount is a
    ceiling (最高限价) and the price was not fixed (a shelf purchase); None otherwise (a budget
    amount is not a ceiling, so no savings are counted for the purchase)."""
    if price_kind != CEILING_PRICE_KIND or method is None or method in FIXED_PRICE_METHODS:
        return None
    return fen(amount_yuan)


def fold(
    state: PurchaseState, entry: LedgerEntry, calendar: WorkingCalendar, timezone: str
) -> tuple[PurchaseState, Counters]:
    """The new state of the entry's purchase and what to add to each of its groups' counters."""
    kind, at, data = entry.event_type, entry.occurred_at, entry.data
    add: Counters = {}
    reached = dict(state.reached)
    ended = state.ended

    def bump(name: str, n: int = 1) -> None:
        add[name] = add.get(name, 0) + n

    def reach(milestone: str) -> bool:
        """Record a milestone the first time; add every stage it completes."""
        if milestone in reached:
            return False
        reached[milestone] = at
        for stage, (start, end) in STAGES.items():
            if milestone in (start, end) and start in reached and end in reached:
                bump(f"{stage}_days", working_days(reached[start], reached[end], calendar, timezone))
                bump(f"{stage}_count")
        return True

    def outcome() -> None:
        nonlocal ended
        if not ended:
            ended = True
            bump("ended")

    if kind == "PurchasePublished":
        if reach("publication"):
            bump("published")
            if data.get("reannounces"):
                bump("republished")
    elif kind == "ShelfPurchaseMade":
        # A direct purchase from a shelf: published, selected and confirmed in one step.
        if reach("publication"):
            bump("published")
        reach("selection")
        if reach("confirmation"):
            bump("deals")
            outcome()
    elif kind == "EnrollmentReceived":
        bump("enrollments")
    elif kind == "EnrollmentWithdrawn":
        bump("enrollments", -1)
    elif kind == "PurchaseFailed":
        if "failed" not in reached:
            reached["failed"] = at
            bump("failed")
            outcome()
    elif kind == "PurchaseReannounced":
        if "reannounced" not in reached:
            reached["reannounced"] = at
            bump("reannounced")
    elif kind == "PurchaseCancelled":
        if "cancelled" not in reached:
            reached["cancelled"] = at
            bump("cancelled")
            outcome()
    elif kind in ("ResultPublished", "RewardSelected"):
        reach("selection")
    elif kind == "PurchaseConfirmed":
        if reach("confirmation"):
            bump("deals")
            outcome()
    elif kind == "ContractSigned":
        if reach("contract"):
            bump("contracts")
            award = fen(data.get("amount_yuan"))
            ceiling = entry.dimensions.ceiling_fen
            if award is not None and ceiling is not None:
                bump("savings_purchases")
                bump("ceiling_fen", ceiling)
                bump("award_fen", award)
    elif kind == "PurchaseCompleted":
        if reach("completion"):
            bump("completions")
    elif kind == "EvaluationRecorded":
        rater = "regulator" if data.get("rater") == "regulator" else "owner"
        ratings = [int(v) for v in (data.get("ratings") or {}).values() if isinstance(v, int | float)]
        bump(f"{rater}_evaluations")
        bump(f"{rater}_points", sum(ratings))
        bump(f"{rater}_ratings", len(ratings))
    return replace(state, reached=reached, ended=ended), {k: v for k, v in add.items() if v}


def group_keys(dimensions: Dimensions) -> list[tuple[str, str]]:
    """(group_by, value) of every group a purchase's counters go to."""
    return [(g, dimensions.value(g)) for g in GROUP_BYS]


@dataclass(frozen=True)
class Aggregate:
    """The counters of one (group_by, value, month)."""

    group_by: str
    value: str
    month: str
    counters: Counters


def refold(
    entries: Iterable[LedgerEntry], calendar: WorkingCalendar, timezone: str
) -> dict[tuple[str, str, str], Counters]:
    """The aggregates a ledger makes: every entry folded in the order of occurrence, into
    {(group_by, value, month): counters}. Counters that sum to zero are left out."""
    states: dict[str, PurchaseState] = {}
    sums: dict[tuple[str, str, str], Counters] = {}
    for entry in sorted(entries, key=lambda e: (e.occurred_at, e.event_id)):
        state, add = fold(states.get(entry.purchase_id, PurchaseState()), entry, calendar, timezone)
        states[entry.purchase_id] = state
        for group_by, value in group_keys(entry.dimensions):
            counters = sums.setdefault((group_by, value, entry.dimensions.month), {})
            for name, n in add.items():
                counters[name] = counters.get(name, 0) + n
    return {key: {k: v for k, v in c.items() if v} for key, c in sums.items()}


# Reading: the figures of a group, from its months' summed counters.


def summed(rows: Iterable[Aggregate]) -> dict[str, Counters]:
    """Counters per group value, summed over the months read."""
    totals: dict[str, Counters] = {}
    for row in rows:
        target = totals.setdefault(row.value, {})
        for name, n in row.counters.items():
            target[name] = target.get(name, 0) + n
    return totals


def _ratio(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def _yuan(amount_fen: int) -> str:
    return f"{Decimal(amount_fen) / 100:.2f}"


def figures(counters: Mapping[str, int]) -> dict[str, Any]:
    """The published figures of one group (docs/statistics.md defines each)."""
    c = {name: int(counters.get(name, 0)) for name in COUNTERS}
    savings = c["ceiling_fen"] - c["award_fen"]
    cycle = {
        stage: {
            "purchases": c[f"{stage}_count"],
            "working_days_total": c[f"{stage}_days"],
            "mean_working_days": _ratio(c[f"{stage}_days"], c[f"{stage}_count"], 2),
        }
        for stage in STAGES
    }
    return {
        "published": c["published"],
        "republished": c["republished"],
        "ended": c["ended"],
        "deals": c["deals"],
        "deal_rate": _ratio(c["deals"], c["ended"]),
        "failed": c["failed"],
        "failed_share": _ratio(c["failed"], c["ended"]),
        "reannounced": c["reannounced"],
        "reannounced_share": _ratio(c["reannounced"], c["ended"]),
        "cancelled": c["cancelled"],
        "contracts": c["contracts"],
        "completions": c["completions"],
        "enrollments": c["enrollments"],
        "mean_enrollments": _ratio(c["enrollments"], c["published"], 2),
        "cycle_times": cycle,
        "savings": {
            "purchases": c["savings_purchases"],
            "ceiling_yuan": _yuan(c["ceiling_fen"]),
            "contract_yuan": _yuan(c["award_fen"]),
            "savings_yuan": _yuan(savings),
            "savings_percent": _ratio(savings * 100, c["ceiling_fen"], 2),
        },
        "evaluations": {
            "owner": {
                "evaluations": c["owner_evaluations"],
                "mean_rating": _ratio(c["owner_points"], c["owner_ratings"], 2),
            },
            "regulator": {
                "evaluations": c["regulator_evaluations"],
                "mean_rating": _ratio(c["regulator_points"], c["regulator_ratings"], 2),
            },
        },
    }


# The CSV columns: one row per group, the figures flattened.
CSV_COLUMNS = (
    "group_by",
    "value",
    "from_month",
    "to_month",
    "published",
    "republished",
    "ended",
    "deals",
    "deal_rate",
    "failed",
    "failed_share",
    "reannounced",
    "reannounced_share",
    "cancelled",
    "contracts",
    "completions",
    "enrollments",
    "mean_enrollments",
    *(f"{stage}_mean_working_days" for stage in STAGES),
    *(f"{stage}_purchases" for stage in STAGES),
    "savings_purchases",
    "ceiling_yuan",
    "contract_yuan",
    "savings_yuan",
    "savings_percent",
    "owner_evaluations",
    "owner_mean_rating",
    "regulator_evaluations",
    "regulator_mean_rating",
)


def csv_row(group_by: str, value: str, start: str, end: str, f: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"group_by": group_by, "value": value, "from_month": start, "to_month": end}
    for name in CSV_COLUMNS[4:18]:
        row[name] = f[name]
    for stage in STAGES:
        row[f"{stage}_mean_working_days"] = f["cycle_times"][stage]["mean_working_days"]
        row[f"{stage}_purchases"] = f["cycle_times"][stage]["purchases"]
    savings = f["savings"]
    row["savings_purchases"] = savings["purchases"]
    row["ceiling_yuan"] = savings["ceiling_yuan"]
    row["contract_yuan"] = savings["contract_yuan"]
    row["savings_yuan"] = savings["savings_yuan"]
    row["savings_percent"] = savings["savings_percent"]
    for rater in ("owner", "regulator"):
        row[f"{rater}_evaluations"] = f["evaluations"][rater]["evaluations"]
        row[f"{rater}_mean_rating"] = f["evaluations"][rater]["mean_rating"]
    return row


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """RFC 4180 CSV: a header row, then one row per group; an absent figure is an empty cell.
    A cell that a spreadsheet would read as a formula is prefixed with a quote."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if text and text[0] in "=+-@" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


# The month range a query reads.
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def month_index(month: str) -> int:
    year, m = month.split("-")
    return int(year) * 12 + int(m) - 1


def month_at(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    """How many months the range covers, both ends included."""
    return month_index(end) - month_index(start) + 1
