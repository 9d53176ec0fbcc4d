"""Performance after the contract (履约, DOMAIN.md §7) and evaluation (服务评价, §8).

The contracted agency reports the service delivered, with the result's reference (a report number
and the SHA-256 of its file); the time it took from the contract's signature is kept against the
time limit its offering promised. The owner accepts completion or disputes it with reasons within
the configured working days; silence accepts. A disputed delivery is reported again.

After completion the owner rates the service on five dimensions, once; the item's regulator rates
the output's quality, once. Both are public with the purchase, without the rater's personal data.

A delivery is its own record (`DELIVERY`, in the purchase's partition); the purchase carries a
small summary (`PerformanceSummary`, domain/purchase_performance.py) so its public page shows where
it stands.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from marketplace.domain.lifecycle import SYSTEM, Lifecycle
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.purchase_performance import DeliveryStatus, PerformanceSummary

SHA256_PATTERN = r"^[0-9a-f]{64}$"
OWNER_DIMENSIONS = ("quality", "timeliness", "attitude", "fee_reasonableness", "standards")
REGULATOR_DIMENSIONS = ("output_quality",)
Rater = Literal["owner", "regulator"]


class DeliveryReport(StrictModel):
    """What the agency reports: the service's result, by reference."""

    report_number: str = Field(min_length=1, max_length=100, description="the result's number (报告编号)")
    file_sha256: str = Field(
        pattern=SHA256_PATTERN, description="SHA-256 of the result's file, lowercase hex (64 characters)"
    )
    file_ref: str | None = Field(
        default=None, min_length=1, max_length=500, description="where the file is kept (a reference)"
    )


class Dispute(Model):
    reasons: str
    at: str


class EarlierReport(Model):
    """A report the owner disputed: kept, never overwritten."""

    report_number: str
    file_sha256: str
    file_ref: str | None = None
    reported_at: str
    working_days_taken: int
    late: bool
    dispute: Dispute


class Delivery(Model):
    """The delivery of a contracted purchase's service, as reported and decided."""

    purchase_id: str
    owner_id: str
    agency_id: str
    item_code: str
    status: DeliveryStatus
    report_number: str
    file_sha256: str
    file_ref: str | None = None
    reported_at: str
    contracted_at: str = Field(description="the contract's signature: the time limit counts from it")
    time_limit_working_days: int | None = Field(
        default=None, description="what the agency's offering for the item promised; null: no offering found"
    )
    promised_by: str | None = Field(default=None, description="the end of the promised time limit (UTC)")
    working_days_taken: int = Field(description="working days from the contract's signature to the report")
    late: bool = False
    counts_weekends_only: bool = Field(
        default=False, description="part of the count fell in a year with no calendar loaded"
    )
    late_recorded: bool = Field(default=False, description="the delivery_late credit event is recorded")
    completion_deadline: str = Field(description="the owner accepts or disputes by then; silence accepts")
    decided_at: str | None = None
    accepted_by_silence: bool = False
    dispute_reasons: str | None = Field(default=None, description="why the owner disputed the last report")
    reports: int = Field(default=1, description="how many times the service was reported delivered")
    earlier: list[EarlierReport] = Field(default_factory=list)
    revision: int = Field(default=0, exclude=True, description="the row's revision when read")


class CompletionDecision(StrictModel):
    decision: Literal["accept", "dispute"]
    reasons: str = Field(default="", max_length=2000, description="required to dispute")


class EvaluationRequest(StrictModel):
    """The owner gives the five service ratings; the item's regulator gives `output_quality`. Each
    rating is a whole number from 1 to 5; one below the rules' mark needs a written `comment`."""

    quality: int | None = Field(default=None, ge=1, le=5, strict=True, description="owner: service quality")
    timeliness: int | None = Field(default=None, ge=1, le=5, strict=True, description="owner")
    attitude: int | None = Field(default=None, ge=1, le=5, strict=True, description="owner")
    fee_reasonableness: int | None = Field(default=None, ge=1, le=5, strict=True, description="owner")
    standards: int | None = Field(
        default=None, ge=1, le=5, strict=True, description="owner: compliance with standards"
    )
    output_quality: int | None = Field(
        default=None, ge=1, le=5, strict=True, description="regulator: the output's quality"
    )
    comment: str = Field(default="", max_length=2000)


class Evaluation(Model):
    """One rater's evaluation of a purchase's service, as stored (the rater's user is kept for the
    record, never shown)."""

    purchase_id: str
    agency_id: str
    owner_id: str
    rater: Rater
    ratings: dict[str, int]
    average: float
    comment: str
    rated_at: str
    rated_by: str = Field(description="the rater's user (token subject): never public")
    rater_org: str = Field(description="the rater's organisation: public for the owner only")


class EvaluationPublic(Model):
    """What anyone reads: who rated as a role (and the owner's organisation, public with the
    purchase), the ratings and the comment."""

    rater: Rater
    owner_id: str | None = Field(default=None, description="the owner's organisation, for an owner's rating")
    ratings: dict[str, int]
    average: float
    comment: str
    rated_at: str


class PurchaseEvaluations(Model):
    purchase_id: str
    agency_id: str | None
    evaluations: list[EvaluationPublic]


def public_evaluation(evaluation: Evaluation) -> EvaluationPublic:
    return EvaluationPublic(
        rater=evaluation.rater,
        owner_id=evaluation.owner_id if evaluation.rater == "owner" else None,
        ratings=evaluation.ratings,
        average=evaluation.average,
        comment=evaluation.comment,
        rated_at=evaluation.rated_at,
    )


def average(ratings: dict[str, int]) -> float:
    return round(sum(ratings.values()) / len(ratings), 2)


def summary_of(delivery: Delivery, previous: PerformanceSummary | None) -> PerformanceSummary:
    kept = previous or PerformanceSummary()
    return PerformanceSummary(
        delivery_status=delivery.status,
        reported_at=delivery.reported_at,
        report_number=delivery.report_number,
        file_sha256=delivery.file_sha256,
        reports=delivery.reports,
        time_limit_working_days=delivery.time_limit_working_days,
        working_days_taken=delivery.working_days_taken,
        late=delivery.late,
        completion_deadline=delivery.completion_deadline,
        completed_at=delivery.decided_at if delivery.status == DeliveryStatus.accepted else None,
        accepted_by_silence=delivery.accepted_by_silence,
        owner_rating=kept.owner_rating,
        regulator_rating=kept.regulator_rating,
    )


# Lifecycle (docs/lifecycles.md). The first report creates the delivery (no row before it); a
# repeated report is refused unless the owner disputed the last one.

D = DeliveryStatus
DELIVERY: Lifecycle[DeliveryStatus] = Lifecycle(
    "delivery",
    DeliveryStatus,
    [
        (D.disputed, "report", ("agency",), D.reported),  # re-delivery after a dispute
        (D.reported, "accept", ("owner",), D.accepted),
        (D.reported, "accept_by_silence", (SYSTEM,), D.accepted),
        (D.reported, "dispute", ("owner",), D.disputed),
    ],
)
