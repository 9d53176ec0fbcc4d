"""Batch mode (批量, docs/batch.md): one announcement for several projects, one draw for them all,
then one purchase per project with its own confirmation, letter and reserves."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from marketplace.clock import parse_iso
from marketplace.domain.batch import BatchAward, assign
from marketplace.domain.draw import verify
from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, OWNER, Market, agency_id, open_market

PROJECTS = [
    ("2026-330106-47-01-000201", "西湖区文三路改造工程环境影响评价", "330106", "60000.00"),
    ("2026-330105-47-01-000202", "拱墅区湖墅南路改造工程环境影响评价", "330105", "70000.00"),
    ("2026-330102-47-01-000203", "上城区清泰街改造工程环境影响评价", "330102", "50000.00"),
]


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=6)


def batch_terms(
    award: str = "each_project", projects: list[tuple[str, str, str, str]] = PROJECTS
) -> dict[str, Any]:
    return {
        "award": award,
        "projects": [
            {"project_code": code, "title": title, "region": region, "amount_yuan": amount}
            for code, title, region, amount in projects
        ],
    }


def batch_request(award: str = "each_project", **changes: Any) -> dict[str, Any]:
    """A batch announcement over the city (its projects lie in three of its districts)."""
    return {
        "project_code": "2026-330100-47-01-000200",
        "title": "杭州市三条道路改造工程环境影响评价（批量）",
        "region": "330100",
        "amount_yuan": "180000.00",
        "batch": batch_terms(award),
        **changes,
    }


def drawn_batch(market: Market, candidates: int, award: str = "each_project", reserves: int = 2) -> str:
    purchase_id = market.publish(**batch_request(award, reserves=reserves))
    for n in range(1, candidates + 1):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "batch_split"
    return purchase_id


def proof_of(market: Market, purchase_id: str) -> dict[str, Any]:
    reply = market.api.call("GET", f"/purchases/{purchase_id}/draw")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def public(market: Market, purchase_id: str) -> dict[str, Any]:
    reply = market.api.call("GET", f"/purchases/{purchase_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def test_each_project_gets_its_own_winner_from_one_verifiable_draw(market: Market, published_events) -> None:
    batch_id = drawn_batch(market, candidates=5)
    page = public(market, batch_id)
    assert page["status"] == "batch_split" and page["result"] is None
    assert page["batch"]["award"] == "each_project"
    listed = page["batch_outcome"]["projects"]
    assert [p["purchase_id"] for p in listed] == [f"{batch_id}-01", f"{batch_id}-02", f"{batch_id}-03"]
    assert [p["project_code"] for p in listed] == [code for code, *_ in PROJECTS]

    proof = proof_of(market, batch_id)
    assert verify(proof) == []
    ranking = [r["agency_id"] for r in proof["ranking"]]
    recomputed = assign(BatchAward.each_project, 3, ranking, reserves=2)
    winners = [p["agency_id"] for p in listed]
    assert winners == recomputed.agencies == ranking[:3] == proof["winners"]
    assert len(set(winners)) == 3  # no agency twice
    assert [a["agency_id"] for a in proof["batch"]["assignment"]] == winners
    assert proof["batch"]["rule"] == page["batch_outcome"]["rule"]
    assert proof["reserves"] == ranking[3:5] == recomputed.reserves
    assert proof["batch"]["reserves_per_project"] == 2
    assert [a["reserves"] for a in proof["batch"]["assignment"]] == recomputed.project_reserves

    for (code, title, region, amount), listed_project, own_reserves in zip(
        PROJECTS, listed, recomputed.project_reserves, strict=True
    ):
        child = public(market, listed_project["purchase_id"])
        assert (child["project_code"], child["title"], child["region"], child["amount_yuan"]) == (
            code,
            title,
            region,
            amount,
        )
        assert child["status"] == "selected" and child["batch_of"] == batch_id
        assert child["result"]["selected_agency"] == listed_project["agency_id"]
        assert child["result"]["reserves"] == own_reserves == listed_project["reserves"]
        assert child["commitment"] == proof["commitment"]
        assert proof_of(market, child["purchase_id"]) == proof  # the project's draw is the batch's one draw

    types = published_events.types()
    assert types.count("BatchSplit") == 1 and types.count("ResultPublished") == 3
    # The owner lists the announcement and each project's purchase.
    owned = market.owner.get(f"/owners/{OWNER}/purchases").body["items"]
    assert {p["purchase_id"] for p in owned} == {batch_id, *(p["purchase_id"] for p in listed)}


def test_each_winner_hears_of_its_own_project(market: Market, published_events) -> None:
    batch_id = drawn_batch(market, candidates=5)
    details = [e["detail"] for e in published_events.received()]
    (split,) = [d["data"] for d in details if d["event_type"] == "BatchSplit"]
    results = {d["subject"]: d["data"] for d in details if d["event_type"] == "ResultPublished"}
    assert split["purchase_id"] == batch_id and split["award"] == "each_project"
    for (code, *_, amount), project in zip(PROJECTS, split["projects"], strict=True):
        told = results[project["purchase_id"]]
        assert (told["batch_of"], told["project_code"]) == (batch_id, code)
        assert told["selected_agency"] == project["agency_id"] and project["amount_yuan"] == amount


def test_fewer_candidates_than_projects_wrap_around_the_ranking(market: Market) -> None:
    batch_id = drawn_batch(market, candidates=2)
    proof = proof_of(market, batch_id)
    assert verify(proof) == []
    ranking = [r["agency_id"] for r in proof["ranking"]]
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    assert [p["agency_id"] for p in listed] == [ranking[0], ranking[1], ranking[0]]
    assert proof["winners"] == ranking and proof["reserves"] == []
    assert "mod" in proof["batch"]["rule"]
    assert all(public(market, p["purchase_id"])["result"]["reserves"] == [] for p in listed)


def test_one_agency_serves_every_project_each_with_its_own_purchase(market: Market) -> None:
    batch_id = drawn_batch(market, candidates=4, award="one_agency")
    proof = proof_of(market, batch_id)
    assert verify(proof) == []
    ranking = [r["agency_id"] for r in proof["ranking"]]
    assert proof["winners"] == ranking[:1] and proof["reserves"] == ranking[1:3]
    for listed in public(market, batch_id)["batch_outcome"]["projects"]:
        child = public(market, listed["purchase_id"])
        assert child["result"]["selected_agency"] == ranking[0]
        assert child["result"]["reserves"] == ranking[1:3]


def test_each_project_is_confirmed_on_its_own_and_gets_its_own_letter(market: Market) -> None:
    batch_id = drawn_batch(market, candidates=5)
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    first, second = listed[0], listed[1]
    assert market.owner.post(f"/purchases/{first['purchase_id']}/confirmation").status == 200
    accepted = market.agency(first["agency_id"]).post(f"/purchases/{first['purchase_id']}/acceptance")
    assert accepted.status == 200, accepted.body
    assert (
        accepted.body["status"] == "confirmed" and accepted.body["letter_id"] == f"L-{first['purchase_id']}"
    )
    envelope = market.api.call("GET", f"/letters/{accepted.body['letter_id']}").body
    letter = envelope["letter"]
    assert letter["project_code"] == PROJECTS[0][0] and letter["title"] == PROJECTS[0][1]
    assert letter["price"]["ceiling_yuan"] == PROJECTS[0][3]
    assert letter["agency"]["agency_id"] == first["agency_id"]
    assert (
        letter["draw"]["proof_path"] == f"/purchases/{first['purchase_id']}/draw"
    )  # serves the batch's proof
    assert letter["draw"]["commitment"] == proof_of(market, batch_id)["commitment"]
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True
    # The second project has not moved: its own parties have not confirmed.
    untouched = market.purchase(second["purchase_id"])
    assert untouched["status"] == "selected" and untouched["letter_id"] is None
    assert untouched["result"]["owner_confirmed_at"] is None
    # Another project's winner cannot accept this one.
    assert (
        market.agency(second["agency_id"]).post(f"/purchases/{first['purchase_id']}/acceptance").status == 403
    )


def test_an_abandonment_moves_up_that_projects_reserve_and_nothing_else(
    market: Market, published_events
) -> None:
    batch_id = drawn_batch(market, candidates=5)
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    before = {p["purchase_id"]: market.purchase(p["purchase_id"]) for p in listed[1:]}
    target = listed[0]
    reply = market.agency(target["agency_id"]).post(
        f"/purchases/{target['purchase_id']}/abandonment", {"reason": "人员变动"}
    )
    assert reply.status == 200, reply.body
    moved = reply.body["result"]
    assert moved["selected_agency"] == target["reserves"][0]
    assert moved["reserves"] == target["reserves"][1:]
    assert [a["agency_id"] for a in moved["abandoned"]] == [target["agency_id"]]
    for purchase_id, earlier in before.items():
        assert market.purchase(purchase_id) == earlier
    assert public(market, batch_id)["batch_outcome"]["projects"] == listed  # the draw's record stays
    assert published_events.types().count("ReserveMovedUp") == 1


def test_a_challenge_accepted_against_one_projects_result_replaces_only_that_projects_agency(
    market: Market,
) -> None:
    batch_id = drawn_batch(market, candidates=5)
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    target = listed[1]
    challenger = next(a for a in (agency_id(n) for n in range(1, 6)) if a != target["agency_id"])
    body = {"subject": "result", "grounds": ["资格条件超出事项要求"], "reasons": "中选机构资质不符"}
    filed = market.agency(challenger).post(f"/purchases/{target['purchase_id']}/challenges", body)
    assert filed.status == 201, filed.body  # enrolled in the batch: it may challenge each project's result
    outsider = market.agency(agency_id(6)).post(f"/purchases/{target['purchase_id']}/challenges", body)
    assert outsider.status == 403
    answer = {"decision": "accept", "answer": "质疑成立"}
    reply = market.owner.post(f"/challenges/{filed.body['challenge_id']}/answer", answer)
    assert reply.status == 200, reply.body
    replaced = market.purchase(target["purchase_id"])["result"]
    assert replaced["selected_agency"] == target["reserves"][0]
    assert [a["agency_id"] for a in replaced["annulled"]] == [target["agency_id"]]
    for other in (listed[0], listed[2]):
        assert market.purchase(other["purchase_id"])["result"]["selected_agency"] == other["agency_id"]


def test_the_sweeper_escalates_each_project_left_unconfirmed(market: Market) -> None:
    from tests.integration.test_selection import sweep

    batch_id = drawn_batch(market, candidates=5)
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    first = listed[0]["purchase_id"]
    assert market.owner.post(f"/purchases/{first}/confirmation").status == 200
    assert market.agency(listed[0]["agency_id"]).post(f"/purchases/{first}/acceptance").status == 200
    deadline = market.purchase(listed[1]["purchase_id"])["result"]["confirmation_deadline"]
    market.clock.set(parse_iso(deadline) + timedelta(seconds=1))
    report = sweep()
    assert sorted(report["advanced"]) == [listed[1]["purchase_id"], listed[2]["purchase_id"]]
    for project in listed[1:]:
        assert market.purchase(project["purchase_id"])["result"]["escalated_at"] is not None
    assert market.purchase(first)["result"]["escalated_at"] is None


def test_the_selection_triggered_at_once_makes_the_projects_once(market: Market, published_events) -> None:
    from tests.integration.test_selection import _task, sweep

    purchase_id = market.publish(**batch_request())
    for n in range(1, 6):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    assert _task("close_enrollment", purchase_id)["status"] == "enrollment_closed"

    def trigger(n: int) -> dict[str, Any]:
        if n % 2:
            sweep()
            return _task("close_enrollment", purchase_id)
        return _task("run_selection", purchase_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        states = list(pool.map(trigger, range(4)))
    states.append(_task("run_selection", purchase_id))  # a late retry finds the split done
    assert {s["status"] for s in states} == {"batch_split"}
    types = published_events.types()
    assert types.count("BatchSplit") == 1 and types.count("ResultPublished") == 3
    listed = public(market, purchase_id)["batch_outcome"]["projects"]
    assert verify(proof_of(market, purchase_id)) == []
    assert [market.purchase(p["purchase_id"])["result"]["selected_agency"] for p in listed] == [
        p["agency_id"] for p in listed
    ]
    owned = market.owner.get(f"/owners/{OWNER}/purchases").body["items"]
    assert sorted(p["purchase_id"] for p in owned) == sorted(
        [purchase_id, *(p["purchase_id"] for p in listed)]
    )


def test_twenty_projects_split_in_one_transaction(market: Market) -> None:
    projects = [
        (f"2026-330106-47-01-0003{n:02d}", f"第{n}号地块环境影响评价", "330106", "9000.00")
        for n in range(1, 21)
    ]
    purchase_id = market.publish(**batch_request(batch=batch_terms(projects=projects), reserves=1))
    for n in range(1, 4):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "batch_split"
    proof = proof_of(market, purchase_id)
    assert verify(proof) == []
    ranking = [r["agency_id"] for r in proof["ranking"]]
    listed = public(market, purchase_id)["batch_outcome"]["projects"]
    assert [p["agency_id"] for p in listed] == [ranking[n % 3] for n in range(20)]
    last = public(market, f"{purchase_id}-20")
    assert last["project_code"] == projects[-1][0] and last["result"]["selected_agency"] == ranking[19 % 3]


@pytest.mark.parametrize(
    ("changes", "field_says"),
    [
        ({"amount_yuan": "180000.01"}, "must equal the sum of its projects' amounts"),
        (
            {
                "batch": batch_terms(
                    projects=[PROJECTS[0], (PROJECTS[0][0], "另一", "330105", "120000.00")],
                )
            },
            "repeated",
        ),
        ({"batch": batch_terms(projects=[(PROJECTS[0][0], "一个", "330106", "180000.00")])}, "at least 2"),
        (
            {
                "batch": batch_terms(
                    projects=[
                        PROJECTS[0],
                        PROJECTS[1],
                        ("2026-330100-47-01-000200", "同码", "330102", "50000.00"),
                    ]
                )
            },
            "differs from the announcement's",
        ),
        ({"method": "credit_best_value", "short_listing": {"long_list": 3, "short_list": 2}}, "random_draw"),
    ],
)
def test_a_bad_batch_is_refused_and_nothing_is_written(
    market: Market, changes: dict[str, Any], field_says: str
) -> None:
    from tests.support.market import purchase_request

    reply = market.owner.post("/purchases", purchase_request(**{**batch_request(), **changes}))
    assert reply.status == 422, reply.body
    assert field_says in str(reply.body)
    assert market.owner.get(f"/owners/{OWNER}/purchases").body["items"] == []


@pytest.fixture
def market7(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=7)


def test_the_inboxes_say_who_won_which_project_and_who_did_not(market7: Market, published_events) -> None:
    from tests.integration.test_notifications import batch as sqs_batch
    from tests.integration.test_notifications import inbox, notify

    market = market7  # seven candidates, three projects, one reserve each: one agency is left out
    batch_id = drawn_batch(market, candidates=7, reserves=1)
    details = [e["detail"] for e in published_events.received()]
    told = [d for d in details if d["event_type"] in ("BatchSplit", "ResultPublished")]
    assert notify(sqs_batch(*told)) == {"batchItemFailures": []}
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    first = inbox(market.agency(listed[0]["agency_id"]))
    assert {e["event_type"] for e in first} == {"BatchSplit", "ResultPublished"}
    project_notice = next(e for e in first if e["event_type"] == "ResultPublished")
    assert (
        PROJECTS[0][0] in project_notice["text"]
        and project_notice["link"] == f"/purchases/{listed[0]['purchase_id']}"
    )
    owner_notice = next(e for e in inbox(market.owner) if e["event_type"] == "BatchSplit")
    assert all(p["agency_id"] in owner_notice["text"] for p in listed)
    reserves = [p["reserves"] for p in listed]
    assert all(len(own) == 1 for own in reserves) and len({own[0] for own in reserves}) == 3
    for project, (reserve,) in zip(listed, reserves, strict=True):  # each its rank in its own project
        code = next(c for c, *_ in PROJECTS if c == project["project_code"])
        assert any(f"{code} 的第 1 候补" in e["text"] for e in inbox(market.agency(reserve)))
    winners_and_reserves = {*(p["agency_id"] for p in listed), *(own[0] for own in reserves)}
    (loser,) = [agency_id(n) for n in range(1, 8) if agency_id(n) not in winners_and_reserves]
    assert [e["title"] for e in inbox(market.agency(loser))] == [f"未中选：{batch_id}"]


def test_each_project_has_its_own_reserves_so_abandonments_do_not_make_one_agency_serve_twice(
    market: Market,
) -> None:
    # Six candidates, three projects, two reserves each: the three after the winners are dealt out.
    batch_id = drawn_batch(market, candidates=6)
    proof = proof_of(market, batch_id)
    assert verify(proof) == []
    ranking = [r["agency_id"] for r in proof["ranking"]]
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    assert [p["agency_id"] for p in listed] == ranking[:3]
    # When the winners of projects 1 and 2 both abandon
    for project in listed[:2]:
        reply = market.agency(project["agency_id"]).post(
            f"/purchases/{project['purchase_id']}/abandonment", {"reason": "人员变动"}
        )
        assert reply.status == 200, reply.body
    # Then each project's own first reserve moved up: three projects, three distinct agencies
    selected = [market.purchase(p["purchase_id"])["result"]["selected_agency"] for p in listed]
    assert selected == [ranking[3], ranking[4], ranking[2]]
    assert len(set(selected)) == 3

    # And the assignment, reserves included, is recomputed from the proof alone
    batch = proof["batch"]
    recomputed = assign(
        BatchAward(batch["award"]), len(batch["assignment"]), ranking, batch["reserves_per_project"]
    )
    assert [a["agency_id"] for a in batch["assignment"]] == recomputed.agencies == ranking[:3]
    assert [a["reserves"] for a in batch["assignment"]] == recomputed.project_reserves
    assert recomputed.project_reserves == [ranking[3:5], ranking[4:6], [ranking[5], ranking[3]]]
    assert [p["reserves"] for p in listed] == recomputed.project_reserves
    assert proof["reserves"] == ranking[3:6] == recomputed.reserves
    assert len({own[0] for own in recomputed.project_reserves}) == 3  # no reserve is first in two projects


def consortia_batch(market: Market, members: dict[str, str], reserves: int = 2) -> str:
    """A batch allowing consortia whose candidates are these leads, each with its one member, who
    accepted its part; drawn and split."""
    purchase_id = market.publish(
        **batch_request(consortium={"allowed": True, "max_members": 2}, reserves=reserves)
    )
    for lead, member in members.items():
        body = {
            "consortium": {"members": [{"agency_id": member, "part": "现场监测"}], "lead_part": "报告编制"}
        }
        enrolled = market.agency(lead).post(f"/purchases/{purchase_id}/enrollments", body)
        assert enrolled.status == 201, enrolled.body
        decided = market.agency(member).post(
            f"/purchases/{purchase_id}/enrollments/{lead}/membership", {"decision": "accept"}
        )
        assert decided.status == 200, decided.body
    assert market.close_and_select(purchase_id)["status"] == "batch_split"
    return purchase_id


def test_a_consortium_that_wins_a_project_is_named_in_its_letter_and_its_members_are_told(
    market: Market, published_events: Any
) -> None:
    from tests.integration.test_consortium import _notify

    # Three consortia (a lead and one accepted member each) are the only candidates of a
    # three-project batch: each wins one project, whatever the draw's order.
    members = {agency_id(1): agency_id(2), agency_id(3): agency_id(4), agency_id(5): agency_id(6)}
    purchase_id = consortia_batch(market, members)
    listed = public(market, purchase_id)["batch_outcome"]["projects"]
    assert sorted(p["agency_id"] for p in listed) == sorted(members)

    first = listed[0]
    lead, member = first["agency_id"], members[first["agency_id"]]

    # The project's letter is the consortium letter naming the member and its part.
    assert market.owner.post(f"/purchases/{first['purchase_id']}/confirmation").status == 200
    accepted = market.agency(lead).post(f"/purchases/{first['purchase_id']}/acceptance")
    assert accepted.status == 200, accepted.body
    envelope = market.api.call("GET", f"/letters/{accepted.body['letter_id']}").body
    letter = envelope["letter"]
    assert letter["format"] == "confirmation-letter/v2" and letter["agency"]["agency_id"] == lead
    assert letter["project_code"] == PROJECTS[0][0]
    assert [(m["agency_id"], m["part"]) for m in letter["consortium"]["members"]] == [(member, "现场监测")]
    assert market.api.call("POST", "/letters/verify", envelope).body["valid"] is True

    # Each project's consortium is selected once, and each member hears of its own project.
    events = published_events.received()
    chosen = [e["detail"] for e in events if e["detail-type"] == "ConsortiumSelected"]
    assert sorted((d["subject"], d["data"]["lead_id"]) for d in chosen) == sorted(
        (p["purchase_id"], p["agency_id"]) for p in listed
    )
    _notify(events)
    for project in listed:
        told = members[project["agency_id"]]
        titles = [n["title"] for n in market.agency(told).get("/me/notifications").body["items"]]
        assert f"联合体中选：{project['purchase_id']}" in titles
    # Each project's purchase keeps the consortia: its winner's members are public on its page.
    page = public(market, first["purchase_id"])
    assert [m["agency_id"] for m in page["consortia"][lead]["members"]] == [member]


@pytest.fixture
def market8(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=8)


def test_a_consortium_reserve_whose_member_was_blacklisted_since_the_draw_is_passed_over(
    market8: Market,
) -> None:
    from marketplace.repositories import credit
    from tests.integration.test_enrollment import _serious

    # Four consortia, three projects, one reserve each: the fourth consortium is every project's
    # reserve (too few to deal), whatever the draw's order.
    market = market8
    members = {agency_id(n): agency_id(n + 1) for n in (1, 3, 5, 7)}
    batch_id = consortia_batch(market, members, reserves=1)
    listed = public(market, batch_id)["batch_outcome"]["projects"]
    (reserve,) = {lead for lead in members} - {p["agency_id"] for p in listed}
    assert all(p["reserves"] == [reserve] for p in listed)
    # When the reserve's member is blacklisted, then project 1's winner abandons
    member = members[reserve]
    credit.record(_serious(member, "c-9", points=-40, blacklists_until="2027-12-01T00:00:00Z"), [])
    target = listed[0]
    reply = market.agency(target["agency_id"]).post(
        f"/purchases/{target['purchase_id']}/abandonment", {"reason": "人员变动"}
    )
    assert reply.status == 200, reply.body
    # Then the consortium is judged with its member: passed over, with why, and nobody moves up
    result = market.purchase(target["purchase_id"])["result"]
    assert result["selected_agency"] is None
    (passed,) = result["passed_over"]
    assert passed["agency_id"] == reserve and member in passed["reason"]
