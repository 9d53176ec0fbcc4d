"""Purchase rules a review found wanting: the list filters on an amended region; a reserve
expelled since the draw is passed over, not moved up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market, purchase_request


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=6)


def _ids(market: Market, query: str = "") -> list[str]:
    reply = market.api.call("GET", f"/purchases{query}")
    assert reply.status == 200, reply.body
    return [p["purchase_id"] for p in reply.body["items"]]


def test_an_amended_region_is_the_region_the_public_list_filters_by(market: Market) -> None:
    """Drafted for Hangzhou (330106), amended to Ningbo (330212), then published: the public list
    filtered by Ningbo shows it and the one filtered by Hangzhou does not."""
    purchase_id = market.draft(region="330106")
    amended = market.owner.put(f"/purchases/{purchase_id}", purchase_request(region="330212"))
    assert amended.status == 200, amended.body
    assert amended.body["region"] == "330212"
    assert market.owner.post(f"/purchases/{purchase_id}/submit").status == 200
    assert market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"}).status == 200
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["region"] == "330212"

    assert _ids(market, "?region=330200") == [purchase_id]
    assert _ids(market, "?region=330100") == []


def test_an_expelled_reserve_does_not_move_up_when_the_selected_agency_abandons(market: Market) -> None:
    """A reserve expelled (清退) after the draw may no longer take part: when the selected agency
    abandons, the next reserve that may still take part moves up, not the expelled one."""
    purchase_id = market.publish()
    for n in (1, 2, 3, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    result = market.purchase(purchase_id)["result"]
    selected, (expelled, next_reserve) = result["selected_agency"], result["reserves"]

    expulsion = {"reason": "出具虚假评价报告", "basis": "《中介服务管理办法》第二十条"}
    assert market.admin.post(f"/agencies/{expelled}/expulsion", expulsion).status == 200

    abandoned = market.agency(selected).post(f"/purchases/{purchase_id}/abandonment", {"reason": "人员不足"})
    assert abandoned.status == 200, abandoned.body
    assert abandoned.body["result"]["selected_agency"] != expelled
    assert abandoned.body["result"]["selected_agency"] == next_reserve
    passed = abandoned.body["result"]["passed_over"]
    assert [p["agency_id"] for p in passed] == [expelled] and "expelled" in passed[0]["reason"]
    assert abandoned.body["result"]["reserves"] == []
    assert market.purchase(purchase_id)["result"]["passed_over"] == passed  # the public sees why
