"""Credit: the DynamoDB round trips of the public credit profile and the write request units of
recording one credit event and keeping the agency's standing current (bench/aws_calls.py rules:
transactional writes 2 WRU per KB of each item, index writes 1 WRU per KB of the entry).

In-process on moto: an agency with a history (abandonment, completion, an owner's evaluation with
five ratings, regulators' penalties and a reward) gets one more event of each shape below; the
costliest counts for `credit_event_wru`:
- `first_event`: the first event of an agency (its standing is new; the due index gains an entry);
- `typical_event`: another penalty, the next due date unchanged;
- `due_moved`: a penalty that stops counting before any other (the due index entry moves: a
  delete and a put of the entry);
- `evaluation`: an owner's evaluation with its ratings (the standing's averages grow).

`credit_event_wru` counts the credit table (the event row, the standing and its index entry): what
recording the event and keeping the score current writes. The `CreditEventRecorded` outbox row the
same transaction carries (and its delete once published) is shown apart, as `with_outbox`: it is
the notification every change of the marketplace pays, not the ledger's.

`credit_profile_round_trips`: the DynamoDB calls of `GET /agencies/{id}/credit` for that agency, in
a fresh execution environment (no credit rules cached)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bench.aws_calls import Call, Capacity, Recorder

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
AGENCY = "AG-BENCH-CREDIT"
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def _units(calls: list[Call]) -> dict[str, Any]:
    written = [c for c in calls if c.service == "dynamodb" and c.operation in WRITES]
    return {
        "wru": sum(c.wru + c.index_wru for c in written),
        "by_call": [
            {"call": c.operation, "wru": c.wru, "index_wru": c.index_wru, "item_bytes": c.item_bytes}
            for c in written
        ],
        "rru": sum(c.rru for c in calls if c.service == "dynamodb"),
        "dynamodb_calls": [c.operation for c in calls if c.service == "dynamodb"],
    }


def _events(agency: str, at: datetime) -> list[Any]:
    from marketplace.domain.credit import CreditCause, CreditEventKind, CreditSource
    from marketplace.services import credit

    def cause(kind: str, id_: str, purchase: str | None = None) -> CreditCause:
        return CreditCause(type=kind, id=id_, purchase_id=purchase)

    def regulator(n: int, points: int, days: int) -> Any:
        return credit.external_event(
            CreditSource.regulator,
            CreditEventKind.penalty if points < 0 else CreditEventKind.reward,
            agency,
            event_id=f"RG-ENV-2026-{n:04d}",
            cause=cause("decision", f"浙环罚〔2026〕{n}号"),
            reason="未按规定公示收费标准" if points < 0 else "年度守信表彰",
            basis="《浙江省中介服务收费管理办法》第十条",
            occurred_at=at,
            points=points,
            valid_until=at + timedelta(days=days),
        )

    ratings = {"quality": 4, "timeliness": 5, "attitude": 5, "fees": 3, "standards": 4}
    return [
        credit.platform_event(
            CreditEventKind.abandonment,
            agency,
            event_id=f"P-20261201-3F9A1C2B7D-abandoned-{agency}",
            cause=cause("purchase", "P-20261201-3F9A1C2B7D", "P-20261201-3F9A1C2B7D"),
            reason="放弃中选: abandoned a selection result",
            basis="网上中介服务超市交易规则第二十条",
            occurred_at=at,
        ),
        credit.platform_event(
            CreditEventKind.completion,
            agency,
            event_id=f"P-20261102-1A2B3C4D5E-completed-{agency}",
            cause=cause("delivery", "P-20261102-1A2B3C4D5E", "P-20261102-1A2B3C4D5E"),
            reason="履约完成，业主验收",
            basis="业主验收意见",
            occurred_at=at,
        ),
        credit.platform_event(
            CreditEventKind.owner_evaluation,
            agency,
            event_id=f"P-20261102-1A2B3C4D5E-owner-evaluation-{agency}",
            cause=cause("evaluation", "P-20261102-1A2B3C4D5E-owner", "P-20261102-1A2B3C4D5E"),
            reason="业主评价：服务质量、时效、态度、收费、规范",
            basis="服务评价规则",
            occurred_at=at,
            rating=sum(ratings.values()) / len(ratings),
            ratings=ratings,
        ),
        regulator(1, -3, 365),
        regulator(2, 4, 365),
    ]


def measure() -> dict[str, Any]:
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    import tests.conftest  # noqa: F401 - the test environment: fake credentials, names, no X-Ray
    from app import app
    from marketplace.domain.credit import CreditCause, CreditEventKind, CreditSource
    from marketplace.repositories import credit as credit_repo
    from marketplace.services import credit
    from tests.support.market import clock_at
    from tests.support.resources import create_all

    with mock_aws():
        lookups = boto3.client("dynamodb", region_name="cn-north-1")  # made before recording: unseen
        recorder = Recorder(Capacity(lookups))
        with recorder.installed(), Client(app) as client, clock_at(T0):
            create_all()
            history = _events(AGENCY, T0 - timedelta(days=30))
            for e in history:
                credit.record(e, actor="bench")
            recorder.take()

            def one(e: Any) -> dict[str, Any]:
                recorder.take()
                assert credit_repo.record(e, [])
                return _units(recorder.take())

            def penalty(n: int, days: int, agency: str = AGENCY) -> Any:
                return credit.external_event(
                    CreditSource.regulator,
                    CreditEventKind.penalty,
                    agency,
                    event_id=f"RG-ENV-2026-{n:04d}",
                    cause=CreditCause(type="decision", id=f"浙环罚〔2026〕{n}号"),
                    reason="未按规定公示收费标准",
                    basis="《浙江省中介服务收费管理办法》第十条",
                    occurred_at=T0,
                    points=-2,
                    valid_until=T0 + timedelta(days=days),
                )

            cases = {
                "first_event": one(_events("AG-BENCH-NEW", T0)[0]),
                "typical_event": one(penalty(10, 400)),
                "due_moved": one(penalty(11, 30)),
                "evaluation": one(
                    credit.platform_event(
                        CreditEventKind.owner_evaluation,
                        AGENCY,
                        event_id=f"P-20261120-9A8B7C6D5E-owner-evaluation-{AGENCY}",
                        cause=CreditCause(type="evaluation", id="P-20261120-9A8B7C6D5E-owner"),
                        reason="业主评价",
                        basis="服务评价规则",
                        occurred_at=T0,
                        rating=4.4,
                        ratings={"quality": 5, "timeliness": 4, "attitude": 5, "fees": 4, "standards": 4},
                    )
                ),
            }
            recorder.take()
            assert credit.record(penalty(12, 300), actor="bench")
            with_outbox = _units(recorder.take())

            credit_repo.forget_rules_cache()  # a fresh execution environment
            recorder.take()
            reply = client.http.request("GET", f"/agencies/{AGENCY}/credit")
            assert reply.status_code == 200, reply.body
            profile_calls = [c for c in recorder.take() if c.service == "dynamodb"]
            client.http.request("GET", "/agencies/AG-NO-RECORD/credit")
            no_record = [c.operation for c in recorder.take() if c.service == "dynamodb"]
    worst = max(cases, key=lambda k: cases[k]["wru"])
    return {
        "events_before": len(history),
        "cases": cases,
        "worst_case": worst,
        "wru": cases[worst]["wru"],
        "with_outbox": with_outbox,
        "profile_calls": [c.operation for c in profile_calls],
        "profile_rru": sum(c.rru for c in profile_calls),
        "profile_round_trips": len(profile_calls),
        "no_record_profile_calls": no_record,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=1, ensure_ascii=False))
