"""The contract operations of the shared scenario (tests/support/scenario.py), run inside the
purchase steps once the purchase `random` is confirmed and the sweeper has drawn `swept`: a
template, a generated contract refused then registered again and signed, and an uploaded contract
left unsigned past its deadline for the hourly task to escalate."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from marketplace.clock import FixedClock, parse_iso
from tests.conftest import Api

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
Step = tuple[str, Callable[[], Any]]
TEMPLATE = (
    "<h1>合同</h1><p>{{purchase.project_name}}：{{agency.name}}，{{amount_yuan}} 元，"
    "{{time_limit_days}} 个工作日</p>"
)


def contract_steps(api: Api, owner_id: str, item: str, ids: dict[str, str], clock: FixedClock) -> list[Step]:
    from app import app

    owner = api.as_role("owner", owner_id)
    regulator = api.as_role("regulator", "REG-1", industries=("environment",))
    path = "/purchases/{}/contract".format

    def winner(key: str) -> Any:
        return api.as_role("agency", owner.get(f"/purchases/{ids[key]}").body["result"]["selected_agency"])

    def generate(key: str) -> Any:
        body = {"generate": True, "amount_yuan": "100000.00"}
        return owner.post(path(ids[key]), body, headers={"idempotency-key": f"contract-{key}-{len(ids)}"})

    def check_after_deadline() -> Any:
        deadline = owner.get(f"/purchases/{ids['swept']}").body["contract_deadline"]
        clock.set(parse_iso(deadline) + timedelta(seconds=1))
        event = json.loads((EVENTS_DIR / "functions" / "check_contracts.schedule.json").read_text())
        return app.handler_map["check_contracts"](event, None)

    upload = {"upload": {"file_ref": "OA-2026-0042.pdf", "sha256": "ab" * 32}, "amount_yuan": "90000.00"}
    template = {"body": TEMPLATE, "effective_from": "2026-11-01"}
    return [
        (
            "put_contract_template",
            lambda: regulator.put(f"/catalogue/items/{item}/contract-template", template),
        ),
        ("get_contract_template", lambda: api.call("GET", f"/catalogue/items/{item}/contract-template")),
        ("register_contract", lambda: generate("random")),
        ("get_contract", lambda: api.call("GET", path(ids["random"]))),
        ("get_contract", lambda: owner.get(path(ids["random"]))),
        (
            "sign_contract",
            lambda: winner("random").post(
                path(ids["random"]) + "/signature", {"decision": "refuse", "reasons": "金额有误"}
            ),
        ),
        ("register_contract", lambda: owner.post(path(ids["random"]), {**upload, "amount_yuan": "95000.00"})),
        (
            "sign_contract",
            lambda: winner("random").post(path(ids["random"]) + "/signature", {"decision": "accept"}),
        ),
        ("confirm_result", lambda: owner.post(f"/purchases/{ids['swept']}/confirmation")),
        ("accept_result", lambda: winner("swept").post(f"/purchases/{ids['swept']}/acceptance")),
        ("register_contract", lambda: owner.post(path(ids["swept"]), upload)),
        ("check_contracts", check_after_deadline),
    ]
