"""Statistics: the DynamoDB round trips of one `GET /statistics` answer (issue 12, target <= 1).

In-process on moto: the consumer folds a district's worth of sample events (120 purchases over
12 months, 4 items, 3 regions, 6 owners, each published, enrolled, selected, confirmed and
contracted; a sixth of them failed instead), then every grouping is asked for the whole year,
in JSON and in CSV. `statistics_query_round_trips` is the most DynamoDB calls any of those
answers made (each is one Query of one partition; the months are summed in code)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.aws_calls import Recorder

ROOT = Path(__file__).resolve().parent.parent
PURCHASES = 120
GROUP_BYS = ("item", "industry", "region", "owner", "month")


def _sample(kind: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (ROOT / "events" / "domain" / f"{kind}.json").read_text(encoding="utf-8")
    )
    return doc


def _events(n: int) -> list[dict[str, Any]]:
    start = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    kinds = [
        "PurchasePublished",
        "EnrollmentReceived",
        "EnrollmentReceived",
        "ResultPublished",
        "PurchaseConfirmed",
        "ContractSigned",
    ]
    made: list[dict[str, Any]] = []
    for i in range(n):
        purchase = f"P-BENCH-{i:04d}"
        at = start + timedelta(days=3 * i)
        flow = kinds if i % 6 else ["PurchasePublished", "EnrollmentReceived", "PurchaseFailed"]
        for step, kind in enumerate(flow):
            event = copy.deepcopy(_sample(kind))
            detail = event["detail"]
            detail["event_id"] = f"{purchase}-{step}"
            detail["occurred_at"] = (at + timedelta(days=step)).isoformat().replace("+00:00", "Z")
            detail["subject"] = purchase
            data = detail["data"]
            data.update(
                purchase_id=purchase,
                owner_id=f"OW-{i % 6}",
                item_code=f"ZJ-HP-00{i % 4 + 1}",
                region=f"33010{i % 3}",
            )
            made.append(event)
    return made


def measure() -> dict[str, Any]:
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: fake credentials, names, no X-Ray
    from app import app
    from tests.support.market import clock_at
    from tests.support.resources import create_all
    from tests.support.samples import sqs_record

    with mock_aws():
        create_all()
        recorder = Recorder()
        with recorder.installed(), Client(app) as client, clock_at(datetime(2026, 12, 31, 2, 0, tzinfo=UTC)):
            events = _events(PURCHASES)
            for chunk in range(0, len(events), 10):
                records = [
                    sqs_record(json.dumps(e, ensure_ascii=False), e["detail"]["event_id"])
                    for e in events[chunk : chunk + 10]
                ]
                result = app.handler_map["fold_statistics"]({"Records": records}, None)
                assert result == {"batchItemFailures": []}, result
            recorder.take()
            answers: dict[str, list[str]] = {}
            for group_by in GROUP_BYS:
                for accept in ("application/json", "text/csv"):
                    reply = client.http.request(
                        "GET",
                        f"/statistics?group_by={group_by}&from=2026-01&to=2026-12",
                        headers={"accept": accept},
                    )
                    assert reply.status_code == 200, reply.body
                    answers[f"{group_by} {accept}"] = [
                        c.operation for c in recorder.take() if c.service == "dynamodb"
                    ]
    return {
        "purchases": PURCHASES,
        "events": len(events),
        "answers": answers,
        "round_trips": max(len(calls) for calls in answers.values()),
    }


if __name__ == "__main__":
    print(json.dumps(measure(), ensure_ascii=False))
