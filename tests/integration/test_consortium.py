"""Consortium mode (联合体, docs/consortium.md): a lead enrolls with members, each member confirms its
part, closing judges the consortium with its members, the draw treats it as one candidate, and the
result, events, inboxes and the letter name every member. Every refusal is a clear 4xx naming the
field or the agency, with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import Market, admit, agency_id, open_market, purchase_request
from tests.support.samples import sqs_record

LEAD, M1, M2, ALONE = agency_id(1), agency_id(2), agency_id(3), agency_id(4)
TERMS = {"allowed": True, "max_members": 2}


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=6)


def body(*members: str, lead_part: str = "报告编制") -> dict[str, Any]:
    parts = ["现场监测", "30% 数据分析", "专家评审"]
    return {
        "consortium": {
            "members": [{"agency_id": m, "part": parts[n % 3]} for n, m in enumerate(members)],
            "lead_part": lead_part,
        }
    }


def enroll(market: Market, purchase_id: str, lead: str, payload: dict[str, Any] | None = None) -> Any:
    return market.agency(lead).post(f"/purchases/{purchase_id}/enrollments", payload)


def answer(market: Market, purchase_id: str, member: str, decision: str, lead: str = LEAD) -> Any:
    return market.agency(member).post(
        f"/purchases/{purchase_id}/enrollments/{lead}/membership", {"decision": decision}
    )


def rows(purchase_id: str) -> dict[str, dict[str, Any]]:
    """Every enrollment and membership row of the purchase, by sort key: what was written."""
    from marketplace.repositories.tables import PurchaseRow

    return {
        r.sk: {"status": r.status, "lead_id": r.lead_id}
        for r in PurchaseRow.query(purchase_id, consistent_read=True)
        if r.sk.startswith(("ENR#", "MEMBER#"))
    }


def count(market: Market, purchase_id: str) -> int:
    return int(market.api.call("GET", f"/purchases/{purchase_id}").body["enrollments"])


def test_happy_path_two_members_confirm_the_consortium_is_drawn_and_the_letter_names_them(
    market: Market, published_events: Any
) -> None:
    # Given a purchase that allows consortia of up to two members, announced with its terms
    purchase_id = market.publish(consortium=TERMS)
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["consortium"] == TERMS
    # When the lead enrolls with two members and an agency enrolls alone
    enrolled = enroll(market, purchase_id, LEAD, body(M1, M2))
    assert enrolled.status == 201, enrolled.body
    consortium = enrolled.body["consortium"]
    assert [(m["agency_id"], m["part"], m["status"]) for m in consortium["members"]] == [
        (M1, "现场监测", "invited"),
        (M2, "30% 数据分析", "invited"),
    ]
    assert enroll(market, purchase_id, ALONE).status == 201
    assert count(market, purchase_id) == 2  # the consortium is one enrollment
    # And each member confirms its part
    for member in (M1, M2):
        accepted = answer(market, purchase_id, member, "accept")
        assert accepted.status == 200 and accepted.body["status"] == "accepted", accepted.body
    assert market.agency(M1).get(f"/purchases/{purchase_id}/enrollments/{LEAD}/membership").body[
        "status"
    ] == ("accepted")
    mine = market.agency(LEAD).get(f"/purchases/{purchase_id}/enrollments/{LEAD}").body["consortium"]
    assert [m["status"] for m in mine["members"]] == ["accepted", "accepted"]

    # Then closing judges the consortium eligible, and the draw has it as one candidate (its lead)
    selected = market.close_and_select(purchase_id)
    assert selected["status"] == "selected", selected
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert sorted(proof["candidates"]) == [LEAD, ALONE]
    public = market.api.call("GET", f"/purchases/{purchase_id}").body
    assert [(m["agency_id"], m["part"], m["status"]) for m in public["consortia"][LEAD]["members"]] == [
        (M1, "现场监测", "accepted"),
        (M2, "30% 数据分析", "accepted"),
    ]
    assert public["consortia"][LEAD]["lead_part"] == "报告编制"
    if public["result"]["selected_agency"] != LEAD:  # the draw chose the other: it steps back
        abandoned = market.agency(ALONE).post(f"/purchases/{purchase_id}/abandonment", {"reason": "人员调整"})
        assert abandoned.status == 200, abandoned.body
    assert market.purchase(purchase_id)["result"]["selected_agency"] == LEAD

    # And the letter names the lead and every member with its part, and verifies
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(LEAD).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200, accepted.body
    envelope = market.api.call("GET", f"/letters/{accepted.body['letter_id']}").body
    letter = envelope["letter"]
    assert letter["format"] == "confirmation-letter/v2" and letter["agency"]["agency_id"] == LEAD
    assert [(m["agency_id"], m["part"]) for m in letter["consortium"]["members"]] == [
        (M1, "现场监测"),
        (M2, "30% 数据分析"),
    ]
    assert all(m["credit_code"] for m in letter["consortium"]["members"])
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True
    page = market.api.call("GET", f"/letters/{accepted.body['letter_id']}/html").body
    assert "联合体成员" in page and "现场监测" in page

    # And the events name every member; the members' inboxes hear of the invitation and the selection
    events = published_events.received()
    types = [e["detail-type"] for e in events]
    assert types.count("ConsortiumFormed") == 1 and types.count("MembershipAccepted") == 2
    assert types.count("ConsortiumSelected") == 1
    formed = next(e for e in events if e["detail-type"] == "ConsortiumFormed")["detail"]["data"]
    assert [m["agency_id"] for m in formed["members"]] == [M1, M2]
    _notify(events)
    for member in (M1, M2):
        titles = [n["title"] for n in market.agency(member).get("/me/notifications").body["items"]]
        assert f"联合体邀请：{purchase_id}" in titles and f"联合体中选：{purchase_id}" in titles
    lead_titles = [n["title"] for n in market.agency(LEAD).get("/me/notifications").body["items"]]
    assert lead_titles.count("联合体成员已确认") == 2


def _notify(events: list[dict[str, Any]]) -> None:
    from app import app

    records = [sqs_record(json.dumps(e, ensure_ascii=False), str(n)) for n, e in enumerate(events)]
    for start in range(0, len(records), 10):
        reply = app.handler_map["notify"]({"Records": records[start : start + 10]}, None)
        assert reply == {"batchItemFailures": []}


def test_a_purchase_that_does_not_allow_consortia_refuses_one_naming_the_field(market: Market) -> None:
    purchase_id = market.publish()
    refused = enroll(market, purchase_id, LEAD, body(M1))
    assert refused.status == 422, refused.body
    assert [e["field"] for e in refused.body["errors"]] == ["consortium"]
    closed = market.publish(consortium={"allowed": False, "max_members": 2})
    assert enroll(market, closed, LEAD, body(M1)).status == 422
    assert rows(purchase_id) == {} and rows(closed) == {} and count(market, purchase_id) == 0
    assert enroll(market, purchase_id, LEAD, {}).status == 201  # an empty body enrolls alone


def test_bad_bodies_are_refused_naming_the_field_and_nothing_is_written(market: Market) -> None:
    purchase_id = market.publish(consortium=TERMS)
    too_many = enroll(market, purchase_id, LEAD, body(M1, M2, ALONE))
    assert too_many.status == 422 and [e["field"] for e in too_many.body["errors"]] == ["consortium.members"]
    itself = enroll(market, purchase_id, LEAD, body(M1, LEAD))
    assert itself.status == 422
    assert [e["field"] for e in itself.body["errors"]] == ["consortium.members[1].agency_id"]
    twice = enroll(market, purchase_id, LEAD, body(M1, M1))
    assert twice.status == 422 and "listed twice" in twice.body["detail"]
    empty = enroll(market, purchase_id, LEAD, {"consortium": {"members": []}})
    assert empty.status == 422 and any("members" in e["field"] for e in empty.body["errors"])
    no_part = enroll(market, purchase_id, LEAD, {"consortium": {"members": [{"agency_id": M1, "part": ""}]}})
    assert no_part.status == 422
    assert rows(purchase_id) == {} and count(market, purchase_id) == 0


def _standing_refusal(market: Market, purchase_id: str, member: str) -> dict[str, Any]:
    refused = enroll(market, purchase_id, LEAD, body(member))
    assert refused.status == 403, refused.body
    (reason,) = [r for r in refused.body["reasons"] if r["agency_id"] == member]
    return dict(reason)


def test_each_member_must_be_admitted_and_eligible_named_with_its_reason(market: Market) -> None:
    from marketplace.repositories import credit
    from tests.integration.test_enrollment import _serious

    admit(["AG-OTHER-ITEM"], item="ZJ-XX-009")
    admit(["AG-SUSPENDED"], status="suspended", history=[_history("suspended")])
    admit(["AG-BLACK", "AG-LEVEL-D"])
    credit.record(_serious("AG-BLACK", "c-0", points=-40, blacklists_until="2027-12-01T00:00:00Z"), [])
    credit.record(_serious("AG-LEVEL-D", "c-1", points=-50), [])
    purchase_id = market.publish(
        consortium=TERMS, exclusions=[{"agency_id": M2, "reason": "与业主存在关联关系"}]
    )

    assert "not an agency" in _standing_refusal(market, purchase_id, "AG-NOBODY")["message"]
    assert "not admitted for item" in _standing_refusal(market, purchase_id, "AG-OTHER-ITEM")["message"]
    assert "suspended" in _standing_refusal(market, purchase_id, "AG-SUSPENDED")["message"]
    assert "blacklisted" in _standing_refusal(market, purchase_id, "AG-BLACK")["message"]
    assert "credit level D" in _standing_refusal(market, purchase_id, "AG-LEVEL-D")["message"]
    assert "excluded" in _standing_refusal(market, purchase_id, M2)["message"]
    assert rows(purchase_id) == {} and count(market, purchase_id) == 0


def _history(status: str) -> dict[str, Any]:
    from tests.integration.test_enrollment import _change

    return _change(status)


def test_the_qualification_is_met_jointly_by_default_and_by_every_member_where_the_item_says(
    api: Api, market: Market
) -> None:
    from tests.integration.test_enrollment import _drop_certificates
    from tests.support.samples import catalogue_item

    _drop_certificates(M1)  # M1 holds no certificate: it adds its hands, the lead its licence
    jointly = market.publish(consortium=TERMS)
    assert enroll(market, jointly, LEAD, body(M1)).status == 201

    # An item whose rule is every_member: M1 alone does not meet the qualification
    item = catalogue_item(code="ZJ-HP-002") | {"consortium_qualification": "every_member"}
    assert market.admin.post("/catalogue/items", item).status == 201, item
    admit([LEAD, M1, M2], item="ZJ-HP-002")
    _drop_certificates(M1)
    each = market.publish(consortium=TERMS, item_code="ZJ-HP-002")
    refused = enroll(market, each, LEAD, body(M2, M1))
    assert refused.status == 403, refused.body
    assert [r["agency_id"] for r in refused.body["reasons"]] == ["consortium"]
    assert (
        M1 in refused.body["reasons"][0]["message"]
        and "every_member" in refused.body["reasons"][0]["message"]
    )
    assert rows(each) == {}
    assert enroll(market, each, LEAD, body(M2)).status == 201

    # Jointly, with nobody holding the licence: refused
    _drop_certificates(LEAD)
    nobody = market.publish(consortium=TERMS)
    assert enroll(market, nobody, LEAD, body(M1)).status == 403
    assert rows(nobody) == {}


def test_a_member_in_two_consortia_is_refused_naming_it(market: Market) -> None:
    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1)).status == 201
    before = rows(purchase_id)
    second = enroll(market, purchase_id, ALONE, body(M2, M1))
    assert second.status == 409, second.body
    assert second.body["reason"] == "member_taken" and second.body["agency_id"] == M1
    assert rows(purchase_id) == before and count(market, purchase_id) == 1  # nothing else written
    # The lead of one consortium cannot be a member of another either
    as_member = enroll(market, purchase_id, ALONE, body(LEAD))
    assert as_member.status == 409 and as_member.body["agency_id"] == LEAD
    # Nor can a member lead one of its own
    member_leads = enroll(market, purchase_id, M1, body(M2))
    assert member_leads.status == 409 and member_leads.body["reason"] == "in_consortium"
    assert rows(purchase_id) == before


def test_a_member_cannot_also_enroll_alone_and_an_enrolled_agency_cannot_be_claimed(market: Market) -> None:
    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1)).status == 201
    alone = enroll(market, purchase_id, M1)
    assert alone.status == 409 and alone.body["reason"] == "in_consortium" and alone.body["agency_id"] == M1
    assert enroll(market, purchase_id, ALONE).status == 201
    before = rows(purchase_id)
    claimed = enroll(market, purchase_id, agency_id(5), body(ALONE))
    assert claimed.status == 409 and claimed.body["reason"] == "member_enrolled"
    assert claimed.body["agency_id"] == ALONE
    assert rows(purchase_id) == before and count(market, purchase_id) == 2


def test_two_leads_claiming_one_member_at_once_exactly_one_wins(market: Market) -> None:
    from concurrent.futures import ThreadPoolExecutor

    purchase_id = market.publish(consortium=TERMS)
    leads = [LEAD, ALONE, agency_id(5), agency_id(6)]
    with ThreadPoolExecutor(max_workers=len(leads)) as pool:
        replies = list(pool.map(lambda lead: enroll(market, purchase_id, lead, body(M1)), leads))
    statuses = sorted(r.status for r in replies)
    assert statuses == [201, 409, 409, 409], [r.body for r in replies]
    (winner,) = [lead for lead, r in zip(leads, replies, strict=True) if r.status == 201]
    for reply in replies:
        if reply.status == 409:
            assert reply.body["reason"] == "member_taken" and reply.body["agency_id"] == M1
    written = rows(purchase_id)
    assert written == {
        f"ENR#{winner}": {"status": "enrolled", "lead_id": None},
        f"MEMBER#{M1}": {"status": "invited", "lead_id": winner},
    }
    assert count(market, purchase_id) == 1


def test_a_member_claimed_and_enrolling_alone_at_once_one_wins(market: Market) -> None:
    from concurrent.futures import ThreadPoolExecutor

    purchase_id = market.publish(consortium=TERMS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        claim = pool.submit(enroll, market, purchase_id, LEAD, body(M1))
        alone = pool.submit(enroll, market, purchase_id, M1)
        replies = [claim.result(), alone.result()]
    assert sorted(r.status for r in replies) == [201, 409], [r.body for r in replies]
    written = rows(purchase_id)
    if replies[0].status == 201:
        assert set(written) == {f"ENR#{LEAD}", f"MEMBER#{M1}"}
    else:
        assert set(written) == {f"ENR#{M1}"}
    assert count(market, purchase_id) == 1


def test_a_member_not_confirming_by_closing_makes_the_consortium_ineligible(market: Market) -> None:
    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1, M2)).status == 201
    assert enroll(market, purchase_id, ALONE).status == 201
    assert enroll(market, purchase_id, agency_id(5)).status == 201
    assert answer(market, purchase_id, M1, "accept").status == 200  # M2 never answers
    closed = market.close_and_select(purchase_id)
    assert closed["status"] == "selected"
    listed = {
        e["agency_id"]: e for e in market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    }
    assert listed[LEAD]["eligible"] is False
    assert M2 in listed[LEAD]["ineligible_reason"] and "did not accept" in listed[LEAD]["ineligible_reason"]
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert sorted(proof["candidates"]) == [ALONE, agency_id(5)]
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["consortia"] == {}
    # After the deadline a member can no longer answer
    late = answer(market, purchase_id, M2, "accept")
    assert late.status == 409 and late.body["reason"] == "late"


def test_a_declining_member_is_free_and_a_withdrawal_releases_every_member(market: Market) -> None:
    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1, M2)).status == 201
    # Only the member itself answers, only for the lead that named it
    assert (
        market.agency(ALONE)
        .post(f"/purchases/{purchase_id}/enrollments/{LEAD}/membership", {"decision": "accept"})
        .status
        == 404
    )
    assert answer(market, purchase_id, M1, "accept", lead=ALONE).status == 404
    assert answer(market, purchase_id, M1, "maybe").status == 422
    declined = answer(market, purchase_id, M1, "decline")
    assert declined.status == 200 and declined.body["status"] == "declined"
    again = answer(market, purchase_id, M1, "accept")  # declined: its lifecycle refuses, naming the state
    assert again.status == 409 and again.body["state"] == "declined"
    assert enroll(market, purchase_id, M1).status == 201  # a member that declined may enroll alone

    # The lead withdraws: M2 is released and may join another consortium
    assert market.agency(LEAD).delete(f"/purchases/{purchase_id}/enrollments/{LEAD}").status == 200
    assert rows(purchase_id)[f"MEMBER#{M2}"] == {"status": "released", "lead_id": LEAD}
    assert rows(purchase_id)[f"MEMBER#{M1}"] == {"status": "declined", "lead_id": LEAD}
    assert enroll(market, purchase_id, ALONE, body(M2)).status == 201
    assert rows(purchase_id)[f"MEMBER#{M2}"] == {"status": "invited", "lead_id": ALONE}
    # The old lead's answers route is closed to M2 now
    assert answer(market, purchase_id, M2, "accept").status == 404
    assert answer(market, purchase_id, M2, "accept", lead=ALONE).status == 200


def test_a_draft_purchase_answers_404_and_nothing_leaks(market: Market) -> None:
    draft = market.draft(consortium=TERMS)
    assert enroll(market, draft, LEAD, body(M1)).status == 404
    assert answer(market, draft, M1, "accept").status == 404
    assert rows(draft) == {}


def test_a_direct_selection_cannot_allow_consortia(market: Market) -> None:
    direct = {"agency_id": LEAD, "reason": "唯一具备该项资质的本地机构"}
    reply = market.owner.post(
        "/purchases",
        purchase_request(funding_type="private", method="direct", direct=direct, consortium=TERMS),
    )
    assert reply.status == 422 and "consortium" in reply.body["detail"]


def test_a_member_blacklisted_after_enrolling_makes_the_consortium_ineligible_at_closing(
    market: Market,
) -> None:
    from marketplace.repositories import credit
    from tests.integration.test_enrollment import _serious

    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1)).status == 201
    assert answer(market, purchase_id, M1, "accept").status == 200
    assert enroll(market, purchase_id, ALONE).status == 201
    assert enroll(market, purchase_id, agency_id(5)).status == 201
    credit.record(_serious(M1, "c-9", points=-40, blacklists_until="2027-12-01T00:00:00Z"), [])
    assert market.close_and_select(purchase_id)["status"] == "selected"
    listed = {
        e["agency_id"]: e for e in market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    }
    assert listed[LEAD]["eligible"] is False and f"{M1}: " in listed[LEAD]["ineligible_reason"]
    assert "blacklisted" in listed[LEAD]["ineligible_reason"]
    assert LEAD not in market.api.call("GET", f"/purchases/{purchase_id}/draw").body["candidates"]


def test_answers_landing_with_enrollments_at_once_all_count(market: Market) -> None:
    from concurrent.futures import ThreadPoolExecutor

    purchase_id = market.publish(consortium=TERMS)
    assert enroll(market, purchase_id, LEAD, body(M1, M2)).status == 201
    calls = [
        lambda: answer(market, purchase_id, M1, "accept"),
        lambda: answer(market, purchase_id, M2, "accept"),
        lambda: enroll(market, purchase_id, ALONE),
        lambda: enroll(market, purchase_id, agency_id(5)),
        lambda: enroll(market, purchase_id, agency_id(6)),
    ]
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        replies = list(pool.map(lambda call: call(), calls))
    assert [r.status for r in replies] == [200, 200, 201, 201, 201], [r.body for r in replies]
    assert count(market, purchase_id) == 4
    assert {k: v["status"] for k, v in rows(purchase_id).items() if k.startswith("MEMBER#")} == {
        f"MEMBER#{M1}": "accepted",
        f"MEMBER#{M2}": "accepted",
    }


def test_a_consortium_moved_up_by_an_annulled_result_tells_its_members(
    market: Market, published_events: Any
) -> None:
    """A result challenge accepted against the agency drawn annuls it; when the consortium's lead is
    the reserve that moves up, its members hear that their consortium is selected."""
    purchases = []
    for _ in range(8):  # the draw is fair: one of eight draws the agency alone first (1 - 2^-8)
        purchase_id = market.publish(consortium=TERMS)
        assert enroll(market, purchase_id, LEAD, body(M1)).status == 201
        assert answer(market, purchase_id, M1, "accept").status == 200
        assert enroll(market, purchase_id, ALONE).status == 201
        purchases.append(purchase_id)
    drawn = {}
    for purchase_id in purchases:
        market.close_and_select(purchase_id)
        drawn[purchase_id] = market.purchase(purchase_id)["result"]["selected_agency"]
    purchase_id = next(p for p, agency in drawn.items() if agency == ALONE)
    before = [
        e["detail"]["data"]["purchase_id"]
        for e in published_events.received()
        if e["detail-type"] == "ConsortiumSelected"
    ]
    assert purchase_id not in before

    challenge = {
        "subject": "result",
        "grounds": ["中选机构不符合资格条件"],
        "reasons": "中选机构的资质证书已过期。",
    }
    filed = market.agency(LEAD).post(f"/purchases/{purchase_id}/challenges", challenge)
    assert filed.status == 201, filed.body
    answered = market.owner.post(
        f"/challenges/{filed.body['challenge_id']}/answer",
        {"decision": "accept", "answer": "经复核，质疑成立。"},
    )
    assert answered.status == 200, answered.body
    assert market.purchase(purchase_id)["result"]["selected_agency"] == LEAD
    selected = [e for e in published_events.received() if e["detail-type"] == "ConsortiumSelected"]
    assert [e["detail"]["data"]["purchase_id"] for e in selected].count(purchase_id) == 1
    assert [m["agency_id"] for m in selected[-1]["detail"]["data"]["members"]] == [M1]
