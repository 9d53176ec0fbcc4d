"""What people do with credit (DOMAIN.md §9): a regulator records a reward, a penalty or serious
dishonesty in its industries; the admin imports the records of an external credit system (信用中国,
the provincial system); serious dishonesty blacklists (黑名单) and expels the agency from its items
(清退) for the rules' period. The input shapes, the checks against the credit rules, and the ids,
which derive from what identifies a record so that recording it again changes nothing.

Pure: no AWS library, no clock (the caller passes `today`)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from marketplace.domain.credit import CreditEventKind, CreditRules
from marketplace.domain.credit_code import CreditCode
from marketplace.domain.model import Model, StrictModel
from marketplace.errors import FieldError

# The kinds a regulator or an external system records; the platform records the others itself.
OUTSIDE_KINDS = (CreditEventKind.reward, CreditEventKind.penalty, CreditEventKind.serious_dishonesty)
MAX_IMPORT_RECORDS = 100
SOURCE_PATTERN = r"^[a-z][a-z0-9_-]{1,39}$"
BLACKLIST_MARK = "黑名单 blacklisted"


class OutsideKind(StrEnum):
    reward = "reward"  # 守信激励
    penalty = "penalty"  # 失信惩戒
    serious_dishonesty = "serious_dishonesty"  # 严重失信: blacklists for the rules' period


class RegulatorEventIn(StrictModel):
    """A regulator's reward, penalty or finding of serious dishonesty, resting on its decision."""

    kind: OutsideKind
    points: int | None = Field(
        default=None,
        description="positive for a reward, negative for a penalty, at most the rules' max_event_points "
        "either way; serious dishonesty scores the rules' points (leave it out)",
    )
    reason: str = Field(min_length=1, max_length=1000, description="what the agency did")
    basis: str = Field(min_length=1, max_length=500, description="the legal basis (法律依据)")
    decision_number: str = Field(
        min_length=1, max_length=100, description="the regulator's decision (决定书文号) the event rests on"
    )
    occurred_on: date = Field(description="the local date it happened; not in the future")
    valid_until: date | None = Field(
        default=None, description="the last local date it counts; the rules' validity when left out"
    )
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")


class ImportRecord(StrictModel):
    """One record of an external credit system (docs/credit-imports.md)."""

    source_id: str = Field(min_length=1, max_length=100, description="the record's id in its system")
    credit_code: CreditCode = Field(description="the agency's unified social credit code")
    kind: OutsideKind
    points: int | None = None
    reason: str = Field(default="", max_length=1000)
    basis: str = Field(min_length=1, max_length=500)
    occurred: date
    valid_until: date | None = None
    url: str = Field(max_length=500, pattern=r"^https?://\S+$", description="where the public reads it")


class ImportBatch(StrictModel):
    source: str = Field(pattern=SOURCE_PATTERN, description="the system: creditchina, provincial, ...")
    records: list[ImportRecord] = Field(min_length=1, max_length=MAX_IMPORT_RECORDS)

    @model_validator(mode="after")
    def _ids_once(self) -> ImportBatch:
        ids = [r.source_id for r in self.records]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"source_id repeats in the batch: {', '.join(repeated[:5])}")
        return self


class ImportOutcome(StrEnum):
    recorded = "recorded"  # new: appended to the agency's ledger now
    already_recorded = "already_recorded"  # this (source, source_id) was imported before
    unknown_agency = "unknown_agency"  # no agency of the marketplace has this credit code


class ImportedRecord(Model):
    source_id: str
    outcome: ImportOutcome
    credit_event_id: str
    agency_id: str | None = None


class ImportReport(Model):
    source: str
    recorded: int
    already_recorded: int
    unknown_agency: int
    records: list[ImportedRecord]


# Checks against the rules in force when the event occurred.


def points_problem(kind: str, points: int | None, rules: CreditRules) -> str | None:
    """Why `points` cannot be the event's, or None."""
    if kind == OutsideKind.serious_dishonesty:
        fixed = rules.points_for(CreditEventKind.serious_dishonesty)
        if points is None or points == fixed:
            return None
        return f"serious dishonesty scores the rules' {fixed}: leave it out"
    if points is None:
        return f"a {kind} states its points"
    if points == 0:
        return "must not be 0"
    if kind == OutsideKind.reward and points < 0:
        return "a reward's points are positive"
    if kind != OutsideKind.reward and points > 0:
        return f"a {kind}'s points are negative"
    if abs(points) > rules.max_event_points:
        return f"at most {rules.max_event_points} either way (the credit rules in force)"
    return None


def date_problems(
    occurred: date, valid_until: date | None, today: date, *, occurred_field: str, until_field: str
) -> list[FieldError]:
    found = []
    if occurred > today:
        found.append(FieldError(occurred_field, f"must not be after today ({today.isoformat()})"))
    if valid_until is not None and valid_until < occurred:
        found.append(FieldError(until_field, "must not be before the date it occurred"))
    if valid_until is not None and valid_until < today:
        found.append(FieldError(until_field, "has passed: an event that no longer counts is not recorded"))
    return found


def start_of(day: date, timezone: str) -> datetime:
    """The instant a local date starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def end_of(day: date, timezone: str) -> datetime:
    """The instant after a local date: an event valid until a date counts all of that day."""
    return start_of(day + timedelta(days=1), timezone)


# Ids: derived from what identifies the record, so that recording it again changes nothing.


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def regulator_event_id(regulator_org: str, decision_number: str, agency_id: str) -> str:
    """One event per regulator decision and agency."""
    return f"RG-{_digest(regulator_org, decision_number, agency_id)}"


def import_event_id(source: str, source_id: str) -> str:
    """One event per external record: (source, source_id) identifies it."""
    return f"IM-{_digest(source, source_id)}"


def revocation_id(event_id: str) -> str:
    return f"{event_id}-revoked"


def blacklist_reason(until: str, why: str) -> str:
    """What an item expelled by the blacklist says, on the profile and in the directory."""
    return f"{BLACKLIST_MARK} until {until}: {why}"


def is_blacklist_reason(reason: str) -> bool:
    return reason.startswith(BLACKLIST_MARK)
