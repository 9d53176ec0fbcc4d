"""The lifecycle tables: the docs list exactly their rows, every pair the table does not hold is
refused naming the state, and a row's move returns a validated model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.lifecycles import LIFECYCLES, document, title
from marketplace.domain.purchases import (
    ENROLLMENT,
    PURCHASE,
    RESULT,
    Enrollment,
    EnrollmentStatus,
    Result,
    ResultState,
    SelectionMethod,
)
from marketplace.errors import Conflict

DOC = Path(__file__).resolve().parents[2] / "docs" / "lifecycles.md"
TABLES = [lifecycle for lifecycle, _ in LIFECYCLES]
ROW_LINE = re.compile(r"^\| `(\w+)` \| `(\w+)` \| ([\w, ]+) \| `(\w+)` \|$")


def _documented_rows() -> dict[str, list[tuple[str, str, tuple[str, ...], str]]]:
    """Every row line of docs/lifecycles.md, under the heading it appears in."""
    found: dict[str, list[tuple[str, str, tuple[str, ...], str]]] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            found[heading] = []
        elif match := ROW_LINE.match(line):
            source, action, actors, target = match.groups()
            found[heading].append((source, action, tuple(a.strip() for a in actors.split(",")), target))
    return found


def test_the_lifecycles_document_is_the_one_the_tables_write() -> None:
    assert DOC.read_text(encoding="utf-8") == document(), (
        "docs/lifecycles.md is stale: python -m marketplace.domain.lifecycles > docs/lifecycles.md"
    )


@pytest.mark.parametrize("lifecycle", TABLES, ids=lambda lc: lc.record)
def test_the_docs_list_exactly_the_rows_of_each_table(lifecycle: Lifecycle[Any]) -> None:
    documented = _documented_rows()[title(lifecycle)]
    expected = [(r.source.value, r.action, r.actors, r.target.value) for r in lifecycle.rows]
    assert documented == expected


def _pairs(allowed: bool) -> list[tuple[Lifecycle[Any], Any, str]]:
    return [
        (lifecycle, state, action)
        for lifecycle in TABLES
        for state in lifecycle.states
        for action in lifecycle.actions
        if lifecycle.allows(state, action) == allowed
    ]


def _pair_id(value: Any) -> str:
    return value.record if isinstance(value, Lifecycle) else str(value)


@pytest.mark.parametrize(("lifecycle", "state", "action"), _pairs(False), ids=_pair_id)
def test_every_pair_not_in_the_table_is_a_conflict_naming_the_state(
    lifecycle: Lifecycle[Any], state: Any, action: str
) -> None:
    with pytest.raises(Conflict) as refused:
        lifecycle.expect(state, action, subject="X-1")
    error = refused.value
    assert error.status == 409
    assert error.extra["state"] == state.value and error.extra["action"] == action
    assert f"is {state.value}: {action} is not allowed" in error.detail
    assert error.extra["allowed"] == list(lifecycle.allowed_from(state))


@pytest.mark.parametrize(("lifecycle", "state", "action"), _pairs(True), ids=_pair_id)
def test_every_row_is_found_and_its_action_names_its_source(
    lifecycle: Lifecycle[Any], state: Any, action: str
) -> None:
    row = lifecycle.expect(state, action)
    assert (row.source, row.action) == (state, action)
    assert state in lifecycle.sources(action)


def test_a_row_moves_a_record_to_its_target_and_validates_it() -> None:
    enrolled = Enrollment(
        purchase_id="P-1",
        agency_id="AG-1",
        agency_name="甲",
        status=EnrollmentStatus.enrolled,
        enrolled_at="2026-12-01T02:00:00Z",
    )
    withdraw = ENROLLMENT.expect(enrolled.status, "withdraw")
    withdrawn = withdraw.apply(enrolled, withdrawn_at="2026-12-01T03:00:00Z")
    assert withdrawn.status == EnrollmentStatus.withdrawn and enrolled.status == EnrollmentStatus.enrolled
    with pytest.raises(ValidationError):
        withdraw.apply(enrolled, withdrawn_at=["not", "a", "time"])  # model_copy would have kept it


def test_a_derived_state_must_reach_the_rows_target() -> None:
    awaiting = Result(
        method=SelectionMethod.random_draw,
        selected_agency="AG-1",
        selected_at="2026-12-04T09:00:00Z",
        confirmation_deadline="2026-12-09T09:00:00Z",
    )
    confirm = RESULT.expect(ResultState.awaiting, "confirm")
    assert confirm.apply(awaiting, owner_confirmed_at="2026-12-05T01:00:00Z").owner_confirmed_at
    with pytest.raises(ValueError, match="must reach owner_confirmed"):
        confirm.apply(awaiting)  # the change that makes the move was forgotten


def test_one_table_row_per_state_and_action() -> None:
    from marketplace.domain.lifecycle import SYSTEM

    with pytest.raises(ValueError, match="two rows"):
        Lifecycle(
            "purchase",
            type(PURCHASE.rows[0].source),
            [(r.source, r.action, (SYSTEM,), r.target) for r in PURCHASE.rows[:2]] * 2,
        )
