"""A two-round price-bidding purchase over real HTTP against the local stack, its rounds opened and
closed by the real state machine: sealed quotes → round one closes by itself → a lower quote in
round two (a raised one refused) → round two closes → the lowest price wins → every quote public,
the proof recomputes.

The stack is shared by the session (RULE_ENROLLMENT_MIN_WORKING_DAYS=0, see conftest): every id
here is unique to this run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.domain.draw import verify
from marketplace.domain.purchases import stamp
from tests.e2e.http_client import Client, admit, until
from tests.support.market import purchase_request
from tests.support.samples import catalogue_item, owner_profile, unique_credit_code

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8].upper()
ITEM = f"E2E-BD-{RUN}"
OWNER = f"E2E-BO-{RUN}"
WINDOW_SECONDS = 20


def test_a_two_round_bidding_purchase_runs_by_itself_to_its_public_quotes(local_stack) -> None:
    stack = local_stack
    admin, public = Client(stack.api, stack.token("admin")), Client(stack.api)
    owner = Client(stack.api, stack.token("owner", OWNER))
    assert admin.post("/catalogue/items", catalogue_item(ITEM)).status_code == 201
    assert owner.post("/owners", owner_profile(unique_credit_code("11330100")[:16])).status_code == 201
    agencies = [f"E2E-BA-{RUN}-{n}" for n in (1, 2, 3)]
    for agency in agencies:
        admit(stack, agency, ITEM)
    clients = {a: Client(stack.api, stack.token("agency", a)) for a in agencies}

    deadline = stamp(datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS))
    body = purchase_request(
        project_code=f"2026-330106-{RUN}",
        item_code=ITEM,
        funding_type="private",
        amount_yuan="98000.00",
        method="price_bidding",
        bidding={"rounds": 2, "round_minutes": 1, "floor_yuan": "50000.00"},
        enrollment_deadline=deadline,
        selection_time=deadline,
        reserves=1,
    )
    drafted = owner.post("/purchases", body)
    assert drafted.status_code == 201, drafted.text
    purchase_id = drafted.json()["purchase_id"]
    assert owner.post(f"/purchases/{purchase_id}/submit").json()["status"] == "enrollment_open"
    path = f"/purchases/{purchase_id}"

    # Round one, sealed: receipts only; out of bounds refused; nobody reads the quotes.
    for agency, amount in zip(agencies, ("90000.00", "85000.00", "88000.00"), strict=True):
        assert clients[agency].post(path + "/enrollments").status_code == 201
        sealed = clients[agency].post(path + "/quotes", {"amount_yuan": amount})
        assert sealed.status_code == 201, sealed.text
        assert amount not in sealed.text and len(sealed.json()["digest"]) == 64
    above = clients[agencies[0]].post(path + "/quotes", {"amount_yuan": "98000.01"})
    assert above.status_code == 422 and above.json()["reason"] == "above_ceiling"
    assert public.get(path + "/quotes").status_code == 403
    assert "85000" not in public.get(path).text + owner.get(path).text + public.get(path + "/rounds").text

    # The execution closes round one by itself and opens round two for a minute.
    rounds = until(
        lambda: (r := public.get(path + "/rounds").json())["rounds"][1]["state"] == "open" and r,
        timeout=WINDOW_SECONDS + 60,
        what="round one to close and round two to open",
    )
    assert rounds["rounds"][0]["best_price_yuan"] == "85000.00" and rounds["rounds"][0]["quotes"] == 3
    raised = clients[agencies[0]].post(path + "/quotes", {"amount_yuan": "91000.00"})
    assert raised.status_code == 422 and raised.json()["reason"] == "not_lower"
    lower = clients[agencies[0]].post(path + "/quotes", {"amount_yuan": "80000.00"})
    assert lower.status_code == 201, lower.text
    assert "80000" not in public.get(path + "/rounds").text

    # Round two closes by itself; the selection runs at once (its time has passed).
    page = until(
        lambda: (p := public.get(path).json())["status"] == "selected" and p,
        timeout=150,
        what="round two to close and the selection to run",
    )
    assert page["result"]["selected_agency"] == agencies[0]
    assert page["result"]["reserves"] == [agencies[1]]
    proof = public.get(path + "/draw").json()
    assert verify(proof) == [] and proof["values"][agencies[0]] == "80000.00"
    quotes = public.get(path + "/quotes").json()
    assert quotes["published"] is True
    assert sorted((q["round"], q["agency_id"], q["price_yuan"]) for q in quotes["quotes"]) == [
        (1, agencies[0], "90000.00"),
        (1, agencies[1], "85000.00"),
        (1, agencies[2], "88000.00"),
        (2, agencies[0], "80000.00"),
    ]

    # Confirmed by both parties: the signed letter states the winning quote and verifies.
    assert owner.post(f"/purchases/{purchase_id}/confirmation").status_code == 200
    accepted = clients[agencies[0]].post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status_code == 200, accepted.text
    letter_id = until(lambda: public.get(path).json()["letter_id"], timeout=30, what="the letter")
    envelope = public.get(f"/letters/{letter_id}").json()
    assert envelope["letter"]["method"] == "price_bidding"
    assert envelope["letter"]["price"]["amount_yuan"] == "80000.00"
    assert public.post("/letters/verify", envelope).json()["valid"] is True

    # The candidates were told: round two opened, and who was outbid.
    for agency, wanted in ((agencies[0], "BiddingRoundOpened"), (agencies[2], "BiddingRoundClosed")):
        until(
            lambda client=clients[agency], wanted=wanted: any(
                n.get("event_type") == wanted
                for n in client.get("/me/notifications?limit=100").json()["items"]
            ),
            timeout=30,
            what=f"{wanted} in {agency}'s inbox",
        )
