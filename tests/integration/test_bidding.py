"""Price bidding (竞价选取, docs/bidding.md): sealed quotes in round one, lower-only further rounds,
the lowest final price wins, every quote public after the last round; each refusal a clear 4xx
with nothing written; repeated closing triggers harmless."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.domain.draw import verify
from marketplace.domain.quotes import QuoteRequest, sealed_plaintext
from marketplace.repositories import bidding as bidding_repo
from marketplace.services.purchase_window import StepNotDue
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, agency_id, open_market

BEFORE_DEADLINE = AFTER_DEADLINE - timedelta(hours=1)


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=5)


def publish(market: Market, **terms: Any) -> str:
    bidding = {"rounds": 1, "floor_yuan": "90000.00", **terms}
    return market.publish(method="price_bidding", bidding=bidding, reserves=1)


def task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def quote(market: Market, purchase_id: str, n: int, amount: str, **kwargs: Any) -> Any:
    return market.agency(agency_id(n)).post(
        f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount}, **kwargs
    )


def enroll(market: Market, purchase_id: str, numbers: range) -> None:
    for n in numbers:
        assert market.enroll(purchase_id, agency_id(n)).status == 201


def stored(purchase_id: str, n: int) -> list[bidding_repo.SealedQuote]:
    return bidding_repo.own_quotes(purchase_id, agency_id(n))


def test_one_sealed_round_the_lowest_price_wins_and_every_quote_is_published(market: Market) -> None:
    purchase_id = publish(market)
    enroll(market, purchase_id, range(1, 4))
    first = quote(market, purchase_id, 1, "150000.00")
    assert first.status == 201, first.body
    receipt = first.body
    assert set(receipt) == {"purchase_id", "agency_id", "round", "digest", "submitted_at", "replaces"}
    assert receipt["round"] == 1 and len(receipt["digest"]) == 64 and receipt["replaces"] is False
    replaced = quote(market, purchase_id, 1, "145000.00")
    assert replaced.status == 200 and replaced.body["replaces"] is True
    assert quote(market, purchase_id, 2, "140000.00").status == 201
    assert quote(market, purchase_id, 3, "160000.00").status == 201

    market.clock.set(AFTER_DEADLINE)
    closed = task("close_enrollment", purchase_id)
    assert closed["status"] == "enrollment_closed" and closed["round_closes_at"] is None
    assert task("run_selection", purchase_id)["status"] == "selected"

    result = market.purchase(purchase_id)["result"]
    assert result["selected_agency"] == agency_id(2) and result["reserves"] == [agency_id(1)]
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert verify(proof) == []
    assert proof["values"] == {
        agency_id(1): "145000.00",
        agency_id(2): "140000.00",
        agency_id(3): "160000.00",
    }
    assert proof["values_order"] == "ascending"
    assert (proof["method"], proof["quote_form"], proof["rounds"], proof["tied"]) == (
        "price_bidding",
        "amount",
        1,
        [],
    )

    public = market.api.call("GET", f"/purchases/{purchase_id}/quotes")
    assert public.status == 200 and public.body["published"] is True
    quotes = {q["agency_id"]: q for q in public.body["quotes"]}
    assert {a: q["price_yuan"] for a, q in quotes.items()} == proof["values"]
    # Anyone recomputes a receipt's digest from what is published: agency 1's replacing quote.
    mine = quotes[agency_id(1)]
    assert mine["digest"] == replaced.body["digest"]
    plaintext = sealed_plaintext(
        purchase_id,
        agency_id(1),
        1,
        QuoteRequest(amount_yuan=Decimal(mine["price_yuan"])),
        mine["submitted_at"],
        mine["nonce"],
    )
    assert hashlib.sha256(plaintext).hexdigest() == mine["digest"]
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body["rounds"]
    assert rounds == [
        {
            "round": 1,
            "state": "closed",
            "opens_at": rounds[0]["opens_at"],
            "closes_at": "2026-12-04T09:00:00Z",
            "quotes": 3,
            "best_price_yuan": "140000.00",
        }
    ]


def test_two_rounds_a_candidate_lowers_its_quote_and_wins(market: Market, published_events: Any) -> None:
    purchase_id = publish(market, rounds=2, round_minutes=5)
    enroll(market, purchase_id, range(1, 5))
    for n, amount in ((1, "150000.00"), (2, "140000.00"), (3, "160000.00")):
        assert quote(market, purchase_id, n, amount).status == 201  # agency 4 enrolled, never quotes

    market.clock.set(AFTER_DEADLINE)
    opened = task("close_enrollment", purchase_id)
    assert opened["status"] == "bidding"
    assert opened["round_closes_at"] == "2026-12-04T09:05:01Z"
    view = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body
    assert [r["state"] for r in view["rounds"]] == ["closed", "open"]
    assert view["rounds"][0]["best_price_yuan"] == "140000.00" and view["rounds"][1]["closes_at"] == (
        "2026-12-04T09:05:01Z"
    )
    assert "agency_id" not in json.dumps(view)  # the best price without its owner

    # Round two: only lower than one's own price; agency 4 (no round-one quote) is no candidate.
    raised = quote(market, purchase_id, 3, "165000.00")
    assert (
        raised.status == 422 and raised.body["reason"] == "not_lower" and "160000.00" in raised.body["detail"]
    )
    same = quote(market, purchase_id, 3, "160000.00")
    assert same.status == 422
    assert quote(market, purchase_id, 4, "100000.00").status == 403
    assert stored(purchase_id, 3) == stored(purchase_id, 3)[:1]  # round one's only: nothing written
    assert stored(purchase_id, 4) == []
    assert quote(market, purchase_id, 3, "130000.00").status == 201

    with pytest.raises(StepNotDue):
        task("close_round", purchase_id)  # early: the execution retries
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=5, seconds=1))
    late = quote(market, purchase_id, 1, "100000.00")
    assert late.status == 409 and late.body["reason"] == "late"
    ended = task("close_round", purchase_id)
    assert ended["status"] == "enrollment_closed" and ended["round_closes_at"] is None
    before = market.purchase(purchase_id)
    events_before = published_events.types()
    for _ in range(3):  # the execution's retry, the sweeper, a duplicate: nothing changes
        assert task("close_round", purchase_id)["status"] == "enrollment_closed"
    assert market.purchase(purchase_id) == before
    assert published_events.types() == []
    assert task("run_selection", purchase_id)["status"] == "selected"
    assert market.purchase(purchase_id)["result"]["selected_agency"] == agency_id(3)

    page = market.api.call("GET", f"/purchases/{purchase_id}").body  # the public purchase page too
    assert [(q["round"], q["agency_id"], q["price_yuan"]) for q in page["quotes"]] == [
        (1, agency_id(1), "150000.00"),
        (1, agency_id(2), "140000.00"),
        (1, agency_id(3), "160000.00"),
        (2, agency_id(3), "130000.00"),
    ]
    assert [r["best_price_yuan"] for r in page["bidding_rounds"]] == ["140000.00", "130000.00"]
    public = market.api.call("GET", f"/purchases/{purchase_id}/quotes").body
    assert [(q["round"], q["agency_id"], q["price_yuan"]) for q in public["quotes"]] == [
        (1, agency_id(1), "150000.00"),
        (1, agency_id(2), "140000.00"),
        (1, agency_id(3), "160000.00"),
        (2, agency_id(3), "130000.00"),
    ]
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body["rounds"]
    assert [(r["state"], r["quotes"], r["best_price_yuan"]) for r in rounds] == [
        ("closed", 3, "140000.00"),
        ("closed", 1, "130000.00"),
    ]
    assert events_before.count("BiddingRoundClosed") == 2
    assert events_before.count("BiddingRoundOpened") == 1 and events_before.count("QuotesPublished") == 1
    assert "QuoteSubmitted" in events_before

    # Both parties confirm: the signed letter states the winning quote as the price agreed.
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(agency_id(3)).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["letter_id"] == f"L-{purchase_id}", accepted.body
    envelope = market.api.call("GET", f"/letters/L-{purchase_id}").body
    letter = envelope["letter"]
    assert letter["method"] == "price_bidding"
    assert letter["price"]["amount_yuan"] == "130000.00" and letter["price"]["ceiling_yuan"] is None
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True


def test_a_quote_out_of_bounds_or_in_the_wrong_form_is_refused_with_the_reason_and_nothing_written(
    market: Market,
) -> None:
    purchase_id = publish(market)
    enroll(market, purchase_id, range(1, 2))
    above = quote(market, purchase_id, 1, "180000.01")
    assert above.status == 422 and above.body["reason"] == "above_ceiling"
    assert "180000.00" in above.body["detail"] and above.body["errors"][0]["field"] == "amount_yuan"
    low = quote(market, purchase_id, 1, "89999.99")
    assert low.status == 422 and low.body["reason"] == "abnormally_low"
    assert "abnormally low" in low.body["detail"] and "90000.00" in low.body["detail"]
    rate = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/quotes", {"discount_rate": "90.00"})
    assert rate.status == 422 and rate.body["errors"][0]["field"] == "amount_yuan"
    both = market.agency(agency_id(1)).post(
        f"/purchases/{purchase_id}/quotes", {"amount_yuan": "100000.00", "discount_rate": "90.00"}
    )
    assert both.status == 422
    assert stored(purchase_id, 1) == []
    assert quote(market, purchase_id, 1, "180000.00").status == 201  # the ceiling itself is fine


def test_a_discount_rate_is_a_percentage_of_the_government_price(market: Market) -> None:
    purchase_id = publish(market, quote_form="discount_rate", government_price_yuan="200000.00")
    enroll(market, purchase_id, range(1, 3))
    agency = market.agency(agency_id(1))
    over = agency.post(f"/purchases/{purchase_id}/quotes", {"discount_rate": "92.50"})  # 185000 > 180000
    assert over.status == 422 and "185000.00" in over.body["detail"]
    assert agency.post(f"/purchases/{purchase_id}/quotes", {"discount_rate": "80.00"}).status == 201
    other = market.agency(agency_id(2)).post(f"/purchases/{purchase_id}/quotes", {"discount_rate": "75.55"})
    assert other.status == 201
    market.clock.set(AFTER_DEADLINE)
    task("close_enrollment", purchase_id)
    task("run_selection", purchase_id)
    quotes = market.api.call("GET", f"/purchases/{purchase_id}/quotes").body["quotes"]
    assert [(q["agency_id"], q["price_yuan"], q["discount_rate"]) for q in quotes] == [
        (agency_id(1), "160000.00", "80.00"),
        (agency_id(2), "151100.00", "75.55"),
    ]
    assert market.purchase(purchase_id)["result"]["selected_agency"] == agency_id(2)


def test_only_an_enrolled_agency_quotes_before_the_deadline(market: Market) -> None:
    purchase_id = publish(market)
    random_draw = market.publish()
    enroll(market, purchase_id, range(1, 3))
    assert (
        market.agency(agency_id(2)).delete(f"/purchases/{purchase_id}/enrollments/{agency_id(2)}").status
        == 200
    )
    never = quote(market, purchase_id, 3, "150000.00")
    assert never.status == 403 and never.body["reason"] == "not_enrolled"
    withdrawn = quote(market, purchase_id, 2, "150000.00")
    assert withdrawn.status == 403 and withdrawn.body["reason"] == "not_enrolled"
    owner = market.owner.post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": "150000.00"})
    assert owner.status == 403
    anonymous = market.api.call("POST", f"/purchases/{purchase_id}/quotes", {"amount_yuan": "150000.00"})
    assert anonymous.status == 401
    # After the deadline, before closing has run: late, whatever the clock of the closing task.
    market.clock.set(AFTER_DEADLINE)
    late = quote(market, purchase_id, 1, "150000.00")
    assert late.status == 409 and late.body["reason"] == "late"
    assert stored(purchase_id, 1) == stored(purchase_id, 2) == stored(purchase_id, 3) == []
    market.clock.set(BEFORE_DEADLINE)
    assert quote(market, random_draw, 1, "150000.00").status == 404  # not a price-bidding purchase


def test_an_idempotency_key_returns_the_first_receipt_and_writes_nothing_more(market: Market) -> None:
    purchase_id = publish(market)
    enroll(market, purchase_id, range(1, 2))
    key = {"idempotency-key": "quote-1"}
    first = quote(market, purchase_id, 1, "150000.00", headers=key)
    again = quote(market, purchase_id, 1, "150000.00", headers=key)
    assert first.status == again.status == 201 and again.body == first.body
    assert [q.digest for q in stored(purchase_id, 1)] == [first.body["digest"]]


def test_too_few_valid_quotes_fail_the_purchase_with_the_reason(market: Market) -> None:
    purchase_id = publish(market)
    enroll(market, purchase_id, range(1, 4))  # three eligible, one quotes
    assert quote(market, purchase_id, 1, "150000.00").status == 201
    market.clock.set(AFTER_DEADLINE)
    assert task("close_enrollment", purchase_id)["status"] == "failed"
    failed = market.purchase(purchase_id)
    assert "1 valid quote(s)" in failed["failure_reason"] and "minimum of 2" in failed["failure_reason"]


def test_rounds_of_a_purchase_not_yet_closed_show_round_one_open_and_the_rest_scheduled(
    market: Market,
) -> None:
    purchase_id = publish(market, rounds=3)
    view = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body
    assert [r["state"] for r in view["rounds"]] == ["open", "scheduled", "scheduled"]
    assert view["rounds"][0]["closes_at"] == "2026-12-04T09:00:00Z"
    assert view["round_minutes"] == 10 and view["ceiling_yuan"] == "180000.00"
    assert market.api.call("GET", f"/purchases/{market.publish()}/rounds").status == 404


def _executions(purchase_id: str) -> list[str]:
    import boto3

    from marketplace.repositories.workflows import PURCHASE_WINDOW
    from marketplace.settings import get_settings

    settings = get_settings()
    sfn = boto3.client("stepfunctions", region_name=settings.region)
    arn = settings.state_machine_arn_prefix + PURCHASE_WINDOW
    return sorted(
        e["name"]
        for e in sfn.list_executions(stateMachineArn=arn)["executions"]
        if e["name"].startswith(purchase_id)
    )


def test_the_sweeper_hands_a_missed_sealed_step_to_a_new_execution_and_never_opens_quotes(
    market: Market,
) -> None:
    """Only the closing tasks may decrypt: when an execution missed closing or a round, the sweeper
    starts the window again (once per due step) instead of opening the quotes itself."""
    from marketplace.services.purchase_window import sweep

    purchase_id = publish(market, rounds=2, round_minutes=5)
    enroll(market, purchase_id, range(1, 4))
    for n, amount in ((1, "150000.00"), (2, "140000.00"), (3, "160000.00")):
        assert quote(market, purchase_id, n, amount).status == 201
    started = _executions(purchase_id)

    market.clock.set(AFTER_DEADLINE + timedelta(minutes=1))
    assert purchase_id not in sweep().restarted  # the execution still has its retries' time
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=4))
    before = market.purchase(purchase_id)
    assert purchase_id in sweep().restarted and purchase_id in sweep().restarted  # started once
    assert market.purchase(purchase_id) == before  # nothing opened, nothing closed by the sweeper
    restarted = sorted(set(_executions(purchase_id)) - set(started))
    assert restarted == [f"{purchase_id}-close-20261204T090000Z"]  # named for the deadline

    # The new execution runs the closing task, which opens round one and starts round two.
    assert task("close_enrollment", purchase_id)["status"] == "bidding"
    closes_at = market.purchase(purchase_id)["bidding_rounds"][-1]["closes_at"]
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=20))
    assert purchase_id in sweep().restarted
    assert f"{purchase_id}-round-{closes_at.replace('-', '').replace(':', '')}" in _executions(purchase_id)
    assert market.purchase(purchase_id)["status"] == "bidding"
    assert task("close_round", purchase_id)["status"] == "enrollment_closed"
    assert task("run_selection", purchase_id)["status"] == "selected"
