"""Sealed quotes (price bidding, domain/bidding.py) in the purchases table.

A quote is its own row, `QUOTE#<round, 2 digits>#<agency>`, holding the ciphertext (repositories/
sealing.py) and the receipt, never the figure: a round's quotes are one Query (sk begins_with
`QUOTE#<round>#`), an agency's own quotes one BatchGetItem. A quote is one read of everything its
checks need (the purchase, its window row, the agency's enrollment, its quote rows) and one
transaction whose conditions hold the rules: the enrollment is `enrolled`, and the round is open at
`now` on the window row (round one: the enrollment window's `open_until`; a further round:
`bid_round` and `round_open_until`). Each quote also counts as a change of the window
(`enrollment_changes`), so a round's closing, conditioned on the changes it read, never misses a
quote that committed while it was opening the others.
"""

from __future__ import annotations

import base64
import random
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from marketplace.domain.bidding import MAX_ROUNDS
from marketplace.domain.purchases import Enrollment, EnrollmentStatus, Purchase
from marketplace.errors import Conflict, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.purchases import (
    ENROLLMENT_PREFIX,
    PURCHASE,
    TRANSACTION_ATTEMPTS,
    WINDOW,
    _batch_get,
    _from_row,
    _key,
    _window_key,
)
from marketplace.repositories.tables import PurchaseRow

QUOTE_PREFIX = "QUOTE#"


def quote_key(round_number: int, agency_id: str) -> str:
    return f"{QUOTE_PREFIX}{round_number:02d}#{agency_id}"


@dataclass(frozen=True)
class SealedQuote:
    """A quote as stored: the receipt's fields and the ciphertext."""

    purchase_id: str
    agency_id: str
    round: int
    digest: str
    submitted_at: str
    sealed: bytes
    by: str
    idempotency_key: str | None = None
    replaces: bool = False

    def document(self) -> dict[str, Any]:
        return {
            "purchase_id": self.purchase_id,
            "agency_id": self.agency_id,
            "round": self.round,
            "digest": self.digest,
            "submitted_at": self.submitted_at,
            "sealed": base64.b64encode(self.sealed).decode(),
            "by": self.by,
            "idempotency_key": self.idempotency_key,
            "replaces": self.replaces,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> SealedQuote:
        return cls(
            purchase_id=document["purchase_id"],
            agency_id=document["agency_id"],
            round=int(document["round"]),
            digest=document["digest"],
            submitted_at=document["submitted_at"],
            sealed=base64.b64decode(document["sealed"]),
            by=document.get("by", ""),
            idempotency_key=document.get("idempotency_key"),
            replaces=bool(document.get("replaces")),
        )


@dataclass(frozen=True)
class QuoteContext:
    purchase: Purchase
    enrollment: Enrollment | None
    quotes: dict[int, SealedQuote]  # the agency's own, by round


def quote_context(purchase_id: str, agency_id: str) -> QuoteContext:
    """The purchase (with its window row), the agency's enrollment and its quotes of every round:
    one BatchGetItem, strongly consistent."""
    keys = [
        _key(purchase_id, PURCHASE),
        _key(purchase_id, WINDOW),
        _key(purchase_id, ENROLLMENT_PREFIX + agency_id),
        *(_key(purchase_id, quote_key(n, agency_id)) for n in range(1, MAX_ROUNDS + 1)),
    ]
    table = PurchaseRow.Meta.table_name
    items = _batch_get({table: keys}, consistent=True)[table]
    rows = {r.sk: r for r in (PurchaseRow.from_raw_data(i) for i in items)}
    head = rows.get(PURCHASE)
    if head is None:
        from marketplace.errors import NotFound

        raise NotFound(f"purchase {purchase_id} not found")
    enrollment_row = rows.get(ENROLLMENT_PREFIX + agency_id)
    quotes = {}
    for sk, row in rows.items():
        if sk.startswith(QUOTE_PREFIX):
            quote = SealedQuote.from_document(dict(row.document))
            quotes[quote.round] = quote
    return QuoteContext(
        purchase=_from_row(head, rows.get(WINDOW)),
        enrollment=Enrollment.model_validate(enrollment_row.document) if enrollment_row else None,
        quotes=quotes,
    )


def put(quote: SealedQuote, now: str, events: list[DomainEvent]) -> None:
    """Store (or replace) the agency's quote of its round, if the agency is enrolled and the round is
    open at `now`. Quotes of one purchase all count on its window row: DynamoDB cancels one that
    meets another in flight (TransactionConflict), and it is tried again."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            _put_once(quote, now, events)
            return
        except ServiceUnavailable:
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, not a secret


def _round_open(round_number: int, now: str) -> Any:
    if round_number == 1:
        return PurchaseRow.open_until > now
    return (PurchaseRow.bid_round == round_number) & (PurchaseRow.round_open_until > now)


def _put_once(quote: SealedQuote, now: str, events: list[DomainEvent]) -> None:
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(
                PurchaseRow,
                quote.purchase_id,
                ENROLLMENT_PREFIX + quote.agency_id,
                condition=PurchaseRow.status == EnrollmentStatus.enrolled.value,
            )
            tx.save(
                PurchaseRow(
                    purchase_id=quote.purchase_id,
                    sk=quote_key(quote.round, quote.agency_id),
                    document=quote.document(),
                )
            )
            tx.update(
                _window_key(quote.purchase_id),
                actions=[PurchaseRow.enrollment_changes.add(1)],
                condition=_round_open(quote.round, now),
            )
            event_bus.stage(tx, events)
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(
                f"agency {quote.agency_id} is not enrolled in purchase {quote.purchase_id}",
                reason="not_enrolled",
            ) from exc
        if "ConditionalCheckFailed" in reasons:
            raise Conflict(f"round {quote.round} is closed: its deadline has passed", reason="late") from exc
        with translated():
            raise


def round_quotes(purchase_id: str, round_number: int) -> list[SealedQuote]:
    """Every sealed quote of a round (a purchase has at most a few hundred candidates)."""
    prefix = f"{QUOTE_PREFIX}{round_number:02d}#"
    with translated():
        rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(prefix), consistent_read=True)
        return [SealedQuote.from_document(dict(r.document)) for r in rows]


def own_quotes(purchase_id: str, agency_id: str) -> list[SealedQuote]:
    """The agency's own quotes, every round: one BatchGetItem."""
    keys = [_key(purchase_id, quote_key(n, agency_id)) for n in range(1, MAX_ROUNDS + 1)]
    table = PurchaseRow.Meta.table_name
    items = _batch_get({table: keys}, consistent=True)[table]
    found = [SealedQuote.from_document(dict(PurchaseRow.from_raw_data(i).document)) for i in items]
    return sorted(found, key=lambda q: q.round)
