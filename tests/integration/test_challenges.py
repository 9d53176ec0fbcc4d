"""Challenges and complaints (质疑投诉, DOMAIN.md §10): an enrolled agency challenges, the owner
answers, an accepted challenge before the result suspends the purchase (its window stops and
later resumes with exactly the time it had left, or the purchase is cancelled), an unsatisfied
challenger complains to the item's regulator, and an upheld complaint annuls a result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import boto3
import pytest

from marketplace.clock import parse_iso
from marketplace.settings import get_settings
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, DEADLINE, OPENS, Market, agency_id, open_market
from tests.support.purchase_scenario import EVENTS_DIR

SCHEDULE = json.loads(
    (EVENTS_DIR / "functions" / "sweep_challenges.schedule.json").read_text(encoding="utf-8")
)
# Seven working days from Tuesday 1 December 2026 (Hangzhou): the end of Thursday 10 December.
ANNOUNCEMENT_LAST_DAY = "2026-12-10T15:59:59Z"


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def _challenge(subject: str = "announcement", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": subject,
        "grounds": ["资格条件超出事项要求（《中介服务事项清单》）"],
        "reasons": "公告要求的资质等级高于事项本身的要求，排斥了潜在机构。",
    }
    body.update(changes)
    return body


def _published(market: Market, enrolled: tuple[int, ...] = (1, 2), **changes: Any) -> str:
    purchase_id = market.publish(**changes)
    for n in enrolled:
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    return purchase_id


def _file(market: Market, purchase_id: str, n: int = 1, **body: Any) -> dict[str, Any]:
    reply = market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/challenges", _challenge(**body))
    assert reply.status == 201, reply.body
    return dict(reply.body)


def _answer(market: Market, challenge_id: str, decision: str, by: Any = None) -> Any:
    return (by or market.owner).post(
        f"/challenges/{challenge_id}/answer", {"decision": decision, "answer": "经复核，答复如下。"}
    )


def _regulator(market: Market, industry: str = "environment") -> Any:
    return market.api.as_role("regulator", f"RG-{industry}", industries=(industry,))


def _execution(name: str) -> dict[str, Any]:
    prefix = get_settings().state_machine_arn_prefix.replace(":stateMachine:", ":execution:")
    sfn = boto3.client("stepfunctions", region_name=get_settings().region)
    return dict(sfn.describe_execution(executionArn=f"{prefix}purchase-window:{name}"))


def _sweep() -> dict[str, Any]:
    from app import app

    return dict(app.handler_map["sweep_challenges"](SCHEDULE, None))


# Filing.


def test_only_an_agency_enrolled_in_the_purchase_may_challenge_it(market: Market, published_events) -> None:
    purchase_id = _published(market)
    path = f"/purchases/{purchase_id}/challenges"
    # An admitted agency that did not enroll, and one that withdrew, are refused
    assert market.agency(agency_id(3)).post(path, _challenge()).status == 403
    assert market.enroll(purchase_id, agency_id(4)).status == 201
    assert (
        market.agency(agency_id(4)).delete(f"/purchases/{purchase_id}/enrollments/{agency_id(4)}").status
        == 200
    )
    assert market.agency(agency_id(4)).post(path, _challenge()).status == 403
    # The owner is not a challenger
    assert market.owner.post(path, _challenge()).status == 403
    # An enrolled agency files, once for one Idempotency-Key
    key = {"idempotency-key": "challenge-1"}
    first = market.agency(agency_id(1)).post(path, _challenge(), headers=key)
    assert first.status == 201, first.body
    assert first.body["status"] == "filed" and first.body["challenger_id"] == agency_id(1)
    assert first.body["challenge_id"].startswith(f"{purchase_id}.C")
    # Seven working days from the filing (Tuesday 1 December): the end of 10 December, Hangzhou time
    assert first.body["answer_deadline"] == ANNOUNCEMENT_LAST_DAY
    again = market.agency(agency_id(1)).post(path, _challenge(), headers=key)
    assert again.status == 201 and again.body["challenge_id"] == first.body["challenge_id"]
    assert len(market.owner.get(path).body["items"]) == 1
    assert published_events.types().count("ChallengeFiled") == 1


def test_a_late_challenge_is_refused_with_its_deadline(market: Market) -> None:
    later = "2026-12-18T09:00:00Z"
    purchase_id = _published(market, enrollment_deadline=later, selection_time=later)
    market.clock.set(parse_iso(ANNOUNCEMENT_LAST_DAY) + timedelta(seconds=1))
    reply = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", _challenge())
    assert reply.status == 409, reply.body
    assert reply.body["reason"] == "late" and reply.body["deadline"] == ANNOUNCEMENT_LAST_DAY
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"] == []


def test_a_result_is_challenged_only_once_published_and_the_announcement_only_before(market: Market) -> None:
    purchase_id = _published(market)
    result = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", _challenge("result"))
    assert result.status == 409 and result.body["reason"] == "wrong_subject"
    assert market.close_and_select(purchase_id)["status"] == "selected"
    announcement = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", _challenge())
    assert announcement.status == 409 and announcement.body["reason"] == "wrong_subject"
    assert _file(market, purchase_id, subject="result")["subject"] == "result"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_challenge(grounds=[]), "grounds"),
        (_challenge(reasons=""), "reasons"),
        (_challenge(subject="contract"), "subject"),
        ({**_challenge(), "challenger_name": "x"}, "challenger_name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    market: Market, body: dict[str, Any], field: str
) -> None:
    purchase_id = _published(market)
    reply = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", body)
    assert reply.status == 422, reply.body
    assert field in {e["field"] for e in reply.body["errors"]}
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"] == []


# Who sees the challenger.


def test_the_public_list_hides_the_challenger_and_the_parties_concerned_see_it(market: Market) -> None:
    purchase_id = _published(market)
    _file(market, purchase_id)
    path = f"/purchases/{purchase_id}/challenges"

    def challenger(reply: Any) -> Any:
        assert reply.status == 200, reply.body
        (item,) = reply.body["items"]
        assert item["reasons"] and item["grounds"] and item["status"] == "filed"
        return item["challenger_id"], item["challenger_name"]

    hidden = (None, None)
    assert challenger(market.api.call("GET", path)) == hidden
    assert challenger(market.agency(agency_id(2)).get(path)) == hidden
    assert challenger(_regulator(market, "work_safety").get(path)) == hidden
    assert challenger(market.api.as_role("owner", "OW-OTHER").get(path)) == hidden
    named = (agency_id(1), f"测试环境咨询有限公司{agency_id(1)}")
    assert challenger(market.owner.get(path)) == named
    assert challenger(market.admin.get(path)) == named
    assert challenger(_regulator(market).get(path)) == named
    assert challenger(market.agency(agency_id(1)).get(path)) == named


# The owner's answer and the suspension.


def test_the_owner_answers_only_its_own_purchase(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    assert _answer(market, challenge, "reject", by=market.api.as_role("owner", "OW-OTHER")).status == 403
    assert _answer(market, challenge, "reject", by=market.agency(agency_id(1))).status == 403
    assert _answer(market, challenge, "reject", by=market.admin).status == 403
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]["status"] == "filed"
    assert _answer(market, "P-NOPE.C00000000", "reject").status == 404
    assert _answer(market, "not-a-challenge", "reject").status == 404


def test_accepting_before_the_result_suspends_the_purchase_and_stops_its_window(
    market: Market, published_events
) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    assert _execution(purchase_id)["status"] == "RUNNING"
    accepted = _answer(market, challenge, "accept")
    assert accepted.status == 200, accepted.body
    assert accepted.body["status"] == "accepted" and accepted.body["answer"]["effect"].startswith("suspended")
    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "suspended"
    assert purchase["suspensions"][0]["challenge_id"] == challenge
    assert purchase["suspensions"][0]["from_status"] == "enrollment_open"
    # The window waits for no one: its execution is stopped, not polling
    assert _execution(purchase_id)["status"] == "ABORTED"
    # Enrolling and withdrawing are refused with the reason
    refused = market.enroll(purchase_id, agency_id(3))
    assert refused.status == 409 and refused.body["reason"] == "suspended"
    withdraw = market.agency(agency_id(2)).delete(f"/purchases/{purchase_id}/enrollments/{agency_id(2)}")
    assert withdraw.status == 409 and withdraw.body["reason"] == "suspended"
    # The public sees the purchase suspended
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["status"] == "suspended"
    # The window's task, triggered anyway (a stop that failed), changes nothing
    from app import app

    market.clock.set(AFTER_DEADLINE)
    assert app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)["status"] == "suspended"
    types = published_events.types()
    assert types.count("ChallengeAnswered") == 1 and types.count("PurchaseSuspended") == 1


def test_resuming_gives_the_window_exactly_the_time_it_had_left(market: Market, published_events) -> None:
    from app import app
    from marketplace.repositories.tables import PurchaseRow

    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    suspended_at = OPENS + timedelta(hours=1, minutes=17, seconds=5)
    market.clock.set(suspended_at)
    assert _answer(market, challenge, "accept").status == 200
    left = parse_iso(DEADLINE) - suspended_at
    assert PurchaseRow.get(purchase_id, "PURCHASE#WINDOW").open_until is None  # enrollment shut in the table

    resumed_at = suspended_at + timedelta(days=2, hours=3, seconds=11)
    market.clock.set(resumed_at)
    assert market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/resumption", {}).status == 403
    reply = market.owner.post(f"/purchases/{purchase_id}/resumption", {"note": "资格条件已按事项要求修正"})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "enrollment_open"
    new_deadline = parse_iso(reply.body["enrollment_deadline"])
    assert new_deadline - resumed_at == left
    assert parse_iso(reply.body["selection_time"]) == new_deadline  # the selection time moved with it
    (suspension,) = reply.body["suspensions"]
    assert suspension["resumed_at"] and suspension["shifted_seconds"] == int(
        (resumed_at - suspended_at).total_seconds()
    )
    assert PurchaseRow.get(purchase_id, "PURCHASE#WINDOW").open_until == reply.body["enrollment_deadline"]
    # A new execution times the rest of the window, from the moved deadline
    execution = _execution(f"{purchase_id}-r1")
    assert execution["status"] == "RUNNING"
    assert json.loads(execution["input"])["enrollment_deadline"] == reply.body["enrollment_deadline"]
    # Enrollment is open again until the moved deadline, and closing waits for it
    assert market.enroll(purchase_id, agency_id(3)).status == 201
    market.clock.set(AFTER_DEADLINE)
    with pytest.raises(Exception, match="closes at"):
        app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)
    market.clock.set(new_deadline + timedelta(seconds=1))
    assert market.enroll(purchase_id, agency_id(4)).body["reason"] == "late"
    assert (
        app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)["status"]
        == "enrollment_closed"
    )
    # Resuming twice: the second finds nothing suspended
    assert market.owner.post(f"/purchases/{purchase_id}/resumption", {}).status == 409
    assert published_events.types().count("PurchaseResumed") == 1


def test_a_short_list_suspended_resumes_with_its_confirmation_time_left(market: Market) -> None:
    purchase_id = _published(
        market,
        enrolled=(1, 2, 3),
        funding_type="private",
        method="credit_best_value",
        short_listing={"long_list": 3, "short_list": 2},
    )
    assert market.close_and_select(purchase_id)["status"] == "selecting"
    deadline = parse_iso(market.purchase(purchase_id)["result"]["confirmation_deadline"])
    challenge = _file(market, purchase_id, subject="result")["challenge_id"]
    assert _answer(market, challenge, "accept").status == 200
    assert market.purchase(purchase_id)["status"] == "suspended"
    market.clock.set(AFTER_DEADLINE + timedelta(days=3))
    resumed = market.owner.post(f"/purchases/{purchase_id}/resumption", {})
    assert resumed.status == 200 and resumed.body["status"] == "selecting"
    assert parse_iso(resumed.body["result"]["confirmation_deadline"]) - deadline == timedelta(days=3)


def test_cancelling_ends_a_suspended_purchase(market: Market, published_events) -> None:
    purchase_id = _published(market)
    assert (
        market.owner.post(f"/purchases/{purchase_id}/cancellation", {"reason": "x"}).status == 409
    )  # not suspended
    assert _answer(market, _file(market, purchase_id)["challenge_id"], "accept").status == 200
    bad = market.owner.post(f"/purchases/{purchase_id}/cancellation", {"reason": ""})
    assert bad.status == 422 and {e["field"] for e in bad.body["errors"]} == {"reason"}
    assert market.purchase(purchase_id)["status"] == "suspended"  # nothing written
    other = market.api.as_role("owner", "OW-OTHER").post(
        f"/purchases/{purchase_id}/cancellation", {"reason": "x"}
    )
    assert other.status == 403
    reply = market.owner.post(
        f"/purchases/{purchase_id}/cancellation", {"reason": "质疑成立，项目需重新论证"}
    )
    assert reply.status == 200, reply.body
    assert (
        reply.body["status"] == "cancelled"
        and reply.body["cancellation"]["reason"] == "质疑成立，项目需重新论证"
    )
    assert market.owner.post(f"/purchases/{purchase_id}/resumption", {}).status == 409
    assert market.enroll(purchase_id, agency_id(3)).status == 409
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["cancellation"]["reason"]
    assert published_events.types().count("PurchaseCancelled") == 1


def test_two_answers_at_once_answer_once(market: Market, published_events) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda d: _answer(market, challenge, d), ["accept", "reject"] * 2))
    assert sorted(r.status for r in replies) == [200, 409, 409, 409]
    (winner,) = [r for r in replies if r.status == 200]
    stored = market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]
    assert stored["answer"]["decision"] == winner.body["answer"]["decision"]
    assert published_events.types().count("ChallengeAnswered") == 1


def test_a_bad_answer_names_the_field_and_changes_nothing(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    reply = market.owner.post(f"/challenges/{challenge}/answer", {"decision": "maybe", "answer": "x"})
    assert reply.status == 422 and {e["field"] for e in reply.body["errors"]} == {"decision"}
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]["status"] == "filed"
    assert market.purchase(purchase_id)["status"] == "enrollment_open"


# Complaints and decisions.


def test_a_complaint_comes_only_from_the_challenger_after_a_rejection(
    market: Market, published_events
) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    path = f"/challenges/{challenge}/complaint"
    early = market.agency(agency_id(1)).post(path, {"reasons": "不满意"})
    assert early.status == 409 and early.body["reason"] == "not_yet"
    assert _answer(market, challenge, "reject").status == 200
    assert market.agency(agency_id(2)).post(path, {"reasons": "不满意"}).status == 403
    assert market.owner.post(path, {"reasons": "不满意"}).status == 403
    assert market.agency(agency_id(1)).post(path, {"reasons": ""}).status == 422
    reply = market.agency(agency_id(1)).post(path, {"reasons": "答复未说明理由"})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "complained" and reply.body["complaint"]["reasons"] == "答复未说明理由"
    assert market.agency(agency_id(1)).post(path, {"reasons": "再次"}).status == 409
    assert published_events.types().count("ComplaintFiled") == 1


def test_an_unanswered_challenge_is_escalated_once_and_may_then_be_complained_of(
    market: Market, published_events
) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    assert _sweep()["escalated"] == []  # not due yet
    market.clock.set(parse_iso(ANNOUNCEMENT_LAST_DAY) + timedelta(seconds=1))
    late = _answer(market, challenge, "reject")
    assert late.status == 409 and late.body["reason"] == "late"
    assert _sweep()["escalated"] == [challenge]
    assert _sweep()["escalated"] == []  # recorded once
    stored = market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]
    assert stored["status"] == "unanswered" and stored["escalated_at"] and stored["complaint_deadline"]
    assert published_events.types().count("ChallengeEscalated") == 1
    reply = market.agency(agency_id(1)).post(f"/challenges/{challenge}/complaint", {"reasons": "业主未答复"})
    assert reply.status == 200 and reply.body["status"] == "complained"


def test_a_complaint_window_that_passes_closes_the_challenge(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    assert _answer(market, challenge, "reject").status == 200
    deadline = market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]["complaint_deadline"]
    market.clock.set(parse_iso(deadline) + timedelta(seconds=1))
    late = market.agency(agency_id(1)).post(f"/challenges/{challenge}/complaint", {"reasons": "x"})
    assert late.status == 409 and late.body["reason"] == "late" and late.body["deadline"] == deadline
    assert _sweep()["closed"] == [challenge]
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]["status"] == "closed"


def _complained(market: Market, purchase_id: str, n: int, subject: str) -> str:
    challenge = _file(market, purchase_id, n, subject=subject)["challenge_id"]
    assert _answer(market, challenge, "reject").status == 200
    reply = market.agency(agency_id(n)).post(f"/challenges/{challenge}/complaint", {"reasons": "答复不成立"})
    assert reply.status == 200, reply.body
    return challenge


def test_only_the_items_regulator_or_the_admin_decides(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _complained(market, purchase_id, 1, "announcement")
    path = f"/challenges/{challenge}/decision"
    body = {"decision": "dismiss", "reasons": "公告条件符合规定"}
    assert _regulator(market, "work_safety").post(path, body).status == 403
    assert market.owner.post(path, body).status == 403
    assert market.agency(agency_id(1)).post(path, body).status == 403
    bad = _regulator(market).post(path, {**body, "against_agency": True})
    assert bad.status == 422 and {e["field"] for e in bad.body["errors"]} == {"against_agency"}
    reply = _regulator(market).post(path, body)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "dismissed" and reply.body["decision"]["by_role"] == "regulator"
    assert market.admin.post(path, body).status == 409  # decided once
    assert market.purchase(purchase_id)["status"] == "enrollment_open"


def test_an_upheld_complaint_about_the_announcement_leaves_the_purchase_suspended(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _complained(market, purchase_id, 1, "announcement")
    reply = market.admin.post(
        f"/challenges/{challenge}/decision", {"decision": "uphold", "reasons": "排斥潜在机构"}
    )
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "upheld"
    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "suspended" and purchase["suspensions"][0]["challenge_id"] == challenge
    assert market.enroll(purchase_id, agency_id(3)).body["reason"] == "suspended"


def _selected(market: Market, reserves: int) -> tuple[str, dict[str, Any]]:
    purchase_id = _published(market, enrolled=(1, 2, 3, 4), reserves=reserves)
    assert market.close_and_select(purchase_id)["status"] == "selected"
    return purchase_id, market.purchase(purchase_id)["result"]


def _challenger(result: dict[str, Any]) -> int:
    """An enrolled agency that was not selected."""
    return next(n for n in (1, 2, 3, 4) if agency_id(n) != result["selected_agency"])


def test_an_upheld_complaint_on_a_result_moves_the_reserve_up_and_records_credit(
    market: Market, published_events
) -> None:
    from marketplace.repositories import credit as credit_repo

    purchase_id, result = _selected(market, reserves=2)
    selected, first_reserve = result["selected_agency"], result["reserves"][0]
    challenge = _complained(market, purchase_id, _challenger(result), "result")
    published_events.received()
    market.clock.set(AFTER_DEADLINE + timedelta(days=4))  # Tuesday 8 December
    body = {"decision": "uphold", "reasons": "中选机构提供虚假业绩材料", "against_agency": True}
    reply = _regulator(market).post(f"/challenges/{challenge}/decision", body)
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "upheld" and reply.body["decision"]["against_agency"] is True
    purchase = market.purchase(purchase_id)
    assert purchase["status"] == "selected"
    moved = purchase["result"]
    assert moved["selected_agency"] == first_reserve and moved["reserves"] == result["reserves"][1:]
    (annulment,) = moved["annulled"]
    assert annulment["agency_id"] == selected and annulment["challenge_id"] == challenge
    assert annulment["replaced_from"] == "reserves" and "虚假业绩" in annulment["reason"]
    assert moved["confirmation_deadline"] > result["confirmation_deadline"]  # a fresh window
    (credit_event,) = [e for e in credit_repo.ledger(selected).events if e.kind.value == "complaint_upheld"]
    assert credit_event.cause.id == challenge and credit_event.points < 0
    types = published_events.types()
    for wanted in ("ComplaintDecided", "ResultAnnulled", "CreditEventRecorded"):
        assert types.count(wanted) == 1, (wanted, types)
    # The annulled agency can no longer accept; the one moved up can
    assert market.agency(selected).post(f"/purchases/{purchase_id}/acceptance").status == 403
    assert market.agency(first_reserve).post(f"/purchases/{purchase_id}/acceptance").status == 200


def test_with_no_reserve_the_next_candidate_of_the_draws_ranking_is_selected(market: Market) -> None:
    purchase_id, result = _selected(market, reserves=0)
    assert result["reserves"] == []
    ranking = [
        r["agency_id"] for r in market.api.call("GET", f"/purchases/{purchase_id}/draw").body["ranking"]
    ]
    challenge = _complained(market, purchase_id, _challenger(result), "result")
    reply = market.admin.post(
        f"/challenges/{challenge}/decision", {"decision": "uphold", "reasons": "评审程序违规"}
    )
    assert reply.status == 200, reply.body
    moved = market.purchase(purchase_id)["result"]
    assert moved["selected_agency"] == ranking[1]
    assert moved["annulled"][0]["replaced_from"] == "ranking"
    from marketplace.repositories import credit as credit_repo

    ledger = credit_repo.ledger(result["selected_agency"])
    assert not [e for e in ledger.events if e.kind.value == "complaint_upheld"]  # not against the agency


def test_an_owner_accepting_a_result_challenge_annuls_the_result(market: Market) -> None:
    purchase_id, result = _selected(market, reserves=2)
    challenge = _file(market, purchase_id, _challenger(result), subject="result")["challenge_id"]
    reply = _answer(market, challenge, "accept")
    assert reply.status == 200 and reply.body["answer"]["effect"] == "result annulled"
    moved = market.purchase(purchase_id)["result"]
    assert moved["selected_agency"] == result["reserves"][0]
    assert moved["annulled"][0]["agency_id"] == result["selected_agency"]


def test_a_confirmed_result_is_not_annulled_the_complaint_is_referred_with_its_credit_event(
    market: Market, published_events
) -> None:
    from marketplace.repositories import credit as credit_repo

    purchase_id, result = _selected(market, reserves=2)
    selected = result["selected_agency"]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    assert market.agency(selected).post(f"/purchases/{purchase_id}/acceptance").status == 200
    confirmed = market.purchase(purchase_id)
    assert confirmed["status"] == "confirmed"
    challenge = _file(market, purchase_id, _challenger(result), subject="result")["challenge_id"]
    # The owner cannot accept what it can no longer do: the result has its signed letter
    refused = _answer(market, challenge, "accept")
    assert refused.status == 409 and refused.body["reason"] == "too_late_to_accept"
    assert refused.body["state"] == "confirmed"
    assert market.owner.get(f"/purchases/{purchase_id}/challenges").body["items"][0]["status"] == "filed"
    assert _answer(market, challenge, "reject").status == 200
    complaint = f"/challenges/{challenge}/complaint"
    assert market.agency(agency_id(_challenger(result))).post(complaint, {"reasons": "不服"}).status == 200
    body = {"decision": "uphold", "reasons": "中选机构串通", "against_agency": True}
    reply = _regulator(market).post(f"/challenges/{challenge}/decision", body)
    assert reply.status == 200, reply.body
    assert "referred to the admin" in reply.body["decision"]["effect"]
    assert market.purchase(purchase_id) == confirmed  # the purchase is not changed
    ledger = credit_repo.ledger(selected)
    assert [e.cause.id for e in ledger.events if e.kind.value == "complaint_upheld"] == [challenge]
    types = published_events.types()
    assert types.count("CreditEventRecorded") == 1 and "ResultAnnulled" not in types


def test_a_regulator_finds_the_complaints_of_its_industries_until_decided(market: Market) -> None:
    purchase_id = _published(market)
    challenge = _complained(market, purchase_id, 1, "announcement")
    mine = _regulator(market).get("/complaints")
    assert mine.status == 200, mine.body
    assert [(c["challenge_id"], c["challenger_id"]) for c in mine.body["items"]] == [
        (challenge, agency_id(1))
    ]
    assert _regulator(market, "work_safety").get("/complaints").body["items"] == []
    assert _regulator(market, "work_safety").get("/complaints?industry=environment").status == 403
    assert market.admin.get("/complaints").status == 422
    assert [
        c["challenge_id"] for c in market.admin.get("/complaints?industry=environment").body["items"]
    ] == [challenge]
    assert market.owner.get("/complaints").status == 403
    decided = _regulator(market).post(
        f"/challenges/{challenge}/decision", {"decision": "dismiss", "reasons": "无据"}
    )
    assert decided.status == 200
    assert _regulator(market).get("/complaints").body["items"] == []


def test_a_result_challenge_annuls_only_the_agency_it_was_filed_against(market: Market) -> None:
    purchase_id, result = _selected(market, reserves=2)
    challenged, reserve = result["selected_agency"], result["reserves"][0]
    challenger = next(n for n in (1, 2, 3, 4) if agency_id(n) not in (challenged, reserve))
    challenge = _file(market, purchase_id, challenger, subject="result")
    assert challenge["challenged_agency"] == challenged
    abandoned = market.agency(challenged).post(
        f"/purchases/{purchase_id}/abandonment", {"reason": "人员不足"}
    )
    assert abandoned.status == 200, abandoned.body
    reply = _answer(market, challenge["challenge_id"], "accept")
    assert reply.status == 200, reply.body
    assert reply.body["answer"]["effect"] == f"recorded: {challenged} is no longer selected"
    moved = market.purchase(purchase_id)["result"]
    assert moved["selected_agency"] == reserve and moved.get("annulled", []) == []  # the reserve stays


def test_a_complaint_before_the_sweeper_ran_still_tells_the_admin_of_the_owners_silence_once(
    market: Market, published_events
) -> None:
    purchase_id = _published(market)
    challenge = _file(market, purchase_id)["challenge_id"]
    market.clock.set(parse_iso(ANNOUNCEMENT_LAST_DAY) + timedelta(seconds=1))
    complaint = {"reasons": "业主未答复"}
    reply = market.agency(agency_id(1)).post(f"/challenges/{challenge}/complaint", complaint)
    assert reply.status == 200 and reply.body["status"] == "complained" and reply.body["escalated_at"]
    assert _sweep()["escalated"] == []
    assert published_events.types().count("ChallengeEscalated") == 1


def test_an_agency_moved_up_may_be_challenged_for_the_whole_period_from_its_selection(market: Market) -> None:
    from marketplace.services.challenges import _deadline

    purchase_id, result = _selected(market, reserves=2)
    first, reserve = result["selected_agency"], result["reserves"][0]
    challenger = next(n for n in (1, 2, 3, 4) if agency_id(n) not in (first, reserve))
    original_last, _ = _deadline(
        parse_iso(result["selected_at"]), get_settings().rules.challenge_working_days
    )
    market.clock.set(parse_iso(result["selected_at"]) + timedelta(days=3))  # a Tuesday, in time
    abandonment = {"reason": "人员不足"}
    abandoned = market.agency(first).post(f"/purchases/{purchase_id}/abandonment", abandonment)
    assert abandoned.status == 200, abandoned.body
    assert market.purchase(purchase_id)["result"]["abandoned"][0]["at"] > result["selected_at"]
    market.clock.set(parse_iso(original_last) + timedelta(seconds=1))
    reply = market.agency(agency_id(challenger)).post(
        f"/purchases/{purchase_id}/challenges", _challenge("result")
    )
    assert reply.status == 201, reply.body
    assert reply.body["challenged_agency"] == reserve
