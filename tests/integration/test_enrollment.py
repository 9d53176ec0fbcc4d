"""Enrollment and withdrawal (DOMAIN.md §4): every refusal with its reason, and the invariants under
concurrency — the transaction, not a check before it, keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.market import AFTER_DEADLINE, OWNER, Market, admit, agency_id, open_market


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def _count(market: Market, purchase_id: str) -> int:
    return int(market.api.call("GET", f"/purchases/{purchase_id}").body["enrollments"])


def test_lists_show_each_purchase_with_its_live_enrollment_count(market: Market) -> None:
    # Given two published purchases (the lists' indexes hold keys, not the purchases)
    first, second = market.publish(), market.publish()
    # When two agencies enroll in the first and one in the second
    for purchase_id, agencies in ((first, (1, 2)), (second, (3,))):
        for n in agencies:
            assert market.enroll(purchase_id, agency_id(n)).status == 201
    # Then the public list and the owner's list show each with its count
    public = market.api.call("GET", "/purchases").body["items"]
    assert {p["purchase_id"]: p["enrollments"] for p in public} == {first: 2, second: 1}
    owned = market.owner.get(f"/owners/{OWNER}/purchases").body["items"]
    assert {p["purchase_id"]: p["enrollments"] for p in owned} == {first: 2, second: 1}
    # And an agency lists its own enrollment in full
    (mine,) = market.agency(agency_id(3)).get("/me/enrollments").body["items"]
    assert (mine["purchase_id"], mine["status"], mine["agency_id"]) == (second, "enrolled", agency_id(3))


def test_an_agency_enrolls_sees_its_enrollment_and_withdraws(market: Market, published_events) -> None:
    purchase_id = market.publish()
    agency = market.agency(agency_id(1))
    enrolled = agency.post(f"/purchases/{purchase_id}/enrollments")
    assert enrolled.status == 201
    assert enrolled.body["status"] == "enrolled" and enrolled.body["agency_id"] == agency_id(1)
    assert _count(market, purchase_id) == 1
    path = f"/purchases/{purchase_id}/enrollments/{agency_id(1)}"
    assert agency.get(path).body["status"] == "enrolled"
    assert market.agency(agency_id(2)).get(path).status == 403
    mine = agency.get("/me/enrollments").body["items"]
    assert [e["purchase_id"] for e in mine] == [purchase_id]

    assert agency.delete(path).body["status"] == "withdrawn"
    assert _count(market, purchase_id) == 0
    again = agency.delete(path)  # withdrawn already: the enrollment's lifecycle refuses, naming its state
    assert again.status == 409 and again.body["state"] == "withdrawn" and again.body["action"] == "withdraw"
    assert agency.post(f"/purchases/{purchase_id}/enrollments").status == 201  # may enroll again
    assert _count(market, purchase_id) == 1
    types = published_events.types()
    assert types.count("EnrollmentReceived") == 2 and types.count("EnrollmentWithdrawn") == 1


def test_the_owner_sees_the_list_only_after_closing(market: Market) -> None:
    purchase_id = market.publish()
    assert market.enroll(purchase_id, agency_id(1)).status == 201
    assert market.owner.get(f"/purchases/{purchase_id}/enrollments").status == 409
    assert market.api.as_role("owner", "OW-OTHER").get(f"/purchases/{purchase_id}/enrollments").status == 403
    assert market.admin.get(f"/purchases/{purchase_id}/enrollments").status == 200
    market.close_and_select(purchase_id)
    listed = market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    assert [(e["agency_id"], e["eligible"]) for e in listed] == [(agency_id(1), True)]


def test_enrolling_twice_is_a_409_and_counts_once(market: Market) -> None:
    purchase_id = market.publish()
    assert market.enroll(purchase_id, agency_id(1)).status == 201
    again = market.enroll(purchase_id, agency_id(1))
    assert again.status == 409 and again.body["reason"] == "duplicate"
    assert _count(market, purchase_id) == 1


def test_enrolling_after_the_deadline_is_refused_as_late(market: Market) -> None:
    purchase_id = market.publish()
    market.clock.set(AFTER_DEADLINE)
    late = market.enroll(purchase_id, agency_id(1))
    assert late.status == 409 and late.body["reason"] == "late"
    withdraw = market.agency(agency_id(1)).delete(f"/purchases/{purchase_id}/enrollments/{agency_id(1)}")
    assert withdraw.status == 409
    assert _count(market, purchase_id) == 0


def test_an_enrollment_after_the_window_closed_is_late_before_and_after_closing_ran(market: Market) -> None:
    # Given a purchase with two enrollments, whose deadline has passed
    from app import app

    purchase_id = market.publish()
    for n in (1, 2):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    market.clock.set(AFTER_DEADLINE)
    path = f"/purchases/{purchase_id}/enrollments"

    def refused_as() -> tuple[int, str, str]:
        reply = market.agency(agency_id(3)).post(path)
        return reply.status, reply.body["reason"], reply.content_type

    late = (409, "late", "application/problem+json")
    # When an agency enrolls before closing has run, Then it is late
    assert refused_as() == late
    # When closing has run, and then the draw, Then it is still late: one situation, one word
    closed = app.handler_map["close_enrollment"]({"purchase_id": purchase_id}, None)
    assert closed["status"] == "enrollment_closed"
    assert refused_as() == late
    assert app.handler_map["run_selection"]({"purchase_id": purchase_id}, None)["status"] == "selected"
    assert refused_as() == late
    # and a withdrawal after closing is refused the same way
    withdrawal = market.agency(agency_id(1)).delete(f"{path}/{agency_id(1)}")
    assert (withdrawal.status, withdrawal.body["reason"]) == (409, "late")
    assert _count(market, purchase_id) == 2


def test_enrolling_in_a_direct_selection_is_refused_as_direct_not_late(market: Market) -> None:
    # Given a private purchase published with the owner's direct choice: it never has a window
    direct = {"agency_id": agency_id(1), "reason": "唯一具备该项资质的本地机构"}
    purchase_id = market.publish(funding_type="private", method="direct", direct=direct)
    # When another agency enrolls before the deadline the draft named
    reply = market.enroll(purchase_id, agency_id(2))
    # Then it is refused for what it is, not as late, and nothing is counted
    assert reply.status == 409 and reply.content_type.startswith("application/problem+json")
    assert reply.body["reason"] == "direct"
    assert reply.body["state"] == "selected"
    assert _count(market, purchase_id) == 0


def _refusal(market: Market, purchase_id: str, agency: str) -> list[str]:
    reply = market.enroll(purchase_id, agency)
    assert reply.status == 403, reply.body
    assert reply.content_type.startswith("application/problem+json")
    return [r["code"] for r in reply.body["reasons"]]


def _serious(agency: str, event_id: str, *, points: int, blacklists_until: str | None = None) -> Any:
    from marketplace.domain.credit import CreditEvent

    return CreditEvent(
        credit_event_id=event_id,
        agency_id=agency,
        points=points,
        reason="严重失信",
        basis="x",
        source="regulator",
        kind="serious_dishonesty" if blacklists_until else "penalty",
        cause={"type": "decision", "id": event_id},
        occurred_at="2026-06-01T00:00:00Z",
        recorded_at="2026-06-01T00:00:00Z",
        valid_until="2027-06-01T00:00:00Z",
        rules_version=1,
        blacklists_until=blacklists_until,
    )


def test_each_ineligible_agency_is_refused_with_its_reason(market: Market) -> None:
    from marketplace.repositories import credit

    admit(["AG-OTHER-ITEM"], item="ZJ-XX-009")
    admit(["AG-SUSPENDED"], status="suspended", history=[_change("suspended")])
    admit(["AG-EXPELLED"], status="expelled", history=[_change("expelled")])
    admit(["AG-ITEM-OFF"], suspended_items={"ZJ-HP-001": "certificate expired: HP-2026-001"})
    admit(["AG-NO-CERT"])
    admit(["AG-BLACKLISTED", "AG-LEVEL-D"])
    _drop_certificates("AG-NO-CERT")
    credit.record(_serious("AG-BLACKLISTED", "c-0", points=-40, blacklists_until="2027-12-01T00:00:00Z"), [])
    credit.record(_serious("AG-LEVEL-D", "c-1", points=-50), [])
    purchase_id = market.publish(
        exclusions=[{"agency_id": agency_id(2), "reason": "与业主存在关联关系"}],
        extra_qualification={"kind": "certificate", "certificate_type": "工程咨询资信", "min_grade": None},
    )

    assert "not_admitted_for_item" in _refusal(market, purchase_id, "AG-OTHER-ITEM")
    assert "suspended" in _refusal(market, purchase_id, "AG-SUSPENDED")
    assert "expelled" in _refusal(market, purchase_id, "AG-EXPELLED")
    assert "item_suspended" in _refusal(market, purchase_id, "AG-ITEM-OFF")
    assert "missing_qualification" in _refusal(market, purchase_id, "AG-NO-CERT")
    assert "excluded" in _refusal(market, purchase_id, agency_id(2))
    assert "blacklisted" in _refusal(market, purchase_id, "AG-BLACKLISTED")
    assert "credit_level" in _refusal(market, purchase_id, "AG-LEVEL-D")
    # The purchase's own extra qualification: nobody here holds 工程咨询资信.
    assert _refusal(market, purchase_id, agency_id(1)) == ["missing_qualification"]
    not_an_agency = market.enroll(purchase_id, "AG-NOBODY")
    assert not_an_agency.status == 403 and not_an_agency.body["reasons"][0]["code"] == "not_admitted"
    assert market.owner.post(f"/purchases/{purchase_id}/enrollments").status == 403
    assert _count(market, purchase_id) == 0


def _change(status: str) -> dict:
    return {
        "status": status,
        "reason": "违规出具报告",
        "basis": "《中介服务管理办法》第二十条",
        "by": "u",
        "by_role": "regulator",
        "at": "2026-11-01T00:00:00Z",
    }


def _drop_certificates(agency: str) -> None:
    from marketplace.repositories.tables import AgencyRow

    row = AgencyRow.get(agency, "PROFILE")
    document = dict(row.document)
    document["record"] = {**document["record"], "certificates": []}
    row.document = document
    row.save()


def test_a_draft_or_unknown_purchase_takes_no_enrollment(market: Market) -> None:
    draft = market.draft()
    assert market.enroll(draft, agency_id(1)).status == 404
    assert market.enroll("P-20261201-0000000000", agency_id(1)).status == 404


def test_fifty_agencies_at_once_with_duplicates_and_latecomers_record_exactly_the_valid_ones(
    market: Market,
) -> None:
    agencies = [f"AG-C{n:02d}" for n in range(50)]
    admit(agencies)
    purchase_id = market.publish()
    on_time, late = agencies[:40], agencies[40:]
    attempts = [(a, False) for a in on_time] + [(a, False) for a in on_time[:10]]  # ten enroll twice

    def enroll(attempt: tuple[str, bool]) -> int:
        return market.enroll(purchase_id, attempt[0]).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(enroll, attempts))
    market.clock.set(AFTER_DEADLINE)
    with ThreadPoolExecutor(max_workers=10) as pool:
        late_statuses = list(pool.map(enroll, [(a, True) for a in late]))

    assert statuses.count(201) == 40 and statuses.count(409) == 10
    assert late_statuses == [409] * 10
    assert _count(market, purchase_id) == 40
    listed = market.admin.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    assert sorted(e["agency_id"] for e in listed) == sorted(on_time)


def test_an_agency_suspended_after_enrolling_is_not_drawn(market: Market) -> None:
    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    admit([agency_id(3)], status="suspended", history=[_change("suspended")])
    state = market.close_and_select(purchase_id)
    assert state["status"] == "selected"
    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert proof["candidates"] == [agency_id(1), agency_id(2)]
    listed = {
        e["agency_id"]: e for e in market.owner.get(f"/purchases/{purchase_id}/enrollments").body["items"]
    }
    assert listed[agency_id(3)]["eligible"] is False
    assert "suspended" in listed[agency_id(3)]["ineligible_reason"]


def test_a_cold_enrollment_reads_the_rules_in_force_in_its_one_batch_read(market: Market) -> None:
    from marketplace.clock import local_today
    from marketplace.repositories import credit

    purchase_id = market.publish()
    # Rules in force today under which the base score (100) is level D: a new agency cannot enroll.
    levels = {"A": 120, "B": 110, "C": 101}
    loaded = market.admin.put(
        "/credit/rules", {"effective_from": local_today().isoformat(), "levels": levels}
    )
    assert loaded.status == 200, loaded.body
    credit.forget_rules_cache()  # a fresh execution environment
    refused = market.enroll(purchase_id, agency_id(1))
    assert refused.status == 403 and [r["code"] for r in refused.body["reasons"]] == ["credit_level"]
    assert credit.cached_rule_book() is not None  # read with the enrollment's batch, kept for the next
