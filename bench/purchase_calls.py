"""The AWS calls of one whole purchase, in-process on moto: `python -m bench.purchase_calls [N]`
prints them as JSON (run in a fresh interpreter by bench/__main__.py, so that no client or cache of
an earlier measurement is reused).

The purchase is the one tests/support/market.py drives: a fiscal random-draw purchase (so it is
reviewed), N agencies admitted for its item (written straight to the table, as the tests do), each
enrolling through the API with an Idempotency-Key (as a client that retries safely does); the
window's tasks called as the state machine calls them, with the clock moved past each deadline
(close and select: the purchase's confirmation stops its window, so no check of the confirmation
deadline follows); one public read of the purchase and one of the draw proof; the owner confirms
and the selected agency accepts (which issues the confirmation letter); and the notification
consumer, invoked once per event the bus delivers to it (the `notifications` rule's detail types),
with that event alone in its batch. After the award, the rest of the lifecycle: an uploaded contract
countersigned, the delivery reported and accepted, the owner's and the regulator's evaluations.

Each step's calls are recorded in order (bench/aws_calls.py), with the DynamoDB request units each
consumes. Clients and caches are warm after their first use, as in a reused execution environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.aws_calls import Call, Capacity, Recorder

ENROLLMENTS = 20
IDEMPOTENCY_TABLE = "-idempotency"


def _tables(call: Call) -> list[str]:
    """The DynamoDB tables a call reads or writes."""
    p = call.params
    names = {p["TableName"]} if "TableName" in p else set(p.get("RequestItems", {}))
    for action in p.get("TransactItems", []):
        names |= {body["TableName"] for body in action.values()}
    return sorted(names)


def _summary(calls: list[Call]) -> list[dict[str, Any]]:
    return [
        {
            "service": c.service,
            "operation": c.operation,
            **({"tables": _tables(c)} if c.service == "dynamodb" else {}),
            "rru": c.rru,
            "wru": c.wru,
            "index_wru": c.index_wru,
            **({"indexes": c.indexes} if c.indexes else {}),
            "item_bytes": c.item_bytes,
            **({"entries": len(c.params.get("Entries", []))} if c.operation == "PutEvents" else {}),
            **({"failed": True} if c.failed else {}),
        }
        for c in calls
    ]


def _sqs_record(entry: dict[str, Any]) -> dict[str, Any]:
    """The SQS message the `notifications` rule makes of one PutEvents entry, shaped as
    events/functions/notify.sqs.json."""
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2026-12-01T02:00:00Z",
        "region": "cn-north-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "bench",
        "body": json.dumps(envelope, ensure_ascii=False),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws-cn:sqs:cn-north-1:123456789012:marketplace-bench-notifications",
        "awsRegion": "cn-north-1",
    }


class Drive:
    """The steps of one purchase, each recorded with its calls and its wall time."""

    def __init__(self, app: Any, api: Any, recorder: Recorder) -> None:
        self.app, self.api, self.recorder = app, api, recorder
        self.steps: list[dict[str, Any]] = []
        self.published: list[dict[str, Any]] = []

    def step(self, name: str, kind: str, call: Callable[[], Any], expect: int = 200) -> Any:
        self.recorder.take()
        started = time.perf_counter()
        reply = call()
        elapsed = (time.perf_counter() - started) * 1000
        status = getattr(reply, "status", 200)
        if status != expect:
            raise RuntimeError(f"{name}: {status} {getattr(reply, 'body', reply)}")
        calls = self.recorder.take()
        self.steps.append({"name": name, "kind": kind, "ms": round(elapsed, 2), "calls": _summary(calls)})
        self.published += [e for c in calls if c.operation == "PutEvents" for e in c.params["Entries"]]
        return reply

    def task(self, name: str, purchase_id: str) -> Any:
        return self.step(name, "task", lambda: self.app.handler_map[name]({"purchase_id": purchase_id}, None))

    def notify(self, entry: dict[str, Any]) -> Any:
        batch = {"Records": [_sqs_record(entry)]}
        return self.step("notify", "consumer", lambda: _notified(self.app.handler_map["notify"](batch, None)))


def _purchase(drive: Drive, clock: Any, agencies: list[str]) -> list[str]:
    """The purchase itself; returns notes on anything measured otherwise than in its own step."""
    from marketplace.domain.notifications import NOTIFIED_TYPES
    from tests.support.market import AFTER_DEADLINE, OWNER, purchase_request

    api = drive.api
    admin, owner = api.as_role("admin"), api.as_role("owner", OWNER)
    drafted = drive.step("draft_purchase", "api", lambda: owner.post("/purchases", purchase_request()), 201)
    path = f"/purchases/{drafted.body['purchase_id']}"
    drive.step("submit_purchase", "api", lambda: owner.post(path + "/submit"))
    drive.step("review_purchase", "api", lambda: admin.post(path + "/review", {"decision": "approve"}))
    drive.step("get_purchase", "api", lambda: api.call("GET", path))
    for agency in agencies:
        enroll = partial(
            api.as_role("agency", agency).post,
            path + "/enrollments",
            headers={"idempotency-key": f"enroll-{agency}"},
        )
        drive.step("enroll", "api", enroll, 201)
    clock.set(AFTER_DEADLINE)
    drive.task("close_enrollment", drafted.body["purchase_id"])
    drive.task("run_selection", drafted.body["purchase_id"])
    drive.step("get_draw_proof", "api", lambda: api.call("GET", path + "/draw"))
    drive.step("confirm_result", "api", lambda: owner.post(path + "/confirmation"))
    result = owner.get(path).body["result"]
    winner = api.as_role("agency", result["selected_agency"])
    drive.step("accept_result", "api", lambda: winner.post(path + "/acceptance"))
    notes = []
    if not any(c["operation"] == "Sign" for c in drive.steps[-1]["calls"]):
        notes.append(_letter_apart(drive))
    _after_award(drive, path, owner, winner)
    for entry in [e for e in drive.published if e["DetailType"] in NOTIFIED_TYPES]:
        drive.notify(entry)
    return notes


def _after_award(drive: Drive, path: str, owner: Any, winner: Any) -> None:
    """The rest of the lifecycle: an uploaded contract countersigned, the service delivered and
    accepted, the owner's and the item's regulator's ratings (each recording a credit event)."""
    regulator = drive.api.as_role("regulator", "RG-ENV", industries=("environment",))
    contract = {"upload": {"file_ref": "HT-2026-001", "sha256": "c0" * 32}, "amount_yuan": "96000.00"}
    drive.step("register_contract", "api", lambda: owner.post(path + "/contract", contract), 201)
    accept = {"decision": "accept"}
    drive.step("sign_contract", "api", lambda: winner.post(path + "/contract/signature", accept))
    delivery = {"report_number": "HP-2026-001", "file_sha256": "d1" * 32}
    drive.step("report_delivery", "api", lambda: winner.post(path + "/delivery", delivery), 201)
    drive.step("decide_completion", "api", lambda: owner.post(path + "/completion", accept))
    ratings = {"quality": 5, "timeliness": 4, "attitude": 5, "fee_reasonableness": 4, "standards": 5}
    rated = {**ratings, "comment": "报告规范"}
    drive.step("evaluate", "api", lambda: owner.post(path + "/evaluations", rated), 201)
    output = {"output_quality": 5, "comment": "合规"}
    drive.step("evaluate", "api", lambda: regulator.post(path + "/evaluations", output), 201)


Flow = Callable[["Drive", Any, list[str]], "list[str] | None"]


def drive(enrollments: int = ENROLLMENTS, flow: Flow | None = None, **labels: Any) -> dict[str, Any]:
    """A fresh market on moto (the catalogue item, the owner, `enrollments` admitted agencies) and
    one purchase through `flow` (this module's fiscal random-draw purchase by default), every AWS
    call recorded; `labels` describe the purchase in the result."""
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: fake credentials, names, no X-Ray
    from app import app
    from infra.local.resources import defer_user_pool_signing_key
    from marketplace.domain.notifications import NOTIFIED_TYPES
    from tests.conftest import Api
    from tests.support.market import OPENS, OWNER, admit, agency_id, clock_at
    from tests.support.resources import create_all
    from tests.support.samples import catalogue_item, owner_profile
    from tests.support.tokens import SigningKey

    key = SigningKey.generate("bench")
    restore_key = defer_user_pool_signing_key()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-jwks-") as directory, mock_aws():
            os.environ["JWKS_URL"] = key.write_jwks(Path(directory) / "jwks.json")
            os.environ["JWKS_ALLOW_INSECURE_LOCAL"] = "true"  # a file:// JWKS, as in the tests
            lookups = boto3.client("dynamodb", region_name="cn-north-1")  # made before recording: unseen
            recorder = Recorder(Capacity(lookups))
            with recorder.installed(), Client(app) as client, clock_at(OPENS) as clock:
                create_all()
                api = Api(client, key)
                assert api.as_role("admin").post("/catalogue/items", catalogue_item()).status == 201
                assert api.as_role("owner", OWNER).post("/owners", owner_profile()).status == 201
                agencies = [agency_id(n) for n in range(1, enrollments + 1)]
                admit(agencies)
                purchase = Drive(app, api, recorder)
                notes = (flow or _purchase)(purchase, clock, agencies) or []
    finally:
        restore_key()
    return {
        "enrollments": enrollments,
        "funding_type": "fiscal",
        **labels,
        "steps": purchase.steps,
        "events_published": [e["DetailType"] for e in purchase.published],
        "events_delivered": [
            e["DetailType"] for e in purchase.published if e["DetailType"] in NOTIFIED_TYPES
        ],
        "notes": notes,
    }


def _notified(result: Any) -> Any:
    if result != {"batchItemFailures": []}:
        raise RuntimeError(f"notify failed: {result}")
    return result


def _letter_apart(drive: Drive) -> str:
    """Acceptance confirmed the purchase but issued no letter in-process (its content module is
    missing): measure the signing and storing of a letter on its own, so its KMS and S3 calls count."""
    from marketplace.services import letters
    from tests.support.letters import letter

    drive.step("issue_letter", "letter", lambda: letters.issue(letter("L-BENCH-0001")))
    missing = importlib.util.find_spec("marketplace.services.letter_content") is None
    why = "marketplace.services.letter_content does not exist yet" if missing else "the letter was not issued"
    return (
        f"accept_result issued no letter in-process ({why}): the letter's signing and storing was measured "
        "apart (services.letters.issue on a sample letter); the purchase update that records the letter id "
        "and its LetterIssued event are not in these figures"
    )


def enrollment(purchase: dict[str, Any]) -> dict[str, Any]:
    """The DynamoDB calls of the `enroll` operation: those that decide it (made before the event is
    published: the read of everything the checks need, and the transaction; the Idempotency-Key's
    claim, which guards the request and decides nothing of the enrollment, is left out of these),
    all of them (with the outbox row's delete after publishing and the idempotency record's claim
    and completion), and the write request units of all of them, indexes included. The costliest
    enrollment counts."""
    runs = [s for s in purchase["steps"] if s["name"] == "enroll"]
    if not runs:
        raise RuntimeError("the purchase made no enrollment")
    deciding, total, units = [], [], []
    for run in runs:
        before_publishing: list[str] = []
        for call in run["calls"]:
            if call["service"] == "events":
                break
            if call["service"] == "dynamodb" and not all(
                t.endswith(IDEMPOTENCY_TABLE) for t in call["tables"]
            ):
                before_publishing.append(call["operation"])
        deciding.append(before_publishing)
        total.append([c["operation"] for c in run["calls"] if c["service"] == "dynamodb"])
        units.append(sum(c["wru"] + c["index_wru"] for c in run["calls"]))
    return {
        "enrollments": len(runs),
        "deciding_calls": max(len(d) for d in deciding),
        "deciding": max(deciding, key=len),
        "total_calls": max(len(t) for t in total),
        "total": max(total, key=len),
        "all_alike": all(t == total[0] for t in total),
        "wru": max(units),
        "wru_by_call": _units_by_call(runs[units.index(max(units))]),
    }


def _units_by_call(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "call": f"{c['operation']} {'+'.join(t.rsplit('-', 1)[-1] for t in c['tables'])}",
            "wru": c["wru"],
            "index_wru": c["index_wru"],
        }
        for c in run["calls"]
        if c["service"] == "dynamodb" and c["wru"] + c["index_wru"] > 0
    ]


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else ENROLLMENTS
    print(json.dumps(drive(count)))
