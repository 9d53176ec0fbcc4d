"""Credit repair (信用修复): the agency appeals its own event once; only the admin decides; a
revocation compensates the event (never an edit) and a revoked finding of serious dishonesty lifts
the blacklist at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api
from tests.integration.test_credit_actions import (
    deliver,
    directory_entry,
    dishonesty,
    inbox,
    ledger,
    penalty,
    regulator,
    standing,
)
from tests.support.market import ITEM, Market, agency_id, open_market

APPEAL = {"reasons": "处罚决定已被行政复议撤销", "evidence": ["浙环复决〔2026〕3号"]}


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def penalised(market: Market, points: int = -10) -> str:
    reply = regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", penalty(points=points))
    assert reply.status == 201, reply.body
    return str(reply.body["credit_event_id"])


def score(agency: str) -> int:
    from marketplace.domain.credit import DEFAULT_RULES

    return int(standing(agency).score(DEFAULT_RULES, "2026-12-01T03:00:00Z"))


def test_the_agency_appeals_once_and_the_admin_revokes_with_a_compensating_event(
    market: Market, published_events: Any
) -> None:
    event_id = penalised(market)
    agency = market.agency(agency_id(1))
    # When the agency appeals its event
    filed = agency.post(f"/credit/events/{event_id}/appeal", APPEAL)
    assert filed.status == 201, filed.body
    assert (filed.body["status"], filed.body["reasons"], filed.body["decided_at"]) == (
        "filed",
        APPEAL["reasons"],
        None,
    )
    # Then anyone reads the appeal
    public = market.api.call("GET", f"/credit/events/{event_id}/appeal")
    assert public.status == 200 and public.body["status"] == "filed"
    # and the admin and the regulator that recorded the event are told
    deliver(published_events)
    assert [e["event_type"] for e in inbox(market, "admin", "")] == ["CreditAppealFiled"]
    told = inbox(market, "regulator", "RG-ENV", industries=("environment",))
    assert [e["link"] for e in told] == [f"/credit/events/{event_id}/appeal"]

    # When the admin revokes it
    decision = {"decision": "revoke", "reasons": "复议决定书撤销了原处罚"}
    decided = market.admin.post(f"/credit/events/{event_id}/appeal/decision", decision)
    assert decided.status == 200, decided.body
    assert decided.body["status"] == "revoked" and decided.body["decision_reasons"] == decision["reasons"]
    revocation_id = decided.body["revocation_event_id"]
    # Then a revocation event compensates it, and the event itself is unchanged
    events = {e["credit_event_id"]: e for e in ledger(market, agency_id(1))}
    assert events[event_id]["points"] == -10 and events[event_id]["kind"] == "penalty"
    revocation = events[revocation_id]
    assert (revocation["kind"], revocation["points"], revocation["revokes"]) == ("revocation", 10, event_id)
    assert score(agency_id(1)) == 100
    # and deciding again is refused, naming the appeal's state
    again = market.admin.post(f"/credit/events/{event_id}/appeal/decision", decision)
    assert again.status == 409 and again.body["state"] == "revoked"
    assert len(ledger(market, agency_id(1))) == 2
    # and the agency learns the decision, linked to its credit profile
    deliver(published_events)
    (entry,) = [e for e in inbox(market, "agency", agency_id(1)) if e["event_type"] == "CreditAppealDecided"]
    assert entry["link"] == f"/agencies/{agency_id(1)}/credit"
    public = market.api.call("GET", f"/credit/events/{event_id}/appeal").body
    assert public["status"] == "revoked" and public["revocation_event_id"] == revocation_id
    # and the public credit profile shows the appeal with its decision, and the revocation
    profile = market.api.call("GET", f"/agencies/{agency_id(1)}/credit").body
    (shown,) = profile["appeals"]
    assert (shown["credit_event_id"], shown["status"], shown["reasons"]) == (
        event_id,
        "revoked",
        APPEAL["reasons"],
    )
    assert shown["decision_reasons"] == decision["reasons"] and shown["revocation_event_id"] == revocation_id
    assert profile["score"] == 100
    assert {e["credit_event_id"]: e["kind"] for e in profile["events"]} == {
        event_id: "penalty",
        revocation_id: "revocation",
    }


def test_an_upheld_event_stays(market: Market) -> None:
    event_id = penalised(market)
    assert market.agency(agency_id(1)).post(f"/credit/events/{event_id}/appeal", APPEAL).status == 201
    decided = market.admin.post(
        f"/credit/events/{event_id}/appeal/decision", {"decision": "uphold", "reasons": "处罚事实清楚"}
    )
    assert decided.status == 200 and decided.body["status"] == "upheld"
    assert decided.body["revocation_event_id"] is None
    assert [e["credit_event_id"] for e in ledger(market, agency_id(1))] == [event_id]
    assert score(agency_id(1)) == 90
    # one appeal per event: the decision is final on the platform
    assert market.agency(agency_id(1)).post(f"/credit/events/{event_id}/appeal", APPEAL).status == 409


def test_two_appeals_at_once_file_one(market: Market) -> None:
    event_id = penalised(market)
    agency = market.agency(agency_id(1))
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda _: agency.post(f"/credit/events/{event_id}/appeal", APPEAL), range(2)))
    assert sorted(r.status for r in replies) == [201, 409], [r.body for r in replies]


def test_only_the_agency_appeals_its_own_event_and_only_the_admin_decides(market: Market) -> None:
    event_id = penalised(market)
    path = f"/credit/events/{event_id}/appeal"
    assert market.agency(agency_id(2)).post(path, APPEAL).status == 404  # not in its ledger
    assert regulator(market).post(path, APPEAL).status == 403
    assert market.admin.post(path, APPEAL).status == 403
    assert market.api.call("POST", path, APPEAL).status == 401
    assert market.api.call("GET", path).status == 404  # nothing was filed
    assert market.agency(agency_id(1)).post("/credit/events/RG-NOTHING/appeal", APPEAL).status == 404

    assert market.agency(agency_id(1)).post(path, APPEAL).status == 201
    decision = {"decision": "revoke", "reasons": "x"}
    for caller in (market.agency(agency_id(1)), regulator(market), market.owner):
        assert caller.post(f"{path}/decision", decision).status == 403
    assert market.api.call("GET", path).body["status"] == "filed"
    assert len(ledger(market, agency_id(1))) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reasons": ""}, "reasons"),
        ({"reasons": "x", "evidence": ["a"] * 11}, "evidence"),
        ({"reasons": "x", "extra": 1}, "extra"),
    ],
)
def test_a_bad_appeal_is_a_422_naming_the_field_and_nothing_is_filed(
    market: Market, body: dict[str, Any], field: str
) -> None:
    event_id = penalised(market)
    reply = market.agency(agency_id(1)).post(f"/credit/events/{event_id}/appeal", body)
    assert reply.status == 422 and field in [e["field"] for e in reply.body["errors"]]
    assert market.api.call("GET", f"/credit/events/{event_id}/appeal").status == 404


def test_a_bad_decision_is_a_422_and_decides_nothing(market: Market) -> None:
    event_id = penalised(market)
    assert market.agency(agency_id(1)).post(f"/credit/events/{event_id}/appeal", APPEAL).status == 201
    path = f"/credit/events/{event_id}/appeal/decision"
    for body, field in (
        ({"decision": "annul", "reasons": "x"}, "decision"),
        ({"decision": "revoke"}, "reasons"),
    ):
        reply = market.admin.post(path, body)
        assert reply.status == 422 and field in [e["field"] for e in reply.body["errors"]]
    assert market.api.call("GET", f"/credit/events/{event_id}/appeal").body["status"] == "filed"
    assert (
        market.admin.post(
            "/credit/events/RG-NOTHING/appeal/decision", {"decision": "uphold", "reasons": "x"}
        ).status
        == 404
    )


def test_a_revoked_serious_dishonesty_lifts_the_blacklist_at_once(market: Market) -> None:
    found = regulator(market).post(f"/agencies/{agency_id(1)}/credit/events", dishonesty())
    assert found.status == 201, found.body
    event_id = found.body["credit_event_id"]
    assert directory_entry(market, agency_id(1), f"?item_code={ITEM}")["item_suspended"] is True
    assert market.agency(agency_id(1)).post(f"/credit/events/{event_id}/appeal", APPEAL).status == 201
    decided = market.admin.post(
        f"/credit/events/{event_id}/appeal/decision", {"decision": "revoke", "reasons": "认定错误"}
    )
    assert decided.status == 200, decided.body
    assert standing(agency_id(1)).blacklisted_until is None
    entry = directory_entry(market, agency_id(1), f"?item_code={ITEM}")
    assert entry["item_suspended"] is False and entry["blacklisted_until"] is None
    assert entry["credit_level"] == "A"
    assert market.enroll(market.publish(), agency_id(1)).status == 201
    # a revocation is the outcome of an appeal: it is not appealed itself
    revocation = decided.body["revocation_event_id"]
    assert market.agency(agency_id(1)).post(f"/credit/events/{revocation}/appeal", APPEAL).status == 409
