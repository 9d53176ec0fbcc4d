"""What a purchase holds of its performance (履约, docs/performance.md): the state of its delivery
and the summary its public page shows. The delivery itself, the evaluations and their requests are
domain/performance.py, which only the performance routes and their services load."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from marketplace.domain.model import Model


class DeliveryStatus(StrEnum):
    reported = "reported"  # the agency reported the service delivered; the owner's window runs
    accepted = "accepted"  # the owner accepted completion, or let the window pass (silence)
    disputed = "disputed"  # the owner disputed it with reasons; the agency reports again


class PerformanceSummary(Model):
    """What the purchase's page shows of its delivery, completion and evaluations."""

    delivery_status: DeliveryStatus | None = None
    reported_at: str | None = None
    report_number: str | None = None
    file_sha256: str | None = None
    reports: int = 0
    time_limit_working_days: int | None = None
    working_days_taken: int | None = None
    late: bool = False
    completion_deadline: str | None = None
    completed_at: str | None = None
    accepted_by_silence: bool = False
    owner_rating: float | None = Field(default=None, description="the owner's average rating")
    regulator_rating: int | None = Field(default=None, description="the regulator's output-quality rating")
