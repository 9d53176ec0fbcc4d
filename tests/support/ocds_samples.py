"""Purchases' public views at each stage, built in memory, for the OCDS mapping's unit tests and
the `ocds_release_ms` bench (a completed purchase with 20 enrollments)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marketplace.domain.bidding import BiddingRound, RevealedQuote
from marketplace.domain.contracts import ContractPublic
from marketplace.domain.model import revised
from marketplace.domain.ocds import Organisation
from marketplace.domain.performance import PerformanceSummary
from marketplace.domain.purchases import (
    Purchase,
    PurchasePublic,
    PurchaseRequest,
    PurchaseStatus,
    Result,
    public_view,
)
from tests.support.market import purchase_request

PURCHASE_ID = "P-20261201-3F9A1C2B7D"
OWNER = "OW-001"
PUBLISHED = "2026-12-01T02:00:00Z"
SELECTED = "2026-12-04T09:00:05Z"
SHA = "9f2c4b1de0a7c35e8b64f1d2a9c0e7b35d8f6a2c1e4b7d9a0c3f5e8b2d6a1c47"


def agency(n: int) -> str:
    return f"AG-{n:03d}"


def organisations(agencies: int = 20) -> dict[str, Organisation]:
    found = {OWNER: Organisation(OWNER, "杭州市西湖区交通运输局", "11330106002496123X")}
    for n in range(1, agencies + 1):
        found[agency(n)] = Organisation(agency(n), f"测试环境咨询有限公司{n:03d}", f"91330106MA2H7Y{n:03d}X")
    return found


def published(**changes: Any) -> PurchasePublic:
    purchase = Purchase(
        **PurchaseRequest.model_validate(purchase_request(**changes)).model_dump(),
        purchase_id=PURCHASE_ID,
        owner_id=OWNER,
        status=PurchaseStatus.enrollment_open,
        item_name="环境影响评价",
        created_at=PUBLISHED,
        created_by="user-owner-1",
        updated_at=PUBLISHED,
        published_at=PUBLISHED,
        commitment="3b5d3c7c2a1f6e0b9d8a7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f",
    )
    return public_view(purchase)


def selected(enrollments: int = 20, **changes: Any) -> PurchasePublic:
    view = published(**changes)
    result = Result(
        method=view.method,
        selected_agency=agency(2),
        reserves=[agency(3), agency(1)],
        selected_at=SELECTED,
        confirmation_deadline="2026-12-08T15:59:59Z",
    )
    return revised(
        view, status=PurchaseStatus.selected, enrollments=enrollments, eligible=enrollments, result=result
    )


def confirmed(enrollments: int = 20) -> PurchasePublic:
    view = selected(enrollments)
    assert view.result is not None
    result = revised(
        view.result, owner_confirmed_at="2026-12-05T01:00:00Z", agency_accepted_at="2026-12-05T02:00:00Z"
    )
    return revised(view, status=PurchaseStatus.confirmed, result=result)


def contracted(enrollments: int = 20) -> PurchasePublic:
    contract = ContractPublic(
        number=1,
        status="signed",
        source="uploaded",
        amount_yuan=Decimal("150000.00"),
        sha256=SHA,
        signed_on=date(2026, 12, 7),
        registered_at="2026-12-06T02:00:00Z",
        deadline="2027-01-04T15:59:59Z",
    )
    return revised(confirmed(enrollments), status=PurchaseStatus.contracted, contract=contract)


def completed(enrollments: int = 20) -> PurchasePublic:
    performance = PerformanceSummary(
        delivery_status="accepted",
        reported_at="2026-12-20T02:00:00Z",
        report_number="HP-2026-0042",
        file_sha256=SHA,
        reports=1,
        time_limit_working_days=15,
        working_days_taken=10,
        completion_deadline="2027-01-04T15:59:59Z",
        completed_at="2026-12-22T02:00:00Z",
        owner_rating=4.6,
    )
    return revised(contracted(enrollments), status=PurchaseStatus.evaluated, performance=performance)


def bid_on(enrollments: int = 3) -> PurchasePublic:
    """A price bidding purchase whose quotes are published."""
    view = selected(enrollments, method="price_bidding", bidding={"rounds": 1})
    quotes = [
        RevealedQuote(
            agency_id=agency(n),
            round=1,
            price_yuan=Decimal(150000 + 1000 * n),
            submitted_at="2026-12-03T02:00:00Z",
            digest="ab" * 32,
            nonce="cd" * 16,
            valid=n != 3,
            invalid_reason=None if n != 3 else "below the floor",
        )
        for n in (1, 2, 3)
    ]
    rounds: list[BiddingRound] = []
    return revised(view, quotes=quotes, bidding_rounds=rounds)
