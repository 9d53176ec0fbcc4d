"""The shelf (网上直购): listing, browsing, withdrawing and buying, and every refusal with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.settings import reset_settings
from tests.conftest import Api
from tests.support.market import ITEM, OWNER, Market, admit, agency_id, open_market, purchase_request
from tests.support.samples import catalogue_item
from tests.support.shelf import shelf_offer, shelf_purchase

AGENCY = agency_id(1)


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    reset_settings()
    yield from open_market(api, agencies=2)
    reset_settings()


def _list(market: Market, agency: str = AGENCY, **changes: Any) -> Any:
    return market.agency(agency).post(f"/agencies/{agency}/shelf", shelf_offer(ITEM, **changes))


def _listed(market: Market, **changes: Any) -> str:
    reply = _list(market, **changes)
    assert reply.status == 201, reply.body
    return str(reply.body["offer_id"])


def _buy(market: Market, offer_id: str, key: str = "buy-1", **changes: Any) -> Any:
    return market.owner.post(
        f"/shelf/{offer_id}/purchase", shelf_purchase(**changes), headers={"idempotency-key": key}
    )


def _owned(market: Market) -> list[dict[str, Any]]:
    reply = market.owner.get(f"/owners/{OWNER}/purchases")
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


def _shelf(api: Api, **query: str) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in {"item_code": ITEM, **query}.items())
    reply = api.call("GET", f"/shelf?{params}")
    assert reply.status == 200, reply.body
    return list(reply.body["items"])


def _types(published_events: Any) -> list[str]:
    return [e["detail-type"] for e in published_events.received()]


def test_an_agency_lists_the_public_finds_it_and_an_owner_buys_it_with_its_letter(
    api: Api, market: Market, published_events: Any
) -> None:
    listed = _list(market)
    assert listed.status == 201, listed.body
    offer = listed.body
    assert offer["status"] == "listed" and offer["agency_id"] == AGENCY
    assert offer["price_yuan"] == "38000.00" and offer["item_name"] == "建设项目环境影响评价"

    (found,) = _shelf(api, region="330106")  # a district of the city the offer serves
    assert found["offer_id"] == offer["offer_id"]
    assert found["agency_name"] == f"测试环境咨询有限公司{AGENCY}" and found["credit_level"] == "A"
    assert found["time_limit_working_days"] == 15 and found["included"][0] == "环境影响报告表一份"
    assert [o["offer_id"] for o in _shelf(api, region="330000")] == [offer["offer_id"]]  # inside the province
    assert _shelf(api, region="320100") == []  # another province
    assert api.call("GET", f"/shelf/{offer['offer_id']}").body["credit_level"] == "A"

    bought = _buy(market, offer["offer_id"])
    assert bought.status == 201, bought.body
    purchase = bought.body
    assert purchase["status"] == "confirmed" and purchase["method"] == "shelf"
    assert purchase["amount_yuan"] == "38000.00" and purchase["price_kind"] == "budget"
    assert purchase["item_code"] == ITEM and purchase["owner_id"] == OWNER
    assert purchase["result"]["selected_agency"] == AGENCY
    assert purchase["result"]["direct_reason"] == shelf_purchase()["reason"]
    assert purchase["result"]["owner_confirmed_at"] and purchase["result"]["agency_accepted_at"]
    assert (
        purchase["shelf"]["offer_id"] == offer["offer_id"] and purchase["shelf"]["price_yuan"] == "38000.00"
    )
    assert purchase["contract_deadline"] and purchase["letter_id"]

    public = api.call("GET", f"/purchases/{purchase['purchase_id']}")  # anyone
    assert public.status == 200
    assert public.body["method"] == "shelf" and public.body["status"] == "confirmed"
    assert public.body["shelf"]["reason"] == shelf_purchase()["reason"]
    assert public.body["shelf"]["included"] == offer["included"]

    letter = api.call("GET", f"/letters/{purchase['letter_id']}")
    assert letter.status == 200
    assert letter.body["letter"]["method"] == "shelf"
    assert letter.body["letter"]["price"]["amount_yuan"] == "38000.00"
    assert letter.body["letter"]["draw"] is None
    verified = api.call("POST", "/letters/verify", letter.body)
    assert verified.status == 200 and verified.body["valid"] is True

    types = _types(published_events)
    assert {"ShelfOfferListed", "ShelfPurchaseMade", "LetterIssued"} <= set(types)
    assert "ResultPublished" not in types  # no window, no confirmation to wait for


def test_the_same_idempotency_key_buys_once(market: Market) -> None:
    offer_id = _listed(market)
    first, again = _buy(market, offer_id, key="same"), _buy(market, offer_id, key="same")
    assert first.status == again.status == 201
    assert again.body["purchase_id"] == first.body["purchase_id"]
    assert len(_owned(market)) == 1


def test_a_purchase_over_the_direct_purchase_limit_is_refused_naming_it(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer_id = _listed(market)  # 38000: below the default limit of 50000
    monkeypatch.setenv("RULE_DIRECT_PURCHASE_LIMIT_YUAN", "30000")
    reset_settings()
    refused = _buy(market, offer_id)
    assert refused.status == 422, refused.body
    assert "RULE_DIRECT_PURCHASE_LIMIT_YUAN = 30000" in refused.body["detail"]
    assert refused.body["errors"][0]["field"] == "price_yuan"
    assert _owned(market) == []


def test_a_listing_at_or_over_the_limit_is_refused(api: Api, market: Market) -> None:
    refused = _list(market, price_yuan="50000.00")
    assert refused.status == 422 and "RULE_DIRECT_PURCHASE_LIMIT_YUAN = 50000" in refused.body["detail"]
    assert _shelf(api) == []


def test_a_withdrawn_offer_leaves_the_shelf_and_cannot_be_bought(
    api: Api, market: Market, published_events: Any
) -> None:
    offer_id = _listed(market)
    withdrawn = market.agency(AGENCY).delete(f"/agencies/{AGENCY}/shelf/{offer_id}")
    assert withdrawn.status == 200 and withdrawn.body["status"] == "withdrawn"
    assert _shelf(api) == []
    assert api.call("GET", f"/shelf/{offer_id}").body["status"] == "withdrawn"

    again = market.agency(AGENCY).delete(f"/agencies/{AGENCY}/shelf/{offer_id}")
    assert again.status == 409
    refused = _buy(market, offer_id)
    assert refused.status == 409 and refused.body["reason"] == "withdrawn"
    assert _owned(market) == []
    assert "ShelfOfferWithdrawn" in _types(published_events)


def test_two_withdrawals_at_once_one_wins(market: Market) -> None:
    offer_id = _listed(market)
    agency = market.agency(AGENCY)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: agency.delete(f"/agencies/{AGENCY}/shelf/{offer_id}"), range(2)))
    assert sorted(r.status for r in replies) == [200, 409]


def test_an_offer_whose_agency_was_blacklisted_since_cannot_be_bought(api: Api, market: Market) -> None:
    from marketplace.domain.credit import CreditEvent
    from marketplace.repositories import credit

    offer_id = _listed(market)
    credit.record(
        CreditEvent(
            credit_event_id="c-black",
            agency_id=AGENCY,
            points=-40,
            reason="严重失信",
            basis="x",
            source="regulator",
            kind="serious_dishonesty",
            cause={"type": "decision", "id": "c-black"},
            occurred_at="2026-11-30T00:00:00Z",
            recorded_at="2026-11-30T00:00:00Z",
            valid_until="2027-11-30T00:00:00Z",
            rules_version=1,
            blacklists_until="2027-11-30T00:00:00Z",
        ),
        [],
    )
    refused = _buy(market, offer_id)
    assert refused.status == 409, refused.body
    assert refused.body["reason"] == "agency_ineligible"
    assert [r["code"] for r in refused.body["reasons"]] == ["blacklisted"]
    assert _owned(market) == []
    # It leaves the public shelf; read by its id it is marked unavailable, with the blacklist.
    assert _shelf(api) == []
    shown = api.call("GET", f"/shelf/{offer_id}").body
    assert shown["status"] == "listed" and shown["available"] is False
    assert shown["unavailable_reasons"] == ["blacklisted"]
    assert shown["blacklisted_until"] == "2027-11-30T00:00:00Z"
    # Nor may it list another.
    assert _list(market).status == 403


def test_only_an_owner_buys(market: Market) -> None:
    offer_id = _listed(market)
    for caller in (market.agency(agency_id(2)), market.admin):
        reply = caller.post(f"/shelf/{offer_id}/purchase", shelf_purchase(), headers={"idempotency-key": "x"})
        assert reply.status == 403, reply.body
    unregistered = market.api.as_role("owner", "OW-NOBODY")
    assert unregistered.post(f"/shelf/{offer_id}/purchase", shelf_purchase()).status == 409
    assert _owned(market) == []


def test_an_offer_is_bought_only_for_a_region_it_serves(market: Market) -> None:
    offer_id = _listed(market)
    refused = _buy(market, offer_id, region="320106")
    assert refused.status == 422 and refused.body["errors"][0]["field"] == "region"
    assert _owned(market) == []


def test_a_fiscal_purchase_at_the_procurement_threshold_is_refused(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer_id = _listed(market)
    monkeypatch.setenv("RULE_PROCUREMENT_THRESHOLD_YUAN", "30000")
    reset_settings()
    refused = _buy(market, offer_id, funding_type="fiscal")
    assert refused.status == 422 and "government procurement" in refused.body["detail"]
    assert _owned(market) == []


def test_only_the_agency_itself_lists_and_withdraws(api: Api, market: Market) -> None:
    other = market.agency(agency_id(2))
    assert other.post(f"/agencies/{AGENCY}/shelf", shelf_offer(ITEM)).status == 403
    assert market.owner.post(f"/agencies/{AGENCY}/shelf", shelf_offer(ITEM)).status == 403
    offer_id = _listed(market)
    assert other.delete(f"/agencies/{AGENCY}/shelf/{offer_id}").status == 403
    # Its own path with another agency's offer: not found, and the offer stays listed.
    assert other.delete(f"/agencies/{agency_id(2)}/shelf/{offer_id}").status == 404
    assert [o["offer_id"] for o in _shelf(api)] == [offer_id]


def test_an_agency_lists_only_items_it_is_admitted_for_and_regions_it_serves(
    api: Api, market: Market
) -> None:
    assert market.admin.post("/catalogue/items", catalogue_item("ZJ-HP-009")).status == 201
    refused = market.agency(AGENCY).post(f"/agencies/{AGENCY}/shelf", shelf_offer("ZJ-HP-009"))
    assert refused.status == 403, refused.body
    assert [r["code"] for r in refused.body["reasons"]] == ["not_admitted_for_item"]

    missing = market.agency(AGENCY).post(f"/agencies/{AGENCY}/shelf", shelf_offer("ZJ-NO-001"))
    assert missing.status == 422 and missing.body["errors"][0]["field"] == "item_code"

    outside = _list(market, regions=["330100", "320100"])
    assert outside.status == 422 and "320100" in outside.body["detail"]

    admit(["AG-SUSPENDED"], status="suspended", history=[_change("suspended")])
    suspended = market.agency("AG-SUSPENDED").post("/agencies/AG-SUSPENDED/shelf", shelf_offer(ITEM))
    assert suspended.status == 403 and suspended.body["reasons"][0]["code"] == "suspended"

    bad = _list(market, included=[], time_limit_working_days=0, regions=["33"])
    assert bad.status == 422
    assert {e["field"] for e in bad.body["errors"]} >= {"included", "time_limit_working_days", "regions"}
    assert _shelf(api) == []


def test_a_shelf_purchase_cannot_be_drafted(market: Market) -> None:
    refused = market.owner.post("/purchases", purchase_request(method="shelf"))
    assert refused.status == 422
    assert "POST /shelf/{offer_id}/purchase" in refused.body["detail"]
    assert refused.body["errors"][0]["field"] == "method"
    assert _owned(market) == []


def test_the_shelf_is_paged_with_a_cursor(api: Api, market: Market) -> None:
    listed = {_listed(market, price_yuan=f"{30000 + n}.00") for n in range(3)}
    first = api.call("GET", f"/shelf?item_code={ITEM}&limit=2")
    assert first.status == 200 and len(first.body["items"]) == 2 and first.body["cursor"]
    rest = api.call("GET", f"/shelf?item_code={ITEM}&limit=2&cursor={first.body['cursor']}")
    seen = {o["offer_id"] for o in first.body["items"] + rest.body["items"]}
    assert seen == listed
    assert api.call("GET", f"/shelf?item_code={ITEM}&cursor=forged").status == 400
    assert api.call("GET", "/shelf").status == 422  # the item is required


def _change(status: str) -> dict[str, Any]:
    return {
        "status": status,
        "reason": "违规出具报告",
        "basis": "《中介服务管理办法》第二十条",
        "by": "u",
        "by_role": "regulator",
        "at": "2026-11-01T00:00:00Z",
    }


def test_the_same_idempotency_key_lists_once(api: Api, market: Market) -> None:
    agency = market.agency(AGENCY)
    once = {"idempotency-key": "list-1"}
    first = agency.post(f"/agencies/{AGENCY}/shelf", shelf_offer(ITEM), headers=once)
    again = agency.post(f"/agencies/{AGENCY}/shelf", shelf_offer(ITEM), headers=once)
    assert first.status == again.status == 201 and again.body["offer_id"] == first.body["offer_id"]
    assert len(_shelf(api)) == 1


def test_a_draft_cannot_be_amended_into_a_shelf_purchase(market: Market) -> None:
    purchase_id = market.draft()
    refused = market.owner.put(f"/purchases/{purchase_id}", purchase_request(method="shelf"))
    assert refused.status == 422 and refused.body["errors"][0]["field"] == "method"
    assert market.purchase(purchase_id)["method"] == "random_draw"


def test_offerings_of_a_suspended_or_expelled_agency_leave_the_shelf_and_come_back_with_it(
    api: Api, market: Market
) -> None:
    other = agency_id(2)
    kept = _listed(market)
    suspended_offer = _list(market, agency=other)
    assert suspended_offer.status == 201, suspended_offer.body
    assert len(_shelf(api)) == 2
    supervision = {"reason": "违规出具报告", "basis": "《中介服务管理办法》第二十条"}
    assert market.admin.post(f"/agencies/{other}/suspension", supervision).status == 200

    assert [o["offer_id"] for o in _shelf(api)] == [kept]  # the suspended agency's is left out
    shown = api.call("GET", f"/shelf/{suspended_offer.body['offer_id']}").body
    assert shown["available"] is False and shown["unavailable_reasons"] == ["suspended"]
    assert api.call("GET", f"/shelf/{kept}").body["available"] is True

    assert market.admin.post(f"/agencies/{AGENCY}/expulsion", supervision).status == 200
    assert _shelf(api) == []
    assert api.call("GET", f"/shelf/{kept}").body["unavailable_reasons"] == ["expelled"]


def test_a_page_left_short_by_an_unavailable_offering_still_has_its_cursor(api: Api, market: Market) -> None:
    other = agency_id(2)
    mine = _listed(market)
    market.clock.set(market.clock.now() + timedelta(minutes=1))
    assert _list(market, agency=other).status == 201  # newest: first on the shelf
    supervision = {"reason": "违规出具报告", "basis": "《中介服务管理办法》第二十条"}
    assert market.admin.post(f"/agencies/{other}/suspension", supervision).status == 200
    first = api.call("GET", f"/shelf?item_code={ITEM}&limit=1")
    assert first.status == 200 and first.body["items"] == [] and first.body["cursor"]
    rest = api.call("GET", f"/shelf?item_code={ITEM}&limit=1&cursor={first.body['cursor']}")
    assert [o["offer_id"] for o in rest.body["items"]] == [mine]


def test_the_admin_withdraws_an_offering_and_the_event_says_so(market: Market, published_events: Any) -> None:
    offer_id = _listed(market)
    withdrawn = market.admin.delete(f"/agencies/{AGENCY}/shelf/{offer_id}")
    assert withdrawn.status == 200, withdrawn.body
    assert withdrawn.body["status"] == "withdrawn" and withdrawn.body["withdrawn_by"]
    assert _shelf(market.api) == []
    (sent,) = [e for e in published_events.received() if e["detail-type"] == "ShelfOfferWithdrawn"]
    assert sent["detail"]["data"]["by_role"] == "admin"
    refused = _buy(market, offer_id)
    assert refused.status == 409 and refused.body["reason"] == "withdrawn"
    # Under another agency's path: not found, as for the agency's own users.
    again = _listed(market)
    assert market.admin.delete(f"/agencies/{agency_id(2)}/shelf/{again}").status == 404


def test_strangers_cannot_withdraw_an_offering(api: Api, market: Market) -> None:
    offer_id = _listed(market)
    for caller in (
        market.agency(agency_id(2)),
        market.owner,
        api.as_role("regulator", "REG-1", industries=("environment",)),
    ):
        assert caller.delete(f"/agencies/{AGENCY}/shelf/{offer_id}").status == 403
    assert api.call("DELETE", f"/agencies/{AGENCY}/shelf/{offer_id}").status == 401
    assert [o["offer_id"] for o in _shelf(api)] == [offer_id]
    assert api.call("GET", f"/shelf/{offer_id}").body["status"] == "listed"


def test_a_retry_without_the_same_key_does_not_buy_the_project_twice(
    market: Market, published_events: Any
) -> None:
    offer_id = _listed(market)
    first = _buy(market, offer_id, key="first")
    assert first.status == 201, first.body
    published_events.received()  # drained: what follows is the retry's
    again = _buy(market, offer_id, key="second")  # the retry, under a new key (or none)
    assert again.status == 409, again.body
    assert again.body["reason"] == "already_bought"
    assert again.body["purchase_id"] == first.body["purchase_id"]
    assert first.body["purchase_id"] in again.body["detail"]
    assert [p["purchase_id"] for p in _owned(market)] == [first.body["purchase_id"]]  # nothing written
    assert published_events.received() == []
    # Another project of the same owner buys the same offering.
    other = _buy(market, offer_id, key="third", project_code="2026-330106-47-01-000778")
    assert other.status == 201, other.body
    assert len(_owned(market)) == 2


def test_two_buys_of_the_same_project_at_once_make_one_purchase(market: Market) -> None:
    offer_id = _listed(market)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda key: _buy(market, offer_id, key=key), ["a", "b"]))
    assert sorted(r.status for r in replies) == [201, 409], [r.body for r in replies]
    (won,) = [r for r in replies if r.status == 201]
    assert [p["purchase_id"] for p in _owned(market)] == [won.body["purchase_id"]]


def test_a_project_whose_shelf_purchase_was_cancelled_may_buy_again(market: Market) -> None:
    from marketplace.domain.model import revised
    from marketplace.domain.purchases import PurchaseStatus
    from marketplace.repositories import purchases as purchases_repo
    from marketplace.repositories.purchases import PURCHASE, _state_actions
    from marketplace.repositories.tables import PurchaseRow

    offer_id = _listed(market)
    first = _buy(market, offer_id, key="first")
    assert first.status == 201, first.body
    # No route cancels a confirmed purchase yet (only a suspended one): write the final state here.
    stored = purchases_repo.get(first.body["purchase_id"], consistent=True)
    cancelled = revised(stored, status=PurchaseStatus.cancelled)
    PurchaseRow(stored.purchase_id, PURCHASE).update(actions=_state_actions(cancelled))
    again = _buy(market, offer_id, key="second")
    assert again.status == 201, again.body
    assert again.body["purchase_id"] != first.body["purchase_id"]
    third = _buy(market, offer_id, key="third")
    assert third.status == 409 and third.body["purchase_id"] == again.body["purchase_id"]
