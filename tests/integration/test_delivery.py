"""Delivery and completion (履约, DOMAIN.md §7): the contracted agency reports the service
delivered; the owner accepts or disputes within the configured working days; silence accepts.
The time from the contract's signature is kept against the offering's promised time limit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.clock import parse_iso
from marketplace.domain import notifications
from tests.conftest import Api
from tests.support.after_award import REPORT, SHA, SIGNED, confirmed, contracted, credit_events, delivered
from tests.support.market import OWNER, Market, agency_id, open_market
from tests.support.schemas import EVENTS_DIR


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _silence_task() -> dict[str, Any]:
    from app import app

    event = json.loads((EVENTS_DIR / "functions" / "complete_silent_deliveries.schedule.json").read_text())
    return dict(app.handler_map["complete_silent_deliveries"](event, None))


def _others(winner: str) -> str:
    return next(agency_id(n) for n in (1, 2, 3) if agency_id(n) != winner)


def test_delivery_then_acceptance_completes_the_purchase_and_records_it(
    market: Market, published_events
) -> None:
    purchase_id, winner = contracted(market)
    market.clock.set(SIGNED + timedelta(days=9))  # Wednesday 16 December: 7 working days later

    delivery = delivered(market, purchase_id, winner)

    assert delivery["status"] == "reported" and delivery["report_number"] == REPORT["report_number"]
    assert delivery["file_sha256"] == SHA and delivery["file_ref"] == REPORT["file_ref"]
    assert delivery["contracted_at"] == "2026-12-07T02:00:00Z"
    assert delivery["working_days_taken"] == 7 and delivery["time_limit_working_days"] == 20
    assert delivery["late"] is False
    # 10 working days (the default rule) after Wednesday 16 December, the end of that local day.
    assert delivery["completion_deadline"] == "2026-12-30T15:59:59Z"
    public = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert public["status"] == "contracted"
    assert public["performance"]["delivery_status"] == "reported" and public["performance"]["late"] is False

    accepted = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})

    assert accepted.status == 200, accepted.body
    assert accepted.body["status"] == "accepted" and accepted.body["accepted_by_silence"] is False
    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "completed"
    assert purchase["performance"]["completed_at"] == accepted.body["decided_at"]
    (completion,) = credit_events(winner, "completion")
    assert completion["points"] == 0 and completion["purchase_id"] == purchase_id
    assert credit_events(winner, "delivery_late") == []
    types = published_events.types()  # each checked against its schema as it is read
    for wanted in ("DeliveryReported", "PurchaseCompleted", "CreditEventRecorded"):
        assert types.count(wanted) == 1, (wanted, types)

    again = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})
    assert again.status == 409 and again.body["state"] == "completed"
    assert len(credit_events(winner, "completion")) == 1


def test_a_delivery_after_the_promised_time_limit_records_delivery_late_once(market: Market) -> None:
    purchase_id, winner = contracted(market)
    market.clock.set(SIGNED + timedelta(days=40))  # Saturday 16 January 2027: past 20 working days

    delivery = delivered(market, purchase_id, winner)

    assert delivery["late"] is True and delivery["working_days_taken"] > 20
    assert delivery["promised_by"] < delivery["reported_at"]
    (late,) = credit_events(winner, "delivery_late")
    assert late["points"] == -3 and late["purchase_id"] == purchase_id
    assert late["cause"] == {"type": "delivery", "id": purchase_id, "purchase_id": purchase_id}

    disputed = market.owner.post(
        f"/purchases/{purchase_id}/completion", {"decision": "dispute", "reasons": "缺少监测数据"}
    )
    assert disputed.status == 200 and disputed.body["status"] == "disputed"
    again = delivered(market, purchase_id, winner)  # re-delivered, still late: not recorded twice

    assert again["late"] is True and again["reports"] == 2
    assert len(credit_events(winner, "delivery_late")) == 1


def test_lateness_is_held_to_the_time_limit_promised_when_the_contract_was_registered(market: Market) -> None:
    from marketplace.repositories.tables import AgencyRow

    purchase_id, winner = contracted(market)
    assert market.purchase(purchase_id)["contract"]["time_limit_working_days"] == 20
    profile = AgencyRow.get(winner, "PROFILE")  # the agency lengthens its offering's limit afterwards
    for offering in profile.document["record"]["offerings"]:
        offering["time_limit_working_days"] = 60
    profile.save()
    market.clock.set(SIGNED + timedelta(days=40))  # past the 20 working days promised

    delivery = delivered(market, purchase_id, winner)

    assert delivery["late"] is True and delivery["time_limit_working_days"] == 20
    assert len(credit_events(winner, "delivery_late")) == 1


def test_a_disputed_delivery_is_reported_again_and_the_agency_is_told(
    market: Market, published_events
) -> None:
    purchase_id, winner = contracted(market)
    first = delivered(market, purchase_id, winner)

    disputed = market.owner.post(
        f"/purchases/{purchase_id}/completion", {"decision": "dispute", "reasons": "报告缺少噪声监测数据"}
    )

    assert disputed.status == 200, disputed.body
    assert (
        disputed.body["status"] == "disputed" and disputed.body["dispute_reasons"] == "报告缺少噪声监测数据"
    )
    assert market.purchase(purchase_id)["status"] == "contracted"
    refused = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})
    assert refused.status == 409 and refused.body["state"] == "disputed"  # the delivery's state

    fixed = {**REPORT, "report_number": "HP-2026-0042-R1", "file_sha256": "a" * 64}
    again = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", fixed)

    assert again.status == 201, again.body
    assert again.body["status"] == "reported" and again.body["reports"] == 2
    (earlier,) = again.body["earlier"]
    assert earlier["report_number"] == first["report_number"]
    assert earlier["dispute"]["reasons"] == "报告缺少噪声监测数据"
    twice = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", fixed)
    assert twice.status == 409 and twice.body["state"] == "reported"
    assert market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"}).status == 200
    received = published_events.received()
    types = [e["detail-type"] for e in received]
    assert types.count("DeliveryReported") == 2 and types.count("DeliveryDisputed") == 1
    (dispute,) = [e["detail"] for e in received if e["detail-type"] == "DeliveryDisputed"]
    plan = notifications.plan(dispute, timezone="Asia/Shanghai")
    assert plan is not None and [n.recipient for n in plan.notices] == [notifications.agency_inbox(winner)]
    assert "报告缺少噪声监测数据" in plan.notices[0].text


def test_silence_completes_the_purchase_after_the_configured_working_days_once(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    from marketplace.settings import reset_settings

    monkeypatch.setenv("RULE_COMPLETION_WORKING_DAYS", "3")
    reset_settings()
    try:
        purchase_id, winner = contracted(market)
        delivery = delivered(market, purchase_id, winner)  # Monday 7 December
        assert delivery["completion_deadline"] == "2026-12-10T15:59:59Z"  # 3 working days: Thursday

        market.clock.set(parse_iso(delivery["completion_deadline"]) - timedelta(seconds=1))
        assert _silence_task() == {"completed": [], "failed": []}  # the window has not ended
        assert market.purchase(purchase_id)["status"] == "contracted"

        market.clock.set(parse_iso(delivery["completion_deadline"]) + timedelta(seconds=1))
        assert _silence_task() == {"completed": [purchase_id], "failed": []}
        assert _silence_task() == {"completed": [], "failed": []}  # once
    finally:
        monkeypatch.delenv("RULE_COMPLETION_WORKING_DAYS")
        reset_settings()

    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "completed" and purchase["performance"]["accepted_by_silence"] is True
    assert len(credit_events(winner, "completion")) == 1
    assert published_events.types().count("PurchaseCompleted") == 1
    late = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "dispute", "reasons": "x"})
    assert late.status == 409 and late.body["state"] == "completed"


def test_the_owner_cannot_dispute_after_the_window_even_before_the_task_runs(market: Market) -> None:
    purchase_id, winner = contracted(market)
    delivery = delivered(market, purchase_id, winner)
    market.clock.set(parse_iso(delivery["completion_deadline"]) + timedelta(seconds=1))

    late = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "dispute", "reasons": "x"})

    assert late.status == 409 and late.body["reason"] == "late"
    assert market.purchase(purchase_id)["performance"]["delivery_status"] == "reported"


def test_only_the_contracted_agency_reports_and_only_the_owner_decides(market: Market) -> None:
    purchase_id, winner = contracted(market)
    path = f"/purchases/{purchase_id}"

    assert market.agency(_others(winner)).post(f"{path}/delivery", REPORT).status == 403
    assert market.owner.post(f"{path}/delivery", REPORT).status == 403  # an owner does not deliver
    assert market.api.call("POST", f"{path}/delivery", REPORT).status == 401
    assert market.purchase(purchase_id)["performance"] is None
    delivered(market, purchase_id, winner)

    stranger = market.api.as_role("owner", "OW-OTHER")
    assert stranger.post(f"{path}/completion", {"decision": "accept"}).status == 403
    assert market.agency(winner).post(f"{path}/completion", {"decision": "accept"}).status == 403
    assert market.purchase(purchase_id)["status"] == "contracted"


def test_delivery_before_the_contract_is_refused_naming_the_state(market: Market) -> None:
    purchase_id, winner = confirmed(market)

    reply = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", REPORT)

    assert reply.status == 409 and reply.body["state"] == "confirmed"
    no_delivery = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})
    assert no_delivery.status == 409 and no_delivery.body["state"] == "confirmed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**REPORT, "file_sha256": "xyz"}, "file_sha256"),
        ({**REPORT, "file_sha256": SHA.upper()}, "file_sha256"),
        ({**REPORT, "file_sha256": SHA[:-1]}, "file_sha256"),
        ({**REPORT, "report_number": ""}, "report_number"),
        ({"file_sha256": SHA}, "report_number"),
        ({**REPORT, "extra": 1}, "extra"),
    ],
)
def test_a_bad_report_is_a_422_naming_the_field_and_nothing_is_written(
    market: Market, body: dict[str, Any], field: str
) -> None:
    purchase_id, winner = contracted(market)

    reply = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", body)

    assert reply.status == 422, reply.body
    assert field in [e["field"] for e in reply.body["errors"]]
    assert market.purchase(purchase_id)["performance"] is None


def test_a_dispute_without_reasons_is_a_422_and_changes_nothing(market: Market) -> None:
    purchase_id, winner = contracted(market)
    delivered(market, purchase_id, winner)

    reply = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "dispute"})
    odd = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "maybe"})

    assert reply.status == 422 and [e["field"] for e in reply.body["errors"]] == ["reasons"]
    assert odd.status == 422 and [e["field"] for e in odd.body["errors"]] == ["decision"]
    assert market.purchase(purchase_id)["performance"]["delivery_status"] == "reported"


def test_the_owner_reads_its_purchase_with_the_delivery_and_the_public_without_personal_data(
    market: Market,
) -> None:
    purchase_id, winner = contracted(market)
    delivered(market, purchase_id, winner)

    public = market.api.call("GET", f"/purchases/{purchase_id}").body
    owned = market.owner.get(f"/purchases/{purchase_id}").body

    assert public["performance"] == owned["performance"]
    assert public["performance"]["report_number"] == REPORT["report_number"]
    assert owned["owner_id"] == OWNER


def test_a_repeated_report_with_the_same_idempotency_key_returns_the_first(
    market: Market, published_events
) -> None:
    purchase_id, winner = contracted(market)
    key = {"idempotency-key": "report-1"}

    first = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", REPORT, headers=key)
    again = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", REPORT, headers=key)

    assert first.status == again.status == 201
    assert again.body == first.body
    assert published_events.types().count("DeliveryReported") == 1


def test_two_reports_at_once_record_one(market: Market, published_events) -> None:
    purchase_id, winner = contracted(market)
    agency = market.agency(winner)

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(
            pool.map(lambda _: agency.post(f"/purchases/{purchase_id}/delivery", REPORT), range(2))
        )

    assert sorted(r.status for r in replies) == [201, 409]
    assert market.purchase(purchase_id)["performance"]["reports"] == 1
    assert published_events.types().count("DeliveryReported") == 1
