"""A small market for purchase tests: an item, an owner, admitted agencies, and a clock to move
through a purchase's window."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from marketplace.clock import FixedClock, get_clock, use_clock
from tests.conftest import Api
from tests.support.samples import agency_profile, catalogue_item, owner_profile

ITEM = "ZJ-HP-001"
OWNER = "OW-001"
# Tuesday 1 December 2026, 10:00 in Hangzhou: the deadline below leaves three working days.
OPENS = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DEADLINE = "2026-12-04T09:00:00Z"
AFTER_DEADLINE = datetime(2026, 12, 4, 9, 0, 1, tzinfo=UTC)


def agency_id(n: int) -> str:
    return f"AG-{n:03d}"


def admit(agencies: list[str], *, item: str = ITEM, regions: list[str] | None = None, **changes: Any) -> None:
    """Agencies admitted for `item`, written straight to the table (admission has its own tests):
    the profile row and the offering rows the directory and notifications read."""
    from marketplace.domain.agencies import Agency, AgencyProfile, AgencyStatus
    from marketplace.repositories.agencies import offering_rows
    from marketplace.repositories.tables import AgencyRow

    for n, agency in enumerate(agencies):
        profile = agency_profile(first16=f"91330106MA2H7Y{n % 100:02d}", regions=regions or ["330100"])
        profile["legal_entity"]["name"] = f"测试环境咨询有限公司{agency}"
        profile["offerings"][0]["item_code"] = item
        record = AgencyProfile.model_validate(profile)
        document = {
            "agency_id": agency,
            "name": record.legal_entity.name,
            "credit_code": record.legal_entity.credit_code,
            "status": AgencyStatus.admitted,
            "record": record,
            "record_version": 1,
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
            **changes,
        }
        admitted = Agency.model_validate(document)
        AgencyRow(
            agency_id=agency,
            sk="PROFILE",
            listing="AGENCY",
            status=admitted.status.value,
            revision=1,
            document=admitted.model_dump(mode="json"),
        ).save()
        for row in offering_rows(admitted):
            row.save()


def purchase_request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_code": "2026-330106-47-01-000123",
        "title": "杭州市西湖区某道路改造工程环境影响评价",
        "item_code": ITEM,
        "region": "330106",
        "funding_type": "fiscal",
        "price_kind": "ceiling",
        "amount_yuan": "180000.00",
        "method": "random_draw",
        "enrollment_deadline": DEADLINE,
        "selection_time": DEADLINE,
        "witnesses": [{"name": "周敏", "unit": "西湖区公共资源交易中心"}],
        "reserves": 2,
    }
    body.update(changes)
    return body


@contextmanager
def clock_at(at: datetime) -> Iterator[FixedClock]:
    previous = get_clock()
    clock = FixedClock(at)
    use_clock(clock)
    try:
        yield clock
    finally:
        use_clock(previous)


class Market:
    """The actors of a purchase, with the calls every test makes."""

    def __init__(self, api: Api, clock: FixedClock) -> None:
        self.api = api
        self.clock = clock
        self.admin = api.as_role("admin")
        self.owner = api.as_role("owner", OWNER)

    def agency(self, agency: str) -> Any:
        return self.api.as_role("agency", agency)

    def draft(self, **changes: Any) -> str:
        reply = self.owner.post("/purchases", purchase_request(**changes))
        assert reply.status == 201, reply.body
        return str(reply.body["purchase_id"])

    def publish(self, **changes: Any) -> str:
        """Drafted, submitted and (fiscal) approved: enrollment is open."""
        purchase_id = self.draft(**changes)
        reply = self.owner.post(f"/purchases/{purchase_id}/submit")
        assert reply.status == 200, reply.body
        if reply.body["status"] == "pending_review":
            reply = self.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"})
            assert reply.status == 200, reply.body
        return purchase_id

    def enroll(self, purchase_id: str, agency: str) -> Any:
        return self.agency(agency).post(f"/purchases/{purchase_id}/enrollments")

    def close_and_select(self, purchase_id: str) -> dict[str, Any]:
        """Past the deadline, the window's two tasks as the state machine runs them."""
        from app import app

        self.clock.set(AFTER_DEADLINE)
        closed = app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)
        if closed["status"] != "enrollment_closed":
            return dict(closed)
        return dict(app.handler_map["run_selection"]({"purchase_id": purchase_id}, None))

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        reply = self.owner.get(f"/purchases/{purchase_id}")
        assert reply.status == 200, reply.body
        return dict(reply.body)


def open_market(api: Api, agencies: int = 3) -> Iterator[Market]:
    with clock_at(OPENS) as clock:
        assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
        assert api.as_role("owner", OWNER).post("/owners", owner_profile()).status == 201
        admit([agency_id(n) for n in range(1, agencies + 1)])
        yield Market(api, clock)
