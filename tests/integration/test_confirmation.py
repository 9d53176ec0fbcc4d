"""Confirmation (DOMAIN.md §6): both parties confirm in either order, the signed letter follows;
abandonment costs credit and moves the first reserve up."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def _selected(market: Market, **changes: Any) -> tuple[str, dict[str, Any]]:
    purchase_id = market.publish(**changes)
    for n in (1, 2, 3, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    return purchase_id, market.purchase(purchase_id)["result"]


def test_owner_then_agency_confirm_and_the_signed_letter_is_issued(market: Market, published_events) -> None:
    purchase_id, result = _selected(market)
    winner = market.agency(result["selected_agency"])
    confirmed = market.owner.post(f"/purchases/{purchase_id}/confirmation")
    assert confirmed.status == 200 and confirmed.body["status"] == "selected"
    assert confirmed.body["result"]["owner_confirmed_at"]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200  # repeated: no change

    accepted = winner.post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200, accepted.body
    assert accepted.body["status"] == "confirmed"
    letter_id = accepted.body["letter_id"]
    assert letter_id == f"L-{purchase_id}"

    envelope = market.api.call("GET", f"/letters/{letter_id}").body
    letter = envelope["letter"]
    assert letter["purchase_id"] == purchase_id and letter["agency"]["agency_id"] == result["selected_agency"]
    assert letter["owner"]["name"] == "杭州市城市建设发展中心"
    assert letter["price"] == {"funding_type": "fiscal", "amount_yuan": None, "ceiling_yuan": "180000.00"}
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert letter["draw"]["commitment"] == proof["commitment"] and letter["draw"]["digest"] == proof["digest"]
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True
    envelope["letter"]["agency"]["agency_id"] = agency_id(9)
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is False

    assert winner.post(f"/purchases/{purchase_id}/acceptance").status == 200  # repeated: no change
    assert market.purchase(purchase_id)["letter_id"] == letter_id
    types = published_events.types()
    for wanted in ("ResultConfirmed", "ResultAccepted", "PurchaseConfirmed", "LetterIssued"):
        assert types.count(wanted) == 1, (wanted, types)


def test_the_agency_may_accept_first_and_racing_confirmations_confirm_once(
    market: Market, published_events
) -> None:
    purchase_id, result = _selected(market)
    winner = market.agency(result["selected_agency"])
    calls = [
        lambda: market.owner.post(f"/purchases/{purchase_id}/confirmation"),
        lambda: winner.post(f"/purchases/{purchase_id}/acceptance"),
    ] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda call: call(), calls))
    assert {r.status for r in replies} == {200}
    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "confirmed" and purchase["letter_id"]
    types = published_events.types()
    assert types.count("PurchaseConfirmed") == 1 and types.count("LetterIssued") == 1


def test_only_the_parties_confirm(market: Market) -> None:
    purchase_id, result = _selected(market)
    loser = next(agency_id(n) for n in (1, 2, 3, 4) if agency_id(n) != result["selected_agency"])
    assert market.agency(loser).post(f"/purchases/{purchase_id}/acceptance").status == 403
    assert market.agency(loser).post(f"/purchases/{purchase_id}/abandonment", {"reason": "x"}).status == 403
    assert market.api.as_role("owner", "OW-X").post(f"/purchases/{purchase_id}/confirmation").status == 403
    assert (
        market.agency(result["selected_agency"]).post(f"/purchases/{purchase_id}/confirmation").status == 403
    )
    assert market.purchase(purchase_id)["result"]["owner_confirmed_at"] is None


def test_abandoning_costs_credit_and_the_first_reserve_moves_up(market: Market, published_events) -> None:
    from marketplace.repositories import credit

    purchase_id, result = _selected(market, reserves=1)
    first, reserve = result["selected_agency"], result["reserves"][0]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    empty = market.agency(first).post(f"/purchases/{purchase_id}/abandonment", {"reason": ""})
    assert empty.status == 422
    abandoned = market.agency(first).post(
        f"/purchases/{purchase_id}/abandonment", {"reason": "项目负责人离职"}
    )
    assert abandoned.status == 200, abandoned.body
    moved = abandoned.body["result"]
    assert moved["selected_agency"] == reserve and moved["reserves"] == []
    assert moved["owner_confirmed_at"] is None  # the owner confirms the new agency
    assert [a["agency_id"] for a in moved["abandoned"]] == [first]

    ledger = credit.ledger(first)
    assert [e.points for e in ledger.events] == [-5]
    assert ledger.events[0].purchase_id == purchase_id
    assert credit.standings([first])[first].points == -5
    assert market.agency(first).post(f"/purchases/{purchase_id}/acceptance").status == 403

    # The reserve abandons too: no one is left, the purchase fails and can be re-announced.
    again = market.agency(reserve).post(f"/purchases/{purchase_id}/abandonment", {"reason": "产能不足"})
    assert again.body["status"] == "failed"
    assert "no reserve" in again.body["failure_reason"]
    types = published_events.types()
    assert types.count("ResultAbandoned") == 2 and types.count("CreditEventRecorded") == 2
    assert types.count("ReserveMovedUp") == 1 and types.count("PurchaseFailed") == 1


def test_a_letter_whose_issuing_failed_is_issued_by_the_sweeper(market: Market, monkeypatch) -> None:
    import json

    from app import app
    from marketplace.errors import ServiceUnavailable
    from marketplace.services import letters
    from tests.support.schemas import EVENTS_DIR

    purchase_id, result = _selected(market)
    original = letters.issue

    def unavailable(letter: Any) -> Any:
        raise ServiceUnavailable("KMS is throttling")

    monkeypatch.setattr(letters, "issue", unavailable)
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(result["selected_agency"]).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["status"] == "confirmed"
    assert accepted.body["letter_id"] is None

    monkeypatch.setattr(letters, "issue", original)
    event = json.loads((EVENTS_DIR / "functions" / "sweep_purchases.schedule.json").read_text())
    assert app.handler_map["sweep_purchases"](event, None)["advanced"] == [purchase_id]
    assert market.purchase(purchase_id)["letter_id"] == f"L-{purchase_id}"


def test_a_confirmed_purchase_stops_its_window_and_an_unconfirmed_one_keeps_it(market: Market) -> None:
    # Given a selected purchase whose window (Step Functions execution) runs
    import boto3

    from marketplace.settings import get_settings

    purchase_id, result = _selected(market)
    prefix = get_settings().state_machine_arn_prefix.replace(":stateMachine:", ":execution:")
    execution = f"{prefix}purchase-window:{purchase_id}"
    sfn = boto3.client("stepfunctions", region_name=get_settings().region)
    # When only the owner has confirmed, Then the window still watches the deadline
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    # When the selected agency accepts too, Then the purchase is confirmed and its window stopped
    accepted = market.agency(result["selected_agency"]).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.body["status"] == "confirmed"
    stopped = sfn.describe_execution(executionArn=execution)
    assert stopped["status"] == "ABORTED"
