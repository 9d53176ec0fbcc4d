"""After the award: a purchase driven through the existing fixtures to `confirmed` and then to
`contracted`, for the delivery and evaluation tests; and the credit events the ledger holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marketplace.clock import stamp, utcnow
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
    _sign(purchase_id)
    assert market.purchase(purchase_id)["status"] == "contracted"
    return purchase_id, winner


def _sign(purchase_id: str) -> None:
    """The purchase's table's confirmed → contracted row, applied through the purchases repository
    (the contract routes belong to another change; this stands in for their signature)."""
    from marketplace.domain.lifecycle import Transition
    from marketplace.domain.purchases import PURCHASE, PurchaseStatus
    from marketplace.repositories import purchases as repo

    row = next(
        (
            r
            for r in PURCHASE.rows
            if r.source == PurchaseStatus.confirmed and r.target == PurchaseStatus.contracted
        ),
        None,
    )
    if row is None:  # until the contract's rows are in the table
        row = Transition(
            PurchaseStatus.confirmed, "sign_contract", ("agency",), PurchaseStatus.contracted, PURCHASE
        )
    purchase = repo.get(purchase_id, consistent=True)
    now = stamp(utcnow())
    changed = row.apply(purchase, contracted_at=now, updated_at=now)
    repo.save(changed, [], conflict="changed meanwhile", transition=row)


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
