"""A whole purchase as clients live it, over real HTTP against the local stack running the real state
machine: publish → enroll → the window closes by itself → draw → confirm → the letter verifies.

The stack is shared by the session (RULE_ENROLLMENT_MIN_WORKING_DAYS=0, see conftest): every id
here is unique to this run."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marketplace.domain.draw import verify
from marketplace.domain.purchases import stamp
from tests.e2e.http_client import Client, admit, until
from tests.support.market import purchase_request
from tests.support.samples import catalogue_item, owner_profile, unique_credit_code

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8].upper()
ITEM = f"E2E-PU-{RUN}"
OWNER = f"E2E-OW-{RUN}"
WINDOW_SECONDS = 20
ROOT = Path(__file__).resolve().parents[2]


def test_a_purchase_runs_by_itself_from_publication_to_a_verified_letter(local_stack) -> None:
    stack = local_stack
    admin, public = Client(stack.api, stack.token("admin")), Client(stack.api)
    owner = Client(stack.api, stack.token("owner", OWNER))
    assert admin.post("/catalogue/items", catalogue_item(ITEM)).status_code == 201
    assert owner.post("/owners", owner_profile(unique_credit_code("11330100")[:16])).status_code == 201
    agencies = [f"E2E-AG-{RUN}-{n}" for n in (1, 2, 3)]
    for agency in agencies:
        admit(stack, agency, ITEM)

    # Published: a private purchase publishes on submission, its window closing in seconds.
    deadline = stamp(datetime.now(UTC) + timedelta(seconds=WINDOW_SECONDS))
    body = purchase_request(
        project_code=f"2026-330106-{RUN}",
        item_code=ITEM,
        funding_type="private",
        amount_yuan="98000.00",
        enrollment_deadline=deadline,
        selection_time=deadline,
    )
    drafted = owner.post("/purchases", body)
    assert drafted.status_code == 201, drafted.text
    purchase_id = drafted.json()["purchase_id"]
    published = owner.post(f"/purchases/{purchase_id}/submit")
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "enrollment_open"
    commitment = published.json()["commitment"]

    # Enrolled: three agencies, one of them twice (refused), the public sees the count.
    for agency in agencies:
        assert (
            Client(stack.api, stack.token("agency", agency))
            .post(f"/purchases/{purchase_id}/enrollments")
            .status_code
            == 201
        )
    again = Client(stack.api, stack.token("agency", agencies[0])).post(
        f"/purchases/{purchase_id}/enrollments"
    )
    assert again.status_code == 409 and again.json()["reason"] == "duplicate"
    assert public.get(f"/purchases/{purchase_id}").json()["enrollments"] == 3

    # Nobody closes it: the execution waits for the deadline, closes, draws.
    page = until(
        lambda: (p := public.get(f"/purchases/{purchase_id}").json())["status"] == "selected" and p,
        timeout=WINDOW_SECONDS + 60,
        what="the window to close and the draw to run",
    )
    proof = public.get(f"/purchases/{purchase_id}/draw").json()
    assert proof["commitment"] == commitment
    assert verify(proof) == []
    assert proof["candidates"] == sorted(agencies)
    winner = page["result"]["selected_agency"]
    assert winner == proof["winners"][0]
    cli = subprocess.run(
        [sys.executable, "-m", "marketplace.verify_draw", f"{stack.api}/purchases/{purchase_id}/draw"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "layers" / "common" / "python"), "PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr

    # Confirmed by both parties: the letter is issued, public, and verifies; a changed byte does not.
    assert owner.post(f"/purchases/{purchase_id}/confirmation").status_code == 200
    accepted = Client(stack.api, stack.token("agency", winner)).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status_code == 200, accepted.text
    letter_id = until(
        lambda: public.get(f"/purchases/{purchase_id}").json()["letter_id"], timeout=30, what="the letter"
    )
    letter = public.get(f"/letters/{letter_id}")
    assert letter.status_code == 200
    envelope = letter.json()
    assert envelope["letter"]["purchase_id"] == purchase_id
    assert envelope["letter"]["agency"]["agency_id"] == winner
    checked = public.post("/letters/verify", envelope).json()
    assert checked["valid"] is True, checked
    tampered = json.loads(json.dumps(envelope))
    tampered["letter"]["price"] = json.loads(
        json.dumps(tampered["letter"]["price"]).replace("98000", "99000")
    )
    assert public.post("/letters/verify", tampered).json()["valid"] is False

    # Everyone concerned was told.
    for token, wanted in (
        (stack.token("agency", winner), "ResultPublished"),
        (stack.token("owner", OWNER), "EnrollmentReceived"),
        (stack.token("owner", OWNER), "LetterIssued"),
    ):
        inbox = Client(stack.api, token)
        until(
            lambda inbox=inbox, wanted=wanted: any(
                n.get("event_type") == wanted
                for n in inbox.get("/me/notifications?limit=100").json()["items"]
            ),
            timeout=30,
            what=f"{wanted} in an inbox",
        )
