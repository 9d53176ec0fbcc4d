"""Deliveries and evaluations, as rows of the purchase's partition in the `purchases` table:
`DELIVERY` (the delivery, its state and, while the owner's window runs, its place in the `by-due`
index under `COMPLETION`) and `EVALUATION#owner`, `EVALUATION#regulator` (each put once).

Each is written in one transaction with the purchase's change (conditioned on the revision read
and the state its lifecycle row starts from) and, where the use case records one, the credit event
(`repositories.credit.staged`): all of it or none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.credit import CreditEvent
from marketplace.domain.lifecycle import Transition
from marketplace.domain.performance import Delivery, DeliveryStatus, Evaluation
from marketplace.domain.purchases import Purchase
from marketplace.errors import NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import purchases as purchases_repo
from marketplace.repositories.base import translated
from marketplace.repositories.tables import PurchaseRow

DELIVERY_KEY = "DELIVERY"
EVALUATION_PREFIX = "EVALUATION#"
# The `by-due` index's partition for deliveries awaiting the owner's decision (the purchases' own
# timed steps are under `DUE`): the silence task queries it, never scans.
COMPLETION_DUE = "COMPLETION"


def evaluation_key(rater: str) -> str:
    return EVALUATION_PREFIX + rater


def delivery(purchase_id: str) -> Delivery | None:
    try:
        with translated():
            row = PurchaseRow.get(purchase_id, DELIVERY_KEY, consistent_read=True)
    except NotFound:
        return None
    found = Delivery.model_validate(row.document)
    found.revision = int(row.revision or 0)
    return found


def evaluations(purchase_id: str, *, consistent: bool = False) -> list[Evaluation]:
    """The purchase's evaluations (at most two): one Query of its `EVALUATION#` rows."""
    with translated():
        rows = PurchaseRow.query(
            purchase_id, PurchaseRow.sk.startswith(EVALUATION_PREFIX), consistent_read=consistent
        )
        return [Evaluation.model_validate(r.document) for r in rows]


def _delivery_row(delivery: Delivery) -> PurchaseRow:
    row = PurchaseRow(
        purchase_id=delivery.purchase_id,
        sk=DELIVERY_KEY,
        status=delivery.status.value,
        revision=delivery.revision + 1,
        document=delivery.model_dump(mode="json"),
    )
    if delivery.status == DeliveryStatus.reported:  # the owner's window runs: the silence task finds it
        row.due = COMPLETION_DUE
        row.due_at = delivery.completion_deadline
    return row


def _stagers(*stagers: Callable[[TransactWrite], None] | None) -> Callable[[TransactWrite], None]:
    def stage(tx: TransactWrite) -> None:
        for stager in stagers:
            if stager is not None:
                stager(tx)

    return stage


def save_delivery(
    purchase: Purchase,
    delivery: Delivery,
    events: list[DomainEvent],
    *,
    transition: Transition[Any],
    delivery_transition: Transition[DeliveryStatus] | None,
    credit_event: CreditEvent | None = None,
) -> None:
    """The purchase's change and the delivery together. `delivery_transition` None: the first
    report, which creates the row (none may exist); otherwise the row must still be in the
    transition's from-state at the revision read."""
    if delivery_transition is None:
        condition = PurchaseRow.sk.does_not_exist()
    else:
        condition = (PurchaseRow.status == delivery_transition.source.value) & (
            PurchaseRow.revision == delivery.revision
        )
    row = _delivery_row(delivery)

    def stage_delivery(tx: TransactWrite) -> None:
        tx.save(row, condition=condition)

    purchases_repo.save(
        purchase,
        events,
        conflict=f"purchase {purchase.purchase_id} or its delivery changed meanwhile",
        stage_also=_stagers(stage_delivery, credit_repo.staged(credit_event) if credit_event else None),
        transition=transition,
    )


def save_evaluation(
    purchase: Purchase,
    evaluation: Evaluation,
    events: list[DomainEvent],
    *,
    transition: Transition[Any],
    credit_event: CreditEvent,
) -> None:
    """The evaluation, once per rater (a conditional put), with the purchase's change and the
    credit event."""
    row = PurchaseRow(
        purchase_id=evaluation.purchase_id,
        sk=evaluation_key(evaluation.rater),
        document=evaluation.model_dump(mode="json"),
    )

    def stage_evaluation(tx: TransactWrite) -> None:
        tx.save(row, condition=PurchaseRow.sk.does_not_exist())

    purchases_repo.save(
        purchase,
        events,
        conflict=f"purchase {purchase.purchase_id} changed meanwhile, or the {evaluation.rater} has rated it",
        stage_also=_stagers(stage_evaluation, credit_repo.staged(credit_event)),
        transition=transition,
    )


def completions_due(now: str) -> Iterator[str]:
    """Purchases whose delivery's window for the owner's decision ended by `now`, oldest first: a
    Query of the `by-due` index's `COMPLETION` partition (keys only)."""
    with translated():
        for row in PurchaseRow.by_due.query(COMPLETION_DUE, PurchaseRow.due_at <= now):
            if row.sk == DELIVERY_KEY:
                yield row.purchase_id
