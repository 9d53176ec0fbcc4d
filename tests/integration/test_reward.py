"""Reward mode (守信激励): an owner chooses directly, for a small purchase, an agency of the top credit
level, within its yearly share; each rule refuses with a 4xx naming it, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from marketplace.settings import reset_settings
from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market

AGENCY = agency_id(1)
REASON = "守信激励：该机构信用等级A，近三年服务评价均为优"


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    reset_settings()
    yield from open_market(api, agencies=3)
    reset_settings()


def _reward(agency: str = AGENCY, **changes: Any) -> dict[str, Any]:
    return {
        "method": "reward",
        "reward": {"agency_id": agency, "reason": REASON},
        "amount_yuan": "60000.00",
        "funding_type": "private",
        "price_kind": "budget",
        **changes,
    }


def _published(market: Market, count: int) -> None:
    """Purchases the owner published this year (random draws): the share's denominator."""
    for n in range(count):
        market.publish(project_code=f"2026-330106-47-01-{n:06d}")


def _submit(market: Market, purchase_id: str) -> Any:
    return market.owner.post(f"/purchases/{purchase_id}/submit")


def _lower(agency: str, points: int) -> None:
    from marketplace.domain.credit import CreditEvent
    from marketplace.repositories import credit

    credit.record(
        CreditEvent(
            credit_event_id=f"c-{agency}",
            agency_id=agency,
            points=points,
            reason="逾期提交成果",
            basis="x",
            source="regulator",
            kind="penalty",
            cause={"type": "decision", "id": f"c-{agency}"},
            occurred_at="2026-06-01T00:00:00Z",
            recorded_at="2026-06-01T00:00:00Z",
            valid_until="2027-06-01T00:00:00Z",
            rules_version=1,
        ),
        [],
    )


def test_a_reward_purchase_selects_the_chosen_agency_at_once_with_its_reason(
    api: Api, market: Market, published_events: Any
) -> None:
    _published(market, 3)  # 1 reward of 4 purchases: 25%, within 30%
    purchase_id = market.draft(**_reward())
    reply = _submit(market, purchase_id)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "selected" and reply.body["method"] == "reward"
    assert reply.body["result"]["method"] == "reward"
    assert reply.body["result"]["selected_agency"] == AGENCY
    assert reply.body["result"]["direct_reason"] == REASON
    public = api.call("GET", f"/purchases/{purchase_id}").body
    assert public["reward"] == {"agency_id": AGENCY, "reason": REASON}
    assert public["result"]["direct_reason"] == REASON
    # No one enrolls in it.
    assert market.enroll(purchase_id, agency_id(2)).body["reason"] == "direct"

    rewarded = [e for e in published_events.received() if e["detail-type"] == "RewardSelected"]
    assert [e["detail"]["data"]["agency_id"] for e in rewarded] == [AGENCY]
    assert rewarded[0]["detail"]["data"]["level"] == "A"

    # It then confirms as any direct selection, and its letter says reward mode.
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(AGENCY).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["status"] == "confirmed", accepted.body
    letter = api.call("GET", f"/letters/{accepted.body['letter_id']}").body["letter"]
    assert letter["method"] == "reward" and letter["draw"] is None


def test_a_fiscal_reward_purchase_is_reviewed_then_selected(market: Market) -> None:
    _published(market, 3)
    purchase_id = market.draft(**_reward(funding_type="fiscal"))
    assert _submit(market, purchase_id).body["status"] == "pending_review"
    approved = market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"})
    assert approved.status == 200 and approved.body["status"] == "selected", approved.body
    assert approved.body["result"]["selected_agency"] == AGENCY


def test_an_agency_below_the_reward_level_is_refused(market: Market) -> None:
    _published(market, 3)
    _lower(AGENCY, -20)  # 80: level B
    purchase_id = market.draft(**_reward())
    refused = _submit(market, purchase_id)
    assert refused.status == 422, refused.body
    assert refused.body["errors"][0]["field"] == "reward.agency_id"
    assert "RULE_REWARD_LEVEL" in refused.body["detail"] and "level B" in refused.body["detail"]
    assert market.purchase(purchase_id)["status"] == "draft"


def test_an_ineligible_agency_is_refused_as_for_direct_selection(market: Market) -> None:
    _published(market, 3)
    purchase_id = market.draft(**_reward("AG-NOBODY"))
    refused = _submit(market, purchase_id)
    assert refused.status == 422 and "does not exist" in refused.body["detail"]
    assert market.purchase(purchase_id)["status"] == "draft"


def test_a_purchase_at_the_reward_limit_is_refused(market: Market) -> None:
    refused = market.owner.post(
        "/purchases",
        {**_purchase_body(), **_reward(amount_yuan="100000.00")},
    )
    assert refused.status == 422, refused.body
    assert refused.body["errors"][0]["field"] == "amount_yuan"
    assert "RULE_REWARD_LIMIT_YUAN = 100000" in refused.body["detail"]
    assert market.owner.get("/owners/OW-001/purchases").body["items"] == []


def test_reward_purchases_over_the_yearly_share_are_refused(market: Market) -> None:
    first = market.draft(**_reward())
    refused = _submit(market, first)  # the owner's first purchase of the year: 1 of 1 is 100%
    assert refused.status == 422, refused.body
    assert "RULE_REWARD_SHARE_PERCENT = 30%" in refused.body["detail"]
    assert "1 of 1" in refused.body["detail"]
    assert market.purchase(first)["status"] == "draft"

    _published(market, 3)
    assert _submit(market, first).status == 200  # 1 of 4: 25%
    second = market.draft(**_reward(agency_id(2)))
    again = _submit(market, second)  # 2 of 5: 40%
    assert again.status == 422 and "2 of 5" in again.body["detail"]
    assert market.purchase(second)["status"] == "draft"


def test_two_reward_purchases_racing_for_the_last_share_one_wins(market: Market) -> None:
    _published(market, 3)  # room for exactly one reward purchase
    ids = [market.draft(**_reward(agency_id(n))) for n in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda p: _submit(market, p), ids))
    assert sorted(r.status for r in replies) in ([200, 409], [200, 422])
    assert sorted(market.purchase(p)["status"] for p in ids) == ["draft", "selected"]


def _purchase_body() -> dict[str, Any]:
    from tests.support.market import purchase_request

    return purchase_request()
