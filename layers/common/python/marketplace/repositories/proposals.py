"""Proposals and their scores in the purchase's partition of the `purchases` table.

`PROPOSAL#<agency>`: an agency's sealed submission (the ciphertext from repositories.sealing, the
digest of what it sent, when); put conditioned on its enrollment being `enrolled` and the window
row being open at that instant, so a late or withdrawn agency writes nothing, and counted on the
window row's `enrollment_changes`, so a closing that read the proposals before it landed reads
again. `SCORE#<agency>#<seat>`: one panel seat's scores of one proposal, put conditioned on not
existing and on the purchase being in `scoring`, so a second score is refused and none lands after
the result.
"""

from __future__ import annotations

import base64
import random
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from marketplace.domain.proposal_scores import Score
from marketplace.domain.purchases import ENROLLMENT, PURCHASE
from marketplace.errors import Conflict, NotFound, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.purchases import ENROLLMENT_PREFIX, TRANSACTION_ATTEMPTS, WINDOW
from marketplace.repositories.purchases import PURCHASE as PURCHASE_SK
from marketplace.repositories.tables import PurchaseRow

PROPOSAL_PREFIX = "PROPOSAL#"
SCORE_PREFIX = "SCORE#"


@dataclass(frozen=True)
class SealedProposal:
    agency_id: str
    sealed: bytes
    digest: str
    submitted_at: str


def _proposal_key(agency_id: str) -> str:
    return PROPOSAL_PREFIX + agency_id


def _score_key(agency_id: str, seat: str) -> str:
    return f"{SCORE_PREFIX}{agency_id}#{seat}"


def _sealed_from(document: dict[str, Any]) -> SealedProposal:
    return SealedProposal(
        agency_id=document["agency_id"],
        sealed=base64.b64decode(document["sealed"]),
        digest=document["digest"],
        submitted_at=document["submitted_at"],
    )


def own(purchase_id: str, agency_id: str) -> SealedProposal | None:
    """The agency's current sealed submission (its digest and time are all it tells anyone)."""
    try:
        with translated():
            row = PurchaseRow.get(purchase_id, _proposal_key(agency_id), consistent_read=True)
    except NotFound:
        return None
    return _sealed_from(dict(row.document))


def put_sealed(purchase_id: str, proposal: SealedProposal, now: str, events: list[DomainEvent]) -> None:
    """Store (or replace) the sealed proposal if the agency's enrollment is `enrolled` and the window
    is open at `now` (the same condition an enrollment is written under)."""
    document = {
        "agency_id": proposal.agency_id,
        "sealed": base64.b64encode(proposal.sealed).decode("ascii"),
        "digest": proposal.digest,
        "submitted_at": proposal.submitted_at,
    }
    enrolled = ENROLLMENT.sources("withdraw")  # the state an enrollment that counts is in
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(
                PurchaseRow,
                purchase_id,
                ENROLLMENT_PREFIX + proposal.agency_id,
                condition=PurchaseRow.status.is_in(*(s.value for s in enrolled)),
            )
            tx.save(
                PurchaseRow(purchase_id=purchase_id, sk=_proposal_key(proposal.agency_id), document=document)
            )
            # Counted as an enrollment change: closing saves only if none landed since it read the
            # enrollments and these rows, so a proposal committing meanwhile makes it read again.
            tx.update(
                PurchaseRow(purchase_id, WINDOW),
                actions=[PurchaseRow.enrollment_changes.add(1)],
                condition=PurchaseRow.open_until > now,
            )
            event_bus.stage(tx, events)
    except TransactWriteError as exc:
        # PynamoDB's order: the enrollment check, the proposal put, the window row, the outbox.
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(
                f"agency {proposal.agency_id} is not enrolled in purchase {purchase_id}",
                reason="not_enrolled",
            ) from exc
        if "ConditionalCheckFailed" in reasons:
            raise Conflict(
                "the proposal deadline (the enrollment deadline) has passed", reason="late"
            ) from exc
        with translated():
            raise


def sealed(purchase_id: str) -> list[SealedProposal]:
    """Every sealed proposal of the purchase (at most one per enrollee): read at closing only."""
    with translated():
        rows = PurchaseRow.query(
            purchase_id, PurchaseRow.sk.startswith(PROPOSAL_PREFIX), consistent_read=True
        )
        return [_sealed_from(dict(r.document)) for r in rows]


def add_score(score: Score, events: list[DomainEvent]) -> None:
    """One seat's scores of one proposal, once, while the purchase is being scored. Scores of the
    same purchase all check its row: DynamoDB may cancel one that meets another in flight
    (TransactionConflict); it is simply tried again, as an enrollment is."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            _add_score_once(score, events)
            return
        except ServiceUnavailable:
            if attempt == TRANSACTION_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, not a secret


def _add_score_once(score: Score, events: list[DomainEvent]) -> None:
    scoring = PURCHASE.sources("rank_proposals")  # scores land while the ranking is still ahead
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(
                PurchaseRow,
                score.purchase_id,
                PURCHASE_SK,
                condition=PurchaseRow.status.is_in(*(s.value for s in scoring)),
            )
            tx.save(
                PurchaseRow(
                    purchase_id=score.purchase_id,
                    sk=_score_key(score.agency_id, score.seat),
                    document=score.model_dump(mode="json"),
                ),
                condition=PurchaseRow.sk.does_not_exist(),
            )
            event_bus.stage(tx, events)
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict("the proposals are no longer being scored", reason="not_scoring") from exc
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise Conflict(
                f"{score.seat} has already scored the proposal of {score.agency_id}", reason="duplicate"
            ) from exc
        with translated():
            raise


def score_of(purchase_id: str, agency_id: str, seat: str) -> Score | None:
    """One seat's score of one proposal, if it is in."""
    try:
        with translated():
            row = PurchaseRow.get(purchase_id, _score_key(agency_id, seat), consistent_read=True)
    except NotFound:
        return None
    return Score.model_validate(row.document)


def scores(purchase_id: str) -> list[Score]:
    """Every score of the purchase: panel seats x candidates rows (a panel has at most 10 seats)."""
    with translated():
        rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(SCORE_PREFIX), consistent_read=True)
        return [Score.model_validate(r.document) for r in rows]
