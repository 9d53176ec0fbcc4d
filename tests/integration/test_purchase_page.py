"""The public purchase page (GET /purchases/{id} without the owner's token) shows everything the law
allows: enrollment count, result, draw proof, contract summary, delivery, evaluations, challenges
and their answers, with links to every quote and score; never who challenged or who rated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.after_award import OWNER_RATINGS, completed
from tests.support.market import Market, agency_id, open_market
from tests.support.scenario import on_clients


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=3)


def _page(market: Market, purchase_id: str) -> dict[str, Any]:
    reply = market.api.call("GET", f"/purchases/{purchase_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_an_evaluated_purchase_shows_its_draw_contract_delivery_and_evaluations(market: Market) -> None:
    purchase_id, winner = completed(market)
    rating = {**OWNER_RATINGS, "comment": "按时完成"}
    rated = market.owner.post(f"/purchases/{purchase_id}/evaluations", rating)
    assert rated.status == 201, rated.body
    regulator = market.api.as_role("regulator", "RG-ENV", industries=("environment",))
    assert regulator.post(f"/purchases/{purchase_id}/evaluations", {"output_quality": 4}).status == 201

    page = _page(market, purchase_id)

    assert page["status"] == "evaluated" and page["enrollments"] == 3
    assert page["result"]["selected_agency"] == winner
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert page["draw"] == proof and page["draw"]["commitment"] == page["commitment"]
    assert page["contract"]["amount_yuan"] == "150000.00" and page["contract"]["sha256"] == "ab" * 32
    assert page["performance"]["delivery_status"] == "accepted"
    shown = [(e["rater"], e["comment"]) for e in page["evaluations"]]
    assert shown == [("owner", "按时完成"), ("regulator", "")]
    assert all("rated_by" not in e and "rater_org" not in e for e in page["evaluations"])
    base = f"/purchases/{purchase_id}"
    assert page["links"] == {
        "self": base,
        "draw": f"{base}/draw",
        "contract": f"{base}/contract",
        "evaluations": f"{base}/evaluations",
        "letter": f"/letters/{page['letter_id']}",
    }
    for link in page["links"].values():  # every link answers the public
        assert market.api.call("GET", link).status == 200, link


def test_challenges_and_their_answers_are_on_the_page_without_the_challenger(market: Market) -> None:
    purchase_id = market.publish()
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    body = {"subject": "announcement", "grounds": ["资格条件超出事项要求"], "reasons": "排斥潜在机构"}
    filed = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", body)
    assert filed.status == 201, filed.body
    answer = {"decision": "reject", "answer": "资格条件与事项一致。"}
    assert market.owner.post(f"/challenges/{filed.body['challenge_id']}/answer", answer).status == 200

    page = _page(market, purchase_id)

    (shown,) = page["challenges"]
    assert shown["status"] == "rejected" and shown["answer"]["answer"] == "资格条件与事项一致。"
    assert shown["challenger_id"] is None and shown["challenger_name"] is None
    assert agency_id(1) not in str(page["challenges"])
    assert page["links"]["challenges"] == f"/purchases/{purchase_id}/challenges"
    assert "draw" not in page["links"] and page["draw"] is None  # enrollment is still open


def test_the_public_page_reads_the_purchase_and_one_more_query(market: Market) -> None:
    """One Query for the purchase and its window row, one for its challenges, draw and evaluations."""
    from marketplace.repositories.base import reset_connections
    from marketplace.repositories.tables import ALL_MODELS

    purchase_id, _ = completed(market)
    calls: list[str] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append(model.name)

    with on_clients({"dynamodb": ("before-parameter-build", record)}):
        reset_connections(ALL_MODELS)
        page = _page(market, purchase_id)
    reset_connections(ALL_MODELS)
    assert page["draw"] is not None
    assert calls == ["Query", "Query"], calls


def test_the_owner_still_reads_its_whole_purchase_and_the_list_stays_one_read(market: Market) -> None:
    purchase_id = market.publish()
    assert "links" not in market.purchase(purchase_id)  # the owner's view is the purchase itself
    listed = market.api.call("GET", "/purchases").body["items"]
    assert [p["purchase_id"] for p in listed] == [purchase_id]
    assert "challenges" not in listed[0] and listed[0]["witnesses"][0]["name"] == "周*"
