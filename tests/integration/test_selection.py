"""Closing and selecting (DOMAIN.md §5): each method, too few enrollees, and the draw exactly once
however many triggers race (the execution, the sweeper, retries)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.domain.draw import verify
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, admit, agency_id, open_market


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=6)


def sweep() -> dict[str, Any]:
    import json

    from app import app
    from tests.support.schemas import EVENTS_DIR

    event = json.loads((EVENTS_DIR / "functions" / "sweep_purchases.schedule.json").read_text())
    return dict(app.handler_map["sweep_purchases"](event, None))


def _task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def _proof(market: Market, purchase_id: str) -> dict[str, Any]:
    reply = market.api.call("GET", f"/purchases/{purchase_id}/draw")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def _enroll_all(market: Market, purchase_id: str, numbers: range) -> None:
    for n in numbers:
        assert market.enroll(purchase_id, agency_id(n)).status == 201


def test_too_few_eligible_enrollees_fail_the_purchase_and_it_is_reannounced_in_one_call(
    market: Market, published_events
) -> None:
    purchase_id = market.publish()
    _enroll_all(market, purchase_id, range(1, 2))
    assert market.close_and_select(purchase_id)["status"] == "failed"
    failed = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert failed["status"] == "failed"
    assert "fewer than the minimum of 2" in failed["failure_reason"]
    assert market.api.call("GET", f"/purchases/{purchase_id}/draw").status == 404
    assert [p["purchase_id"] for p in market.api.call("GET", "/purchases?status=failed").body["items"]] == [
        purchase_id
    ]

    dates = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
    reply = market.owner.post(f"/purchases/{purchase_id}/reannouncement", dates)
    assert reply.status == 201, reply.body
    new = reply.body
    assert new["reannounces"] == purchase_id and new["status"] == "pending_review"  # fiscal: reviewed again
    assert new["title"] == failed["title"] and new["enrollment_deadline"] == "2026-12-09T09:00:00Z"
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["reannounced_as"] == new["purchase_id"]
    assert market.owner.post(f"/purchases/{purchase_id}/reannouncement", dates).status == 409
    assert "PurchaseFailed" in published_events.types()


def test_reannouncing_needs_a_failed_purchase_of_ones_own_and_valid_dates(market: Market) -> None:
    purchase_id = market.publish()
    dates = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
    assert market.owner.post(f"/purchases/{purchase_id}/reannouncement", dates).status == 409
    _enroll_all(market, purchase_id, range(1, 2))
    market.close_and_select(purchase_id)
    other = market.api.as_role("owner", "OW-OTHER")
    assert other.post(f"/purchases/{purchase_id}/reannouncement", dates).status == 403
    past = {"enrollment_deadline": "2026-12-02T09:00:00Z", "selection_time": "2026-12-02T09:00:00Z"}
    assert market.owner.post(f"/purchases/{purchase_id}/reannouncement", past).status == 422
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["reannounced_as"] is None


def test_the_random_draw_publishes_a_verifiable_proof_with_reserves(market: Market) -> None:
    purchase_id = market.publish(reserves=2)
    _enroll_all(market, purchase_id, range(1, 6))
    assert market.close_and_select(purchase_id)["status"] == "selected"
    proof = _proof(market, purchase_id)
    assert verify(proof) == []
    assert proof["algorithm"] == "hmac-sha256-rank/v1"
    assert len(proof["reserves"]) == 2
    result = market.purchase(purchase_id)["result"]
    assert [result["selected_agency"], *result["reserves"]] == [r["agency_id"] for r in proof["ranking"][:3]]
    tampered = {**proof, "winners": [proof["ranking"][1]["agency_id"]]}
    assert verify(tampered) != []


def test_five_concurrent_close_and_select_triggers_make_one_draw(market: Market, published_events) -> None:
    purchase_id = market.publish()
    _enroll_all(market, purchase_id, range(1, 6))
    market.clock.set(AFTER_DEADLINE)

    def trigger(n: int) -> dict[str, Any]:
        if n % 2:  # the sweeper
            sweep()
            return _task("run_selection", purchase_id)
        _task("close_enrollment", purchase_id)
        return _task("run_selection", purchase_id)

    with ThreadPoolExecutor(max_workers=5) as pool:
        states = list(pool.map(trigger, range(5)))
    assert {s["status"] for s in states} == {"selected"}
    assert {s["confirmation_deadline"] for s in states} == {states[0]["confirmation_deadline"]}
    types = published_events.types()
    assert types.count("ResultPublished") == 1
    proof = _proof(market, purchase_id)
    assert verify(proof) == []
    assert market.purchase(purchase_id)["result"]["selected_agency"] == proof["winners"][0]


def test_a_step_triggered_early_waits_and_a_repeated_step_changes_nothing(market: Market) -> None:
    purchase_id = market.publish()
    _enroll_all(market, purchase_id, range(1, 4))
    from marketplace.services.purchase_window import StepNotDue

    with pytest.raises(StepNotDue):
        _task("close_enrollment", purchase_id)
    market.clock.set(AFTER_DEADLINE)
    first = _task("close_enrollment", purchase_id)
    assert first["status"] == "enrollment_closed"
    assert _task("close_enrollment", purchase_id) == first
    drawn = _task("run_selection", purchase_id)
    assert _task("run_selection", purchase_id) == drawn
    assert _task("close_enrollment", purchase_id) == drawn


def test_credit_best_value_draws_a_short_list_from_the_best_credit_and_the_owner_picks(
    market: Market,
) -> None:
    from marketplace.domain.credit import CreditEvent
    from marketplace.repositories import credit

    for n, points in ((1, -20), (2, 5), (3, 0), (4, 10), (5, -10)):
        if points:
            credit.record(
                CreditEvent(
                    credit_event_id=f"c-{n}",
                    agency_id=agency_id(n),
                    points=points,
                    reason="测试",
                    basis="x",
                    source="regulator",
                    kind="reward" if points > 0 else "penalty",
                    cause={"type": "decision", "id": f"d-{n}"},
                    occurred_at="2026-11-01T00:00:00Z",
                    recorded_at="2026-11-01T00:00:00Z",
                    valid_until="2027-11-01T00:00:00Z",
                    rules_version=1,
                ),
                [],
            )
    short = {"long_list": 3, "short_list": 2}
    purchase_id = market.publish(method="credit_best_value", short_listing=short)
    _enroll_all(market, purchase_id, range(1, 6))
    assert market.close_and_select(purchase_id)["status"] == "selecting"

    proof = _proof(market, purchase_id)
    assert verify(proof) == []
    assert proof["credit"]["long_list"] == [agency_id(4), agency_id(2), agency_id(3)]  # 110, 105, 100
    assert proof["candidates"] == sorted(proof["credit"]["long_list"])
    assert {s["agency_id"]: s["score"] for s in proof["credit"]["scores"]}[agency_id(1)] == 80
    short_list = proof["winners"]
    assert len(short_list) == 2
    result = market.purchase(purchase_id)["result"]
    assert result["short_list"] == short_list and result["selected_agency"] is None

    outsider = next(a for a in (agency_id(n) for n in range(1, 6)) if a not in short_list)
    assert market.owner.post(f"/purchases/{purchase_id}/pick", {"agency_id": outsider}).status == 409
    assert (
        market.api.as_role("owner", "OW-X")
        .post(f"/purchases/{purchase_id}/pick", {"agency_id": short_list[1]})
        .status
        == 403
    )
    picked = market.owner.post(f"/purchases/{purchase_id}/pick", {"agency_id": short_list[1]})
    assert picked.status == 200, picked.body
    assert picked.body["status"] == "selected"
    assert picked.body["result"]["selected_agency"] == short_list[1]
    assert picked.body["result"]["reserves"] == [short_list[0]]
    assert market.owner.post(f"/purchases/{purchase_id}/pick", {"agency_id": short_list[0]}).status == 409


def test_direct_selection_names_an_eligible_agency_with_a_published_reason(market: Market) -> None:
    direct = {"agency_id": agency_id(2), "reason": "抢险救灾工程，须由原评价单位继续承担"}
    purchase_id = market.publish(method="direct", direct=direct)
    page = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert page["status"] == "selected"
    assert page["result"]["selected_agency"] == agency_id(2)
    assert page["result"]["direct_reason"] == direct["reason"]
    assert page["commitment"] is None
    assert market.enroll(purchase_id, agency_id(1)).status == 409

    admit(["AG-OFF"], status="suspended", history=[])
    refused = market.owner.post(
        "/purchases", {**_request(), "method": "direct", "direct": {"agency_id": "AG-OFF", "reason": "x"}}
    )
    purchase = refused.body["purchase_id"]
    submitted = market.owner.post(f"/purchases/{purchase}/submit")
    assert submitted.status == 422
    assert submitted.body["errors"][0]["field"] == "direct.agency_id"


def _request() -> dict[str, Any]:
    from tests.support.market import purchase_request

    return purchase_request()


def test_the_sweeper_runs_the_steps_an_execution_missed(market: Market) -> None:

    purchase_id = market.publish()
    _enroll_all(market, purchase_id, range(1, 4))
    assert sweep()["advanced"] == []  # nothing is due yet
    market.clock.set(AFTER_DEADLINE)
    report = sweep()
    assert report["advanced"] == [purchase_id]
    assert market.purchase(purchase_id)["status"] == "selected"  # closed and drawn in one sweep
    assert verify(_proof(market, purchase_id)) == []

    deadline = market.purchase(purchase_id)["result"]["confirmation_deadline"]
    from marketplace.clock import parse_iso

    market.clock.set(parse_iso(deadline) + timedelta(seconds=1))
    assert sweep()["advanced"] == [purchase_id]
    assert market.purchase(purchase_id)["result"]["escalated_at"]
    assert sweep()["advanced"] == []  # escalated once


def test_an_unconfirmed_result_escalates_at_the_deadline_once(market: Market, published_events) -> None:
    purchase_id = market.publish()
    _enroll_all(market, purchase_id, range(1, 4))
    state = market.close_and_select(purchase_id)
    assert _task("check_confirmation", purchase_id)["escalated"] is False  # not yet due
    from marketplace.clock import parse_iso

    market.clock.set(parse_iso(state["confirmation_deadline"]) + timedelta(seconds=1))
    assert _task("check_confirmation", purchase_id)["escalated"] is True
    assert _task("check_confirmation", purchase_id)["escalated"] is True
    assert published_events.types().count("PurchaseEscalated") == 1
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 409


def test_a_failed_window_flags_the_purchase_for_the_admin(market: Market, published_events) -> None:
    from app import app

    purchase_id = market.publish()
    event = {"purchase_id": purchase_id, "error": {"Error": "States.TaskFailed", "Cause": "boom"}}
    state = app.handler_map["flag_purchase"](event, None)
    assert state["status"] == "enrollment_open"
    assert "States.TaskFailed" in market.admin.get(f"/purchases/{purchase_id}").body["flagged"]
    assert published_events.types().count("PurchaseFlagged") == 1
    with pytest.raises(ValueError):
        app.handler_map["close_enrollment"]({}, None)
