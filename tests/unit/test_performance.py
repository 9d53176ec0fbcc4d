"""Performance and evaluation, pure: who is told of each event, the delivery's table, the summary."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.domain import notifications as n
from marketplace.domain.performance import DELIVERY, Delivery, DeliveryStatus, average, summary_of
from marketplace.errors import Conflict

TZ = "Asia/Shanghai"
BASE = {"purchase_id": "PU-1", "owner_id": "OW-1", "agency_id": "AG-1"}


def _told(event_type: str, **data: Any) -> dict[str, str]:
    detail = {
        "event_id": "11111111-2222-4333-8444-555555555555",
        "event_type": event_type,
        "occurred_at": "2026-12-16T02:00:00Z",
        "subject": "PU-1",
        "actor": "user-1",
        "data": {**BASE, **data},
    }
    plan = n.plan(detail, timezone=TZ)
    assert plan is not None
    return {notice.recipient: notice.text for notice in plan.notices}


def test_a_delivery_tells_the_owner_its_deadline_and_that_silence_accepts() -> None:
    told = _told(
        "DeliveryReported",
        report_number="R-1",
        file_sha256="a" * 64,
        reports=1,
        working_days_taken=7,
        time_limit_working_days=20,
        late=False,
        completion_deadline="2026-12-30T15:59:59Z",
    )
    assert set(told) == {"owner:OW-1", "agency:AG-1"}
    assert "2026-12-30 23:59" in told["owner:OW-1"] and "视为确认完成" in told["owner:OW-1"]


def test_a_dispute_tells_the_agency_its_reasons_and_completion_by_silence_says_so() -> None:
    disputed = _told("DeliveryDisputed", reasons="缺少监测数据", report_number="R-1")
    assert list(disputed) == ["agency:AG-1"] and "缺少监测数据" in disputed["agency:AG-1"]
    completed = _told("PurchaseCompleted", accepted_by_silence=True, report_number="R-1")
    assert set(completed) == {"owner:OW-1", "agency:AG-1"} and "逾期未答复" in completed["owner:OW-1"]


def test_an_owner_rating_tells_the_agency_and_a_regulator_rating_both() -> None:
    ratings = {"quality": 5}
    assert list(_told("EvaluationRecorded", rater="owner", ratings=ratings, average=4.6)) == ["agency:AG-1"]
    both = _told("EvaluationRecorded", rater="regulator", ratings={"output_quality": 3}, average=3)
    assert set(both) == {"agency:AG-1", "owner:OW-1"}


def test_a_delivery_is_reported_again_only_after_a_dispute() -> None:
    assert DELIVERY.allows(DeliveryStatus.disputed, "report")
    for state in (DeliveryStatus.reported, DeliveryStatus.accepted):
        with pytest.raises(Conflict):
            DELIVERY.expect(state, "report")
    assert DELIVERY.allowed_from(DeliveryStatus.accepted) == ()


def test_the_summary_keeps_the_ratings_and_shows_completion_only_when_accepted() -> None:
    delivery = Delivery(
        purchase_id="PU-1",
        owner_id="OW-1",
        agency_id="AG-1",
        item_code="ZJ-HP-001",
        status=DeliveryStatus.disputed,
        report_number="R-1",
        file_sha256="a" * 64,
        reported_at="2026-12-16T02:00:00Z",
        contracted_at="2026-12-07T02:00:00Z",
        working_days_taken=7,
        completion_deadline="2026-12-30T15:59:59Z",
        decided_at="2026-12-17T02:00:00Z",
    )
    disputed = summary_of(delivery, None)
    assert disputed.completed_at is None and disputed.delivery_status == DeliveryStatus.disputed
    rated = disputed.model_copy(update={"regulator_rating": 4})
    accepted = summary_of(delivery.model_copy(update={"status": DeliveryStatus.accepted}), rated)
    assert accepted.completed_at == "2026-12-17T02:00:00Z" and accepted.regulator_rating == 4
    assert average({"a": 5, "b": 4, "c": 5, "d": 4, "e": 5}) == 4.6
