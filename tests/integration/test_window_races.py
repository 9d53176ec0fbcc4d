"""What a review found and these tests keep fixed: writes that land while a window closes, a result
that changes under a confirmation, scores that move between closing and drawing, a busy data store,
and one bad purchase stopping the sweeper."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, admit, agency_id, open_market
from tests.support.schemas import EVENTS_DIR


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=5)


def _task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def _sweep() -> dict[str, Any]:
    from app import app

    event = json.loads((EVENTS_DIR / "functions" / "sweep_purchases.schedule.json").read_text())
    return dict(app.handler_map["sweep_purchases"](event, None))


def _enroll_directly(purchase_id: str, agency: str, now: str) -> None:
    """An enrollment whose request began before the deadline (`now`) and commits just after."""
    from marketplace.domain.purchases import Enrollment, EnrollmentStatus
    from marketplace.repositories import purchases as repo

    enrollment = Enrollment(
        purchase_id=purchase_id,
        agency_id=agency,
        agency_name="late",
        status=EnrollmentStatus.enrolled,
        enrolled_at=now,
    )
    repo.enroll(enrollment, now, [])


def test_an_enrollment_landing_while_the_window_closes_is_counted_and_drawn(
    market: Market, monkeypatch
) -> None:
    from marketplace.repositories import purchases as repo

    purchase_id = market.publish()
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    read = repo.enrollments
    landed: list[str] = []

    def enrollments_then_a_late_commit(pid: str) -> Any:
        found = read(pid)
        if not landed:
            landed.append(agency_id(3))
            _enroll_directly(pid, agency_id(3), "2026-12-04T08:59:59Z")
        return found

    monkeypatch.setattr(repo, "enrollments", enrollments_then_a_late_commit)
    assert _task("close_enrollment", purchase_id)["status"] == "enrollment_closed"
    purchase = market.purchase(purchase_id)
    assert purchase["eligible_agencies"] == [agency_id(1), agency_id(2), agency_id(3)]
    assert purchase["enrollments"] == 3


def test_a_withdrawal_landing_while_the_window_closes_is_not_drawn(market: Market, monkeypatch) -> None:
    from marketplace.domain.purchases import EnrollmentStatus
    from marketplace.repositories import purchases as repo

    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    read = repo.enrollments
    withdrawn: list[bool] = []

    def enrollments_then_a_withdrawal(pid: str) -> Any:
        found = read(pid)
        if not withdrawn:
            withdrawn.append(True)
            mine = next(e for e in found if e.agency_id == agency_id(3))
            gone = mine.model_copy(
                update={"status": EnrollmentStatus.withdrawn, "withdrawn_at": "2026-12-04T08:59:59Z"}
            )
            repo.withdraw(gone, "2026-12-04T08:59:59Z", [])
        return found

    monkeypatch.setattr(repo, "enrollments", enrollments_then_a_withdrawal)
    _task("close_enrollment", purchase_id)
    purchase = market.purchase(purchase_id)
    assert purchase["eligible_agencies"] == [agency_id(1), agency_id(2)]
    listed = {
        e["agency_id"]: e for e in market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    }
    assert listed[agency_id(3)]["status"] == "withdrawn"


def test_credit_recorded_between_closing_and_the_draw_does_not_change_the_long_list(market: Market) -> None:
    from marketplace.domain.credit import CreditEvent
    from marketplace.repositories import credit

    purchase_id = market.publish(method="credit_best_value", short_listing={"long_list": 2, "short_list": 1})
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    _task("close_enrollment", purchase_id)
    reward = CreditEvent(
        credit_event_id="late-reward",
        agency_id=agency_id(3),
        points=50,
        reason="表彰",
        basis="x",
        source="regulator",
        kind="reward",
        cause={"type": "decision", "id": "表彰-1"},
        occurred_at="2026-12-04T09:00:00Z",
        recorded_at="2026-12-04T09:00:00Z",
        valid_until="2027-12-04T09:00:00Z",
        rules_version=1,
    )
    credit.record(reward, [])
    _task("run_selection", purchase_id)
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert proof["credit"]["long_list"] == [agency_id(1), agency_id(2)]  # equal scores: by id, as at closing
    assert {s["score"] for s in proof["credit"]["scores"]} == {100}


def test_a_busy_data_store_is_retried_not_taken_for_a_duplicate(market: Market, monkeypatch) -> None:
    from marketplace.errors import ServiceUnavailable
    from marketplace.repositories import purchases as repo

    purchase_id = market.publish()
    real = repo._enroll_once
    calls: list[int] = []

    def conflicting_once(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ServiceUnavailable("TransactionConflict", retry_after=1)
        real(*args, **kwargs)

    monkeypatch.setattr(repo, "_enroll_once", conflicting_once)
    assert market.enroll(purchase_id, agency_id(1)).status == 201
    assert len(calls) == 2
    monkeypatch.setattr(
        repo, "_enroll_once", lambda *a, **k: (_ for _ in ()).throw(ServiceUnavailable("x", retry_after=1))
    )
    busy = market.enroll(purchase_id, agency_id(2))
    assert busy.status == 503 and busy.headers["retry-after"] == "1"


def test_a_transaction_conflict_is_a_503_and_a_failed_condition_a_409() -> None:
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    from marketplace.errors import Conflict, ServiceUnavailable
    from marketplace.repositories.base import translated

    def cancelled(*codes: str) -> TransactWriteError:
        reasons = [CancellationReason(code=c) for c in codes]
        response = {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}}
        cause = VerboseClientError(response, "TransactWriteItems", cancellation_reasons=reasons)
        return TransactWriteError("cancelled", cause=cause)

    with pytest.raises(ServiceUnavailable), translated():
        raise cancelled("None", "TransactionConflict")
    with pytest.raises(Conflict), translated():
        raise cancelled("ConditionalCheckFailed", "TransactionConflict")


def test_the_owner_does_not_confirm_a_reserve_that_moved_up_while_it_confirmed(
    market: Market, monkeypatch
) -> None:
    from marketplace.services import confirmation

    purchase_id = market.publish(reserves=1)
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.close_and_select(purchase_id)
    first = market.purchase(purchase_id)["result"]["selected_agency"]
    record = confirmation._record
    abandoned: list[bool] = []

    def abandoned_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not abandoned:
            abandoned.append(True)
            assert (
                market.agency(first).post(f"/purchases/{purchase_id}/abandonment", {"reason": "x"}).status
                == 200
            )
        return record(*args, **kwargs)

    monkeypatch.setattr(confirmation, "_record", abandoned_meanwhile)
    reply = market.owner.post(f"/purchases/{purchase_id}/confirmation")
    assert reply.status == 409 and reply.body["reason"] == "selection_changed"
    assert market.purchase(purchase_id)["result"]["owner_confirmed_at"] is None


def test_one_failing_purchase_does_not_stop_the_sweeper(market: Market, monkeypatch) -> None:
    from marketplace.services import purchase_window

    broken, fine = market.publish(), market.publish()
    for purchase_id in (broken, fine):
        for n in (1, 2):
            assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    close = purchase_window.close_enrollment

    def fails_for_one(purchase_id: str) -> Any:
        if purchase_id == broken:
            raise RuntimeError("KMS key disabled")
        return close(purchase_id)

    monkeypatch.setattr(purchase_window, "close_enrollment", fails_for_one)
    report = _sweep()
    assert report["advanced"] == [fine]
    assert "KMS key disabled" in report["failed"][broken]
    assert market.purchase(fine)["status"] == "selected"


def test_a_refused_reannouncement_changes_nothing(market: Market) -> None:
    direct = {"agency_id": agency_id(1), "reason": "抢险"}
    purchase_id = market.publish(method="direct", direct=direct, reserves=0)
    assert (
        market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/abandonment", {"reason": "x"}).status
        == 200
    )
    assert market.purchase(purchase_id)["status"] == "failed"
    admit([agency_id(1)], status="suspended", history=[])
    dates = {"enrollment_deadline": "2026-12-09T09:00:00Z", "selection_time": "2026-12-09T09:00:00Z"}
    refused = market.owner.post(f"/purchases/{purchase_id}/reannouncement", dates)
    assert refused.status == 422
    assert market.purchase(purchase_id)["reannounced_as"] is None
    assert len(market.owner.get("/owners/OW-001/purchases").body["items"]) == 1


def test_forged_cursors_and_reversed_ranges_are_4xx(market: Market) -> None:
    import base64

    forged = base64.urlsafe_b64encode(
        json.dumps(
            {"purchase_id": {"N": "1"}, "sk": {"S": "P"}, "listing": {"S": "P"}, "published_at": {"S": "x"}}
        ).encode()
    ).decode()
    assert market.api.call("GET", f"/purchases?cursor={forged}").status == 400
    reversed_range = "?published_from=2026-12-02T00:00:00Z&published_to=2026-12-01T00:00:00Z"
    assert market.api.call("GET", f"/purchases{reversed_range}").status == 422


def test_a_direct_selection_window_waits_only_for_the_confirmation(market: Market) -> None:
    from marketplace.repositories import purchases as repo
    from marketplace.repositories.workflows import window_input

    purchase_id = market.publish(method="direct", direct={"agency_id": agency_id(1), "reason": "抢险"})
    purchase = repo.get(purchase_id)
    assert window_input(purchase)["enrollment_deadline"] == purchase.published_at
    assert _task("close_enrollment", purchase_id)["status"] == "selected"


def test_each_enrollment_is_marked_with_whether_it_counted(market: Market) -> None:
    # The marks follow the closing transaction, one write each.
    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    admit([agency_id(3)], status="expelled", history=[])
    market.close_and_select(purchase_id)
    listed = {
        e["agency_id"]: e for e in market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    }
    assert {a: e["eligible"] for a, e in listed.items()} == {
        agency_id(1): True,
        agency_id(2): True,
        agency_id(3): False,
    }
