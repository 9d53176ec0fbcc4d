"""Random inspections (双随机、一公开, docs/inspections.md): a regulator's inspection plan for one of
its industries, drawn with the verifiable draw (domain/inspection_draw.py), and the results,
all public. Pure: no AWS library, no clock (the caller passes the instants)."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from marketplace.domain.catalogue import INDUSTRY_PATTERN
from marketplace.domain.lifecycle import SYSTEM, Lifecycle
from marketplace.domain.model import Model, StrictModel

# Staff codes: a law-enforcement certificate number (执法证号) or the regulator's own staff number.
# Never a person's name: the codes are public with the draw.
STAFF_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$"
MAX_STAFF = 500
MAX_AGENCIES = 200
# 行政处罚法 第四十二条 / 行政检查: at least two law-enforcement officers inspect together.
MIN_INSPECTORS_PER_AGENCY = 2
MAX_INSPECTORS_PER_AGENCY = 5
MAX_PROBLEMS = 50
ID_PATTERN = r"^INS-[0-9]{8}-[0-9A-F]{10}$"


def new_inspection_id(at: datetime) -> str:
    return f"INS-{at:%Y%m%d}-{secrets.token_hex(5).upper()}"


class InspectionStatus(StrEnum):
    planned = "planned"  # the commitment and the frozen candidates are public; the draw is to come
    drawn = "drawn"  # the agencies and inspectors are drawn; results are being recorded
    closed = "closed"  # every drawn agency has its result
    cancelled = "cancelled"  # cancelled before the draw


S = InspectionStatus
INSPECTION: Lifecycle[InspectionStatus] = Lifecycle(
    "inspection",
    InspectionStatus,
    [
        (S.planned, "draw", (SYSTEM,), S.drawn),
        (S.planned, "cancel", ("regulator",), S.cancelled),
        (S.drawn, "record_result", ("regulator",), S.drawn),
        (S.drawn, "close", ("regulator",), S.closed),
    ],
)


class StaffList(StrictModel):
    """A regulator's inspectors (执法人员名录), by staff code only."""

    inspectors: list[str] = Field(
        min_length=1,
        max_length=MAX_STAFF,
        description="staff codes (e.g. law-enforcement certificate numbers, 执法证号); never names: "
        "the codes drawn are public",
    )

    @model_validator(mode="after")
    def _codes(self) -> StaffList:
        bad = [c for c in self.inspectors if not re.fullmatch(STAFF_CODE_PATTERN, c)]
        if bad:
            raise ValueError(f"not a staff code (letters, digits, '-'; 2-40): {bad[0]!r}")
        repeated = sorted({c for c in self.inspectors if self.inspectors.count(c) > 1})
        if repeated:
            raise ValueError(f"a staff code repeats: {', '.join(repeated[:5])}")
        return self


class Staff(Model):
    regulator_id: str
    inspectors: list[str]
    updated_at: str


class PlanIn(StrictModel):
    """An inspection plan (抽查计划) for one of the caller's industries."""

    industry: str = Field(pattern=INDUSTRY_PATTERN, description="one of the caller regulator's industries")
    title: str = Field(min_length=1, max_length=200, description="e.g. 2027年第一季度环评机构双随机抽查")
    basis: str = Field(min_length=1, max_length=500, description="the legal basis (检查依据)")
    agencies: int = Field(ge=1, le=MAX_AGENCIES, description="how many agencies to draw")
    inspectors: int = Field(
        ge=MIN_INSPECTORS_PER_AGENCY,
        le=MAX_STAFF,
        description="the team drawn from the caller's staff list; at least inspectors_per_agency",
    )
    inspectors_per_agency: int = Field(
        default=MIN_INSPECTORS_PER_AGENCY,
        ge=MIN_INSPECTORS_PER_AGENCY,
        le=MAX_INSPECTORS_PER_AGENCY,
        description="inspectors checking each agency together (at least two, as the law requires)",
    )
    draw_at: AwareDatetime = Field(description="when the draw runs (UTC ISO-8601); in the future")


class Assignment(Model):
    agency_id: str
    inspectors: list[str] = Field(description="staff codes")


class Outcome(StrEnum):
    passed = "passed"
    problems_found = "problems_found"


class ResultIn(StrictModel):
    agency_id: str = Field(min_length=1, max_length=60, description="a drawn agency of the inspection")
    outcome: Outcome
    problems: list[str] = Field(
        default_factory=list,
        max_length=MAX_PROBLEMS,
        description="what was found (problems_found: at least one; passed: none)",
    )
    correct_by: date | None = Field(
        default=None, description="problems_found: the local date by which to correct (整改期限)"
    )
    credit_event: bool = Field(
        default=False, description="problems_found: also record a credit penalty on the agency"
    )
    credit_points: int | None = Field(
        default=None,
        description="with credit_event: the penalty's points, negative, at most the credit rules' "
        "max_event_points",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ResultIn:
        if any(not p.strip() or len(p) > 1000 for p in self.problems):
            raise ValueError("problems: each is 1-1000 characters")
        return self


class InspectionResult(Model):
    inspection_id: str
    agency_id: str
    outcome: Outcome
    problems: list[str]
    correct_by: date | None = None
    inspectors: list[str] = Field(description="the staff codes assigned to the agency")
    recorded_at: str
    recorded_by: str = Field(description="the regulator's organisation")
    credit_event_id: str | None = None


class Inspection(Model):
    """The plan, its commitment and frozen candidates, the draw and the results: all public."""

    inspection_id: str
    status: InspectionStatus
    industry: str
    regulator_id: str = Field(description="the regulator's organisation that made the plan")
    title: str
    basis: str
    agencies: int
    inspectors: int
    inspectors_per_agency: int
    draw_at: str
    created_at: str
    commitment: str = Field(description="hex SHA-256 of the draw's secret seed, public before the draw")
    agency_candidates: list[str] = Field(description="agencies admitted in the industry, frozen at creation")
    agency_digest: str
    inspector_candidates: list[str] = Field(description="the regulator's staff codes, frozen at creation")
    inspector_digest: str
    drawn_at: str | None = None
    drawn_agencies: list[str] = Field(default_factory=list)
    team: list[str] = Field(default_factory=list, description="the inspectors drawn, in drawn order")
    assignment: list[Assignment] = Field(default_factory=list)
    results: list[InspectionResult] = Field(default_factory=list)
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    closed_at: str | None = None


class SubProof(Model):
    """One `hmac-sha256-rank/v1` draw in the shared proof format (docs/draw.md); `purchase_id` holds
    the draw subject (`<inspection id>:agencies` or `:inspectors`)."""

    algorithm: str
    purchase_id: str
    commitment: str
    seed: str
    candidates: list[str]
    digest: str
    ranking: list[dict[str, str]]
    winners: list[str]
    reserves: list[str]
    drawn_at: str


class InspectionDrawProof(Model):
    """Both draws under one committed seed and the assignment: recompute it with
    `python -m marketplace.verify_draw`."""

    algorithm: str
    kind: str
    inspection_id: str
    commitment: str
    seed: str
    agencies: SubProof
    inspectors: SubProof
    inspectors_per_agency: int
    assignment: list[dict[str, Any]]
    drawn_at: str


class CancelIn(StrictModel):
    reason: str = Field(min_length=1, max_length=1000, description="published with the cancellation")


def plan_problems(
    plan: PlanIn, *, agencies_available: int, staff: int, now: datetime
) -> list[tuple[str, str]]:
    """(field, message) for each number the frozen lists cannot satisfy, and a past draw time."""
    problems: list[tuple[str, str]] = []
    if plan.draw_at <= now:
        problems.append(("draw_at", "must be in the future: the commitment is published before the draw"))
    if plan.agencies > agencies_available:
        problems.append(
            (
                "agencies",
                f"only {agencies_available} agencies are admitted in {plan.industry} and not suspended",
            )
        )
    if plan.inspectors < plan.inspectors_per_agency:
        problems.append(("inspectors", "the team must hold at least inspectors_per_agency"))
    elif plan.inspectors > staff:
        problems.append(
            ("inspectors", f"the staff list holds {staff} inspectors (PUT /inspections/inspectors)")
        )
    return problems


def result_problems(body: ResultIn, *, today: date, max_points: int) -> list[tuple[str, str]]:
    """What is wrong with a result; `max_points` is the credit rules' `max_event_points` in force
    (the bound the credit service holds a penalty's points to), checked here so the 422 names
    `credit_points`, the request's field, and nothing is written."""
    problems: list[tuple[str, str]] = []
    if body.outcome == Outcome.passed:
        if body.problems:
            problems.append(("problems", "a passed inspection lists no problems"))
        if body.correct_by is not None:
            problems.append(("correct_by", "a passed inspection has nothing to correct"))
        if body.credit_event:
            problems.append(("credit_event", "only an inspection that found problems records a credit event"))
    else:
        if not body.problems:
            problems.append(("problems", "name at least one problem found"))
        if body.correct_by is None:
            problems.append(("correct_by", "the deadline to correct is required"))
        elif body.correct_by <= today:
            problems.append(("correct_by", "must be after today"))
    if body.credit_event and body.credit_points is None:
        problems.append(("credit_points", "a credit event states its points (negative)"))
    if body.credit_points is not None:
        if not body.credit_event:
            problems.append(("credit_points", "only with credit_event: true"))
        elif body.credit_points >= 0:
            problems.append(("credit_points", "a penalty's points are negative"))
        elif -body.credit_points > max_points:
            problems.append(
                ("credit_points", f"at most {max_points} points off (the credit rules' max_event_points)")
            )
    return problems


def assigned(inspection: Inspection, agency_id: str) -> list[str] | None:
    """The staff codes assigned to a drawn agency; None when the agency was not drawn."""
    return next((a.inspectors for a in inspection.assignment if a.agency_id == agency_id), None)
