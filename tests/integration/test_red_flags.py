"""Red flags (docs/red-flags.md) from the flows' own events: raised for constructed cases, cleared
when they stop applying, a redelivery applied once, two events at once giving one consistent set,
the public list's filters and bad input, the purchase page, R044 never showing what is shared, and
the industry regulators' inbox."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, agency_id, open_market
from tests.support.samples import sqs_record

SHARED_PHONE = "13900000001"  # every sample agency's contact phone (tests/support/samples.py)
SHARED_EMAIL = "qianf@example.cn"
SHARED_ADDRESS = "杭州市西湖区文三路100号"
SHARED_ID_NUMBER = "330106198001011234"
SECRETS = (SHARED_PHONE, SHARED_EMAIL, SHARED_ADDRESS, SHARED_ID_NUMBER)


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def distinct(*numbers: int) -> None:
    """Give these agencies contacts, address and practitioners of their own (the samples share them)."""
    from marketplace.repositories.tables import AgencyRow

    for n in numbers:
        row = AgencyRow.get(agency_id(n), "PROFILE")
        record = row.document["record"]
        record["contacts"][0]["phone"] = f"1380000{n:04d}"
        record["contacts"][0]["email"] = f"a{n}@example.cn"
        record["legal_entity"]["address"] = f"杭州市西湖区文三路{200 + n}号"
        record["practitioners"][0]["id_number"] = f"33010619800101{n:03d}X"
        row.save()


def consume(events: list[dict[str, Any]], prefix: str = "m") -> dict[str, Any]:
    from app import app

    records = [sqs_record(json.dumps(e), f"{prefix}-{i}") for i, e in enumerate(events)]
    return dict(app.handler_map["compute_red_flags"]({"Records": records}, None))


def feed(published_events: Any) -> list[dict[str, Any]]:
    """Every event the flows published, through the consumer; returns them."""
    events = published_events.received()
    assert consume(events) == {"batchItemFailures": []}
    return events


def flags_of(market: Market, purchase_id: str) -> dict[str, dict[str, Any]]:
    page = market.api.call("GET", f"/purchases/{purchase_id}")  # the public page
    assert page.status == 200, page.body
    return {f["code"]: f for f in page.body["red_flags"]}


def single_enrollment(market: Market) -> str:
    purchase_id = market.publish()
    assert market.enroll(purchase_id, agency_id(1)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "failed"
    return purchase_id


def test_a_single_enrollment_raises_r018_on_the_page_in_the_list_and_in_the_regulators_inbox(
    market: Market, published_events: Any
) -> None:
    from app import app

    purchase_id = single_enrollment(market)
    feed(published_events)
    flag = flags_of(market, purchase_id)["R018"]
    assert flag["title"] == "Single bid received" and flag["state"] == "raised"
    assert flag["agencies"] == [agency_id(1)] and flag["owner_id"] == "OW-001"

    for query in (
        "",
        "?code=R018",
        "?owner=OW-001",
        f"?agency={agency_id(1)}",
        f"?code=R018&owner=OW-001&agency={agency_id(1)}",
    ):
        listed = market.api.call("GET", f"/red-flags{query}")
        assert listed.status == 200, listed.body
        assert [f["flag_id"] for f in listed.body["items"]] == [f"R018:{purchase_id}"], query
    for query in ("?code=R028", "?owner=OW-999", f"?code=R018&agency={agency_id(2)}"):
        assert market.api.call("GET", f"/red-flags{query}").body["items"] == [], query

    raised = [e for e in published_events.received() if e["detail-type"] == "RedFlagRaised"]
    assert [e["detail"]["data"]["code"] for e in raised] == ["R018"]
    assert raised[0]["detail"]["data"]["industry"] == "environment"
    app.handler_map["notify"]({"Records": [sqs_record(json.dumps(raised[0]), "n-1")]}, None)
    regulator = market.api.as_role("regulator", "RG-1", industries=("environment",))
    inbox = regulator.get("/me/notifications?industry=environment")
    assert inbox.status == 200, inbox.body
    entry = next(n for n in inbox.body["items"] if n["event_type"] == "RedFlagRaised")
    assert "R018" in entry["title"] and entry["link"] == f"/purchases/{purchase_id}"


def test_identical_quotes_raise_r028(market: Market, published_events: Any) -> None:
    from app import app

    distinct(1, 2, 3)
    purchase_id = market.publish(
        method="price_bidding", bidding={"rounds": 1, "floor_yuan": "90000.00"}, reserves=1
    )
    for n, amount in ((1, "150000.00"), (2, "150000.00"), (3, "160000.00")):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        reply = market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})
        assert reply.status == 201, reply.body
    market.clock.set(AFTER_DEADLINE)
    app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)
    app.handler_map["run_selection"]({"purchase_id": purchase_id}, None)
    feed(published_events)
    flags = flags_of(market, purchase_id)
    assert flags["R028"]["agencies"] == [agency_id(1), agency_id(2)]
    assert flags["R024"]["state"] == "raised"  # the second-lowest equals the lowest
    assert "R044" not in flags and "R018" not in flags


@pytest.mark.parametrize("sealed_before_deadline", [None, 30])
def test_r030_measures_the_winners_sealed_quote_not_its_later_round_quote(
    market: Market, published_events: Any, sealed_before_deadline: int | None
) -> None:
    """Round two opens after the enrollment deadline: the winner lowering its quote there is no late
    bid; its round-one quote in the deadline's last half hour is."""
    from app import app

    distinct(1, 2, 3)
    purchase_id = market.publish(
        method="price_bidding",
        bidding={"rounds": 2, "round_minutes": 5, "floor_yuan": "90000.00"},
        reserves=1,
    )
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    for n, amount in ((1, "150000.00"), (2, "140000.00"), (3, "160000.00")):
        if n == 3 and sealed_before_deadline is not None:
            market.clock.set(AFTER_DEADLINE - timedelta(seconds=1, minutes=sealed_before_deadline))
        reply = market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})
        assert reply.status == 201, reply.body
    market.clock.set(AFTER_DEADLINE)
    assert app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)["status"] == "bidding"
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=4))  # round two, a minute before it closes
    lowered = market.agency(agency_id(3)).post(
        f"/purchases/{purchase_id}/quotes", {"amount_yuan": "130000.00"}
    )
    assert lowered.status == 201, lowered.body
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=5, seconds=1))
    assert app.handler_map["close_round"]({"purchase_id": purchase_id}, None)["status"] == "enrollment_closed"
    app.handler_map["run_selection"]({"purchase_id": purchase_id}, None)
    assert market.purchase(purchase_id)["result"]["selected_agency"] == agency_id(3)
    feed(published_events)
    flags = flags_of(market, purchase_id)
    if sealed_before_deadline is None:
        assert "R030" not in flags
    else:
        assert flags["R030"]["agencies"] == [agency_id(3)]
        assert flags["R030"]["detail"].startswith(
            "the winner's bid came 30 min before the enrollment deadline"
        )


def test_a_flag_that_stops_applying_is_cleared_and_kept_in_history(
    market: Market, published_events: Any
) -> None:
    from marketplace.services import red_flags

    purchase_id = market.publish()
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.close_and_select(purchase_id)
    feed(published_events)
    assert flags_of(market, purchase_id)["R044"]["state"] == "raised"

    distinct(2)  # the agency changed its contacts and address: nothing is shared any more
    red_flags.recompute(purchase_id)
    flag = flags_of(market, purchase_id)["R044"]
    assert flag["state"] == "cleared" and flag["cleared_at"] is not None
    assert flag["history"] == [[flag["raised_at"], flag["cleared_at"]]]
    listed = market.api.call("GET", "/red-flags?code=R044").body["items"]
    assert [(f["flag_id"], f["state"]) for f in listed] == [(f"R044:{purchase_id}", "cleared")]


def test_a_redelivered_event_is_applied_once(market: Market, published_events: Any) -> None:
    from marketplace.repositories import red_flags as repo

    purchase_id = single_enrollment(market)
    events = published_events.received()
    assert consume(events, "first") == {"batchItemFailures": []}
    revision = repo.flag_set(purchase_id).revision
    assert consume(events, "again") == {"batchItemFailures": []}
    assert repo.flag_set(purchase_id).revision == revision
    raised = [e for e in published_events.received() if e["detail-type"] == "RedFlagRaised"]
    assert len(raised) == 1
    assert len(market.api.call("GET", "/red-flags").body["items"]) == 1


def test_two_events_for_the_same_purchase_at_once_give_one_consistent_set(
    market: Market, published_events: Any
) -> None:
    from marketplace.repositories import red_flags as repo
    from marketplace.services import red_flags

    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.close_and_select(purchase_id)
    events = published_events.received()
    outcome = next(e for e in events if e["detail-type"] == "ResultPublished")
    twins = [
        outcome,
        {**outcome, "detail": {**outcome["detail"], "event_id": "0d6f5c1e-0000-4000-8000-000000000002"}},
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda e: red_flags.apply(json.dumps(e)), twins * 2))
    stored = repo.flag_set(purchase_id)
    assert set(stored.flags) == {f"R044:{purchase_id}"} and stored.projected == stored.revision
    raised = [e for e in published_events.received() if e["detail-type"] == "RedFlagRaised"]
    assert [e["detail"]["data"]["flag_id"] for e in raised] == [f"R044:{purchase_id}"]
    assert len(market.api.call("GET", "/red-flags?code=R044").body["items"]) == 1


def test_the_list_pages_with_a_cursor_and_refuses_bad_input(market: Market, published_events: Any) -> None:
    first = single_enrollment(market)
    market.clock.set(market.clock.now().replace(day=1))
    second = market.publish(project_code="2026-330106-47-01-000124")
    assert market.enroll(second, agency_id(2)).status == 201
    market.close_and_select(second)
    feed(published_events)
    page = market.api.call("GET", "/red-flags?code=R018&limit=1")
    assert page.status == 200 and len(page.body["items"]) == 1 and page.body["cursor"]
    rest = market.api.call("GET", f"/red-flags?code=R018&limit=1&cursor={page.body['cursor']}")
    assert rest.status == 200 and rest.body["cursor"] is None
    seen = {page.body["items"][0]["purchase_id"], rest.body["items"][0]["purchase_id"]}
    assert seen == {first, second}

    for query, field in (
        ("?code=R999", "code"),
        ("?owner=bad%20id", "owner"),
        ("?agency=" + "A" * 80, "agency"),
        ("?limit=0", "limit"),
        ("?colour=red", "colour"),
    ):
        reply = market.api.call("GET", f"/red-flags{query}")
        assert 400 <= reply.status < 500, (query, reply.status)
        assert field in json.dumps(reply.body), (query, reply.body)
    other = market.api.call("GET", f"/red-flags?code=R044&cursor={page.body['cursor']}")
    assert other.status == 400  # a cursor of another filter's list
    assert market.api.call("GET", "/red-flags?cursor=bm90LWEtY3Vyc29y").status == 400


def test_r044_never_shows_the_shared_contact_or_address(
    market: Market, published_events: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.close_and_select(purchase_id)
    feed(published_events)
    flag = flags_of(market, purchase_id)["R044"]
    assert flag["agencies"] == [agency_id(1), agency_id(2), agency_id(3)]
    assert "phone" in flag["detail"] and "address" in flag["detail"]

    seen = [
        json.dumps(market.api.call("GET", f"/purchases/{purchase_id}").body, ensure_ascii=False),
        json.dumps(market.api.call("GET", "/red-flags").body, ensure_ascii=False),
        json.dumps(market.api.call("GET", "/red-flags?code=R044").body, ensure_ascii=False),
        json.dumps(published_events.received(), ensure_ascii=False),
        caplog.text,
    ]
    from marketplace.repositories.tables import PurchaseRow

    seen += [
        json.dumps(r.document, ensure_ascii=False)
        for r in PurchaseRow.scan()
        if r.purchase_id.startswith("RF")
    ]
    for text in seen:
        for secret in SECRETS:
            assert secret not in text


def test_the_third_direct_choice_of_the_same_agency_raises_mk01(
    market: Market, published_events: Any
) -> None:
    direct = {"agency_id": agency_id(1), "reason": "该机构承担过本项目前期评价，熟悉项目情况"}
    purchases = []
    for n in range(3):
        reply = market.owner.post(
            "/purchases",
            {
                **_request(f"2026-330106-47-01-00020{n}"),
                "method": "direct",
                "direct": direct,
            },
        )
        assert reply.status == 201, reply.body
        purchase_id = reply.body["purchase_id"]
        submitted = market.owner.post(f"/purchases/{purchase_id}/submit")
        if submitted.body["status"] == "pending_review":
            submitted = market.admin.post(f"/purchases/{purchase_id}/review", {"decision": "approve"})
        assert submitted.body["status"] == "selected", submitted.body
        purchases.append(purchase_id)
        feed(published_events)
    assert "MK01" not in flags_of(market, purchases[1])
    flag = flags_of(market, purchases[2])["MK01"]
    assert flag["agencies"] == [agency_id(1)] and "3 times" in flag["detail"]
    listed = market.api.call("GET", f"/red-flags?code=MK01&owner=OW-001&agency={agency_id(1)}").body["items"]
    assert [f["purchase_id"] for f in listed] == [purchases[2]]


def _request(project_code: str) -> dict[str, Any]:
    from tests.support.market import purchase_request

    body = purchase_request(project_code=project_code)
    body.pop("reserves", None)
    return body


def test_a_project_announced_a_third_time_raises_mk02(market: Market, published_events: Any) -> None:
    from datetime import UTC, datetime

    from app import app

    first = single_enrollment(market)
    deadlines = ["2026-12-09T09:00:00Z", "2026-12-15T09:00:00Z"]
    current = first
    for deadline in deadlines:
        dates = {"enrollment_deadline": deadline, "selection_time": deadline}
        reply = market.owner.post(f"/purchases/{current}/reannouncement", dates)
        assert reply.status == 201, reply.body
        current = reply.body["purchase_id"]
        approved = market.admin.post(f"/purchases/{current}/review", {"decision": "approve"})
        assert approved.status == 200, approved.body
        assert market.enroll(current, agency_id(1)).status == 201
        market.clock.set(
            datetime.fromisoformat(deadline.replace("Z", "+00:00")).replace(second=1, tzinfo=UTC)
        )
        assert app.handler_map["close_enrollment"]({"purchase_id": current}, None)["status"] == "failed"
    feed(published_events)
    assert "MK02" in flags_of(market, current)
    flag = flags_of(market, current)["MK02"]
    assert "announced 3 times" in flag["detail"]
    second = market.api.call("GET", f"/purchases/{current}").body["reannounces"]
    assert "MK02" not in flags_of(market, second)


def test_an_agency_that_keeps_losing_is_flagged_r025_on_itself(
    market: Market, published_events: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.settings import reset_settings

    monkeypatch.setenv("RULE_FLAG_UNSUCCESSFUL_BIDS", "2")
    reset_settings()
    distinct(1, 2, 3)
    winners = []
    for n in range(2):
        market.clock.set(market.clock.now().replace(day=1))
        purchase_id = market.publish(project_code=f"2026-330106-47-01-00030{n}")
        for a in (1, 2, 3):
            assert market.enroll(purchase_id, agency_id(a)).status == 201
        market.close_and_select(purchase_id)
        winners.append(market.purchase(purchase_id)["result"]["selected_agency"])
    feed(published_events)
    losers = sorted({agency_id(a) for a in (1, 2, 3)} - set(winners))
    listed = market.api.call("GET", "/red-flags?code=R025").body["items"]
    assert sorted(f["agencies"][0] for f in listed) == losers
    assert all(f["purchase_id"] is None and f["flag_id"].startswith("R025:agency:") for f in listed)
    mine = market.api.call("GET", f"/red-flags?agency={losers[0]}").body["items"]
    assert [f["code"] for f in mine] == ["R025"]


def test_a_malformed_message_alone_is_reported_failed(market: Market, published_events: Any) -> None:
    from app import app

    purchase_id = single_enrollment(market)
    good = [e for e in published_events.received() if e["detail"]["event_type"] == "PurchaseFailed"]
    records = [sqs_record("not json", "bad"), sqs_record(json.dumps(good[0]), "good")]
    result = app.handler_map["compute_red_flags"]({"Records": records}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert "R018" in flags_of(market, purchase_id)
