"""After the award: a purchase driven through the existing fixtures to `confirmed` and then to
`contracted`, for the delivery and evaluation tests; and the credit events the ledger holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.market import Market, agency_id

# Monday 7 December 2026, 10:00 in Hangzhou: the contract is signed.
SIGNED = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
REPORT = {"report_number": "HP-2026-0042", "file_sha256": SHA, "file_ref": "archive/HP-2026-0042.pdf"}
OWNER_RATINGS = {"quality": 5, "timeliness": 4, "attitude": 5, "fee_reasonableness": 4, "standards": 5}


def confirmed(market: Market) -> tuple[str, str]:
    """A purchase both parties confirmed, and its selected agency."""
    purchase_id = market.publish()
    for n in (1, 2, 3):
        assert market.enroll(purchase_id, agency_id(n)).status == 201
    assert market.close_and_select(purchase_id)["status"] == "selected"
    winner = market.purchase(purchase_id)["result"]["selected_agency"]
    assert market.owner.post(f"/purchases/{purchase_id}/confirmation").status == 200
    accepted = market.agency(winner).post(f"/purchases/{purchase_id}/acceptance")
    assert accepted.status == 200 and accepted.body["status"] == "confirmed", accepted.body
    return purchase_id, winner


def contracted(market: Market, *, signed: datetime = SIGNED) -> tuple[str, str]:
    """A purchase whose contract the agency signed at `signed` (the clock is left there)."""
    purchase_id, winner = confirmed(market)
    market.clock.set(signed)
    _sign(market, purchase_id, winner)
    assert market.purchase(purchase_id)["status"] == "contracted"
    return purchase_id, winner


def _sign(market: Market, purchase_id: str, winner: str) -> None:
    """The owner registers an uploaded contract and the agency countersigns it, through the
    contract routes."""
    upload = {"upload": {"file_ref": "OA-2026-0042.pdf", "sha256": "ab" * 32}, "amount_yuan": "150000.00"}
    registered = market.owner.post(f"/purchases/{purchase_id}/contract", upload)
    assert registered.status == 201, registered.body
    signed = market.agency(winner).post(
        f"/purchases/{purchase_id}/contract/signature", {"decision": "accept"}
    )
    assert signed.status == 200 and signed.body["status"] == "contracted", signed.body


def delivered(market: Market, purchase_id: str, winner: str) -> dict[str, Any]:
    reply = market.agency(winner).post(f"/purchases/{purchase_id}/delivery", REPORT)
    assert reply.status == 201, reply.body
    return dict(reply.body)


def completed(market: Market, *, signed: datetime = SIGNED) -> tuple[str, str]:
    purchase_id, winner = contracted(market, signed=signed)
    delivered(market, purchase_id, winner)
    reply = market.owner.post(f"/purchases/{purchase_id}/completion", {"decision": "accept"})
    assert reply.status == 200, reply.body
    assert market.purchase(purchase_id)["status"] == "completed"
    return purchase_id, winner


def credit_events(agency: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The agency's credit events as the ledger holds them (a Query of its partition)."""
    from marketplace.repositories.tables import CreditRow

    found = [
        dict(row.document)
        for row in CreditRow.query(agency, consistent_read=True)
        if row.document and "credit_event_id" in row.document
    ]
    return [e for e in found if kind is None or e["kind"] == kind]


def performance_steps(api: Any, ids: dict[str, str], *, owner_id: str) -> list[tuple[str, Any]]:
    """The scenario's steps after the award (tests/support/scenario.py), on the purchase the purchase
    and contract steps contracted (`ids["random"]`): delivery, a dispute, the delivery again,
    completion by the owner's silence (the task, past the window), both evaluations, the public
    list. The clock is fixed after the scenario's week and restored by the last step."""
    from app import app
    from marketplace.clock import FixedClock, get_clock, parse_iso, use_clock
    from tests.support.schemas import EVENTS_DIR

    owner = api.as_role("owner", owner_id)
    regulator = api.as_role("regulator", "RG-ENV", industries=("environment",))
    clock = FixedClock(datetime(2026, 12, 14, 2, 0, tzinfo=UTC))
    previous = get_clock()
    reported: dict[str, str] = {}

    def path(suffix: str) -> str:
        return f"/purchases/{ids['random']}{suffix}"

    def winner() -> Any:
        return api.as_role("agency", owner.get(path("")).body["result"]["selected_agency"])

    def first_delivery() -> Any:
        use_clock(clock)  # the contract steps signed the purchase's contract earlier
        return winner().post(path("/delivery"), REPORT, headers={"idempotency-key": "delivery-1"})

    def delivery_again() -> Any:
        reply = winner().post(path("/delivery"), {**REPORT, "report_number": "HP-2026-0042-R1"})
        reported["deadline"] = reply.body["completion_deadline"]
        return reply

    def silence() -> Any:
        clock.set(parse_iso(reported["deadline"]) + timedelta(seconds=1))
        event = json.loads(
            (EVENTS_DIR / "functions" / "complete_silent_deliveries.schedule.json").read_text()
        )
        result = app.handler_map["complete_silent_deliveries"](event, None)
        assert result["completed"] == [ids["random"]], result
        return result

    def listed() -> Any:
        try:
            return api.call("GET", path("/evaluations"))
        finally:
            use_clock(previous)

    return [
        ("report_delivery", first_delivery),
        (
            "decide_completion",
            lambda: owner.post(path("/completion"), {"decision": "dispute", "reasons": "缺数据"}),
        ),
        ("report_delivery", delivery_again),
        ("complete_silent_deliveries", silence),
        (
            "evaluate_purchase",
            lambda: owner.post(path("/evaluations"), OWNER_RATINGS, headers={"idempotency-key": "rate-1"}),
        ),
        ("evaluate_purchase", lambda: regulator.post(path("/evaluations"), {"output_quality": 4})),
        ("list_evaluations", listed),
    ]
