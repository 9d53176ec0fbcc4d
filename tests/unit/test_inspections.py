"""Random inspections, pure parts: the assignment of inspectors to agencies, the proof and its
verification, the lifecycle, and the checks of a plan and of a result."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from marketplace.domain import draw, inspection_draw
from marketplace.domain.inspections import (
    INSPECTION,
    InspectionStatus,
    PlanIn,
    ResultIn,
    plan_problems,
    result_problems,
)
from marketplace.errors import Conflict

SEED = bytes.fromhex("aa" * 32)
AGENCIES = [f"AG-{n:03d}" for n in range(1, 11)]
STAFF = [f"ZJ-ENV-{n:04d}" for n in range(1, 9)]
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


INSPECTION_ID = "INS-20261207-0A1B2C3D4E"


def _proof(
    inspection_id: str = INSPECTION_ID,
    seed: bytes = SEED,
    agency_candidates: list[str] = AGENCIES,
    inspector_candidates: list[str] = STAFF,
    **changes: int,
) -> dict:
    numbers = {"agencies": 3, "inspectors": 6, "per_agency": 2, **changes}
    return inspection_draw.proof(
        inspection_id,
        seed,
        agency_candidates=agency_candidates,
        inspector_candidates=inspector_candidates,
        drawn_at="2026-12-07T03:00:00Z",
        **numbers,
    )


def _plan_published() -> dict:
    """The public plan (GET /inspections/{id}) as it was before the draw."""
    return {
        "inspection_id": INSPECTION_ID,
        "status": "planned",
        "commitment": draw.commitment(SEED),
        "agencies": 3,
        "inspectors": 6,
        "inspectors_per_agency": 2,
        "agency_candidates": AGENCIES,
        "agency_digest": draw.candidates_digest(AGENCIES),
        "inspector_candidates": STAFF,
        "inspector_digest": draw.candidates_digest(STAFF),
    }


def test_a_team_of_agencies_times_k_gives_each_inspector_one_agency() -> None:
    team = ["T1", "T2", "T3", "T4", "T5", "T6"]
    assignment = inspection_draw.assign(["A", "B", "C"], team, 2)
    assert assignment == [
        {"agency_id": "A", "inspectors": ["T1", "T2"]},
        {"agency_id": "B", "inspectors": ["T3", "T4"]},
        {"agency_id": "C", "inspectors": ["T5", "T6"]},
    ]


def test_a_smaller_team_goes_round_and_an_agency_never_gets_one_inspector_twice() -> None:
    team = ["T1", "T2", "T3"]
    assignment = inspection_draw.assign(["A", "B", "C", "D"], team, 2)
    assert [a["inspectors"] for a in assignment] == [["T1", "T2"], ["T3", "T1"], ["T2", "T3"], ["T1", "T2"]]
    assert all(len(set(a["inspectors"])) == 2 for a in assignment)
    with pytest.raises(ValueError):
        inspection_draw.assign(["A"], ["T1"], 2)


def test_the_two_draws_use_their_own_subjects_under_one_seed() -> None:
    proof = _proof()
    assert proof["agencies"]["purchase_id"] == "INS-20261207-0A1B2C3D4E:agencies"
    assert proof["inspectors"]["purchase_id"] == "INS-20261207-0A1B2C3D4E:inspectors"
    assert proof["commitment"] == draw.commitment(SEED) == proof["agencies"]["commitment"]
    expected = draw.draw(
        "INS-20261207-0A1B2C3D4E:agencies", SEED, AGENCIES, winners=3, reserves=0, drawn_at="x"
    ).winners
    assert proof["agencies"]["winners"] == expected
    assert inspection_draw.verify(proof, _plan_published()) == []
    assert draw.verify(proof["agencies"]) == [] and draw.verify(proof["inspectors"]) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p["agencies"]["winners"].reverse(),
        lambda p: p["assignment"][0]["inspectors"].reverse(),
        lambda p: p.update(seed="bb" * 32),
        lambda p: p["inspectors"].update(purchase_id="INS-OTHER:inspectors"),
        lambda p: p["agencies"].update(reserves=[p["agencies"]["candidates"][0]]),
        lambda p: p.update(inspectors_per_agency=7),
    ],
)
def test_a_tampered_proof_is_invalid(tamper) -> None:
    proof = copy.deepcopy(_proof())
    tamper(proof)
    assert inspection_draw.verify(proof, _plan_published()) != []


@pytest.mark.parametrize(
    ("remade", "named"),
    [
        (lambda: _proof(seed=bytes.fromhex("bb" * 32)), "commitment"),
        (lambda: _proof(agency_candidates=AGENCIES[:5]), "agencies: candidates differ"),
        (lambda: _proof(inspector_candidates=STAFF[1:]), "inspectors: candidates differ"),
        (lambda: _proof(agencies=2), "agencies: 2 drawn, the plan draws 3"),
        (lambda: _proof(inspectors=4), "inspectors: 4 drawn, the plan draws 6"),
        (lambda: _proof(per_agency=3), "inspectors_per_agency"),
        (lambda: _proof(inspection_id="INS-20261207-FFFFFFFFFF"), "inspection_id"),
    ],
)
def test_a_proof_consistent_with_itself_but_not_with_the_plan_published_before_the_draw_is_invalid(
    remade, named: str
) -> None:
    # Each of these recomputes on its own: only the plan published before the draw tells it apart.
    proof = remade()
    assert inspection_draw._self_consistent(proof) == []
    problems = inspection_draw.verify(proof, _plan_published())
    assert problems and any(p.startswith(named) for p in problems), problems


def test_the_plan_checks_the_candidate_lists_when_it_publishes_them_and_needs_its_fields() -> None:
    plan = {**_plan_published(), "agency_candidates": [*AGENCIES[1:], AGENCIES[0]]}
    assert inspection_draw.verify(_proof(), plan) == [
        "agencies: candidates differ from the plan's agency_candidates"
    ]
    without = {
        k: v for k, v in _plan_published().items() if k not in ("agency_candidates", "inspector_candidates")
    }
    assert inspection_draw.verify(_proof(), without) == []
    problems = inspection_draw.verify(_proof(), {"inspection_id": INSPECTION_ID})
    assert problems and problems[0].startswith("the plan misses fields: commitment")


def test_the_lifecycle_draws_once_and_cancels_only_before_the_draw() -> None:
    S = InspectionStatus
    assert INSPECTION.allows(S.planned, "draw") and INSPECTION.allows(S.planned, "cancel")
    assert not INSPECTION.allows(S.drawn, "draw")
    assert not INSPECTION.allows(S.drawn, "cancel")
    assert INSPECTION.allows(S.drawn, "record_result") and INSPECTION.allows(S.drawn, "close")
    for final in (S.closed, S.cancelled):
        assert INSPECTION.allowed_from(final) == ()
    with pytest.raises(Conflict):
        INSPECTION.expect(S.closed, "record_result")


def _plan(**changes) -> PlanIn:
    body = {
        "industry": "environment",
        "title": "t",
        "basis": "b",
        "agencies": 3,
        "inspectors": 4,
        "draw_at": "2026-12-07T03:00:00Z",
        **changes,
    }
    return PlanIn.model_validate(body)


def test_a_plan_is_checked_against_the_frozen_lists_and_the_clock() -> None:
    assert plan_problems(_plan(), agencies_available=3, staff=4, now=NOW) == []
    fields = [f for f, _ in plan_problems(_plan(agencies=4), agencies_available=3, staff=4, now=NOW)]
    assert fields == ["agencies"]
    fields = [f for f, _ in plan_problems(_plan(inspectors=5), agencies_available=3, staff=4, now=NOW)]
    assert fields == ["inspectors"]
    late = _plan(draw_at="2026-12-07T02:00:00Z")
    assert [f for f, _ in plan_problems(late, agencies_available=3, staff=4, now=NOW)] == ["draw_at"]


def test_a_result_names_what_is_inconsistent() -> None:
    today = date(2026, 12, 7)

    def fields(**body) -> list[str]:
        return [
            f
            for f, _ in result_problems(
                ResultIn.model_validate({"agency_id": "AG-1", **body}), today=today, max_points=50
            )
        ]

    assert fields(outcome="passed") == []
    assert fields(outcome="passed", problems=["x"]) == ["problems"]
    assert fields(outcome="problems_found", problems=["x"]) == ["correct_by"]
    assert fields(outcome="problems_found", problems=["x"], correct_by="2026-12-07") == ["correct_by"]
    found = {"outcome": "problems_found", "problems": ["x"], "correct_by": "2027-01-15"}
    assert fields(**found) == []
    assert fields(**found, credit_event=True) == ["credit_points"]
    assert fields(**found, credit_event=True, credit_points=3) == ["credit_points"]
    assert fields(**found, credit_points=-3) == ["credit_points"]
    assert fields(**found, credit_event=True, credit_points=-3) == []
    assert fields(**found, credit_event=True, credit_points=-50) == []
    assert fields(**found, credit_event=True, credit_points=-51) == ["credit_points"]
    assert fields(**found, credit_event=True, credit_points=-100000) == ["credit_points"]
