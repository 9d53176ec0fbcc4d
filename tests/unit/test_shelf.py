"""The shelf's and reward mode's pure rules (marketplace.domain.shelf) and who is told what."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from marketplace.domain import notifications as n
from marketplace.domain.purchases import PURCHASE, PurchaseStatus
from marketplace.domain.regions import serves
from marketplace.domain.shelf import (
    OFFER,
    OfferStatus,
    region_matches,
    region_tokens,
    reward_share_allows,
)
from marketplace.domain.shelf_offers import ShelfOfferRequest
from marketplace.errors import Conflict
from tests.support.schemas import EVENTS_DIR

TZ = "Asia/Shanghai"


def _concerns(offer_regions: list[str], place: str) -> bool:
    """What the shelf's filter does: contains one ancestor whole, or the place's own stem as a start."""
    tokens = region_tokens(offer_regions)
    ancestors, inside = region_matches(place)
    return inside in tokens or any(a in tokens for a in ancestors)


def test_region_tokens_are_the_stems_between_commas() -> None:
    assert region_tokens(["330100", "330000", "330106"]) == ",33,3301,330106,"


@pytest.mark.parametrize(
    ("offer", "place", "expected"),
    [
        (["330000"], "330106", True),  # the province serves its districts
        (["330100"], "330106", True),  # the city serves its districts
        (["330106"], "330106", True),
        (["330106"], "330100", True),  # browsing the city shows a district's offer inside it
        (["330106"], "330000", True),
        (["330108"], "330106", False),  # a sibling district
        (["330100"], "331000", False),  # another city of the province
        (["320100"], "330106", False),
    ],
)
def test_the_shelf_filter_finds_offers_serving_a_place_or_inside_it(
    offer: list[str], place: str, expected: bool
) -> None:
    assert _concerns(offer, place) is expected


def test_an_offer_concerning_a_place_it_serves_agrees_with_regions_serves() -> None:
    for offer, place in ((["330000"], "330106"), (["330100"], "330108"), (["330106"], "330106")):
        assert serves(offer, place) and _concerns(offer, place)


def test_the_reward_share_counts_the_new_purchase_in_both() -> None:
    assert not reward_share_allows(0, 0, 30)  # the year's first purchase: 1 of 1
    assert not reward_share_allows(0, 2, 30)  # 1 of 3: 33%
    assert reward_share_allows(0, 3, 30)  # 1 of 4: 25%
    assert not reward_share_allows(1, 4, 30)  # 2 of 5: 40%
    assert reward_share_allows(2, 9, 30)  # 3 of 10: exactly 30%
    assert reward_share_allows(0, 0, 100)


def test_an_offer_request_names_each_bad_field() -> None:
    with pytest.raises(ValidationError) as caught:
        ShelfOfferRequest.model_validate(
            {
                "item_code": "ZJ-HP-001",
                "regions": ["330100", "330100"],
                "price_yuan": "0",
                "time_limit_working_days": 0,
                "included": ["  "],
            }
        )
    fields = {e["loc"][0] for e in caught.value.errors()}
    assert fields == {"regions", "price_yuan", "time_limit_working_days", "included"}
    with pytest.raises(ValidationError):
        ShelfOfferRequest.model_validate(
            {
                "item_code": "ZJ-HP-001",
                "regions": ["330100"],
                "price_yuan": "1.005",
                "time_limit_working_days": 1,
                "included": ["x"],
                "surprise": 1,
            }
        )


def test_a_withdrawn_offer_cannot_be_withdrawn_again() -> None:
    assert OFFER.expect(OfferStatus.listed, "withdraw").target == OfferStatus.withdrawn
    with pytest.raises(Conflict):
        OFFER.expect(OfferStatus.withdrawn, "withdraw")


def test_a_shelf_purchase_is_confirmed_from_a_draft_never_stored() -> None:
    assert PURCHASE.expect(PurchaseStatus.draft, "shelf_purchase").target == PurchaseStatus.confirmed
    assert PURCHASE.allows(PurchaseStatus.confirmed, "register_contract")
    assert PURCHASE.allows(PurchaseStatus.confirmed, "issue_letter")


def _told(event_type: str) -> dict[str, tuple[str, str]]:
    sample = json.loads((EVENTS_DIR / "domain" / f"{event_type}.json").read_text())
    plan = n.plan(sample["detail"], timezone=TZ)
    assert plan is not None
    return {e.recipient: (e.title, e.text) for e in n.entries(plan, plan.notices)}


def test_a_listing_and_a_withdrawal_are_told_to_the_agency() -> None:
    listed = _told("ShelfOfferListed")
    assert list(listed) == ["agency:AG-002"]
    assert "38000.00 元" in listed["agency:AG-002"][1]
    assert list(_told("ShelfOfferWithdrawn")) == ["agency:AG-002"]
    assert "平台管理员" not in _told("ShelfOfferWithdrawn")["agency:AG-002"][1]


def test_an_admins_withdrawal_tells_the_agency_it_was_the_admin() -> None:
    sample = json.loads((EVENTS_DIR / "domain" / "ShelfOfferWithdrawn.json").read_text())
    sample["detail"]["data"]["by_role"] = "admin"
    plan = n.plan(sample["detail"], timezone=TZ)
    assert plan is not None
    ((recipient, _, text),) = [(e.recipient, e.title, e.text) for e in n.entries(plan, plan.notices)]
    assert recipient == "agency:AG-002" and "已由平台管理员下架" in text


def test_a_shelf_purchase_is_told_to_the_owner_and_the_agency_with_price_and_reason() -> None:
    told = _told("ShelfPurchaseMade")
    assert set(told) == {"owner:OW-001", "agency:AG-002"}
    assert "小额急需" in told["owner:OW-001"][1] and "38000.00 元" in told["agency:AG-002"][1]


def test_a_reward_selection_tells_the_agency_it_was_chosen_and_why() -> None:
    told = _told("RewardSelected")
    assert list(told) == ["agency:AG-002"]
    title, text = told["agency:AG-002"]
    assert "守信激励" in title and "信用等级 A" in text and "近年服务评价优良" in text


def test_a_published_reward_purchase_is_not_announced_to_the_item_s_agencies() -> None:
    data = {
        "purchase_id": "PU-1",
        "owner_id": "OW-1",
        "project_code": "PRJ-000001",
        "title": "t",
        "item_code": "ZJ-HP-001",
        "region": "330106",
        "method": "reward",
        "enrollment_deadline": "2026-12-04T09:00:00Z",
        "commitment": None,
        "reannounces": None,
    }
    detail = {
        "event_id": "11111111-2222-4333-8444-555555555555",
        "event_type": "PurchasePublished",
        "occurred_at": "2026-11-30T02:00:00.123456Z",
        "subject": "PU-1",
        "actor": "u",
        "data": data,
    }
    plan = n.plan(detail, timezone=TZ)
    assert plan is not None and plan.audience is None
    assert [x.recipient for x in plan.notices] == ["owner:OW-1"]
