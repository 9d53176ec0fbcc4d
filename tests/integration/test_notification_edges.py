"""Notifications a review found wrong: a failure blamed on too few enrollments, invitations to
excluded agencies and to direct selections, a request to accept after accepting, and the
short-listed agency the owner did not pick left unaware, and the other enrollees of a drawn or a
failed purchase told nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market
from tests.support.samples import sqs_record


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def _deliver(published_events: Any) -> None:
    """Everything published so far, through the `notify` consumer as SQS hands it over."""
    from app import app

    records = [
        sqs_record(json.dumps(event, ensure_ascii=False), str(uuid.uuid4()))
        for event in published_events.received()  # each checked against its schema
    ]
    for start in range(0, len(records), 10):
        assert app.handler_map["notify"]({"Records": records[start : start + 10]}, None) == {
            "batchItemFailures": []
        }


def _inbox(market: Market, role: str, org: str, purchase_id: str) -> list[dict[str, Any]]:
    reply = market.api.as_role(role, org).get("/me/notifications?limit=100")
    assert reply.status == 200, reply.body
    return [e for e in reply.body["items"] if e["link"] == f"/purchases/{purchase_id}"]


def test_a_purchase_failed_because_the_selected_agency_abandoned_is_not_reported_as_too_few_enrollments(
    market: Market, published_events
) -> None:
    # Given three eligible enrollees (the minimum is 2) and no reserves
    purchase_id = market.publish(reserves=0)
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    selected = market.purchase(purchase_id)["result"]["selected_agency"]

    # When the selected agency abandons, and no reserve is left to move up
    abandoned = market.agency(selected).post(f"/purchases/{purchase_id}/abandonment", {"reason": "人员变动"})
    assert abandoned.status == 200 and abandoned.body["status"] == "failed", abandoned.body
    _deliver(published_events)

    # Then the owner is told why it failed, not that 3 eligible enrollments are "fewer than 2"
    (failed,) = [
        e for e in _inbox(market, "owner", "OW-001", purchase_id) if e["event_type"] == "PurchaseFailed"
    ]
    assert "少于最低" not in failed["text"], failed["text"]


def test_an_agency_the_owner_excluded_is_not_invited_to_the_announcement(
    market: Market, published_events
) -> None:
    # Given a purchase whose owner excludes AG-003 (回避), which may therefore not enroll
    excluded = agency_id(3)
    purchase_id = market.publish(exclusions=[{"agency_id": excluded, "reason": "与业主存在关联关系"}])
    assert market.enroll(purchase_id, excluded).status == 403
    _deliver(published_events)

    # Then the announcement reaches the other agencies, but not the excluded one
    assert [e["event_type"] for e in _inbox(market, "agency", agency_id(1), purchase_id)] == [
        "PurchasePublished"
    ]
    assert _inbox(market, "agency", excluded, purchase_id) == []


def test_a_direct_selection_does_not_invite_agencies_to_enroll_before_a_deadline(
    market: Market, published_events
) -> None:
    # Given a direct selection of AG-002: no one enrolls in it
    purchase_id = market.publish(
        method="direct", direct={"agency_id": agency_id(2), "reason": "抢险救灾工程"}
    )
    assert market.enroll(purchase_id, agency_id(1)).status == 409
    _deliver(published_events)

    # Then no agency is told to enroll before an enrollment deadline
    for n in (1, 3, 4):
        invitations = [
            e for e in _inbox(market, "agency", agency_id(n), purchase_id) if "报名截止" in e["text"]
        ]
        assert invitations == [], invitations


def test_an_agency_that_already_accepted_is_not_asked_to_accept_again(
    market: Market, published_events
) -> None:
    # Given a drawn result the selected agency accepts before the owner confirms
    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    selected = market.purchase(purchase_id)["result"]["selected_agency"]
    assert market.agency(selected).post(f"/purchases/{purchase_id}/acceptance").status == 200

    # When the owner confirms (which confirms the purchase)
    confirmed = market.owner.post(f"/purchases/{purchase_id}/confirmation")
    assert confirmed.status == 200 and confirmed.body["status"] == "confirmed"
    _deliver(published_events)

    # Then the agency is not told, after it accepted, to go and accept
    told = [
        e for e in _inbox(market, "agency", selected, purchase_id) if e["event_type"] == "ResultConfirmed"
    ]
    assert told and all("确认接受" not in e["text"] for e in told), [e["text"] for e in told]


def test_a_short_listed_agency_the_owner_did_not_pick_learns_the_outcome(
    market: Market, published_events
) -> None:
    # Given a credit best-value short list of two, each told to wait for the owner's pick
    purchase_id = market.publish(method="credit_best_value", short_listing={"long_list": 4, "short_list": 2})
    for n in (1, 2, 3, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selecting"
    picked, other = market.purchase(purchase_id)["result"]["short_list"]
    _deliver(published_events)
    waiting = _inbox(market, "agency", other, purchase_id)
    assert any("等待业主选定" in e["text"] for e in waiting)

    # When the owner picks the other one (the agency not picked becomes its reserve)
    reply = market.owner.post(f"/purchases/{purchase_id}/pick", {"agency_id": picked})
    assert reply.status == 200 and reply.body["result"]["reserves"] == [other], reply.body
    _deliver(published_events)

    # Then the agency that was told to wait is told the owner's decision
    assert len(_inbox(market, "agency", other, purchase_id)) > len(waiting)


@pytest.fixture
def crowded(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=7)


def _suspend(market: Market, agency: str) -> None:
    reply = market.admin.post(
        f"/agencies/{agency}/suspension", {"reason": "出具虚假报告", "basis": "管理办法"}
    )
    assert reply.status == 200, reply.body


def test_after_a_draw_every_enrolled_agency_learns_the_result_once_in_its_own_words(
    crowded: Market, published_events
) -> None:
    # Given six enrollments: one withdrawn, one by an agency suspended before enrollment closes,
    # four counted (a draw of one with two reserves leaves one of them not selected); AG-007 never enrolls
    market = crowded
    purchase_id = market.publish(reserves=2)
    for n in range(1, 7):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    withdrawn, uncounted = agency_id(6), agency_id(5)
    assert market.agency(withdrawn).delete(f"/purchases/{purchase_id}/enrollments/{withdrawn}").status == 200
    _suspend(market, uncounted)

    # When enrollment closes, the draw runs and its events reach the inboxes
    assert market.close_and_select(purchase_id)["status"] == "selected"
    result = market.purchase(purchase_id)["result"]
    selected, reserves = result["selected_agency"], result["reserves"]
    (not_selected,) = {agency_id(n) for n in range(1, 5)} - {selected, *reserves}
    _deliver(published_events)

    # Then each agency still enrolled has exactly one result notification, saying what it is to it
    def result_notices(agency: str) -> list[dict[str, Any]]:
        notices = _inbox(market, "agency", agency, purchase_id)
        return [e for e in notices if e["event_type"] == "ResultPublished"]

    (won,) = result_notices(selected)
    assert won["title"] == f"您已中选：{purchase_id}" and "确认接受或放弃" in won["text"]
    for rank, reserve in enumerate(reserves, start=1):
        (told,) = result_notices(reserve)
        assert told["title"] == f"您是候补：{purchase_id}" and f"第 {rank} 候补" in told["text"]
    (lost,) = result_notices(not_selected)
    assert lost["title"] == f"未中选：{purchase_id}"
    assert f"中选机构为 {selected}" in lost["text"] and "您未中选" in lost["text"]
    (ignored,) = result_notices(uncounted)
    assert ignored["title"] == f"未中选：{purchase_id}" and f"中选机构为 {selected}" in ignored["text"]
    assert "未计入有效报名" in ignored["text"] and "suspended" in ignored["text"]  # and why
    # and an agency that withdrew, or never enrolled, is not told a result it took no part in
    assert result_notices(withdrawn) == [] and result_notices(agency_id(7)) == []


def test_every_enrollee_of_a_purchase_that_fails_at_closing_learns_that_it_failed_and_why(
    market: Market, published_events
) -> None:
    # Given two enrollees, one of them suspended before enrollment closes (the minimum is two)
    purchase_id = market.publish()
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    _suspend(market, agency_id(2))

    # When enrollment closes with one eligible enrollment
    assert market.close_and_select(purchase_id)["status"] == "failed"
    _deliver(published_events)

    # Then both enrollees learn the purchase failed and why; the suspended one also why it did not count
    for n in (1, 2):
        (failed,) = [
            e
            for e in _inbox(market, "agency", agency_id(n), purchase_id)
            if e["event_type"] == "PurchaseFailed"
        ]
        assert failed["title"] == f"采购未成交：{purchase_id}"
        assert "有效报名 1 家，少于最低 2 家" in failed["text"], failed["text"]
        assert ("未计入有效报名" in failed["text"]) is (n == 2)
    # and an agency that did not enroll is not told
    assert [e["event_type"] for e in _inbox(market, "agency", agency_id(3), purchase_id)] == [
        "PurchasePublished"
    ]


def test_the_enrollment_rows_the_consumer_reads_are_named_as_the_purchases_repository_writes_them() -> None:
    from marketplace.repositories import purchases, recipients

    assert recipients.ENROLLMENT_PREFIX == purchases.ENROLLMENT_PREFIX
