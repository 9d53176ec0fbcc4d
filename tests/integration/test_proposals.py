"""Proposal best-value (方案择优, docs/proposals.md) through the HTTP handlers in-process: sealed
proposals, opened at closing, scored once per seat, the last score selecting (ties by the draw)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.domain.draw import verify
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, Market, agency_id, open_market

CRITERIA = [
    {"name": "技术方案", "weight": 60, "description": "方法、路线与质量保证"},
    {"name": "服务承诺", "weight": 40},
]
REVIEWERS = ["expert-li", "expert-wang"]


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=4)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def proposal(n: int) -> dict[str, Any]:
    return {
        "file_ref": f"s3://proposals/AG-{n:03d}/方案.pdf",
        "sha256": sha(f"proposal {n}"),
        "title": f"方案 {n}",
    }


def sheet(technical: str, service: str, comment: str = "") -> dict[str, Any]:
    return {"scores": {"技术方案": technical, "服务承诺": service}, "comment": comment}


def publish(market: Market, reviewers: list[str] | None = None) -> str:
    terms = {"criteria": CRITERIA, "reviewers": REVIEWERS if reviewers is None else reviewers}
    return market.publish(method="proposal_best_value", proposal=terms)


def reviewer(market: Market, n: int) -> Any:
    role = "owner" if n == 0 else "regulator"  # a named reviewer may hold either role
    return market.api.as_role(role, f"ORG-EXPERT-{n}", subject=REVIEWERS[n])


def submit(market: Market, purchase_id: str, n: int, body: dict[str, Any] | None = None, **kw: Any) -> Any:
    return market.agency(agency_id(n)).post(f"/purchases/{purchase_id}/proposals", body or proposal(n), **kw)


def close(market: Market, purchase_id: str) -> dict[str, Any]:
    from app import app

    market.clock.set(AFTER_DEADLINE)
    return dict(app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None))


def scored(market: Market, purchase_id: str, agencies: list[int], enroll_only: tuple[int, ...] = ()) -> str:
    for n in (*agencies, *enroll_only):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    for n in agencies:
        assert submit(market, purchase_id, n).status == 201
    assert close(market, purchase_id)["status"] == "scoring"
    return purchase_id


def score(caller: Any, purchase_id: str, n: int, body: dict[str, Any]) -> Any:
    return caller.post(f"/purchases/{purchase_id}/proposals/{agency_id(n)}/scores", body)


def panel(market: Market) -> list[Any]:
    return [market.owner, reviewer(market, 0), reviewer(market, 1)]


def rows(purchase_id: str, prefix: str = "") -> list[Any]:
    from marketplace.repositories.tables import PurchaseRow

    condition = PurchaseRow.sk.startswith(prefix) if prefix else None
    return list(PurchaseRow.query(purchase_id, condition))


def test_proposals_are_scored_by_the_panel_and_the_highest_weighted_total_wins(
    market: Market, published_events
) -> None:
    purchase_id = scored(market, publish(market), [1, 2, 3])
    public = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert public["status"] == "scoring"
    assert public["proposal"] == {
        "criteria": [{**c, "description": c.get("description", "")} for c in CRITERIA],
        "reviewers": 2,
    }
    assert [p["agency_id"] for p in public["scoring"]["proposals"]] == ["AG-001", "AG-002", "AG-003"]
    assert "file_ref" not in json.dumps(public) and "expert-li" not in json.dumps(public)
    assert public["scoring"]["proposals"][1]["sha256"] == proposal(2)["sha256"]

    figures = {1: ("40", "30"), 2: ("55.5", "35"), 3: ("50", "38")}  # AG-002 best for every seat
    owner, first, second = panel(market)
    for caller in (owner, first):
        for n, (t, s) in figures.items():
            assert score(caller, purchase_id, n, sheet(t, s)).status == 201
    # Before the result: a seat sees its own figures and who scored what, never another's figures.
    mine = first.get(f"/purchases/{purchase_id}/scores").body
    assert mine["published"] is False and mine["you"] == "reviewer-1"
    assert {s["seat"] for s in mine["scores"]} == {"reviewer-1"} and len(mine["scores"]) == 3
    assert {p["seat"]: p["scored"] for p in mine["progress"]}["owner"] == ["AG-001", "AG-002", "AG-003"]
    assert mine["proposals"][0]["file_ref"] == proposal(1)["file_ref"]  # the panel reads the proposals
    waiting = second.get(f"/purchases/{purchase_id}/scores").body
    assert waiting["scores"] == []  # the last reviewer has seen nobody's figures
    assert market.api.call("GET", f"/purchases/{purchase_id}/scores").status == 409
    assert market.agency(agency_id(2)).get(f"/purchases/{purchase_id}/scores").status == 409

    for n, (t, s) in figures.items():
        reply = score(second, purchase_id, n, sheet(t, s, "ok"))
        assert reply.status == 201, reply.body
    selected = market.purchase(purchase_id)
    assert selected["status"] == "selected"
    assert selected["result"]["selected_agency"] == "AG-002"
    assert selected["result"]["reserves"] == ["AG-003", "AG-001"]
    page = market.api.call("GET", f"/purchases/{purchase_id}").body["scoring"]  # the public page
    assert page["totals"] == {"AG-001": "70.0000", "AG-002": "90.5000", "AG-003": "88.0000"}
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert verify(proof) == []
    assert proof["values_order"] == "descending" and proof["values"]["AG-002"] == "90.5000"
    assert proof["method"] == "proposal_best_value" and proof["tied"] == []
    assert proof["criteria"] == [{"name": "技术方案", "weight": 60}, {"name": "服务承诺", "weight": 40}]

    board = market.api.call("GET", f"/purchases/{purchase_id}/scores").body  # anyone, after the result
    assert board["published"] is True and len(board["scores"]) == 9
    assert {s["seat"] for s in board["scores"]} == {"owner", "reviewer-1", "reviewer-2"}
    assert all(s["by"] is None for s in board["scores"])  # seats, not people
    assert {p["agency_id"]: p["weighted_total"] for p in board["proposals"]}["AG-001"] == "70.0000"
    types = published_events.types()
    assert types.count("ProposalsOpened") == 1 and types.count("ResultPublished") == 1
    assert types.count("ProposalScored") == 9

    # Both parties confirm: the signed letter names the method and rests on the published proof.
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency("AG-002").post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["letter_id"] == f"L-{purchase_id}", accepted.body
    envelope = market.api.call("GET", f"/letters/L-{purchase_id}").body
    assert envelope["letter"]["method"] == "proposal_best_value"
    assert envelope["letter"]["draw"]["commitment"] == proof["commitment"]
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True


def test_nothing_reveals_a_proposal_before_the_deadline(
    market: Market, published_events, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    purchase_id = publish(market)
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        reply = submit(market, purchase_id, n, headers={"Idempotency-Key": f"proposal-{n}"})
        assert reply.status == 201, reply.body
        assert reply.body["digest"] != proposal(n)["sha256"]
    secrets = [proposal(n)[k] for n in (1, 2) for k in ("sha256", "file_ref")]
    callers = [market.api, market.owner, market.admin, market.agency(agency_id(2)), reviewer(market, 0)]
    paths = [
        f"/purchases/{purchase_id}",
        f"/purchases/{purchase_id}/scores",
        f"/purchases/{purchase_id}/draw",
        f"/purchases/{purchase_id}/enrollments",
        f"/purchases/{purchase_id}/enrollments/{agency_id(1)}",
        f"/purchases/{purchase_id}/proposals/{agency_id(1)}/scores",
        "/purchases",
        "/me/enrollments",
        "/me/notifications",
    ]
    for caller in callers:
        for path in paths:
            reply = caller.get(path) if hasattr(caller, "get") else caller.call("GET", path)
            seen = json.dumps(reply.body, ensure_ascii=False)
            assert not any(s in seen for s in secrets), (path, reply.status)
    stored = json.dumps([r.document for r in rows(purchase_id)], ensure_ascii=False)
    assert not any(s in stored for s in secrets)  # sealed at rest, the platform's own rows included
    events = json.dumps(published_events.received(), ensure_ascii=False)
    assert not any(s in events for s in secrets)
    assert "Proposal" not in "".join(published_events.types())  # not even that someone submitted
    logged = capsys.readouterr()
    records = json.dumps([{**r.__dict__, "args": str(r.args)} for r in caplog.records], default=str)
    assert not any(s in text for s in secrets for text in (logged.out, logged.err, records))


def test_a_replaced_proposal_is_the_one_opened_and_the_receipt_names_what_it_replaced(market: Market) -> None:
    purchase_id = publish(market)
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        assert submit(market, purchase_id, n).status == 201
    better = {**proposal(1), "sha256": sha("proposal 1, revised"), "title": "修订方案"}
    first = submit(market, purchase_id, 1).body
    again = submit(market, purchase_id, 1, better)
    assert again.status == 201 and again.body["replaces"] == first["digest"]
    assert close(market, purchase_id)["status"] == "scoring"
    opened = market.purchase(purchase_id)["scoring"]["proposals"][0]
    assert opened["sha256"] == better["sha256"] and opened["title"] == "修订方案"


def test_late_unenrolled_withdrawn_and_malformed_proposals_are_refused_and_nothing_is_written(
    market: Market,
) -> None:
    random_draw = market.publish(project_code="2026-330106-47-01-000999")
    assert market.enroll(random_draw, agency_id(1)).status == 201
    assert submit(market, random_draw, 1).body["reason"] == "method"
    purchase_id = publish(market)
    assert market.enroll(purchase_id, agency_id(1)).status == 201
    assert market.enroll(purchase_id, agency_id(3)).status == 201
    assert (
        market.agency(agency_id(3)).delete(f"/purchases/{purchase_id}/enrollments/{agency_id(3)}").status
        == 200
    )

    not_enrolled = submit(market, purchase_id, 2)
    assert not_enrolled.status == 409 and not_enrolled.body["reason"] == "not_enrolled"
    withdrawn = submit(market, purchase_id, 3)
    assert withdrawn.status == 409 and withdrawn.body["reason"] == "not_enrolled"
    bad_hash = submit(market, purchase_id, 1, {**proposal(1), "sha256": "ABC"})
    assert bad_hash.status == 422 and "sha256" in json.dumps(bad_hash.body)
    assert submit(market, purchase_id, 1, {"sha256": proposal(1)["sha256"]}).status == 422
    assert market.owner.post(f"/purchases/{purchase_id}/proposals", proposal(1)).status == 403

    market.clock.set(AFTER_DEADLINE - timedelta(seconds=1))
    late = submit(market, purchase_id, 1)
    market.clock.set(AFTER_DEADLINE)  # closing has not run yet: still late
    later = submit(market, purchase_id, 1)
    assert late.status == later.status == 409 and later.body["reason"] == "late"
    assert rows(purchase_id, "PROPOSAL#") == []


def test_enrollees_without_a_proposal_are_not_candidates_and_too_few_fail_the_purchase(
    market: Market, published_events
) -> None:
    purchase_id = publish(market)
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert submit(market, purchase_id, 1).status == 201
    assert close(market, purchase_id)["status"] == "failed"
    failed = market.purchase(purchase_id)
    assert failed["failure_reason"] == "1 eligible enrollment(s) with a proposal, fewer than the minimum of 2"
    assert "PurchaseFailed" in published_events.types() and "ProposalsOpened" not in published_events.types()
    assert (
        market.owner.post(f"/purchases/{purchase_id}/proposals/{agency_id(1)}/scores", sheet("1", "1")).status
        == 409
    )


def test_bad_scores_strangers_and_second_scores_are_refused_and_nothing_is_written(market: Market) -> None:
    purchase_id = scored(market, publish(market), [1, 2], enroll_only=(3,))
    owner, first, _ = panel(market)
    out_of_range = score(owner, purchase_id, 1, sheet("61", "10"))
    assert out_of_range.status == 422
    assert out_of_range.body["errors"][0]["field"] == "scores.技术方案"
    assert score(owner, purchase_id, 1, sheet("-1", "10")).status == 422
    assert score(owner, purchase_id, 1, sheet("10.123", "10")).status == 422
    assert score(owner, purchase_id, 1, {"scores": {"技术方案": "10"}}).status == 422
    assert (
        score(owner, purchase_id, 1, {"scores": {"技术方案": "10", "服务承诺": "1", "价格": "1"}}).status
        == 422
    )
    stranger = market.api.as_role("owner", "OW-OTHER", subject="someone-else")
    assert score(stranger, purchase_id, 1, sheet("10", "10")).status == 403
    assert score(market.agency(agency_id(2)), purchase_id, 1, sheet("10", "10")).status == 403
    impostor = market.api.as_role(
        "agency", agency_id(2), subject=REVIEWERS[0]
    )  # a reviewer's name, as an agency
    assert score(impostor, purchase_id, 1, sheet("10", "10")).status == 403
    assert score(owner, purchase_id, 3, sheet("10", "10")).status == 404  # enrolled, but no proposal
    assert rows(purchase_id, "SCORE#") == []

    assert score(first, purchase_id, 1, sheet("10", "10")).status == 201
    again = score(first, purchase_id, 1, sheet("60", "40"))
    assert again.status == 409 and again.body["reason"] == "duplicate"
    colleague = market.api.as_role("owner", "OW-001", subject="another-user-of-the-owner")
    assert score(colleague, purchase_id, 2, sheet("10", "10")).status == 201  # for the owner's seat
    assert score(owner, purchase_id, 2, sheet("20", "20")).status == 409  # the seat has scored it
    assert len(rows(purchase_id, "SCORE#")) == 2
    seen = first.get(f"/purchases/{purchase_id}/scores").body["scores"]
    assert [s["total"] for s in seen] == ["20.00"]


def test_two_reviewers_scoring_the_last_proposal_at_once_make_one_selection(
    market: Market, published_events
) -> None:
    purchase_id = scored(market, publish(market), [1, 2])
    owner, first, second = panel(market)
    for caller in (owner, first, second):
        assert score(caller, purchase_id, 1, sheet("30", "30")).status == 201
    assert score(owner, purchase_id, 2, sheet("40", "30")).status == 201
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda c: score(c, purchase_id, 2, sheet("40", "30")), (first, second)))
    assert [r.status for r in replies] == [201, 201]
    assert market.purchase(purchase_id)["result"]["selected_agency"] == "AG-002"
    assert published_events.types().count("ResultPublished") == 1
    assert len(rows(purchase_id, "DRAW")) == 1


def test_a_tie_is_broken_by_the_draw_and_recomputed_from_the_proof(market: Market) -> None:
    purchase_id = scored(market, publish(market, reviewers=[]), [1, 2, 3])
    for n in (1, 2, 3):
        figures = ("50", "30") if n != 3 else ("10", "10")
        assert score(market.owner, purchase_id, n, sheet(*figures)).status == 201
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert proof["tied"] == [["AG-001", "AG-002"]]
    assert verify(proof) == []
    ranks = {r["agency_id"]: r["rank"] for r in proof["ranking"]}
    expected = min(("AG-001", "AG-002"), key=lambda a: (ranks[a], a))
    assert proof["winners"] == [expected] and proof["reserves"][-1] == "AG-003"
    assert verify({**proof, "winners": [next(a for a in ("AG-001", "AG-002") if a != expected)]}) != []


def test_an_unfinished_scoring_is_reported_to_the_admin_once_at_its_deadline(
    market: Market, published_events
) -> None:
    from tests.integration.test_selection import sweep

    purchase_id = publish(market)
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
        assert submit(market, purchase_id, n).status == 201
    market.clock.set(AFTER_DEADLINE)
    from app import app

    app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)  # the execution closes
    deadline = market.purchase(purchase_id)["scoring"]["deadline"]
    assert market.purchase(purchase_id)["status"] == "scoring"
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    sweep()
    assert "ProposalScoringOverdue" not in published_events.types()
    market.clock.set(AFTER_DEADLINE + timedelta(days=14))
    sweep()
    sweep()
    assert published_events.types().count("ProposalScoringOverdue") == 1
    after = market.purchase(purchase_id)
    assert after["status"] == "scoring" and after["scoring"]["escalated_at"] > deadline


def test_an_annulled_winner_is_replaced_by_the_next_best_proposal_not_the_next_drawn(market: Market) -> None:
    terms = {"criteria": CRITERIA, "reviewers": []}
    purchase_id = scored(
        market, market.publish(method="proposal_best_value", proposal=terms, reserves=0), [1, 2, 3]
    )
    for n, figures in ((1, ("55", "35")), (2, ("50", "30")), (3, ("5", "5"))):
        assert score(market.owner, purchase_id, n, sheet(*figures)).status == 201
    assert market.purchase(purchase_id)["result"]["selected_agency"] == "AG-001"
    body = {"subject": "result", "grounds": ["中选方案存在虚假业绩"], "reasons": "业绩证明材料不实"}
    filed = market.agency(agency_id(3)).post(f"/purchases/{purchase_id}/challenges", body)
    assert filed.status == 201, filed.body
    answer = {"decision": "accept", "answer": "经复核，质疑成立"}
    assert market.owner.post(f"/challenges/{filed.body['challenge_id']}/answer", answer).status == 200
    moved = market.purchase(purchase_id)["result"]
    assert moved["selected_agency"] == "AG-002"  # 80 points, ahead of AG-003's 10 whatever the draw
    assert moved["annulled"][0]["replaced_from"] == "ranking"


def test_a_score_meeting_another_transaction_is_tried_again_and_counted_once(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.errors import ServiceUnavailable
    from marketplace.repositories import proposals as repo

    purchase_id = scored(market, publish(market), [1, 2])
    original, attempts = repo._add_score_once, []

    def busy_once(*args: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ServiceUnavailable("the data store is busy; retry shortly")
        original(*args)

    monkeypatch.setattr(repo, "_add_score_once", busy_once)
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    assert len(attempts) == 2 and len(rows(purchase_id, "SCORE#")) == 1


def test_a_proposal_committing_while_enrollment_closes_is_opened_not_lost(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketplace.repositories import proposals as proposals_repo

    purchase_id = publish(market)
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    for n in (1, 2):
        assert submit(market, purchase_id, n).status == 201
    original, late = proposals_repo.sealed, []

    def read_then_a_proposal_lands(purchase: str) -> list[Any]:
        found = original(purchase)
        if not late:  # AG-003's request read its clock 2 s before the deadline; it commits now
            market.clock.set(AFTER_DEADLINE - timedelta(seconds=2))
            late.append(submit(market, purchase_id, 3))
            market.clock.set(AFTER_DEADLINE)
        return found

    monkeypatch.setattr(proposals_repo, "sealed", read_then_a_proposal_lands)
    assert close(market, purchase_id)["status"] == "scoring"
    assert late[0].status == 201, late[0].body  # the agency holds a receipt ...
    opened = market.purchase(purchase_id)["scoring"]["proposals"]
    assert [p["agency_id"] for p in opened] == ["AG-001", "AG-002", "AG-003"]  # ... and it is opened
    assert opened[2]["sha256"] == proposal(3)["sha256"]

    # Once the closing has committed, a request that read its clock before the deadline writes nothing.
    market.clock.set(AFTER_DEADLINE - timedelta(seconds=2))
    after = submit(market, purchase_id, 1, {**proposal(1), "sha256": sha("too late")})
    assert after.status == 409 and after.body["reason"] == "late"
    market.clock.set(AFTER_DEADLINE)
    assert market.purchase(purchase_id)["scoring"]["proposals"][0]["sha256"] == proposal(1)["sha256"]


def _rank_fails_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from marketplace.services import proposals as service

    original, calls = service.rank, []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the function timed out after the score was saved")
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "rank", fails_once)
    return calls


def test_a_ranking_that_failed_after_the_last_score_is_made_by_a_retry_of_that_score_once(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    purchase_id = scored(market, publish(market, reviewers=[]), [1, 2])
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    _rank_fails_once(monkeypatch)
    failed = score(market.owner, purchase_id, 2, sheet("50", "30", "最后一份"))
    assert failed.status == 500
    assert market.purchase(purchase_id)["status"] == "scoring" and len(rows(purchase_id, "SCORE#")) == 2

    different = score(market.owner, purchase_id, 2, sheet("10", "10"))  # a second score is still refused
    assert different.status == 409 and different.body["reason"] == "duplicate"
    selected = market.purchase(purchase_id)  # ... but the retry ranked all the same
    assert selected["status"] == "selected" and selected["result"]["selected_agency"] == "AG-002"
    again = score(market.owner, purchase_id, 2, sheet("50", "30", "最后一份"))
    assert again.status == 409 and again.body["reason"] == "not_scoring"  # the result is out
    assert published_events.types().count("ResultPublished") == 1
    assert len(rows(purchase_id, "DRAW")) == 1 and len(rows(purchase_id, "SCORE#")) == 2
    board = market.api.call("GET", f"/purchases/{purchase_id}/scores").body
    assert {s["agency_id"]: s["total"] for s in board["scores"]}["AG-002"] == "80.00"  # the first stands


def test_resending_the_same_last_score_after_a_failed_ranking_gets_the_recorded_score(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    purchase_id = scored(market, publish(market, reviewers=[]), [1, 2])
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    _rank_fails_once(monkeypatch)
    body = sheet("50", "30", "最后一份")
    assert score(market.owner, purchase_id, 2, body).status == 500
    recorded = next(r.document for r in rows(purchase_id, "SCORE#AG-002"))
    market.clock.set(AFTER_DEADLINE + timedelta(minutes=1))  # the retry comes a minute later
    retry = score(market.owner, purchase_id, 2, body)
    assert retry.status == 201, retry.body
    assert retry.body["scored_at"] == recorded["scored_at"] and retry.body["total"] == "80.00"
    assert market.purchase(purchase_id)["result"]["selected_agency"] == "AG-002"
    types = published_events.types()
    assert types.count("ResultPublished") == 1
    assert types.count("ProposalScored") == 2  # the resend announced nothing


def test_resending_the_same_score_of_an_unfinished_scoring_is_answered_and_writes_nothing(
    market: Market, published_events
) -> None:
    other = scored(market, publish(market, reviewers=[]), [1, 2])
    first = score(market.owner, other, 1, sheet("30", "30"))
    resent = score(market.owner, other, 1, sheet("30.00", "30"))
    assert resent.status == 201 and resent.body == first.body
    assert market.purchase(other)["status"] == "scoring" and len(rows(other, "SCORE#")) == 1
    assert published_events.types().count("ProposalScored") == 1


def test_the_sweeper_ranks_a_scoring_whose_last_ranking_failed_even_after_its_escalation(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    from tests.integration.test_selection import sweep

    purchase_id = scored(market, publish(market, reviewers=[]), [1, 2])
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    market.clock.set(AFTER_DEADLINE + timedelta(days=14))  # past the scoring deadline, one missing
    sweep()
    sweep()
    types = published_events.types()  # (reading the tap drains it)
    assert types.count("ProposalScoringOverdue") == 1  # reported once
    assert market.purchase(purchase_id)["scoring"]["escalated_at"]

    calls = _rank_fails_once(monkeypatch)
    assert score(market.owner, purchase_id, 2, sheet("50", "30")).status == 500
    assert market.purchase(purchase_id)["status"] == "scoring"
    sweep()  # the sweeper finds it still due and ranks it
    selected = market.purchase(purchase_id)
    assert selected["status"] == "selected" and selected["result"]["selected_agency"] == "AG-002"
    sweep()
    types += published_events.types()
    assert types.count("ResultPublished") == 1 and types.count("ProposalScoringOverdue") == 1
    assert len(calls) == 2 and len(rows(purchase_id, "DRAW")) == 1


def test_the_sweeper_ranks_at_the_scoring_deadline_a_complete_scoring_left_unranked(
    market: Market, monkeypatch: pytest.MonkeyPatch, published_events
) -> None:
    from tests.integration.test_selection import sweep

    purchase_id = scored(market, publish(market, reviewers=[]), [1, 2])
    assert score(market.owner, purchase_id, 1, sheet("30", "30")).status == 201
    _rank_fails_once(monkeypatch)
    assert score(market.owner, purchase_id, 2, sheet("50", "30")).status == 500
    sweep()  # before the scoring deadline nothing is due
    assert market.purchase(purchase_id)["status"] == "scoring"
    market.clock.set(AFTER_DEADLINE + timedelta(days=14))
    sweep()
    assert market.purchase(purchase_id)["result"]["selected_agency"] == "AG-002"
    types = published_events.types()
    assert types.count("ResultPublished") == 1 and "ProposalScoringOverdue" not in types  # nothing missing


def test_a_named_reviewer_from_the_owners_own_organisation_fills_its_reviewer_seat(market: Market) -> None:
    colleague = market.api.as_role("owner", "OW-001", subject="owner-colleague-zhang")
    purchase_id = scored(market, publish(market, reviewers=["owner-colleague-zhang"]), [1, 2])
    assert score(colleague, purchase_id, 1, sheet("30", "30")).status == 201
    mine = colleague.get(f"/purchases/{purchase_id}/scores").body
    assert mine["you"] == "reviewer-1" and [s["seat"] for s in mine["scores"]] == ["reviewer-1"]
    assert score(market.owner, purchase_id, 1, sheet("40", "30")).status == 201  # the owner's seat is free
    assert score(colleague, purchase_id, 2, sheet("50", "30")).status == 201
    assert market.purchase(purchase_id)["status"] == "scoring"
    assert score(market.owner, purchase_id, 2, sheet("50", "35")).status == 201  # the last score ranks
    selected = market.purchase(purchase_id)
    assert selected["status"] == "selected" and selected["result"]["selected_agency"] == "AG-002"
    board = market.api.call("GET", f"/purchases/{purchase_id}/scores").body
    assert sorted(s["seat"] for s in board["scores"]) == ["owner", "owner", "reviewer-1", "reviewer-1"]


def test_a_named_reviewer_with_neither_an_owner_nor_a_regulator_token_is_refused(market: Market) -> None:
    purchase_id = scored(market, publish(market), [1, 2])
    for role, org in (("agency", agency_id(4)), ("admin", "PLATFORM")):
        caller = market.api.as_role(role, org, subject=REVIEWERS[1])
        refused = score(caller, purchase_id, 1, sheet("10", "10"))
        assert refused.status == 403, (role, refused.body)
        assert "owner, regulator" in refused.body["detail"] and role in refused.body["detail"]
    assert rows(purchase_id, "SCORE#") == []
    assert score(reviewer(market, 1), purchase_id, 1, sheet("10", "10")).status == 201  # its own token
