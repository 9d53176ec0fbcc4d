"""A purchase from draft to confirmation, in-process on moto: the window's tasks are called as the
state machine calls them (the e2e suite runs the real state machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketplace.domain.draw import verify
from tests.conftest import Api
from tests.support.market import Market, agency_id, open_market


@pytest.fixture
def market(api: Api) -> Iterator[Market]:
    yield from open_market(api)


def test_a_random_draw_purchase_runs_from_publication_to_confirmation(
    market: Market, published_events
) -> None:
    purchase_id = market.publish()
    public = market.api.call("GET", f"/purchases/{purchase_id}")
    assert public.status == 200
    assert public.body["status"] == "enrollment_open"
    assert len(public.body["commitment"]) == 64
    assert "seed" not in public.text if hasattr(public, "text") else "seed" not in str(public.body)

    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.api.call("GET", f"/purchases/{purchase_id}").body["enrollments"] == 3

    state = market.close_and_select(purchase_id)
    assert state["status"] == "selected"

    proof = market.api.call("GET", f"/purchases/{purchase_id}/draw").body
    assert verify(proof) == []
    assert proof["candidates"] == [agency_id(n) for n in (1, 2, 3)]
    purchase = market.purchase(purchase_id)
    winner = purchase["result"]["selected_agency"]
    assert winner == proof["winners"][0]
    assert purchase["result"]["reserves"] == proof["reserves"]
    assert proof["commitment"] == purchase["commitment"]
