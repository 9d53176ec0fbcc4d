"""Evaluation (服务评价, DOMAIN.md §8): after completion the owner rates the service once and the
item's regulator the output's quality once; both public with the purchase without the raters'
personal data, each with its credit event."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.after_award import OWNER_RATINGS, completed, contracted, credit_events, delivered
from tests.support.market import OWNER, Market, open_market

ENV = ("environment",)  # the sample item's industry


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _regulator(market: Market, industries: tuple[str, ...] = ENV) -> Any:
    return market.api.as_role("regulator", "RG-ENV", industries=industries)


def _path(purchase_id: str) -> str:
    return f"/purchases/{purchase_id}/evaluations"


def test_owner_and_regulator_evaluations_are_public_and_recorded_as_credit(
    market: Market, published_events
) -> None:
    purchase_id, winner = completed(market)

    by_owner = market.owner.post(_path(purchase_id), {**OWNER_RATINGS, "comment": "报告质量高，按时完成"})

    assert by_owner.status == 201, by_owner.body
    assert by_owner.body["rater"] == "owner" and by_owner.body["average"] == 4.6
    assert market.purchase(purchase_id)["status"] == "evaluated"

    by_regulator = _regulator(market).post(_path(purchase_id), {"output_quality": 4, "comment": ""})

    assert by_regulator.status == 201, by_regulator.body
    assert market.purchase(purchase_id)["status"] == "evaluated"
    public = market.api.call("GET", _path(purchase_id))
    assert public.status == 200
    assert public.body["agency_id"] == winner
    owner_view, regulator_view = public.body["evaluations"]
    assert owner_view == {
        "rater": "owner",
        "owner_id": OWNER,
        "ratings": OWNER_RATINGS,
        "average": 4.6,
        "comment": "报告质量高，按时完成",
        "rated_at": by_owner.body["rated_at"],
    }
    assert regulator_view["rater"] == "regulator" and regulator_view["owner_id"] is None
    assert regulator_view["ratings"] == {"output_quality": 4}
    text = str(public.body)
    assert "user-" not in text and "RG-ENV" not in text  # no rater's user, no regulator's unit
    summary = market.api.call("GET", f"/purchases/{purchase_id}").body["performance"]
    assert summary["owner_rating"] == 4.6 and summary["regulator_rating"] == 4

    (owner_event,) = credit_events(winner, "owner_evaluation")
    assert owner_event["ratings"] == OWNER_RATINGS and owner_event["points"] == 2  # 4.6 rounds to 5
    (regulator_event,) = credit_events(winner, "regulator_evaluation")
    assert regulator_event["ratings"] == {"output_quality": 4} and regulator_event["points"] == 1
    types = published_events.types()
    assert types.count("EvaluationRecorded") == 2


def test_each_rater_rates_once(market: Market) -> None:
    purchase_id, winner = completed(market)
    assert market.owner.post(_path(purchase_id), OWNER_RATINGS).status == 201
    assert _regulator(market).post(_path(purchase_id), {"output_quality": 5}).status == 201

    owner_again = market.owner.post(_path(purchase_id), OWNER_RATINGS)
    regulator_again = _regulator(market).post(_path(purchase_id), {"output_quality": 3})

    assert owner_again.status == 409 and owner_again.body["state"] == "evaluated"
    assert regulator_again.status == 409 and regulator_again.body["reason"] == "already_rated"
    assert len(credit_events(winner, "owner_evaluation")) == 1
    assert len(credit_events(winner, "regulator_evaluation")) == 1


def test_the_regulator_may_rate_before_the_owner(market: Market) -> None:
    purchase_id, _ = completed(market)

    assert _regulator(market).post(_path(purchase_id), {"output_quality": 5}).status == 201

    assert market.purchase(purchase_id)["status"] == "completed"
    assert market.owner.post(_path(purchase_id), OWNER_RATINGS).status == 201
    assert market.purchase(purchase_id)["status"] == "evaluated"


def test_two_evaluations_at_once_record_one(market: Market) -> None:
    purchase_id, winner = completed(market)

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda _: market.owner.post(_path(purchase_id), OWNER_RATINGS), range(2)))

    assert sorted(r.status for r in replies) == [201, 409]
    assert len(credit_events(winner, "owner_evaluation")) == 1
    assert len(market.api.call("GET", _path(purchase_id)).body["evaluations"]) == 1


def test_owner_and_regulator_rating_at_once_both_land(market: Market) -> None:
    purchase_id, winner = completed(market)
    calls = [
        lambda: market.owner.post(_path(purchase_id), OWNER_RATINGS),
        lambda: _regulator(market).post(_path(purchase_id), {"output_quality": 4}),
    ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda call: call(), calls))

    assert [r.status for r in replies] == [201, 201], [r.body for r in replies]
    assert len(credit_events(winner)) == 3  # completion and both evaluations


def test_who_may_rate(market: Market) -> None:
    purchase_id, winner = completed(market)
    path = _path(purchase_id)

    assert market.agency(winner).post(path, OWNER_RATINGS).status == 403  # an agency cannot rate
    assert market.api.as_role("owner", "OW-OTHER").post(path, OWNER_RATINGS).status == 403
    assert market.admin.post(path, OWNER_RATINGS).status == 403
    outside = _regulator(market, industries=("work_safety",)).post(path, {"output_quality": 5})
    assert outside.status == 403
    assert market.api.call("POST", path, OWNER_RATINGS).status == 401
    assert market.api.call("GET", path).body["evaluations"] == []
    assert market.purchase(purchase_id)["status"] == "completed"


def test_no_evaluation_before_completion(market: Market) -> None:
    purchase_id, winner = contracted(market)
    delivered(market, purchase_id, winner)

    by_owner = market.owner.post(_path(purchase_id), OWNER_RATINGS)
    by_regulator = _regulator(market).post(_path(purchase_id), {"output_quality": 5})

    assert by_owner.status == 409 and by_owner.body["state"] == "contracted"
    assert by_regulator.status == 409 and by_regulator.body["state"] == "contracted"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**OWNER_RATINGS, "quality": 0}, "quality"),
        ({**OWNER_RATINGS, "attitude": 6}, "attitude"),
        ({**OWNER_RATINGS, "standards": 4.5}, "standards"),
        ({**OWNER_RATINGS, "timeliness": "5"}, "timeliness"),
        ({**OWNER_RATINGS, "timeliness": 2}, "comment"),  # below the mark (3): a reason is needed
        ({**OWNER_RATINGS, "timeliness": 1, "comment": "   "}, "comment"),
        ({k: v for k, v in OWNER_RATINGS.items() if k != "attitude"}, "attitude"),
        ({**OWNER_RATINGS, "output_quality": 5}, "output_quality"),
    ],
)
def test_a_bad_owner_evaluation_is_a_422_naming_the_field_and_nothing_is_written(
    market: Market, body: dict[str, Any], field: str
) -> None:
    purchase_id, winner = completed(market)

    reply = market.owner.post(_path(purchase_id), body)

    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.body["errors"]] == [field]
    if field == "comment":
        assert "reason" in reply.body["errors"][0]["message"]
    assert market.purchase(purchase_id)["status"] == "completed"
    assert credit_events(winner, "owner_evaluation") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"output_quality": 0}, "output_quality"),
        ({"output_quality": 6}, "output_quality"),
        ({"output_quality": 1}, "comment"),
        ({}, "output_quality"),
        ({"output_quality": 5, "quality": 5}, "quality"),
    ],
)
def test_a_bad_regulator_rating_is_a_422_naming_the_field(
    market: Market, body: dict[str, Any], field: str
) -> None:
    purchase_id, winner = completed(market)

    reply = _regulator(market).post(_path(purchase_id), body)

    assert reply.status == 422, reply.body
    assert [e["field"] for e in reply.body["errors"]] == [field]
    assert credit_events(winner, "regulator_evaluation") == []


def test_a_low_rating_with_a_reason_is_recorded(market: Market) -> None:
    purchase_id, winner = completed(market)
    body = {**OWNER_RATINGS, "timeliness": 1, "comment": "逾期两周交付"}

    reply = market.owner.post(_path(purchase_id), body)

    assert reply.status == 201 and reply.body["comment"] == "逾期两周交付"
    (event,) = credit_events(winner, "owner_evaluation")
    assert event["ratings"]["timeliness"] == 1


def test_the_evaluations_of_an_unknown_purchase_are_not_found(market: Market) -> None:
    assert market.api.call("GET", _path("P-NOPE")).status == 404


def test_a_repeated_evaluation_with_the_same_idempotency_key_returns_the_first(market: Market) -> None:
    purchase_id, winner = completed(market)
    key = {"idempotency-key": "rate-1"}

    first = market.owner.post(_path(purchase_id), OWNER_RATINGS, headers=key)
    again = market.owner.post(_path(purchase_id), OWNER_RATINGS, headers=key)

    assert first.status == again.status == 201 and again.body == first.body
    assert len(credit_events(winner, "owner_evaluation")) == 1
