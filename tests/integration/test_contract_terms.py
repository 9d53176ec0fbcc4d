"""The contract is held to the price agreed (docs/contracts.md "The terms agreed"): a price-bidding
purchase's contract states at most the winning quote, a shelf purchase's exactly the offering's
price, with the offering's time limit and what it includes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from marketplace.settings import reset_settings
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, ITEM, Market, agency_id, open_market
from tests.support.shelf import shelf_offer, shelf_purchase

TEMPLATE = (
    "<p>受托方：{{agency.name}}</p><p>金额：{{amount_yuan}} 元；期限：{{time_limit_days}} 个工作日</p>"
    "<p>服务内容：{{service_content}}</p><p>收费依据：{{fee_basis}}</p>"
)
HASH = "cd" * 32


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    reset_settings()
    yield from open_market(api, agencies=4)
    reset_settings()


def put_template(market: Market) -> None:
    reply = market.api.as_role("regulator", "REG-1", industries=("environment",)).put(
        f"/catalogue/items/{ITEM}/contract-template", {"body": TEMPLATE, "effective_from": "2026-11-01"}
    )
    assert reply.status == 200, reply.body


def register(market: Market, purchase_id: str, body: dict[str, Any]) -> Any:
    return market.owner.post(f"/purchases/{purchase_id}/contract", body)


def upload(amount: str) -> dict[str, Any]:
    return {"upload": {"file_ref": "OA-2026-0042.pdf", "sha256": HASH}, "amount_yuan": amount}


def bidding_won(market: Market) -> tuple[str, str]:
    """A price-bidding purchase under a 180000.00 ceiling, won by agency 2 at 100000.00, confirmed."""
    from app import app

    purchase_id = market.publish(
        method="price_bidding", bidding={"rounds": 1, "floor_yuan": "90000.00"}, reserves=1
    )
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    for n, amount in ((1, "150000.00"), (2, "100000.00"), (3, "160000.00")):
        reply = market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})
        assert reply.status == 201, reply.body
    market.clock.set(AFTER_DEADLINE)
    assert app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)["status"] == (
        "enrollment_closed"
    )
    assert app.handler_map["run_selection"]({"purchase_id": purchase_id}, None)["status"] == "selected"
    winner = agency_id(2)
    assert market.purchase(purchase_id)["result"]["selected_agency"] == winner
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(winner).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["status"] == "confirmed", accepted.body
    return purchase_id, winner


def test_a_bidding_contract_may_not_exceed_the_winning_quote(market: Market) -> None:
    purchase_id, _ = bidding_won(market)
    assert market.purchase(purchase_id)["amount_yuan"] == "180000.00"  # the ceiling

    for amount in ("180000.00", "100000.01"):
        refused = register(market, purchase_id, upload(amount))
        assert refused.status == 422, refused.body
        (error,) = refused.body["errors"]
        assert error["field"] == "amount_yuan" and "winning quote of 100000.00" in error["message"]
    assert market.purchase(purchase_id)["contract"] is None  # nothing written

    registered = register(market, purchase_id, upload("100000.00"))
    assert registered.status == 201, registered.body
    assert registered.body["contract"]["amount_yuan"] == "100000.00"


def test_a_generated_bidding_contract_states_the_winning_price(market: Market) -> None:
    put_template(market)
    purchase_id, _ = bidding_won(market)
    too_much = register(market, purchase_id, {"generate": True, "amount_yuan": "150000.00"})
    assert too_much.status == 422 and too_much.body["errors"][0]["field"] == "amount_yuan"

    generated = register(market, purchase_id, {"generate": True})
    assert generated.status == 201, generated.body
    assert generated.body["contract"]["amount_yuan"] == "100000.00"
    assert "金额：100000.00 元" in generated.body["document_html"]


def shelf_bought(market: Market) -> tuple[str, str]:
    """A shelf purchase of agency 1's offering at 38000.00, promising 3 working days."""
    agency = agency_id(1)
    listed = market.agency(agency).post(
        f"/agencies/{agency}/shelf",
        shelf_offer(ITEM, time_limit_working_days=3, included=["环境影响报告表一份", "现场踏勘一次"]),
    )
    assert listed.status == 201, listed.body
    bought = market.owner.post(
        f"/shelf/{listed.body['offer_id']}/purchase", shelf_purchase(), headers={"idempotency-key": "b"}
    )
    assert bought.status == 201 and bought.body["status"] == "confirmed", bought.body
    return str(bought.body["purchase_id"]), agency


def test_a_shelf_contract_is_for_the_offerings_price_exactly_with_its_time_limit(market: Market) -> None:
    purchase_id, _ = shelf_bought(market)
    for amount in ("38000.01", "37999.99", "30000.00"):
        refused = register(market, purchase_id, upload(amount))
        assert refused.status == 422, refused.body
        (error,) = refused.body["errors"]
        assert error["field"] == "amount_yuan" and "38000.00" in error["message"]
    assert market.purchase(purchase_id)["contract"] is None

    registered = register(market, purchase_id, upload("38000.00"))
    assert registered.status == 201, registered.body
    contract = registered.body["contract"]
    # The offering's promise, not the 20 working days of the agency's profile offering.
    assert contract["amount_yuan"] == "38000.00" and contract["time_limit_working_days"] == 3


def test_a_generated_shelf_contract_states_the_offerings_price_time_limit_and_contents(
    market: Market,
) -> None:
    put_template(market)
    purchase_id, _ = shelf_bought(market)
    generated = register(market, purchase_id, {"generate": True})
    assert generated.status == 201, generated.body
    contract, html = generated.body["contract"], generated.body["document_html"]
    assert contract["amount_yuan"] == "38000.00" and contract["time_limit_working_days"] == 3
    assert "金额：38000.00 元；期限：3 个工作日" in html
    assert "服务内容：环境影响报告表一份；现场踏勘一次" in html
    assert "货架标价" in html
