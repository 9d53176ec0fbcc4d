"""What computing and storing the red flags of one completed purchase costs:
`python -m bench.red_flag_calls [N]` prints it as JSON (run in a fresh interpreter by
bench/__main__.py).

The purchase is bench/purchase_calls.py's (a fiscal random-draw purchase with N enrollments through
to its evaluations). Then every event it published that the `red-flags` rule sends to the consumer
(marketplace.domain.red_flags.WATCHED) is handed to `compute_red_flags`, each alone in its batch (the
most invocations), and only those steps are priced: Lambda invocations and duration, DynamoDB
request units (every read and write of the purchase's flags, the cross-purchase sets, the public
list's rows, the applied events' markers, the enrollees' profiles for R044), the RedFlagRaised events
put on the bus and the SQS requests of each delivered event. Two runs: `typical` (every agency with
contacts and an address of its own: no flag applies) and `flagged` (the sample agencies all share
one contact and address: R044 is raised naming all N agencies, so its row is listed under every
filter combination: the costliest case for the public list). `red_flags_cost_per_purchase_usd` is
the typical run's.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from typing import Any

from bench import cost
from bench.purchase_calls import ENROLLMENTS, Drive, _purchase, _sqs_record, drive

ASSUMPTIONS = [
    "Only the red-flags consumer's steps are priced: the purchase's own cost is cost_per_purchase_usd.",
    "Each delivered event is one Lambda invocation with the event alone in its batch, billed at 256 MB "
    "arm64 for its in-process wall time on moto; three SQS requests per delivered event (EventBridge's "
    "SendMessage, the poller's ReceiveMessage, its DeleteMessageBatch).",
    "DynamoDB request units from the real item sizes (bench/aws_calls.py), as for cost_per_purchase_usd; "
    "a RedFlagRaised is one EventBridge event, and its delivery to the regulators' inbox is priced "
    "with the notifications, not here.",
]


def _distinct_contacts(agencies: list[str]) -> None:
    from marketplace.repositories.tables import AgencyRow

    for n, agency in enumerate(agencies):
        row = AgencyRow.get(agency, "PROFILE")
        record = row.document["record"]
        record["contacts"][0]["phone"] = f"1380000{n:04d}"
        record["contacts"][0]["email"] = f"a{n}@example.cn"
        record["legal_entity"]["address"] = f"杭州市西湖区文三路{200 + n}号"
        for p in record["practitioners"]:
            p["id_number"] = f"33010619800101{n:03d}X"
        row.save()


def _flow(distinct: bool) -> Any:
    def flow(run: Drive, clock: Any, agencies: list[str]) -> list[str]:
        from marketplace.domain.red_flags import WATCHED

        if distinct:
            _distinct_contacts(agencies)
        notes = _purchase(run, clock, agencies)
        for entry in [e for e in run.published if e["DetailType"] in WATCHED]:
            batch = {"Records": [_sqs_record(entry)]}
            run.step(f"compute_red_flags:{entry['DetailType']}", "red_flags", partial(_done, run, batch))
        return notes

    return flow


def _done(run: Drive, batch: dict[str, Any]) -> Any:
    result = run.app.handler_map["compute_red_flags"](batch, None)
    if result != {"batchItemFailures": []}:
        raise RuntimeError(f"compute_red_flags failed: {result}")
    return result


def _price(purchase: dict[str, Any]) -> dict[str, Any]:
    from marketplace.domain.red_flags import WATCHED

    steps = [s for s in purchase["steps"] if s["kind"] == "red_flags"]
    calls = [c for s in steps for c in s["calls"]]
    amounts = {
        "lambda_requests": len(steps),
        "lambda_gb_seconds": sum(s["ms"] for s in steps) / 1000 * cost.LAMBDA_MEMORY_GB,
        "dynamodb_wru": sum(c["wru"] + c["index_wru"] for c in calls),
        "dynamodb_rru": sum(c["rru"] for c in calls),
        "eventbridge_events": sum(c.get("entries", 0) for c in calls),
        "sqs_requests": sum(1 for e in purchase["events_published"] if e in WATCHED)
        * cost.SQS_REQUESTS_PER_DELIVERED_EVENT,
    }
    lines = {
        name: {
            "quantity": round(q, 4),
            "unit": cost.PRICES[name].unit,
            "cost_usd": cost.PRICES[name].of(q),
        }
        for name, q in amounts.items()
    }
    by_step: dict[str, dict[str, float]] = {}
    for s in steps:
        row = by_step.setdefault(s["name"], {"runs": 0, "calls": 0, "rru": 0.0, "wru": 0.0})
        row["runs"] += 1
        row["calls"] += sum(1 for c in s["calls"] if c["service"] == "dynamodb")
        row["rru"] += sum(c["rru"] for c in s["calls"])
        row["wru"] += sum(c["wru"] + c["index_wru"] for c in s["calls"])
    return {
        "enrollments": purchase["enrollments"],
        "events_delivered": len(steps),
        "lines": lines,
        "by_step": by_step,
        "total_usd": sum(line["cost_usd"] for line in lines.values()),
    }


def measure(enrollments: int = ENROLLMENTS) -> dict[str, Any]:
    typical = _price(drive(enrollments, flow=_flow(True), case="typical"))
    flagged = _price(drive(enrollments, flow=_flow(False), case="flagged"))
    return {
        "typical": typical,
        "flagged": flagged,
        "red_flags_cost_per_purchase_usd": round(typical["total_usd"], 8),
        "red_flags_cost_per_flagged_purchase_usd": round(flagged["total_usd"], 8),
        "prices_recorded": cost.PRICES_RECORDED,
        "region_priced": "us-east-1",
        "assumptions": ASSUMPTIONS,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else ENROLLMENTS
    print(json.dumps(measure(count)))
