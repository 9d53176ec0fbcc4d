"""After the award, as clients live it over real HTTP against the local stack: a confirmed purchase
goes through contract, delivery, completion and evaluation, and the agency's public credit profile
changes because of it; a challenge suspends a purchase's window, which later resumes with the time it
had left and closes by itself; a blacklisted agency is refused at enrollment with the reason.

The stack is shared by the session: every id here is unique to this run."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from marketplace.clock import parse_iso, stamp
from tests.e2e.http_client import Client, admit, until
from tests.support.market import purchase_request
from tests.support.samples import catalogue_item, owner_profile, unique_credit_code

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8].upper()
WINDOW_SECONDS = 20
TEMPLATE = (
    "<h1>技术服务合同</h1><p>委托方：{{owner.name}}</p><p>受托方：{{agency.name}}</p>"
    "<p>项目：{{purchase.project_name}}，金额 {{amount_yuan}} 元，期限 {{time_limit_days}} 天。</p>"
)


def _today() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _market(stack: Any, name: str, agencies: int) -> tuple[str, str, list[str]]:
    """A new item with its contract template, a registered owner and admitted agencies."""
    item, owner = f"E2E-{name}-{RUN}", f"E2E-OW-{name}-{RUN}"
    admin = Client(stack.api, stack.token("admin"))
    assert admin.post("/catalogue/items", catalogue_item(item)).status_code == 201
    template = admin.put(
        f"/catalogue/items/{item}/contract-template", {"body": TEMPLATE, "effective_from": _today()}
    )
    assert template.status_code in (200, 201), template.text
    owner_client = Client(stack.api, stack.token("owner", owner))
    assert owner_client.post("/owners", owner_profile(unique_credit_code("11330100")[:16])).status_code == 201
    ids = [f"E2E-AG-{name}-{RUN}-{n}" for n in range(1, agencies + 1)]
    for agency in ids:
        admit(stack, agency, item)
    return item, owner, ids


def _publish(stack: Any, owner: str, item: str, window: int, code: str) -> str:
    deadline = stamp(datetime.now(UTC) + timedelta(seconds=window))
    body = purchase_request(
        project_code=f"2026-330106-{code}",
        item_code=item,
        funding_type="private",
        amount_yuan="98000.00",
        enrollment_deadline=deadline,
        selection_time=deadline,
    )
    client = Client(stack.api, stack.token("owner", owner))
    drafted = client.post("/purchases", body)
    assert drafted.status_code == 201, drafted.text
    purchase_id = drafted.json()["purchase_id"]
    published = client.post(f"/purchases/{purchase_id}/submit")
    assert published.status_code == 200 and published.json()["status"] == "enrollment_open", published.text
    return purchase_id


def _enroll(stack: Any, purchase_id: str, agency: str) -> Any:
    return Client(stack.api, stack.token("agency", agency)).post(f"/purchases/{purchase_id}/enrollments")


def _status(stack: Any, purchase_id: str) -> str:
    return Client(stack.api).get(f"/purchases/{purchase_id}").json()["status"]


def test_a_confirmed_purchase_through_contract_delivery_and_evaluation_changes_the_public_credit_profile(
    local_stack,
) -> None:
    stack = local_stack
    public = Client(stack.api)
    item, owner_id, agencies = _market(stack, "AA", 2)
    owner = Client(stack.api, stack.token("owner", owner_id))
    purchase_id = _publish(stack, owner_id, item, WINDOW_SECONDS, f"AA{RUN}")
    for agency in agencies:
        assert _enroll(stack, purchase_id, agency).status_code == 201
    page = until(
        lambda: (p := public.get(f"/purchases/{purchase_id}").json())["status"] == "selected" and p,
        timeout=WINDOW_SECONDS + 60,
        what="the window to close and the draw to run",
    )
    winner = page["result"]["selected_agency"]
    agency = Client(stack.api, stack.token("agency", winner))
    before = public.get(f"/agencies/{winner}/credit").json()
    assert owner.post(f"/purchases/{purchase_id}/confirmation").status_code == 200
    assert agency.post(f"/purchases/{purchase_id}/acceptance").status_code == 200
    assert _status(stack, purchase_id) == "confirmed"

    # The contract: generated from the item's template, countersigned by the agency.
    registered = owner.post(
        f"/purchases/{purchase_id}/contract", {"generate": True, "amount_yuan": "96000.00"}
    )
    assert registered.status_code == 201, registered.text
    contract = registered.json()
    assert contract["document_html"] and winner in contract["contract"]["agency_id"]
    signed = agency.post(f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"})
    assert signed.status_code == 200, signed.text
    assert _status(stack, purchase_id) == "contracted"
    shown = public.get(f"/purchases/{purchase_id}/contract").json()
    assert shown["contract"]["sha256"] == contract["contract"]["sha256"]
    assert shown["document_html"] is None  # the public sees that it exists, not the document

    # Delivery, completion, the owner's and the regulator's ratings.
    delivered = agency.post(
        f"/purchases/{purchase_id}/delivery",
        {"report_number": f"HP-{RUN}", "file_sha256": "ab" * 32},
    )
    assert delivered.status_code == 201, delivered.text
    completed = owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})
    assert completed.status_code == 200, completed.text
    assert _status(stack, purchase_id) == "completed"
    ratings = {"quality": 5, "timeliness": 5, "attitude": 5, "fee_reasonableness": 4, "standards": 5}
    rated = owner.post(f"/purchases/{purchase_id}/evaluations", {**ratings, "comment": "报告质量高"})
    assert rated.status_code == 201, rated.text
    again = owner.post(f"/purchases/{purchase_id}/evaluations", {**ratings, "comment": "再评一次"})
    assert again.status_code == 409  # once
    regulator = Client(stack.api, stack.token("regulator", "RG-ENV", industries=("environment",)))
    output = regulator.post(f"/purchases/{purchase_id}/evaluations", {"output_quality": 5, "comment": "合规"})
    assert output.status_code == 201, output.text
    assert _status(stack, purchase_id) == "evaluated"
    evaluations = public.get(f"/purchases/{purchase_id}/evaluations").json()
    assert "RG-ENV" not in str(evaluations)  # no rater's identity beyond its role

    # The public credit profile changed because of it, and the agency was told, with a link to it.
    after = public.get(f"/agencies/{winner}/credit").json()
    assert after["completed_purchases"] == before["completed_purchases"] + 1
    assert after["score"] > before["score"]
    kinds = {e["kind"] for e in after["events"]}
    assert {"completion", "owner_evaluation", "regulator_evaluation"} <= kinds
    assert {e["dimension"] for e in after["evaluations"]} >= set(ratings)
    assert len(after["history"]) > len(before["history"])
    inbox = until(
        lambda: [
            n
            for n in agency.get("/me/notifications?limit=100").json()["items"]
            if n["event_type"] == "CreditEventRecorded"
        ],
        timeout=30,
        what="the credit event in the agency's inbox",
    )
    assert inbox[0]["link"] == f"/agencies/{winner}/credit"
    assert public.get(inbox[0]["link"]).status_code == 200

    # statistics (issue 12): the district's figures, kept from the events by their consumer; the
    # item is this run's alone. Published, enrolled twice, selected, confirmed, contracted for
    # 96000 of a 98000 ceiling, completed and rated by both raters.
    month = _today()[:7]
    by_item = f"/statistics?group_by=item&from={month}&to={month}"
    (figures,) = until(
        lambda: [
            g
            for g in public.get(by_item).json()["groups"]
            if g["value"] == item and g["evaluations"]["regulator"]["evaluations"] == 1
        ],
        timeout=30,
        what="the statistics consumer to fold the purchase's events",
    )
    assert (figures["published"], figures["deals"], figures["deal_rate"], figures["enrollments"]) == (
        1,
        1,
        1.0,
        2,
    )
    assert figures["cycle_times"]["total"]["purchases"] == 1
    assert figures["evaluations"]["owner"]["mean_rating"] == 4.8
    assert figures["savings"]["savings_yuan"] == "2000.00"
    as_csv = requests.get(stack.api + by_item, headers={"Accept": "text/csv"}, timeout=30)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0].startswith("group_by,value,from_month,to_month,published")
    assert any(line.startswith(f"item,{item},") for line in as_csv.text.splitlines())


def test_a_challenge_suspends_the_window_which_resumes_with_the_time_it_had_left(local_stack) -> None:
    stack = local_stack
    public = Client(stack.api)
    item, owner_id, agencies = _market(stack, "CH", 3)
    first, second, blacklisted = agencies
    owner = Client(stack.api, stack.token("owner", owner_id))
    purchase_id = _publish(stack, owner_id, item, WINDOW_SECONDS, f"CH{RUN}")
    deadline = parse_iso(public.get(f"/purchases/{purchase_id}").json()["enrollment_deadline"])

    # A regulator's finding of serious dishonesty blacklists the third agency: refused, with why.
    regulator = Client(stack.api, stack.token("regulator", "RG-ENV", industries=("environment",)))
    finding = regulator.post(
        f"/agencies/{blacklisted}/credit/events",
        {
            "kind": "serious_dishonesty",
            "reason": "出具虚假评价报告",
            "basis": "《中介服务机构信用管理办法》第十二条",
            "decision_number": f"浙环罚〔2026〕{RUN}号",
            "occurred_on": _today(),
        },
    )
    assert finding.status_code == 201, finding.text
    refused = _enroll(stack, purchase_id, blacklisted)
    assert refused.status_code == 403, refused.text
    reasons = {r["code"]: r["message"] for r in refused.json()["reasons"]}
    assert "黑名单" in reasons["blacklisted"] and "until" in reasons["blacklisted"]
    assert "item_suspended" in reasons  # expelled (清退) from its items for the period
    profile = public.get(f"/agencies/{blacklisted}/credit").json()
    assert profile["blacklisted"] is True and profile["blacklisted_until"]

    # The first agency enrolls and challenges the announcement; the owner accepts: suspended.
    assert _enroll(stack, purchase_id, first).status_code == 201
    challenge = Client(stack.api, stack.token("agency", first)).post(
        f"/purchases/{purchase_id}/challenges",
        {"subject": "announcement", "grounds": ["资格条件超出事项要求"], "reasons": "公告要求的资质等级过高"},
    )
    assert challenge.status_code == 201, challenge.text
    challenge_id = challenge.json()["challenge_id"]
    answered = owner.post(
        f"/challenges/{challenge_id}/answer", {"decision": "accept", "answer": "接受，暂停并修正"}
    )
    assert answered.status_code == 200, answered.text
    suspended_at = datetime.now(UTC)
    assert _status(stack, purchase_id) == "suspended"
    assert _enroll(stack, purchase_id, second).json()["reason"] == "suspended"
    listed = public.get(f"/purchases/{purchase_id}/challenges").json()["items"]
    assert first not in str(listed)  # the public does not learn who challenged

    # The original deadline passes while suspended: the window does not close.
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 3)
    assert _status(stack, purchase_id) == "suspended"

    # Resumed: the deadline moves by the time suspended, the second agency may still enroll.
    resumed = owner.post(f"/purchases/{purchase_id}/resumption", {"note": "资格条件已修正"})
    assert resumed.status_code == 200, resumed.text
    suspended_for = datetime.now(UTC) - suspended_at
    new_deadline = parse_iso(resumed.json()["enrollment_deadline"])
    moved = new_deadline - deadline
    assert abs((moved - suspended_for).total_seconds()) < 5, (moved, suspended_for)
    assert resumed.json()["status"] == "enrollment_open"
    assert _enroll(stack, purchase_id, second).status_code == 201

    # Nobody closes it: the new execution waits for the new deadline, then closes and draws.
    until(
        lambda: _status(stack, purchase_id) == "selected",
        timeout=(new_deadline - datetime.now(UTC)).total_seconds() + 60,
        what="the resumed window to close and the draw to run",
    )
    proof = public.get(f"/purchases/{purchase_id}/draw").json()
    assert parse_iso(proof["drawn_at"]) >= new_deadline
    assert proof["candidates"] == sorted([first, second])
