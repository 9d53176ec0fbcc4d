"""Every OCDS release the end-to-end flows produced validates (docs/ocds.md). Named to run after the
other flows of this directory on the session's one stack: it publishes a purchase of its own (so it
checks something when run alone), waits until the stack's `ocds` consumer has drained what the
flows put on the bus, then pages the whole of `GET /ocds/releases` and fetches every ocid's record,
validating each package against the OCDS 1.1.5 schemas and looking for personal data."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketplace.domain.purchases import stamp
from tests.e2e.http_client import Client, until
from tests.support.market import purchase_request
from tests.support.ocds_validation import personal_data_in, validate_record_package, validate_release_package
from tests.support.samples import catalogue_item, owner_profile, unique_credit_code

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8].upper()
PLANTED = {"王工", "钱芳", "孙伟", "李强", "周敏", "330106198001011234", "wang@example.cn", "13900000001"}


def _feed(public: Client) -> list[dict[str, Any]]:
    pages, path = [], "/ocds/releases?limit=100"
    while path:
        reply = public.get(path)
        if reply.status_code == 204 and not pages:  # nothing published yet (the queue not drained)
            assert not reply.content
            return pages
        assert reply.status_code == 200, reply.text
        pages.append(reply.json())
        following = reply.json().get("links", {}).get("next", "")
        path = "/ocds/" + following.split("/ocds/", 1)[1] if following else ""
    return pages


def _settled(public: Client) -> list[dict[str, Any]]:
    """The feed once three reads a second apart count the same releases (the queue drained)."""
    counts: list[int] = []
    while True:
        pages = _feed(public)
        counts.append(sum(len(p["releases"]) for p in pages))
        if len(counts) >= 3 and len(set(counts[-3:])) == 1:
            return pages
        time.sleep(1)


def test_every_release_the_flows_produced_validates(local_stack: Any) -> None:
    stack = local_stack
    public, admin = Client(stack.api), Client(stack.api, stack.token("admin"))
    owner = Client(stack.api, stack.token("owner", f"E2E-OCDS-{RUN}"))
    item = f"E2E-OC-{RUN}"
    assert admin.post("/catalogue/items", catalogue_item(item)).status_code == 201
    assert owner.post("/owners", owner_profile(unique_credit_code("11330100")[:16])).status_code == 201
    deadline = stamp(datetime.now(UTC) + timedelta(days=3))
    body = purchase_request(
        project_code=f"2026-330106-{RUN}",
        item_code=item,
        funding_type="private",
        enrollment_deadline=deadline,
        selection_time=deadline,
    )
    purchase_id = owner.post("/purchases", body).json()["purchase_id"]
    assert owner.post(f"/purchases/{purchase_id}/submit").json()["status"] == "enrollment_open"
    mine = until(
        lambda: next((o for o in _ocids(_feed(public)) if o.endswith(purchase_id)), None),
        timeout=60,
        what="the consumer to append the purchase's release",
    )

    pages = _settled(public)
    for page in pages:
        validate_release_package(page)
        assert personal_data_in(page, PLANTED) == []
    ocids = _ocids(pages)
    assert mine in ocids
    for ocid in ocids:
        reply = public.get(f"/ocds/records/{ocid}")
        assert reply.status_code == 200, reply.text
        validate_record_package(reply.json())
        assert personal_data_in(reply.json(), PLANTED) == []


def _ocids(pages: list[dict[str, Any]]) -> list[str]:
    return sorted({r["ocid"] for p in pages for r in p["releases"]})
