"""The credit-action operations for the scenario (tests/support/scenario.py): a regulator's penalty
and finding of serious dishonesty against the scenario's agency AG-1 (an environment agency), an
import, an appeal revoked (which lifts the blacklist at once), a second finding, and the lifting task
run once its period has ended. Each step runs when called, not when the list is built."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.conftest import Api
from tests.support.samples import agency_profile

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def credit_action_steps(api: Api) -> list[tuple[str, Callable[[], Any]]]:
    from app import app

    admin, agency = api.as_role("admin"), api.as_role("agency", "AG-1")
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    code = agency_profile()["legal_entity"]["credit_code"]
    found: dict[str, str] = {}

    def finding(decision: str) -> dict[str, Any]:
        return {
            "kind": "serious_dishonesty",
            "reason": "出具虚假报告",
            "basis": "《环境影响评价法》第三十二条",
            "decision_number": decision,
            "occurred_on": "2026-11-20",
        }

    def record(decision: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
        headers = {"idempotency-key": key} if key else None
        reply = regulator.post("/agencies/AG-1/credit/events", body or finding(decision), headers=headers)
        found[decision] = str((reply.body or {}).get("credit_event_id", ""))
        return reply

    penalty = {
        "kind": "penalty",
        "points": -5,
        "reason": "逾期提交",
        "basis": "管理办法第十条",
        "decision_number": "SC-P-1",
        "occurred_on": "2026-11-20",
        "url": "https://sthjt.zj.gov.cn/decisions/SC-P-1",
    }
    records = {
        "source": "creditchina",
        "records": [
            {
                "source_id": "SC-CC-1",
                "credit_code": code,
                "kind": "reward",
                "points": 3,
                "basis": "守合同重信用企业公示",
                "occurred": "2026-10-01",
                "url": "https://www.creditchina.gov.cn/record/SC-CC-1",
            },
            {
                "source_id": "SC-CC-2",
                "credit_code": agency_profile(first16="91330106MA2H7Y99")["legal_entity"]["credit_code"],
                "kind": "penalty",
                "points": -3,
                "basis": "行政处罚",
                "occurred": "2026-10-01",
                "url": "https://www.creditchina.gov.cn/record/SC-CC-2",
            },
        ],
    }

    def appeal_path() -> str:
        return f"/credit/events/{found['SC-F-1']}/appeal"

    def lift_after_the_period() -> Any:
        from marketplace.clock import FixedClock, get_clock, use_clock, utcnow

        schedule = json.loads((EVENTS_DIR / "functions" / "lift_blacklists.schedule.json").read_text())
        previous = get_clock()
        use_clock(FixedClock(utcnow() + timedelta(days=800)))
        try:
            return app.handler_map["lift_blacklists"](schedule, None)
        finally:
            use_clock(previous)

    return [
        ("record_credit_event", lambda: record("SC-P-1", penalty, key="k-credit-1")),
        ("record_credit_event", lambda: record("SC-F-1")),  # serious dishonesty: blacklists, expels
        (
            "import_credit_records",
            lambda: admin.post("/credit/imports", records, headers={"idempotency-key": "k-imp"}),
        ),
        (
            "appeal_credit_event",
            lambda: agency.post(appeal_path(), {"reasons": "认定有误"}, headers={"idempotency-key": "k-app"}),
        ),
        ("get_credit_appeal", lambda: api.call("GET", appeal_path())),
        (
            "decide_credit_appeal",
            lambda: admin.post(f"{appeal_path()}/decision", {"decision": "revoke", "reasons": "复议撤销"}),
        ),
        ("record_credit_event", lambda: record("SC-F-2")),  # blacklisted again
        ("lift_blacklists", lift_after_the_period),
    ]
