"""Batch mode's rules (domain/batch.py): the assignment from the draw's ranking, and what a batch
announcement must agree with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.domain.batch import BatchAward, assign, child_id
from marketplace.domain.purchases import PurchaseRequest

RANKING = ["AG-004", "AG-001", "AG-005", "AG-002", "AG-003"]


def test_each_project_takes_the_winners_in_turn_and_the_reserves_after_them() -> None:
    outcome = assign(BatchAward.each_project, 3, RANKING, reserves=2)
    assert outcome.winners == ["AG-004", "AG-001", "AG-005"]
    assert outcome.agencies == ["AG-004", "AG-001", "AG-005"]  # project 1, 2, 3 in the order listed
    assert outcome.reserves == ["AG-002", "AG-003"]
    # Two left for three projects wanting two each: too few, so each list wraps over the two, each
    # project starting at its own position.
    assert outcome.project_reserves == [["AG-002", "AG-003"], ["AG-003", "AG-002"], ["AG-002", "AG-003"]]


LONG = [f"AG-{n:03d}" for n in (7, 3, 9, 1, 5, 2, 8, 4, 6)]


def test_with_enough_candidates_each_project_gets_its_own_reserves_none_shared() -> None:
    outcome = assign(BatchAward.each_project, 3, LONG, reserves=2)
    assert outcome.agencies == ["AG-007", "AG-003", "AG-009"]
    # The six after the winners dealt in turn: project n takes positions n-1, n-1+3.
    assert outcome.project_reserves == [["AG-001", "AG-008"], ["AG-005", "AG-004"], ["AG-002", "AG-006"]]
    assert outcome.reserves == LONG[3:9]  # the draw publishes them all, after the winners
    every = [a for own in outcome.project_reserves for a in own]
    assert len(every) == len(set(every)) and not set(every) & set(outcome.agencies)


def test_a_remainder_too_short_for_disjoint_lists_deals_first_then_wraps() -> None:
    # The reviewer's case: six candidates, three projects, two reserves each: three left.
    ranking = LONG[:6]
    outcome = assign(BatchAward.each_project, 3, ranking, reserves=2)
    assert outcome.project_reserves == [["AG-001", "AG-005"], ["AG-005", "AG-002"], ["AG-002", "AG-001"]]
    firsts = [own[0] for own in outcome.project_reserves]
    assert firsts == ranking[3:6]  # each project's first reserve is its own: no one moves up twice first
    # One reserve each is enough to keep them disjoint.
    single = assign(BatchAward.each_project, 3, ranking, reserves=1)
    assert single.project_reserves == [["AG-001"], ["AG-005"], ["AG-002"]]
    # Fewer left than projects: the projects past them wrap, each list has no repeat.
    short = assign(BatchAward.each_project, 4, LONG[:5], reserves=2)
    assert short.project_reserves == [["AG-005"], ["AG-005"], ["AG-005"], ["AG-005"]]
    assert assign(BatchAward.each_project, 3, LONG[:5], reserves=3).project_reserves == [
        ["AG-001", "AG-005"],
        ["AG-005", "AG-001"],
        ["AG-001", "AG-005"],
    ]


def test_fewer_candidates_than_projects_wrap_around_the_ranking_and_leave_no_reserve() -> None:
    outcome = assign(BatchAward.each_project, 5, ["AG-002", "AG-001"], reserves=2)
    assert outcome.winners == ["AG-002", "AG-001"]
    assert outcome.agencies == ["AG-002", "AG-001", "AG-002", "AG-001", "AG-002"]
    assert outcome.reserves == []


def test_one_agency_serves_every_project_and_the_next_ones_are_reserves() -> None:
    outcome = assign(BatchAward.one_agency, 4, RANKING, reserves=3)
    assert outcome.winners == ["AG-004"]
    assert outcome.agencies == ["AG-004"] * 4
    assert outcome.reserves == ["AG-001", "AG-005", "AG-002"]
    assert outcome.project_reserves == [["AG-001", "AG-005", "AG-002"]] * 4  # the same for each project


def test_reserves_are_what_the_ranking_has_left() -> None:
    assert assign(BatchAward.each_project, 3, RANKING, reserves=5).reserves == ["AG-002", "AG-003"]
    assert assign(BatchAward.each_project, 2, RANKING, reserves=0).reserves == []
    assert assign(BatchAward.each_project, 2, RANKING, reserves=0).project_reserves == [[], []]
    assert assign(BatchAward.each_project, 5, RANKING, reserves=2).project_reserves == [[]] * 5


def test_a_projects_purchase_id_names_its_announcement_and_its_place() -> None:
    assert child_id("P-20261201-ABCDEF1234", 1) == "P-20261201-ABCDEF1234-01"
    assert child_id("P-20261201-ABCDEF1234", 20) == "P-20261201-ABCDEF1234-20"


def _project(n: int, amount: str = "60000.00", **changes: Any) -> dict[str, Any]:
    return {
        "project_code": f"2026-330106-47-01-00020{n}",
        "title": f"项目{n}",
        "region": "330106",
        "amount_yuan": amount,
        **changes,
    }


def _request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project_code": "2026-330106-47-01-000200",
        "title": "批量",
        "item_code": "ZJ-HP-001",
        "region": "330106",
        "funding_type": "fiscal",
        "price_kind": "ceiling",
        "amount_yuan": "180000.00",
        "method": "random_draw",
        "enrollment_deadline": "2026-12-04T09:00:00Z",
        "selection_time": "2026-12-04T09:00:00Z",
        "batch": {"award": "each_project", "projects": [_project(1), _project(2), _project(3)]},
    }
    body.update(changes)
    return body


def test_a_valid_batch_request_is_accepted() -> None:
    request = PurchaseRequest.model_validate(_request())
    assert request.batch is not None and len(request.batch.projects) == 3
    assert sum(p.amount_yuan for p in request.batch.projects) == Decimal("180000.00")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"amount_yuan": "180000.01"}, "must equal the sum of its projects' amounts"),
        (
            {
                "batch": {
                    "award": "each_project",
                    "projects": [_project(1, "90000.00"), _project(1, "90000.00")],
                }
            },
            "repeated",
        ),
        ({"batch": {"award": "each_project", "projects": [_project(1, "180000.00")]}}, "at least 2"),
        (
            {
                "batch": {
                    "award": "one_agency",
                    "projects": [
                        _project(1),
                        _project(2),
                        _project(3, project_code="2026-330106-47-01-000200"),
                    ],
                }
            },
            "differs from the announcement's",
        ),
        (
            {
                "batch": {
                    "award": "one_agency",
                    "projects": [_project(1), _project(2), _project(3, region="330205")],
                }
            },
            "not within the announcement's region",
        ),
        ({"method": "credit_best_value", "short_listing": {"long_list": 3, "short_list": 2}}, "random_draw"),
        ({"batch": {"award": "some", "projects": [_project(1), _project(2), _project(3)]}}, "award"),
    ],
)
def test_a_batch_that_does_not_agree_with_its_announcement_is_refused(
    changes: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        PurchaseRequest.model_validate(_request(**changes))
    assert says in str(refused.value)


def test_a_batch_split_tells_the_owner_each_winner_its_projects_the_reserves_and_the_rest() -> None:
    import json

    from marketplace.domain import notifications as n
    from tests.support.schemas import EVENTS_DIR

    sample = json.loads((EVENTS_DIR / "domain" / "BatchSplit.json").read_text(encoding="utf-8"))["detail"]
    sample["data"]["projects"][2]["agency_id"] = "AG-002"  # fewer candidates: one agency wins two projects
    plan = n.plan(sample, timezone="Asia/Shanghai")
    assert plan is not None and plan.link == "/purchases/P-20261201-3F9A1C2B7D"
    told = {e.recipient: e for e in n.entries(plan, plan.notices)}
    assert set(told) == {"owner:OW-001", "agency:AG-002", "agency:AG-005", "agency:AG-004", "agency:AG-003"}
    assert "2026-330106-47-01-000201 → AG-002" in told["owner:OW-001"].text
    assert "分别确认" in told["owner:OW-001"].text and "2026-12-08 23:59" in told["owner:OW-001"].text
    won = told["agency:AG-002"].text
    assert "2026-330106-47-01-000201" in won and "2026-330106-47-01-000203" in won
    assert "第 2 候补" in told["agency:AG-003"].text
    enrollees = [n.Enrollee(a, n.ENROLLED, counted=True) for a in ("AG-001", "AG-002", "AG-003", "AG-006")]
    others = {e.recipient: e for e in n.enrollee_notices(plan, enrollees)}
    assert set(others) == {"agency:AG-001", "agency:AG-006"}
    assert "您未中选" in others["agency:AG-001"].text
