"""A shelf purchase (网上直购) as clients live it, over real HTTP against the local stack: an admitted
agency lists a fixed-price offering, the public finds it on the shelf, an owner buys it and the
purchase is confirmed at once with its reason public and a letter that verifies; the agency then
withdraws the offering and it can no longer be bought."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.http_client import Client, admit, until
from tests.support.samples import catalogue_item, owner_profile, unique_credit_code
from tests.support.shelf import shelf_offer, shelf_purchase

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8].upper()
ITEM = f"E2E-SH-{RUN}"
OWNER = f"E2E-OW-SH-{RUN}"
AGENCY = f"E2E-AG-SH-{RUN}"


def test_an_agency_lists_the_public_finds_it_an_owner_buys_it_and_the_letter_verifies(local_stack) -> None:
    stack = local_stack
    admin, public = Client(stack.api, stack.token("admin")), Client(stack.api)
    owner = Client(stack.api, stack.token("owner", OWNER))
    agency = Client(stack.api, stack.token("agency", AGENCY))
    assert admin.post("/catalogue/items", catalogue_item(ITEM)).status_code == 201
    assert owner.post("/owners", owner_profile(unique_credit_code("11330100")[:16])).status_code == 201
    admit(stack, AGENCY, ITEM)

    # Listed by the agency's own user.
    listed = agency.post(f"/agencies/{AGENCY}/shelf", shelf_offer(ITEM))
    assert listed.status_code == 201, listed.text
    offer_id = listed.json()["offer_id"]

    # Found by anyone browsing the item in a district the offer's city covers.
    shelf = public.get(f"/shelf?item_code={ITEM}&region=330106")
    assert shelf.status_code == 200, shelf.text
    (found,) = shelf.json()["items"]
    assert found["offer_id"] == offer_id and found["price_yuan"] == "38000.00"
    assert found["credit_level"] == "A" and found["agency_name"].startswith("浙江测试环境咨询有限公司")

    # Bought: confirmed at once, the same Idempotency-Key buying once.
    headers = {**owner.headers, "Idempotency-Key": f"buy-{RUN}"}
    body = shelf_purchase(project_code=f"2026-330106-SH-{RUN}")
    bought = requests.post(f"{stack.api}/shelf/{offer_id}/purchase", json=body, headers=headers, timeout=15)
    assert bought.status_code == 201, bought.text
    again = requests.post(f"{stack.api}/shelf/{offer_id}/purchase", json=body, headers=headers, timeout=15)
    assert again.status_code == 201 and again.json()["purchase_id"] == bought.json()["purchase_id"]
    purchase_id = bought.json()["purchase_id"]
    page = public.get(f"/purchases/{purchase_id}").json()
    assert page["status"] == "confirmed" and page["method"] == "shelf"
    assert page["result"]["selected_agency"] == AGENCY
    assert page["shelf"]["reason"] == body["reason"] and page["shelf"]["price_yuan"] == "38000.00"

    # The letter: issued with the purchase, public, and it verifies.
    letter_id = until(
        lambda: public.get(f"/purchases/{purchase_id}").json()["letter_id"], timeout=30, what="the letter"
    )
    envelope = public.get(f"/letters/{letter_id}").json()
    assert envelope["letter"]["method"] == "shelf"
    assert envelope["letter"]["price"]["amount_yuan"] == "38000.00"
    checked = public.post("/letters/verify", envelope).json()
    assert checked["valid"] is True, checked

    # Both parties were told.
    for token in (stack.token("owner", OWNER), stack.token("agency", AGENCY)):
        inbox = Client(stack.api, token)
        until(
            lambda inbox=inbox: any(
                n.get("event_type") == "ShelfPurchaseMade"
                for n in inbox.get("/me/notifications?limit=100").json()["items"]
            ),
            timeout=30,
            what="ShelfPurchaseMade in an inbox",
        )

    # Withdrawn: off the shelf, and no longer for sale.
    withdrawn = requests.delete(
        f"{stack.api}/agencies/{AGENCY}/shelf/{offer_id}", headers=agency.headers, timeout=15
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert public.get(f"/shelf?item_code={ITEM}").json()["items"] == []
    refused = owner.post(f"/shelf/{offer_id}/purchase", shelf_purchase(project_code=f"2026-330106-SX-{RUN}"))
    assert refused.status_code == 409 and refused.json()["reason"] == "withdrawn"
