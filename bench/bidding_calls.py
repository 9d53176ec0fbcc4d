"""The AWS calls of one price-bidding purchase with three rounds, in-process on moto:
`python -m bench.bidding_calls [N]` prints them as JSON (run in a fresh interpreter by
bench/__main__.py, as bench/purchase_calls.py is).

The purchase is a fiscal price-bidding purchase (reviewed) with three rounds: N agencies admitted
for its item enroll and each seals a quote in round one (with an Idempotency-Key); closing opens
them and opens round two, in which half of them lower their quote; round three, a quarter; the last
closing leaves the purchase closed and the selection draws the lowest final price; a public read of
the rounds, of the draw proof and of every quote; the owner confirms, the winner accepts (the
letter), the rest of the lifecycle as in bench/purchase_calls.py, and the notification consumer once
per event delivered to it. The window's tasks are called as the state machine calls them, with the
clock moved past each deadline.

`quote_round_trips`: the DynamoDB calls that decide a quote (made before its event is published):
the one batch read of the purchase, its window row, the enrollment and the agency's quote rows,
then the one transaction. The sealing (KMS Encrypt) is not a DynamoDB round trip and is shown apart.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from functools import partial
from typing import Any

from bench import purchase_calls
from bench.purchase_calls import Drive, _after_award

AGENCIES = 20
ROUNDS = 3
ROUND_MINUTES = 10


def _purchase(drive: Drive, clock: Any, agencies: list[str]) -> None:
    from marketplace.domain.notifications import NOTIFIED_TYPES
    from tests.support.market import AFTER_DEADLINE, OWNER, purchase_request

    api = drive.api
    admin, owner = api.as_role("admin"), api.as_role("owner", OWNER)
    terms = {"rounds": ROUNDS, "round_minutes": ROUND_MINUTES, "floor_yuan": "90000.00"}
    body = purchase_request(method="price_bidding", bidding=terms, reserves=2)
    drafted = drive.step("draft_purchase", "api", lambda: owner.post("/purchases", body), 201)
    purchase_id = drafted.body["purchase_id"]
    path = f"/purchases/{purchase_id}"
    drive.step("submit_purchase", "api", lambda: owner.post(path + "/submit"))
    drive.step("review_purchase", "api", lambda: admin.post(path + "/review", {"decision": "approve"}))
    drive.step("get_purchase", "api", lambda: api.call("GET", path))
    for agency in agencies:
        caller = api.as_role("agency", agency)
        enroll = partial(caller.post, path + "/enrollments", headers={"idempotency-key": f"enroll-{agency}"})
        drive.step("enroll", "api", enroll, 201)
    for n, agency in enumerate(agencies):
        amount = {"amount_yuan": f"{170000 - 1000 * n}.00"}
        submit = partial(
            api.as_role("agency", agency).post,
            path + "/quotes",
            amount,
            headers={"idempotency-key": f"q-{n}"},
        )
        drive.step("submit_quote", "api", submit, 201)
    clock.set(AFTER_DEADLINE)
    drive.task("close_enrollment", purchase_id)
    for number, share in ((2, 2), (3, 4)):
        drive.step("list_rounds", "api", lambda: api.call("GET", path + "/rounds"))
        for n, agency in enumerate(agencies[: len(agencies) // share]):
            amount = {"amount_yuan": f"{170000 - 1000 * n - 5000 * (number - 1)}.00"}
            submit = partial(api.as_role("agency", agency).post, path + "/quotes", amount)
            drive.step("submit_quote", "api", submit, 201)
        clock.set(AFTER_DEADLINE + timedelta(minutes=ROUND_MINUTES * (number - 1) + 1))
        drive.task("close_round", purchase_id)
    drive.task("run_selection", purchase_id)
    drive.step("get_draw_proof", "api", lambda: api.call("GET", path + "/draw"))
    drive.step("list_quotes", "api", lambda: api.call("GET", path + "/quotes"))
    drive.step("confirm_result", "api", lambda: owner.post(path + "/confirmation"))
    result = owner.get(path).body["result"]
    winner = api.as_role("agency", result["selected_agency"])
    drive.step("accept_result", "api", lambda: winner.post(path + "/acceptance"))
    _after_award(drive, path, owner, winner)
    for entry in [e for e in drive.published if e["DetailType"] in NOTIFIED_TYPES]:
        drive.notify(entry)


def drive(agencies_count: int = AGENCIES) -> dict[str, Any]:
    return purchase_calls.drive(agencies_count, _purchase, method="price_bidding", rounds=ROUNDS)


def quotes(purchase: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB calls that decide each quote (before its event is published), the costliest."""
    runs = [s for s in purchase["steps"] if s["name"] == "submit_quote"]
    if not runs:
        raise RuntimeError("the purchase made no quote")
    deciding, sealing, total = [], [], []
    for run in runs:
        before_publishing: list[str] = []
        for call in run["calls"]:
            if call["service"] == "events":
                break
            if call["service"] == "dynamodb":
                before_publishing.append(call["operation"])
        deciding.append(before_publishing)
        sealing.append([c["operation"] for c in run["calls"] if c["service"] == "kms"])
        total.append([c["operation"] for c in run["calls"] if c["service"] == "dynamodb"])
    return {
        "quotes": len(runs),
        "deciding_calls": max(len(d) for d in deciding),
        "deciding": max(deciding, key=len),
        "kms_calls": max(sealing, key=len),
        "total_calls": max(len(t) for t in total),
        "total": max(total, key=len),
        "all_alike": all(t == total[0] for t in total),
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else AGENCIES
    print(json.dumps(drive(count)))
