"""The pure rules of credit actions: points against the rules, dates, ids derived from what
identifies a record, the appeal's lifecycle, and who is told of the blacklist and of an appeal."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from marketplace.domain import notifications as n
from marketplace.domain.credit import DEFAULT_RULES
from marketplace.domain.credit_actions import (
    ImportBatch,
    blacklist_reason,
    date_problems,
    end_of,
    import_event_id,
    is_blacklist_reason,
    points_problem,
    regulator_event_id,
    start_of,
)
from marketplace.domain.credit_appeals import APPEAL, Appeal, AppealStatus
from marketplace.errors import Conflict


@pytest.mark.parametrize(
    ("kind", "points", "problem"),
    [
        ("reward", 5, None),
        ("penalty", -50, None),
        ("serious_dishonesty", None, None),
        ("serious_dishonesty", -40, None),  # the rules' points, said again
        ("reward", -1, "a reward's points are positive"),
        ("penalty", 1, "a penalty's points are negative"),
        ("penalty", 0, "must not be 0"),
        ("penalty", -51, "at most 50 either way (the credit rules in force)"),
        ("reward", None, "a reward states its points"),
        ("serious_dishonesty", -10, "serious dishonesty scores the rules' -40: leave it out"),
    ],
)
def test_points_are_checked_against_the_rules(kind: str, points: int | None, problem: str | None) -> None:
    assert points_problem(kind, points, DEFAULT_RULES) == problem


def test_dates_may_not_lie_ahead_nor_end_before_they_start() -> None:
    today = date(2026, 12, 1)
    fields = [
        e.field
        for e in date_problems(
            date(2026, 12, 2), date(2026, 11, 1), today, occurred_field="o", until_field="u"
        )
    ]
    assert fields == ["o", "u", "u"]
    assert date_problems(date(2026, 11, 1), None, today, occurred_field="o", until_field="u") == []


def test_a_local_date_runs_from_its_start_to_the_start_of_the_next_day() -> None:
    assert start_of(date(2026, 12, 1), "Asia/Shanghai").isoformat() == "2026-12-01T00:00:00+08:00"
    assert end_of(date(2026, 12, 1), "Asia/Shanghai").isoformat() == "2026-12-02T00:00:00+08:00"


def test_ids_derive_from_what_identifies_the_record() -> None:
    assert import_event_id("creditchina", "CC-1") == import_event_id("creditchina", "CC-1")
    assert import_event_id("creditchina", "CC-1") != import_event_id("provincial", "CC-1")
    one = regulator_event_id("RG-ENV", "杭环罚〔2026〕12号", "AG-1")
    assert one.startswith("RG-") and one.isascii() and len(one) == 27
    assert one != regulator_event_id("RG-ENV", "杭环罚〔2026〕12号", "AG-2")


def test_a_source_id_repeated_in_a_batch_is_refused() -> None:
    record: dict[str, Any] = {
        "source_id": "CC-1",
        "credit_code": "91330106MA2H7Y0070",
        "kind": "reward",
        "points": 1,
        "basis": "b",
        "occurred": "2026-10-01",
        "url": "https://example.cn/1",
    }
    with pytest.raises(ValueError, match="source_id repeats"):
        ImportBatch.model_validate({"source": "creditchina", "records": [record, record]})


def test_a_blacklist_reason_is_recognised_by_its_mark() -> None:
    reason = blacklist_reason("2027-12-01T00:00:00Z", "虚假报告")
    assert is_blacklist_reason(reason) and "2027-12-01T00:00:00Z" in reason
    assert not is_blacklist_reason("certificate expired: HP-1")


def test_an_appeal_is_decided_once_by_the_admin() -> None:
    filed = Appeal(credit_event_id="E-1", agency_id="AG-1", reasons="r", filed_at="2026-12-01T00:00:00Z")
    row = APPEAL.expect(filed.status, "revoke")
    assert row.actors == ("admin",)
    decided = row.apply(filed, decided_at="2026-12-02T00:00:00Z", decision_reasons="x")
    assert decided.status == AppealStatus.revoked
    with pytest.raises(Conflict):
        APPEAL.expect(decided.status, "uphold")


def _plan(event_type: str, data: dict[str, Any]) -> n.Plan:
    detail = {
        "event_id": "e-1",
        "event_type": event_type,
        "occurred_at": "2026-12-01T02:00:00Z",
        "subject": data["agency_id"],
        "actor": "u",
        "data": data,
    }
    plan = n.plan(detail, timezone="Asia/Shanghai")
    assert plan is not None
    return plan


def test_the_blacklist_is_told_to_the_agency_the_admins_and_the_regulator_that_found_it() -> None:
    data = {
        "agency_id": "AG-1",
        "name": "x",
        "credit_event_id": "RG-1",
        "reason": "虚假报告",
        "basis": "法条",
        "until": "2027-12-01T16:00:00Z",
        "items": ["ZJ-HP-001"],
        "regulator_id": "RG-ENV",
    }
    plan = _plan("AgencyBlacklisted", data)
    assert [x.recipient for x in plan.notices] == ["agency:AG-1", n.ADMINS, "regulator:RG-ENV"]
    assert plan.link == "/agencies/AG-1/credit"
    assert "2027-12-02 00:00" in plan.notices[0].text  # the end, in the region's time
    imported = _plan("AgencyBlacklisted", {**data, "regulator_id": None})
    assert [x.recipient for x in imported.notices] == ["agency:AG-1", n.ADMINS]


def test_an_appeal_is_told_to_the_admins_and_its_decision_to_the_agency() -> None:
    filed = _plan(
        "CreditAppealFiled",
        {
            "agency_id": "AG-1",
            "credit_event_id": "E-1",
            "kind": "penalty",
            "points": -10,
            "reasons": "r",
            "regulator_id": None,
        },
    )
    assert [x.recipient for x in filed.notices] == [n.ADMINS]
    assert filed.link == "/credit/events/E-1/appeal"
    decided = _plan(
        "CreditAppealDecided",
        {
            "agency_id": "AG-1",
            "credit_event_id": "E-1",
            "decision": "uphold",
            "reasons": "r",
            "revocation_event_id": None,
            "regulator_id": "RG-ENV",
        },
    )
    assert [x.recipient for x in decided.notices] == ["agency:AG-1", "regulator:RG-ENV"]
    assert decided.link == "/agencies/AG-1/credit"
