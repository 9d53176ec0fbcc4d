"""The contract (合同, DOMAIN.md §7): templates per item, registration by the owner within the
deadline, the agency's countersignature or refusal, what the public sees, and the deadline task."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.clock import parse_iso
from tests.conftest import Api
from tests.support.market import ITEM, Market, agency_id, open_market
from tests.support.scenario import EVENTS_DIR

TEMPLATE = (
    "<h1>技术服务合同</h1><p>项目：{{purchase.project_name}}（{{purchase.project_code}}）</p>"
    "<p>委托方：{{owner.name}}</p><p>受托方：{{agency.name}}</p>"
    "<p>金额：{{ amount_yuan }} 元；期限：{{time_limit_days}} 个工作日</p>"
)
HASH = "ab" * 32


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def regulator(market: Market, industry: str = "environment") -> Any:
    return market.api.as_role("regulator", "REG-1", industries=(industry,))


def put_template(
    market: Market, body: str = TEMPLATE, effective_from: str = "2026-11-01", **extra: Any
) -> Any:
    return regulator(market).put(
        f"/catalogue/items/{ITEM}/contract-template",
        {"body": body, "effective_from": effective_from, **extra},
    )


def confirmed(market: Market) -> tuple[str, str]:
    """A purchase both parties confirmed: its id and the selected agency."""
    purchase_id = market.publish()
    for n in (1, 2, 3, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    winner = market.purchase(purchase_id)["result"]["selected_agency"]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(winner).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["status"] == "confirmed", accepted.body
    return purchase_id, winner


def generate(market: Market, purchase_id: str, **extra: Any) -> Any:
    return market.owner.post(
        f"/purchases/{purchase_id}/contract", {"generate": True, "amount_yuan": "150000.00", **extra}
    )


def upload(market: Market, purchase_id: str, sha256: str = HASH, **extra: Any) -> Any:
    body = {"upload": {"file_ref": "OA-2026-0042.pdf", "sha256": sha256}, "amount_yuan": "120000.00", **extra}
    return market.owner.post(f"/purchases/{purchase_id}/contract", body)


def run_task() -> dict[str, Any]:
    from app import app

    event = json.loads((EVENTS_DIR / "functions" / "check_contracts.schedule.json").read_text())
    return dict(app.handler_map["check_contracts"](event, None))


def deadline_of(market: Market, purchase_id: str) -> Any:
    return parse_iso(market.purchase(purchase_id)["contract_deadline"])


def test_generate_then_accept_makes_the_purchase_contracted_with_the_documents_hash(
    market: Market, published_events
) -> None:
    assert put_template(market).status == 200
    purchase_id, winner = confirmed(market)
    purchase = market.purchase(purchase_id)
    # 30 calendar days after the confirmation (17:00 on 4 December, local), to the end of that day.
    assert purchase["confirmed_at"] == "2026-12-04T09:00:01Z"
    assert purchase["contract_deadline"] == "2027-01-03T15:59:59Z"

    registered = generate(market, purchase_id)
    assert registered.status == 201, registered.body
    contract = registered.body["contract"]
    html = registered.body["document_html"]
    assert contract["status"] == "awaiting_signature" and contract["source"] == "generated"
    assert contract["template_version"] == 1 and contract["amount_yuan"] == "150000.00"
    assert hashlib.sha256(html.encode("utf-8")).hexdigest() == contract["sha256"]
    assert "测试环境咨询有限公司" + winner in html and "杭州市城市建设发展中心" in html
    assert "150000.00 元" in html and "20 个工作日" in html and "{{" not in html

    signed = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept", "sha256": contract["sha256"]}
    )
    assert signed.status == 200, signed.body
    assert signed.body["status"] == "contracted"
    assert signed.body["contract"]["status"] == "signed" and signed.body["contract"]["signed_on"]

    # The stored document is the one hashed, read back by its parties.
    read = market.owner.get(f"/purchases/{purchase_id}/contract").body
    assert read["document_html"] == html
    assert hashlib.sha256(read["document_html"].encode("utf-8")).hexdigest() == read["contract"]["sha256"]
    assert market.purchase(purchase_id)["status"] == "contracted"
    public = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert public["status"] == "contracted" and public["contract"]["sha256"] == contract["sha256"]
    types = published_events.types()
    assert types.count("ContractRegistered") == 1 and types.count("ContractSigned") == 1


def _credit_documents(agency: str) -> list[dict[str, Any]]:
    from marketplace.repositories.tables import CreditRow

    return [
        dict(r.document) for r in CreditRow.query(agency) if r.document and "credit_event_id" in r.document
    ]


def test_refusal_records_the_agencys_credit_event_tells_the_owner_and_a_new_contract_may_follow(
    market: Market, published_events
) -> None:
    from marketplace.domain.notifications import owner_inbox, plan

    purchase_id, winner = confirmed(market)
    assert upload(market, purchase_id).status == 201
    refused = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature",
        {"decision": "refuse", "reasons": "金额与承诺收费不符"},
    )
    assert refused.status == 200, refused.body
    assert refused.body["status"] == "confirmed"
    assert refused.body["contract"]["status"] == "refused"
    assert refused.body["contract"]["refusal_reasons"] == "金额与承诺收费不符"

    ledger = [d for d in _credit_documents(winner) if d["kind"] == "contract_refused"]
    assert len(ledger) == 1 and ledger[0]["purchase_id"] == purchase_id and ledger[0]["points"] < 0
    details = [e["detail"] for e in published_events.received()]
    refusal = next(d for d in details if d["event_type"] == "ContractRefused")
    told = plan(refusal, timezone="Asia/Shanghai")
    assert told is not None and owner_inbox("OW-001") in {n.recipient for n in told.notices}
    recorded = [d for d in details if d["event_type"] == "CreditEventRecorded"]
    assert [d["data"]["kind"] for d in recorded] == ["contract_refused"]

    # Refused twice is not possible; the owner registers again and the agency signs the new one.
    again = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "refuse", "reasons": "再次"}
    )
    assert again.status == 409 and again.body["state"] == "refused"
    second = upload(market, purchase_id, sha256="cd" * 32)
    assert second.status == 201, second.body
    assert second.body["contract"]["number"] == 2
    assert [c["status"] for c in second.body["contract"]["earlier"]] == ["refused"]
    signed = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"}
    )
    assert signed.status == 200 and signed.body["status"] == "contracted"
    assert signed.body["contract"]["sha256"] == "cd" * 32


def test_an_upload_with_a_bad_hash_is_refused_naming_the_field_and_nothing_is_written(market: Market) -> None:
    purchase_id, _ = confirmed(market)
    before = market.purchase(purchase_id)
    for sha256 in ("xyz", "ab" * 31, "ab" * 32 + "0"):
        reply = upload(market, purchase_id, sha256=sha256)
        assert reply.status == 422, reply.body
        assert [e["field"] for e in reply.body["errors"]] == ["upload.sha256"]
    both = market.owner.post(
        f"/purchases/{purchase_id}/contract",
        {"generate": True, "upload": {"file_ref": "x.pdf", "sha256": HASH}, "amount_yuan": "1.00"},
    )
    assert both.status == 422
    no_amount = market.owner.post(
        f"/purchases/{purchase_id}/contract", {"upload": {"file_ref": "x.pdf", "sha256": HASH}}
    )
    assert no_amount.status == 422 and no_amount.body["errors"][0]["field"] == "amount_yuan"
    too_much = upload(market, purchase_id, amount_yuan="180000.01")  # above the ceiling price
    assert too_much.status == 422 and too_much.body["errors"][0]["field"] == "amount_yuan"
    before_confirmation = upload(market, purchase_id, signing_date="2026-11-30")
    assert before_confirmation.status == 422
    assert before_confirmation.body["errors"][0]["field"] == "signing_date"
    no_template = generate(market, purchase_id)
    assert no_template.status == 409 and no_template.body["reason"] == "no_template"
    after = market.purchase(purchase_id)
    assert after["contract"] is None and after == before
    from marketplace.repositories.tables import PurchaseRow

    assert not list(PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith("CONTRACT#")))
    assert market.api.call("GET", f"/purchases/{purchase_id}/contract").body["contract"] is None


def test_only_the_owner_registers_and_only_the_selected_agency_signs(market: Market) -> None:
    purchase_id, winner = confirmed(market)
    other_owner = market.api.as_role("owner", "OW-999")
    assert other_owner.post(f"/purchases/{purchase_id}/contract", {"generate": True}).status == 403
    assert market.agency(winner).post(f"/purchases/{purchase_id}/contract", {"generate": True}).status == 403
    assert upload(market, purchase_id).status == 201
    loser = next(agency_id(n) for n in (1, 2, 3, 4) if agency_id(n) != winner)
    path = f"/purchases/{purchase_id}/contract/signature"
    assert market.agency(loser).post(path, {"decision": "accept"}).status == 403
    assert market.owner.post(path, {"decision": "accept"}).status == 403
    assert market.admin.post(path, {"decision": "accept"}).status == 403
    refusal_without_reasons = market.agency(winner).post(path, {"decision": "refuse"})
    assert refusal_without_reasons.status == 422
    assert market.purchase(purchase_id)["contract"]["status"] == "awaiting_signature"


def test_the_public_sees_that_a_contract_exists_not_its_personal_data_or_body(market: Market) -> None:
    assert put_template(market).status == 200
    purchase_id, winner = confirmed(market)
    assert generate(market, purchase_id, signing_date="2026-12-20").status == 201
    path = f"/purchases/{purchase_id}/contract"
    refused = market.agency(winner).post(
        path + "/signature", {"decision": "refuse", "reasons": "联系人张三 13900000001"}
    )
    assert refused.status == 200
    assert upload(market, purchase_id).status == 201

    loser = next(agency_id(n) for n in (1, 2, 3, 4) if agency_id(n) != winner)
    for viewer in (
        None,
        market.agency(loser),
        market.api.as_role("owner", "OW-999"),
        regulator(market, "work_safety"),
    ):
        reply = market.api.call("GET", path) if viewer is None else viewer.get(path)
        assert reply.status == 200, reply.body
        contract = reply.body["contract"]
        assert set(contract) == {
            "number",
            "status",
            "source",
            "amount_yuan",
            "sha256",
            "signed_on",
            "registered_at",
            "deadline",
        }
        assert contract["sha256"] == HASH and contract["status"] == "awaiting_signature"
        assert reply.body["document_html"] is None
        text = json.dumps(reply.body, ensure_ascii=False)
        assert "13900000001" not in text and "OA-2026-0042" not in text and "user-owner" not in text

    public_purchase = json.dumps(market.api.call("GET", f"/purchases/{purchase_id}").body, ensure_ascii=False)
    assert (
        HASH in public_purchase and "13900000001" not in public_purchase and "OA-2026" not in public_purchase
    )

    for viewer in (market.owner, market.agency(winner), market.admin, regulator(market)):
        whole = viewer.get(path).body["contract"]
        assert whole["file_ref"] == "OA-2026-0042.pdf"
        assert whole["earlier"][0]["refusal_reasons"] == "联系人张三 13900000001"


def test_two_signatures_at_once_one_wins(market: Market, published_events) -> None:
    purchase_id, winner = confirmed(market)
    assert upload(market, purchase_id).status == 201
    agency = market.agency(winner)
    path = f"/purchases/{purchase_id}/contract/signature"
    bodies = [{"decision": "accept"}, {"decision": "refuse", "reasons": "不同意"}] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda body: agency.post(path, body), bodies))
    assert sorted(r.status for r in replies).count(200) == 1, [(r.status, r.body) for r in replies]
    assert {r.status for r in replies} == {200, 409}
    types = [e["detail-type"] for e in published_events.received()]
    assert types.count("ContractSigned") + types.count("ContractRefused") == 1
    assert len(_credit_documents(winner)) == types.count("ContractRefused")


def test_replacing_a_contract_the_agency_has_not_signed_and_signing_what_was_read(market: Market) -> None:
    purchase_id, winner = confirmed(market)
    first = upload(market, purchase_id).body["contract"]
    second = upload(market, purchase_id, sha256="ef" * 32)
    assert second.status == 201
    contract = second.body["contract"]
    assert contract["number"] == 2 and contract["earlier"][0]["replaced_at"]
    assert contract["earlier"][0]["sha256"] == first["sha256"]
    path = f"/purchases/{purchase_id}/contract/signature"
    stale = market.agency(winner).post(path, {"decision": "accept", "sha256": first["sha256"]})
    assert stale.status == 409 and stale.body["reason"] == "contract_changed"
    assert market.agency(winner).post(path, {"decision": "accept", "sha256": "EF" * 32}).status == 200


def test_an_idempotency_key_returns_the_first_registration(market: Market, published_events) -> None:
    purchase_id, _ = confirmed(market)
    key = {"idempotency-key": "contract-1"}
    body = {"upload": {"file_ref": "a.pdf", "sha256": HASH}, "amount_yuan": "100.00"}
    first = market.owner.post(f"/purchases/{purchase_id}/contract", body, headers=key)
    again = market.owner.post(f"/purchases/{purchase_id}/contract", body, headers=key)
    assert first.status == again.status == 201 and first.body == again.body
    assert market.purchase(purchase_id)["contract"]["number"] == 1
    types = [e["detail-type"] for e in published_events.received()]
    assert types.count("ContractRegistered") == 1


def test_past_the_deadline_registration_is_refused_with_the_deadline(market: Market) -> None:
    purchase_id, _ = confirmed(market)
    deadline = deadline_of(market, purchase_id)
    market.clock.set(deadline)
    assert upload(market, purchase_id).status == 201  # until its last second
    market.clock.set(deadline + timedelta(seconds=1))
    late = upload(market, purchase_id, sha256="cd" * 32)
    assert late.status == 409, late.body
    assert (
        late.body["reason"] == "late"
        and late.body["deadline"] == market.purchase(purchase_id)["contract_deadline"]
    )
    assert market.purchase(purchase_id)["contract"]["sha256"] == HASH


def test_reminders_come_once_each_and_the_owners_silence_escalates_once_without_an_agency_penalty(
    market: Market, published_events
) -> None:
    from marketplace.domain.notifications import ADMINS, agency_inbox, owner_inbox, plan

    purchase_id, winner = confirmed(market)
    deadline = deadline_of(market, purchase_id)
    market.clock.set(deadline - timedelta(days=8))
    assert run_task() == {"reminded": [], "escalated": [], "failed": {}}
    market.clock.set(deadline - timedelta(days=7) + timedelta(hours=1))
    assert run_task()["reminded"] == [purchase_id]
    assert run_task()["reminded"] == []  # once per threshold
    market.clock.set(deadline - timedelta(hours=20))
    assert run_task()["reminded"] == [purchase_id]
    assert run_task()["reminded"] == []
    market.clock.set(deadline + timedelta(minutes=30))
    assert run_task()["escalated"] == [purchase_id]
    assert run_task() == {"reminded": [], "escalated": [], "failed": {}}

    purchase = market.purchase(purchase_id)
    assert purchase["contract_escalated_at"] and purchase["status"] == "confirmed"
    details = [e["detail"] for e in published_events.received()]
    reminders = [d for d in details if d["event_type"] == "ContractReminder"]
    assert [r["data"]["days_left"] for r in reminders] == [7, 1]
    assert {r["data"]["waiting_for"] for r in reminders} == {"owner"}
    told = plan(reminders[0], timezone="Asia/Shanghai")
    assert told is not None
    assert {n.recipient for n in told.notices} == {owner_inbox("OW-001"), agency_inbox(winner)}
    escalations = [d for d in details if d["event_type"] == "ContractEscalated"]
    assert len(escalations) == 1 and escalations[0]["data"]["at_fault"] == "owner"
    told = plan(escalations[0], timezone="Asia/Shanghai")
    assert told is not None and ADMINS in {n.recipient for n in told.notices}
    assert not [d for d in details if d["event_type"] == "CreditEventRecorded"]
    assert _credit_documents(winner) == []
    late = upload(market, purchase_id)
    assert late.status == 409 and late.body["reason"] == "late"


def test_a_contract_the_agency_left_unsigned_escalates_with_contract_late_once(
    market: Market, published_events
) -> None:
    purchase_id, winner = confirmed(market)
    assert upload(market, purchase_id).status == 201
    deadline = deadline_of(market, purchase_id)
    market.clock.set(deadline + timedelta(hours=1))
    assert run_task()["escalated"] == [purchase_id]  # the reminders it missed are not sent late
    assert run_task()["escalated"] == []
    details = [e["detail"] for e in published_events.received()]
    assert [d["data"]["at_fault"] for d in details if d["event_type"] == "ContractEscalated"] == ["agency"]
    assert not [d for d in details if d["event_type"] == "ContractReminder"]
    late = [d for d in _credit_documents(winner) if d["kind"] == "contract_late"]
    assert len(late) == 1 and late[0]["purchase_id"] == purchase_id
    # Signing late is still possible (the lateness is recorded): the purchase goes on.
    signed = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"}
    )
    assert signed.status == 200 and signed.body["status"] == "contracted"
    assert signed.body["escalated_at"]


def test_the_contract_task_reads_only_its_own_due_purchases_and_a_signed_contract_leaves_none(
    market: Market,
) -> None:
    from marketplace.repositories.tables import PurchaseRow

    purchase_id, winner = confirmed(market)
    row = PurchaseRow.get(purchase_id, "PURCHASE")
    deadline = deadline_of(market, purchase_id)
    assert row.due == "CONTRACT" and parse_iso(row.due_at) == deadline - timedelta(days=7)
    assert upload(market, purchase_id).status == 201
    signed = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"}
    )
    assert signed.status == 200
    row = PurchaseRow.get(purchase_id, "PURCHASE")
    assert row.due is None and row.due_at is None
    market.clock.set(deadline + timedelta(days=1))
    assert run_task() == {"reminded": [], "escalated": [], "failed": {}}


def test_template_versions_history_and_the_version_in_force_is_the_one_used(market: Market) -> None:
    assert put_template(market, effective_from="2026-11-01").status == 200
    future = put_template(
        market, body="<p>新版 {{agency.name}}</p>", effective_from="2027-06-01", change_note="新范本"
    )
    assert future.status == 200 and future.body["version"] == 2
    read = market.api.call("GET", f"/catalogue/items/{ITEM}/contract-template")
    assert read.status == 200
    assert read.body["template"]["version"] == 2 and read.body["in_force"] == 1
    assert [v["version"] for v in read.body["history"]] == [1, 2]
    first = market.api.call("GET", f"/catalogue/items/{ITEM}/contract-template?version=1").body["template"]
    assert first["body"] == TEMPLATE and "agency.name" in first["placeholders"]
    assert market.api.call("GET", f"/catalogue/items/{ITEM}/contract-template?version=3").status == 404

    purchase_id, _ = confirmed(market)
    contract = generate(market, purchase_id)
    assert contract.status == 201 and contract.body["contract"]["template_version"] == 1
    assert "新版" not in contract.body["document_html"]

    earlier = put_template(market, effective_from="2026-10-01")
    assert earlier.status == 422 and earlier.body["errors"][0]["field"] == "effective_from"
    stale = put_template(market, effective_from="2027-07-01", expected_version=1)
    assert stale.status == 409


def test_template_placeholders_are_checked_and_values_escaped(market: Market) -> None:
    unknown = put_template(market, body="<p>{{agency.name}} {{agency.phone}} {{ secret }}</p>")
    assert unknown.status == 422, unknown.body
    assert unknown.body["unknown"] == ["agency.phone", "secret"]
    assert (
        unknown.body["errors"][0]["field"] == "body"
        and "agency.phone" in unknown.body["errors"][0]["message"]
    )
    assert market.api.call("GET", f"/catalogue/items/{ITEM}/contract-template").status == 404

    assert put_template(market, body="<p>{{purchase.project_name}}</p>").status == 200
    purchase_id = market.publish(title="<script>alert(1)</script> & 改造")
    for n in (1, 2, 3, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.close_and_select(purchase_id)
    winner = market.purchase(purchase_id)["result"]["selected_agency"]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    assert market.agency(winner).post(f"/purchases/{purchase_id}/acceptance").status == 200
    html = generate(market, purchase_id).body["document_html"]
    assert html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; 改造</p>"


def test_only_the_items_regulator_or_the_admin_keeps_its_template(market: Market) -> None:
    path = f"/catalogue/items/{ITEM}/contract-template"
    body = {"body": TEMPLATE, "effective_from": "2026-11-01"}
    assert regulator(market, "work_safety").put(path, body).status == 403
    assert market.owner.put(path, body).status == 403
    assert market.agency(agency_id(1)).put(path, body).status == 403
    assert market.api.call("PUT", path, body).status == 401
    assert market.api.call("GET", path).status == 404  # nothing written
    assert market.admin.put(path, body).status == 200
    assert market.api.as_role("admin").put("/catalogue/items/ZZ-NO-999/contract-template", body).status == 404


def test_two_template_writes_at_once_take_different_versions_or_fail(market: Market) -> None:
    path = f"/catalogue/items/{ITEM}/contract-template"
    bodies = [{"body": f"<p>{n} {{{{agency.name}}}}</p>", "effective_from": "2026-11-01"} for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda body: market.admin.put(path, body), bodies))
    assert {r.status for r in replies} <= {200, 409}
    versions = [r.body["version"] for r in replies if r.status == 200]
    assert len(versions) == len(set(versions)) >= 1
    history = market.api.call("GET", path).body["history"]
    assert [v["version"] for v in history] == sorted(versions) == list(range(1, len(versions) + 1))


def test_a_shorter_regional_contract_period_sets_the_deadline_and_reminds_with_the_days_really_left(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    from marketplace.settings import reset_settings

    monkeypatch.setenv("RULE_CONTRACT_DAYS", "3")
    reset_settings()
    try:
        purchase_id, _ = confirmed(market)
        purchase = market.purchase(purchase_id)
        deadline = parse_iso(purchase["contract_deadline"])
        assert purchase["contract_deadline"] == "2026-12-07T15:59:59Z"  # 3 days on, the end of that local day
        market.clock.set(parse_iso(purchase["confirmed_at"]) + timedelta(hours=1))
        assert run_task()["reminded"] == [purchase_id]  # the 7-day reminder's time had already come
        market.clock.set(deadline - timedelta(hours=3))
        assert run_task()["reminded"] == [purchase_id]
        assert run_task()["reminded"] == []
    finally:
        monkeypatch.delenv("RULE_CONTRACT_DAYS")
        reset_settings()
    reminders = [
        e["detail"]["data"] for e in published_events.received() if e["detail-type"] == "ContractReminder"
    ]
    assert [r["days_left"] for r in reminders] == [4, 1]  # 3 days and 7 hours, rounded up; then 3 hours


def test_two_registrations_at_once_register_one_contract(market: Market, published_events) -> None:
    purchase_id, _ = confirmed(market)
    hashes = [f"{n:02x}" * 32 for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda sha256: upload(market, purchase_id, sha256=sha256), hashes))
    statuses = sorted(r.status for r in replies)
    assert set(statuses) <= {201, 409} and 201 in statuses, [(r.status, r.body) for r in replies]
    contract = market.purchase(purchase_id)["contract"]
    # Each registration that won replaced the one before it, in turn: the numbers are a sequence.
    won = statuses.count(201)
    assert contract["number"] == won and len(contract["earlier"]) == won - 1
    from marketplace.repositories.tables import PurchaseRow

    documents = list(PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith("CONTRACT#")))
    assert [r.sk for r in documents] == [f"CONTRACT#{n:06d}" for n in range(1, won + 1)]
    types = [e["detail-type"] for e in published_events.received()]
    assert types.count("ContractRegistered") == won


def test_a_refusal_after_the_deadline_lets_the_owner_register_anew_once(market: Market) -> None:
    purchase_id, winner = confirmed(market)
    assert upload(market, purchase_id).status == 201
    market.clock.set(deadline_of(market, purchase_id) + timedelta(days=2))
    refused = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "refuse", "reasons": "金额与报价不符"}
    )
    assert refused.status == 200, refused.body
    again = upload(market, purchase_id, sha256="cd" * 32)
    assert again.status == 201, again.body  # not stuck in `confirmed` for good
    assert market.purchase(purchase_id)["contract"]["sha256"] == "cd" * 32
    replaced = upload(market, purchase_id, sha256="ef" * 32)
    assert replaced.status == 409 and replaced.body["reason"] == "late"  # only after such a refusal
