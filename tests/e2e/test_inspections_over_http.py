"""A random inspection (双随机、一公开) over real HTTP against the local stack: a regulator keeps its
staff list and plans an inspection whose commitment is public at once; nobody triggers the draw:
the minute task (every 1.2 s at the stack's time scale) draws it at its time; the proof recomputes
with `python -m marketplace.verify_draw <URL>`; a result is recorded and public; the agency is told.

The stack is shared by the session: the industry, item and agencies here are unique to this run, so
the frozen candidates are exactly this test's agencies."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from marketplace.clock import stamp
from marketplace.domain import draw
from tests.e2e.http_client import Client, until
from tests.support.samples import agency_profile, catalogue_item, unique_credit_code

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
INDUSTRY = f"e2e_inspection_{RUN}"
ITEM = f"E2E-IN-{RUN.upper()}"
REGULATOR = f"E2E-RG-{RUN.upper()}"
STAFF = [f"E2E-{RUN.upper()}-{n:02d}" for n in range(1, 7)]
DRAW_IN_SECONDS = 6
ROOT = Path(__file__).resolve().parents[2]


def _admit(stack: Any, agency: str) -> None:
    profile = agency_profile()
    profile["legal_entity"]["credit_code"] = unique_credit_code("91330106")
    profile["legal_entity"]["name"] = f"浙江抽查测试咨询有限公司{agency[-2:]}"
    profile["offerings"][0]["item_code"] = ITEM
    assert Client(stack.api, stack.token("agency", agency)).post("/agencies", profile).status_code == 201
    approve = {"submission": 1, "decision": "approve"}
    for reviewer in (stack.token("admin"), stack.token("regulator", REGULATOR, industries=(INDUSTRY,))):
        reply = Client(stack.api, reviewer).post(f"/agencies/{agency}/reviews", approve)
        assert reply.status_code == 200, reply.text


def test_an_inspection_is_drawn_at_its_time_and_the_draw_recomputes(local_stack) -> None:
    stack = local_stack
    admin, public = Client(stack.api, stack.token("admin")), Client(stack.api)
    regulator = Client(stack.api, stack.token("regulator", REGULATOR, industries=(INDUSTRY,)))
    assert admin.post("/catalogue/items", catalogue_item(ITEM, industry=INDUSTRY)).status_code == 201
    agencies = [f"E2E-IA-{RUN.upper()}-{n}" for n in range(1, 5)]
    for agency in agencies:
        _admit(stack, agency)
    assert regulator.put("/inspections/inspectors", {"inspectors": STAFF}).status_code == 200

    # Planned: the candidates frozen, the commitment public, no proof yet.
    plan = {
        "industry": INDUSTRY,
        "title": "双随机抽查（端到端）",
        "basis": "《建设项目环境影响评价技术服务机构监督管理办法》",
        "agencies": 2,
        "inspectors": 4,
        "draw_at": stamp(datetime.now(UTC) + timedelta(seconds=DRAW_IN_SECONDS)),
    }
    created = regulator.post("/inspections", plan)
    assert created.status_code == 201, created.text
    inspection_id, commitment = created.json()["inspection_id"], created.json()["commitment"]
    assert created.json()["agency_candidates"] == sorted(agencies)
    assert public.get(f"/inspections/{inspection_id}/draw").status_code == 404
    assert public.get(f"/inspections/{inspection_id}").json()["commitment"] == commitment

    # Nobody draws it: the minute task does, once its time has come.
    page = until(
        lambda: (p := public.get(f"/inspections/{inspection_id}").json())["status"] == "drawn" and p,
        timeout=DRAW_IN_SECONDS + 60,
        what="the draw task to draw the inspection",
    )
    proof = public.get(f"/inspections/{inspection_id}/draw").json()
    assert proof["commitment"] == commitment == draw.commitment(bytes.fromhex(proof["seed"]))
    assert proof["agencies"]["winners"] == page["drawn_agencies"]
    cli = subprocess.run(
        [sys.executable, "-m", "marketplace.verify_draw", f"{stack.api}/inspections/{inspection_id}/draw"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers" / "common" / "python"), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert cli.returncode == 0 and cli.stdout.startswith("valid"), cli.stdout + cli.stderr

    # A result, public; the agency is told it was drawn and its result.
    agency = page["drawn_agencies"][0]
    result = {
        "agency_id": agency,
        "outcome": "problems_found",
        "problems": ["环评报告引用数据未注明来源"],
        "correct_by": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
    }
    recorded = regulator.post(f"/inspections/{inspection_id}/results", result)
    assert recorded.status_code == 201, recorded.text
    assert public.get(f"/inspections/{inspection_id}").json()["results"][0]["agency_id"] == agency
    inbox = Client(stack.api, stack.token("agency", agency))
    until(
        lambda: (
            {"InspectionDrawn", "InspectionResultRecorded"}
            <= {n["event_type"] for n in inbox.get("/me/notifications?limit=100").json()["items"]}
        ),
        timeout=30,
        what="the agency's notices",
    )
