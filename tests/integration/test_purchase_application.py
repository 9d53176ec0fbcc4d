"""Drafting, submitting, reviewing and publishing a purchase (DOMAIN.md §4), and what bad input
is refused with — nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Api
from tests.support.market import OWNER, Market, open_market, purchase_request


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _owned(market: Market) -> list[dict]:
    return market.owner.get(f"/owners/{OWNER}/purchases").body["items"]


def test_a_draft_is_private_to_its_owner_and_the_admin(market: Market) -> None:
    purchase_id = market.draft()
    assert market.owner.get(f"/purchases/{purchase_id}").body["status"] == "draft"
    assert market.admin.get(f"/purchases/{purchase_id}").status == 200
    assert market.api.call("GET", f"/purchases/{purchase_id}").status == 404
    assert market.api.as_role("owner", "OW-OTHER").get(f"/purchases/{purchase_id}").status == 404
    assert market.api.call("GET", "/purchases").body["items"] == []
    assert [p["purchase_id"] for p in _owned(market)] == [purchase_id]
    assert market.api.as_role("owner", "OW-OTHER").get(f"/owners/{OWNER}/purchases").status == 403


def test_a_fiscal_purchase_is_reviewed_then_published_with_its_commitment(
    market: Market, published_events
) -> None:
    purchase_id = market.draft()
    submitted = market.owner.post(f"/purchases/{purchase_id}/submit")
    assert submitted.status == 200 and submitted.body["status"] == "pending_review"
    assert submitted.body["commitment"] is None

    returned = market.admin.post(
        f"/purchases/{purchase_id}/review", {"decision": "return", "reasons": "补充概算批复"}
    )
    assert returned.body["status"] == "rejected"
    assert returned.body["review"]["reasons"] == "补充概算批复"
    amended = market.owner.put(f"/purchases/{purchase_id}", purchase_request(title="修改后的标题"))
    assert amended.status == 200 and amended.body["title"] == "修改后的标题"
    assert market.owner.post(f"/purchases/{purchase_id}/submit").body["status"] == "pending_review"

    published = market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"})
    assert published.status == 200
    assert published.body["status"] == "enrollment_open"
    assert len(published.body["commitment"]) == 64
    page = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert page["commitment"] == published.body["commitment"]
    assert "seed" not in page and "created_by" not in page
    assert published_events.types() == [
        "PurchaseSubmitted",
        "PurchaseReturned",
        "PurchaseSubmitted",
        "PurchasePublished",
    ]


def test_a_private_purchase_publishes_on_submission(market: Market) -> None:
    purchase_id = market.draft(funding_type="private")
    reply = market.owner.post(f"/purchases/{purchase_id}/submit")
    assert reply.body["status"] == "enrollment_open"
    assert reply.body["published_at"]


def test_publication_starts_the_purchases_window(market: Market) -> None:
    import boto3

    from marketplace.settings import get_settings

    purchase_id = market.publish()
    settings = get_settings()
    sfn = boto3.client("stepfunctions", region_name=settings.region)
    arn = settings.state_machine_arn_prefix + "purchase-window"
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [e["name"] for e in executions] == [purchase_id]
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert '"enrollment_deadline": "2026-12-04T09:00:00Z"' in described["input"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"item_code": "ZJ-NO-999"}, "item_code"),
        ({"method": "lottery"}, "method"),
        ({"amount_yuan": "-1"}, "amount_yuan"),
        ({"amount_yuan": "2000000.00"}, "amount_yuan"),  # fiscal, above the procurement threshold
        (
            {"enrollment_deadline": "2026-12-02T09:00:00Z", "selection_time": "2026-12-02T09:00:00Z"},
            "enrollment_deadline",
        ),
        (
            {"enrollment_deadline": "2026-11-30T09:00:00Z", "selection_time": "2026-11-30T09:00:00Z"},
            "enrollment_deadline",
        ),
        ({"selection_time": "2026-12-03T09:00:00Z"}, ""),
        ({"method": "credit_best_value"}, ""),  # no short_listing
        ({"method": "direct"}, ""),  # no agency named
        ({"witnesses": [{"name": "甲", "unit": "乙"}] * 4}, "witnesses"),
        ({"region": "3301"}, "region"),
        ({"enrollment_deadline": "2026-12-04T09:00:00"}, "enrollment_deadline"),  # no time zone
        (
            {"exclusions": [{"agency_id": "AG-001", "reason": "x"}, {"agency_id": "AG-001", "reason": "y"}]},
            "",
        ),
    ],
)
def test_a_bad_draft_is_a_422_naming_the_field_and_nothing_is_written(market: Market, changes, field) -> None:
    reply = market.owner.post("/purchases", purchase_request(**changes))
    assert reply.status == 422, reply.body
    assert reply.content_type.startswith("application/problem+json")
    if field:
        assert any(e["field"].startswith(field) for e in reply.body["errors"]), reply.body
    assert _owned(market) == []


def test_a_retired_item_cannot_be_bought(market: Market) -> None:
    retire = {"reason": "事项取消", "effective_from": "2026-12-01"}
    assert market.admin.post("/catalogue/items/ZJ-HP-001/retirement", retire).status == 200
    reply = market.owner.post("/purchases", purchase_request())
    assert reply.status == 422 and "not active" in reply.body["detail"]


def test_only_a_registered_owner_drafts(market: Market) -> None:
    reply = market.api.as_role("owner", "OW-NEW").post("/purchases", purchase_request())
    assert reply.status == 409 and "register" in reply.body["detail"]
    assert market.api.as_role("agency", "AG-001").post("/purchases", purchase_request()).status == 403
    assert market.api.call("POST", "/purchases", purchase_request()).status == 401


def test_only_the_owner_submits_and_only_the_admin_reviews(market: Market) -> None:
    purchase_id = market.draft()
    # To another owner an unpublished purchase does not exist (test_disclosure.py).
    assert market.api.as_role("owner", "OW-OTHER").post(f"/purchases/{purchase_id}/submit").status == 404
    assert market.owner.post(f"/purchases/{purchase_id}/submit").status == 200
    assert market.owner.post(f"/purchases/{purchase_id}/review", {"decision": "approve"}).status == 403
    regulator = market.api.as_role("regulator", "RG-ENV", industries=("environment",))
    assert regulator.post(f"/purchases/{purchase_id}/review", {"decision": "approve"}).status == 403
    assert market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "return"}).status == 422
    assert market.owner.get(f"/purchases/{purchase_id}").body["status"] == "pending_review"


def test_a_published_purchase_is_not_amended_resubmitted_or_reviewed_again(market: Market) -> None:
    purchase_id = market.publish()
    assert market.owner.put(f"/purchases/{purchase_id}", purchase_request()).status == 409
    assert market.owner.post(f"/purchases/{purchase_id}/submit").status == 409
    assert market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"}).status == 409


def test_the_public_list_filters_by_status_item_region_and_date(market: Market) -> None:
    first = market.publish()
    market.clock.set(market.clock.now().replace(hour=3))
    second = market.publish(region="330212", funding_type="private")
    market.draft()  # never listed

    def ids(query: str = "") -> list[str]:
        reply = market.api.call("GET", f"/purchases{query}")
        assert reply.status == 200, reply.body
        return [p["purchase_id"] for p in reply.body["items"]]

    assert ids() == [second, first]  # newest first
    assert ids("?status=enrollment_open") == [second, first]
    assert ids("?status=confirmed") == []
    assert ids("?item_code=ZJ-HP-001") == [second, first]
    assert ids("?region=330100") == [first]
    assert ids("?region=330000") == [second, first]
    assert ids("?published_from=2026-12-01T02:30:00Z") == [second]
    assert ids("?published_to=2026-12-01T02:30:00Z") == [first]
    page = market.api.call("GET", "/purchases?limit=1").body
    assert [p["purchase_id"] for p in page["items"]] == [second]
    rest = market.api.call("GET", f"/purchases?limit=1&cursor={page['cursor']}").body
    assert [p["purchase_id"] for p in rest["items"]] == [first]
    assert market.api.call("GET", "/purchases?cursor=nonsense").status == 400
    assert market.api.call("GET", "/purchases?status=unknown").status == 422
