"""The contract (合同, DOMAIN.md §7): templates per item, registration by the owner within the
deadline, the agency's countersignature or refusal, what the public sees, and the deadline task."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
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
    assert parse_iso(purchase["contract_deadline"]) == parse_iso(purchase["confirmed_at"]) + timedelta(
        days=30
    )

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
