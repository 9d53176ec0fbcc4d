"""A challenge accepted while a purchase is `bidding` (a further round open) or `scoring` (the panel
scoring the proposals) suspends it like any other before the result (DOMAIN.md §10, docs/
challenges.md): quotes and scores are refused while it is suspended, and resuming moves the open
round's closing or the scoring deadline by exactly the time it was suspended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from marketplace.clock import parse_iso
from marketplace.settings import get_settings
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, OPENS, Market, agency_id, open_market

ROOT = Path(__file__).resolve().parents[2]
PROPOSALS = {"method": "proposal_best_value", "proposal": {"criteria": [{"name": "技术方案", "weight": 100}]}}
CHALLENGE = {"subject": "announcement", "grounds": ["资格条件超出事项要求"], "reasons": "排斥潜在机构"}


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _task(name: str, purchase_id: str) -> dict[str, Any]:
    from app import app

    return dict(app.handler_map[name]({"purchase_id": purchase_id}, None))


def _execution(name: str) -> dict[str, Any]:
    prefix = get_settings().state_machine_arn_prefix.replace(":stateMachine:", ":execution:")
    sfn = boto3.client("stepfunctions", region_name=get_settings().region)
    return dict(sfn.describe_execution(executionArn=f"{prefix}purchase-window:{name}"))


def _window_row(purchase_id: str) -> Any:
    from marketplace.repositories.tables import PurchaseRow

    return PurchaseRow.get(purchase_id, "PURCHASE#WINDOW", consistent_read=True)


def _suspend(market: Market, purchase_id: str) -> str:
    """Agency 1 challenges the announcement and the owner accepts: the purchase is suspended."""
    filed = market.agency(agency_id(1)).post(f"/purchases/{purchase_id}/challenges", CHALLENGE)
    assert filed.status == 201, filed.body
    answer = {"decision": "accept", "answer": "质疑成立"}
    accepted = market.owner.post(f"/challenges/{filed.body['challenge_id']}/answer", answer)
    assert accepted.status == 200, accepted.body
    assert accepted.body["answer"]["effect"].startswith("suspended")
    assert market.purchase(purchase_id)["status"] == "suspended"
    return str(filed.body["challenge_id"])


# Scoring.


def _scoring(market: Market) -> str:
    purchase_id = market.publish(**PROPOSALS)
    for n in range(1, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        body = {"file_ref": f"proposals/{n}.pdf", "sha256": f"{n:02d}" * 32}
        assert market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/proposals", body).status == 201
    market.clock.set(AFTER_DEADLINE)
    assert _task("close_enrollment", purchase_id)["status"] == "scoring"
    return purchase_id


def _score(market: Market, purchase_id: str, n: int, value: str) -> Any:
    body = {"scores": {"技术方案": value}}
    return market.owner.post(f"/purchases/{purchase_id}/proposals/{agency_id(n)}/scores", body)


def _own_scores(market: Market, purchase_id: str) -> Any:
    reply = market.owner.get(f"/purchases/{purchase_id}/scores")
    assert reply.status == 200, reply.body
    return reply.body


def test_a_challenge_accepted_during_scoring_suspends_it_and_resuming_moves_its_deadline(
    market: Market, published_events
) -> None:
    purchase_id = _scoring(market)
    deadline = parse_iso(market.purchase(purchase_id)["scoring"]["deadline"])
    assert _score(market, purchase_id, 1, "80").status == 201

    suspended_at = AFTER_DEADLINE + timedelta(hours=2)
    market.clock.set(suspended_at)
    _suspend(market, purchase_id)
    assert market.purchase(purchase_id)["suspensions"][0]["from_status"] == "scoring"
    assert _execution(purchase_id)["status"] == "ABORTED"

    # While suspended the panel cannot score: a 409 naming the state, nothing written
    before = _own_scores(market, purchase_id)
    refused = _score(market, purchase_id, 2, "90")
    assert refused.status == 409 and refused.body["state"] == "suspended", refused.body
    assert "suspended" in refused.body["detail"]
    assert _own_scores(market, purchase_id) == before
    # The sweeper's scoring step does nothing to it
    from marketplace.services import proposals

    market.clock.set(deadline + timedelta(seconds=1))
    assert proposals.check_scoring(purchase_id).status.value == "suspended"
    assert market.purchase(purchase_id)["scoring"]["escalated_at"] is None

    resumed_at = deadline + timedelta(days=1, seconds=7)
    market.clock.set(resumed_at)
    reply = market.owner.post(f"/purchases/{purchase_id}/resumption", {"note": "资格条件已修正"})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "scoring"
    shifted = reply.body["suspensions"][0]["shifted_seconds"]
    assert shifted == int((resumed_at - suspended_at).total_seconds())
    assert parse_iso(reply.body["scoring"]["deadline"]) - deadline == timedelta(seconds=shifted)
    # The new execution ends as the first one did after closing: the sweeper watches the deadline
    assert json.loads(_execution(f"{purchase_id}-r1")["input"])["purchase_id"] == purchase_id
    assert _task("close_enrollment", purchase_id)["status"] == "scoring"
    resumed = [e["detail"] for e in published_events.received() if e["detail-type"] == "PurchaseResumed"]
    assert resumed[-1]["data"]["scoring_deadline"] == reply.body["scoring"]["deadline"]

    # Scoring goes on (the moved deadline is still ahead) and the last score makes the result
    assert proposals.check_scoring(purchase_id).status.value == "scoring"
    assert market.purchase(purchase_id)["scoring"]["escalated_at"] is None
    assert _score(market, purchase_id, 2, "90").status == 201
    assert _score(market, purchase_id, 3, "70").status == 201
    after = market.purchase(purchase_id)
    assert after["status"] == "selected" and after["result"]["selected_agency"] == agency_id(2)


def test_a_scoring_whose_last_score_met_the_suspension_ranks_on_resumption(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.services import proposals

    purchase_id = _scoring(market)
    assert _score(market, purchase_id, 1, "60").status == 201
    assert _score(market, purchase_id, 2, "70").status == 201
    with monkeypatch.context() as patched:  # the ranking found the purchase suspended meanwhile
        patched.setattr(proposals, "rank", lambda purchase_id, actor="system": None)
        assert _score(market, purchase_id, 3, "95").status == 201
    _suspend(market, purchase_id)
    reply = market.owner.post(f"/purchases/{purchase_id}/resumption", {})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "selected" and reply.body["result"]["selected_agency"] == agency_id(3)


def test_cancelling_a_suspended_scoring_ends_it(market: Market, published_events) -> None:
    purchase_id = _scoring(market)
    _suspend(market, purchase_id)
    other = market.api.as_role("owner", "OW-OTHER")
    assert other.post(f"/purchases/{purchase_id}/cancellation", {"reason": "x"}).status == 403
    reply = market.owner.post(f"/purchases/{purchase_id}/cancellation", {"reason": "评审标准需重新论证"})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "cancelled"
    refused = _score(market, purchase_id, 1, "80")
    assert refused.status == 409 and refused.body["state"] == "cancelled"
    assert market.owner.post(f"/purchases/{purchase_id}/resumption", {}).status == 409
    assert published_events.types().count("PurchaseCancelled") == 1


# Bidding.


def _quote(market: Market, purchase_id: str, n: int, amount: str) -> Any:
    return market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/quotes", {"amount_yuan": amount})


def _bidding(market: Market) -> str:
    """Two rounds; three agencies quote in round one; closed: round two open."""
    purchase_id = market.publish(method="price_bidding", bidding={"rounds": 2, "floor_yuan": "90000.00"})
    for n, amount in ((1, "150000.00"), (2, "140000.00"), (3, "160000.00")):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        assert _quote(market, purchase_id, n, amount).status == 201
    market.clock.set(AFTER_DEADLINE)
    assert _task("close_enrollment", purchase_id)["status"] == "bidding"
    return purchase_id


def _open_round(market: Market, purchase_id: str) -> dict[str, Any]:
    rounds = market.api.call("GET", f"/purchases/{purchase_id}/rounds").body["rounds"]
    return dict(rounds[-1])


def test_a_challenge_accepted_during_bidding_suspends_it_and_resuming_moves_the_round(
    market: Market, published_events
) -> None:
    purchase_id = _bidding(market)
    round_two = _open_round(market, purchase_id)
    assert round_two["round"] == 2 and round_two["state"] == "open"
    closes_at = parse_iso(round_two["closes_at"])
    assert _window_row(purchase_id).round_open_until == round_two["closes_at"]

    suspended_at = AFTER_DEADLINE + timedelta(minutes=3)
    market.clock.set(suspended_at)
    _suspend(market, purchase_id)
    assert _execution(purchase_id)["status"] == "ABORTED"
    # The round is shut on the window row too: a quote in flight cannot land
    row = _window_row(purchase_id)
    assert row.round_open_until is None and row.bid_round is None

    # While suspended no one quotes: a 409 naming the state, nothing written
    refused = _quote(market, purchase_id, 2, "130000.00")
    assert refused.status == 409 and refused.body["state"] == "suspended", refused.body
    assert refused.body["reason"] == "suspended" and "suspended" in refused.body["detail"]
    own = market.agency(agency_id(2)).get(f"/purchases/{purchase_id}/quotes")
    assert [r["round"] for r in own.body["receipts"]] == [1]
    # The round's task, triggered anyway (a stop that failed), changes nothing
    market.clock.set(closes_at + timedelta(seconds=1))
    assert _task("close_round", purchase_id)["status"] == "suspended"
    assert _open_round(market, purchase_id)["closes_at"] == round_two["closes_at"]

    resumed_at = suspended_at + timedelta(hours=1, seconds=9)
    market.clock.set(resumed_at)
    reply = market.owner.post(f"/purchases/{purchase_id}/resumption", {"note": "已澄清报价口径"})
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "bidding"
    shift = timedelta(seconds=reply.body["suspensions"][0]["shifted_seconds"])
    assert shift == resumed_at - suspended_at
    moved = _open_round(market, purchase_id)
    assert moved["round"] == 2 and moved["state"] == "open"
    assert parse_iso(moved["closes_at"]) == closes_at + shift
    assert parse_iso(moved["closes_at"]) - resumed_at == closes_at - suspended_at  # the time it had left
    assert _window_row(purchase_id).round_open_until == moved["closes_at"]
    resumed = [e["detail"] for e in published_events.received() if e["detail-type"] == "PurchaseResumed"]
    assert resumed[-1]["data"]["round_closes_at"] == moved["closes_at"]

    # The new execution starts from the top: the closing step reports `bidding` with the moved
    # closing, which the state machine's Choice sends to WaitForRoundClose
    assert _execution(f"{purchase_id}-r1")["status"] == "RUNNING"
    state = _task("close_enrollment", purchase_id)
    assert state["status"] == "bidding" and state["round_closes_at"] == moved["closes_at"]
    machine = json.loads((ROOT / "statemachines" / "purchase-window.asl.json").read_text(encoding="utf-8"))
    choices = machine["States"]["AfterClosing"]["Choices"]
    assert {"Variable": "$.window.status", "StringEquals": "bidding", "Next": "WaitForRoundClose"} in choices

    # Quotes land again until the moved closing, and the round closes then, not before
    market.clock.set(closes_at + timedelta(seconds=30))
    assert _quote(market, purchase_id, 2, "130000.00").status == 201
    with pytest.raises(Exception, match="closes at"):
        _task("close_round", purchase_id)
    market.clock.set(parse_iso(moved["closes_at"]) + timedelta(seconds=1))
    assert _quote(market, purchase_id, 1, "120000.00").status == 409  # closed now
    closed = _task("close_round", purchase_id)
    assert closed["status"] == "enrollment_closed"
    # The selection follows (its time moved with the round)
    assert parse_iso(market.purchase(purchase_id)["selection_time"]) <= parse_iso(moved["closes_at"]) + shift
    selected = _task("run_selection", purchase_id)
    assert selected["status"] == "selected"
    result = market.purchase(purchase_id)["result"]
    assert result["selected_agency"] == agency_id(2)


def test_a_challenge_may_be_filed_while_bidding_or_scoring_and_not_after_the_result(market: Market) -> None:
    bidding = _bidding(market)
    filed = market.agency(agency_id(3)).post(f"/purchases/{bidding}/challenges", CHALLENGE)
    assert filed.status == 201 and filed.body["purchase_status"] == "bidding", filed.body
    rejected = market.owner.post(
        f"/challenges/{filed.body['challenge_id']}/answer", {"decision": "reject", "answer": "条件合规"}
    )
    assert rejected.status == 200 and market.purchase(bidding)["status"] == "bidding"
    market.clock.set(OPENS)
    scoring = _scoring(market)
    assert market.agency(agency_id(2)).post(f"/purchases/{scoring}/challenges", CHALLENGE).status == 201
    for n, value in ((1, "60"), (2, "70"), (3, "80")):
        assert _score(market, scoring, n, value).status == 201
    late = market.agency(agency_id(1)).post(f"/purchases/{scoring}/challenges", CHALLENGE)
    assert late.status == 409 and late.body["reason"] == "wrong_subject"


def test_a_quote_in_flight_when_the_suspension_commits_does_not_land(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quote read the purchase `bidding` before the suspension committed: its write, conditioned
    on the window row's open round, is refused and nothing is stored."""
    from marketplace.repositories import bidding as bidding_repo

    purchase_id = _bidding(market)
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=2))
    stale = bidding_repo.quote_context(purchase_id, agency_id(2))  # read while bidding
    _suspend(market, purchase_id)
    monkeypatch.setattr(bidding_repo, "quote_context", lambda purchase_id, agency_id: stale)
    refused = _quote(market, purchase_id, 2, "130000.00")
    assert refused.status == 409, refused.body
    monkeypatch.undo()
    assert bidding_repo.own_quotes(purchase_id, agency_id(2))[-1].round == 1
    assert market.purchase(purchase_id)["status"] == "suspended"
