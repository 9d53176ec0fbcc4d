"""Walking the membership table (domain/consortium.py MEMBERSHIP) through the API, as
tests/integration/test_lifecycle_walk.py walks the others: every row is performed and reaches its
target; in every state, every answer the table does not allow is refused with a 409 naming the
state, and a claim on a member another consortium holds is refused naming the member."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from marketplace.domain.consortium import MEMBERSHIP, MembershipStatus
from marketplace.domain.lifecycle import Transition
from tests.conftest import Api
from tests.integration.test_consortium import ALONE, LEAD, M1, TERMS, answer, body, enroll, rows
from tests.support.market import Market, open_market


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api, agencies=6)


def _reach(market: Market, purchase_id: str, state: MembershipStatus) -> None:
    """M1 in `state` in LEAD's consortium."""
    assert enroll(market, purchase_id, LEAD, body(M1)).status == 201
    if state == MembershipStatus.accepted:
        assert answer(market, purchase_id, M1, "accept").status == 200
    elif state == MembershipStatus.declined:
        assert answer(market, purchase_id, M1, "decline").status == 200
    elif state == MembershipStatus.released:
        assert market.agency(LEAD).delete(f"/purchases/{purchase_id}/enrollments/{LEAD}").status == 200
    assert rows(purchase_id)[f"MEMBER#{M1}"]["status"] == state.value


def _actions(market: Market, purchase_id: str) -> dict[str, Callable[[], Any]]:
    return {
        "invite": lambda: enroll(market, purchase_id, ALONE, body(M1)),
        "accept": lambda: answer(market, purchase_id, M1, "accept"),
        "decline": lambda: answer(market, purchase_id, M1, "decline"),
        "release": lambda: market.agency(LEAD).delete(f"/purchases/{purchase_id}/enrollments/{LEAD}"),
    }


def test_every_action_of_the_membership_table_has_a_call() -> None:
    assert set(MEMBERSHIP.actions) == {"invite", "accept", "decline", "release"}


@pytest.mark.parametrize("row", MEMBERSHIP.rows, ids=lambda r: f"{r.source.value}-{r.action}")
def test_every_membership_row_is_performed_and_reaches_its_target(
    market: Market, row: Transition[MembershipStatus]
) -> None:
    purchase_id = market.publish(consortium=TERMS)
    _reach(market, purchase_id, row.source)
    reply = _actions(market, purchase_id)[row.action]()
    assert reply.status in (200, 201), reply.body
    assert rows(purchase_id)[f"MEMBER#{M1}"]["status"] == row.target.value


@pytest.mark.parametrize("state", list(MembershipStatus), ids=lambda s: s.value)
def test_in_every_state_every_answer_the_table_does_not_allow_is_refused(
    market: Market, state: MembershipStatus
) -> None:
    purchase_id = market.publish(consortium=TERMS)
    _reach(market, purchase_id, state)
    before = rows(purchase_id)
    for action in ("accept", "decline"):
        if MEMBERSHIP.allows(state, action):
            continue
        reply = _actions(market, purchase_id)[action]()
        assert reply.status == 409, (action, reply.body)
        assert reply.body["state"] == state.value and reply.body["action"] == action
    if not MEMBERSHIP.allows(state, "invite"):  # held: another lead's claim names the member
        reply = _actions(market, purchase_id)["invite"]()
        assert (
            reply.status == 409 and reply.body["agency_id"] == M1 and reply.body["reason"] == "member_taken"
        )
    assert rows(purchase_id) == before
