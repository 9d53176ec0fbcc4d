"""The random inspections' operations of the shared scenario (tests/support/scenario.py): a staff
list, a plan drawn by the minute task and its results, and a plan cancelled before its draw. The
agencies are admitted for an item of their own (the other steps suspend, expel and blacklist theirs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from marketplace.clock import FixedClock, get_clock, stamp, use_clock
from tests.conftest import Api
from tests.support.market import admit
from tests.support.samples import catalogue_item

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
ITEM = "ZJ-HP-031"
AGENCIES = ["AG-INS-1", "AG-INS-2", "AG-INS-3"]
Step = tuple[str, Callable[[], Any]]


def inspection_steps(api: Api) -> list[Step]:
    from app import app
    from marketplace.repositories.base import reset_connections
    from marketplace.repositories.tables import AgencyRow

    admit(AGENCIES, item=ITEM)  # rows only, before the steps: admission has its own steps
    reset_connections([AgencyRow])  # the steps' calls go through clients the scenario's hooks see
    admin = api.as_role("admin")
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    ids: dict[str, str] = {}

    def plan(key: str) -> Any:
        body = {
            "industry": "environment",
            "title": "环评机构双随机抽查",
            "basis": "《建设项目环境影响评价技术服务机构监督管理办法》",
            "agencies": 2,
            "inspectors": 4,
            "draw_at": stamp(get_clock().now() + timedelta(minutes=5)),
        }
        reply = regulator.post("/inspections", body, headers={"idempotency-key": f"inspection-{key}"})
        ids[key] = reply.body["inspection_id"] if reply.status == 201 else ""
        return reply

    def draw() -> Any:
        previous = get_clock()
        use_clock(FixedClock(previous.now() + timedelta(minutes=6)))
        try:
            event = json.loads((EVENTS_DIR / "functions" / "draw_inspections.schedule.json").read_text())
            report = app.handler_map["draw_inspections"](event, None)
        finally:
            use_clock(previous)
        assert ids["drawn"] in report["drawn"], report
        return report

    def result() -> Any:
        drawn = api.call("GET", f"/inspections/{ids['drawn']}").body["drawn_agencies"]
        body = {
            "agency_id": drawn[0],
            "outcome": "problems_found",
            "problems": ["报告质量不合格"],
            "correct_by": (get_clock().now() + timedelta(days=30)).date().isoformat(),
            "credit_event": True,
            "credit_points": -5,
        }
        key = {"idempotency-key": f"result-{ids['drawn']}"}
        return regulator.post(f"/inspections/{ids['drawn']}/results", body, headers=key)

    return [
        ("create_catalogue_item", lambda: admin.post("/catalogue/items", catalogue_item(ITEM))),
        ("put_inspectors", lambda: regulator.put("/inspections/inspectors", {"inspectors": _staff()})),
        ("get_inspectors", lambda: regulator.get("/inspections/inspectors")),
        ("create_inspection", lambda: plan("drawn")),
        ("create_inspection", lambda: plan("cancelled")),
        ("get_inspection_draw", lambda: _before_draw(api, ids["drawn"])),
        (
            "cancel_inspection",
            lambda: regulator.post(f"/inspections/{ids['cancelled']}/cancellation", {"reason": "计划调整"}),
        ),
        ("draw_inspections", draw),
        ("list_inspections", lambda: api.call("GET", "/inspections")),
        ("get_inspection", lambda: api.call("GET", f"/inspections/{ids['drawn']}")),
        ("get_inspection_draw", lambda: api.call("GET", f"/inspections/{ids['drawn']}/draw")),
        ("record_inspection_result", result),
    ]


def _staff() -> list[str]:
    return [f"ZJ-ENV-{n:04d}" for n in range(1, 7)]


class _Answered:
    """A 404 the step expects (no draw yet): the policy must still allow the calls it made."""

    status = 200

    def __init__(self, reply: Any) -> None:
        assert reply.status == 404, reply.body
        self.body = reply.body


def _before_draw(api: Api, inspection_id: str) -> Any:
    return _Answered(api.call("GET", f"/inspections/{inspection_id}/draw"))
