"""Challenges (质疑) in their purchase's partition of the `purchases` table: `CHALLENGE#<id>` rows.

The challenge id carries the purchase id (domain/challenges.py), so a challenge is one GetItem and
a purchase's challenges one Query of its partition. A challenge waiting for something timed (the
owner's answer, the challenger's complaint) is on the sparse `by-due` index under its own hash key
`CHALLENGE`, apart from the purchases' `DUE`: the sweeper Queries it, never Scans.

Every change is a write conditioned on the challenge's state (its lifecycle row's from-state), in
one transaction with whatever the change does to the purchase and the credit ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.challenges import Challenge, ChallengeStatus, due_at, purchase_of
from marketplace.domain.lifecycle import Transition
from marketplace.domain.purchases import Enrollment
from marketplace.errors import NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.purchases import ENROLLMENT_PREFIX, WINDOW
from marketplace.repositories.tables import PurchaseRow

PREFIX = "CHALLENGE#"
DUE = "CHALLENGE"  # the by-due index's hash key for timed challenges (purchases use `DUE`)
COMPLAINTS = "COMPLAINT#"  # + industry: complaints waiting for a decision, oldest first

Stager = Callable[[TransactWrite], None]


def _key(challenge_id: str) -> str:
    return PREFIX + challenge_id


def _complaints(industry: str) -> str:
    return COMPLAINTS + industry


def _index_entry(challenge: Challenge) -> tuple[str, str] | None:
    """The challenge's place on the sparse `by-due` index: timed (hash `CHALLENGE`, its deadline)
    for the sweeper, or a complaint waiting for its industry's regulators (hash
    `COMPLAINT#<industry>`, when it was filed); none once nothing waits."""
    due = due_at(challenge)
    if due is not None:
        return DUE, due
    if challenge.status == ChallengeStatus.complained and challenge.complaint is not None:
        return _complaints(challenge.industry), challenge.complaint.at
    return None


def _row(challenge: Challenge) -> PurchaseRow:
    row = PurchaseRow(
        purchase_id=challenge.purchase_id,
        sk=_key(challenge.challenge_id),
        status=challenge.status.value,
        document=challenge.model_dump(mode="json"),
    )
    entry = _index_entry(challenge)
    if entry is not None:
        row.due, row.due_at = entry
    return row


def add(challenge: Challenge, events: list[DomainEvent]) -> None:
    with (
        translated(conflict=f"challenge {challenge.challenge_id} already exists"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(_row(challenge), condition=PurchaseRow.sk.does_not_exist())
        event_bus.stage(tx, events)


def get(challenge_id: str, *, consistent: bool = True) -> Challenge:
    purchase_id = purchase_of(challenge_id)
    if purchase_id is None:
        raise NotFound(f"challenge {challenge_id} not found")
    with translated(missing=f"challenge {challenge_id} not found"):
        row = PurchaseRow.get(purchase_id, _key(challenge_id), consistent_read=consistent)
    return Challenge.model_validate(row.document)


def of_purchase(purchase_id: str) -> list[Challenge]:
    """Every challenge of a purchase, oldest id first: one Query of the partition's `CHALLENGE#` rows."""
    with translated():
        rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(PREFIX), consistent_read=True)
        challenges = [Challenge.model_validate(r.document) for r in rows]
    return sorted(challenges, key=lambda c: (c.filed_at, c.challenge_id))


def staged(challenge: Challenge, transition: Transition[Any]) -> Stager:
    """The challenge's new state, conditioned on the state its lifecycle row starts from, for a
    transaction that may also change the purchase (and the credit ledger)."""
    actions: list[Any] = [
        PurchaseRow.status.set(challenge.status.value),
        PurchaseRow.document.set(challenge.model_dump(mode="json")),
    ]
    entry = _index_entry(challenge)
    if entry is None:
        actions += [PurchaseRow.due.remove(), PurchaseRow.due_at.remove()]
    else:
        actions += [PurchaseRow.due.set(entry[0]), PurchaseRow.due_at.set(entry[1])]

    def stage(tx: TransactWrite) -> None:
        tx.update(
            PurchaseRow(challenge.purchase_id, _key(challenge.challenge_id)),
            actions=actions,
            condition=PurchaseRow.status == transition.source.value,
        )

    return stage


def save(
    challenge: Challenge,
    events: list[DomainEvent],
    *,
    transition: Transition[Any],
    also: Sequence[Stager] | None = None,
) -> None:
    """The challenge alone (and `also`, other writes of the same change): a racer that moved the
    challenge first makes this a Conflict, and nothing is written."""
    with (
        translated(conflict=f"challenge {challenge.challenge_id} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        staged(challenge, transition)(tx)
        for stage in also or []:
            stage(tx)
        event_bus.stage(tx, events)


def together(*stagers: Stager | None) -> Stager:
    """Several stagers as one (the purchases repository takes one `stage_also`)."""

    def stage(tx: TransactWrite) -> None:
        for stager in stagers:
            if stager is not None:
                stager(tx)

    return stage


def due_by(now: str) -> Iterator[Challenge]:
    """Challenges whose answer or complaint deadline has passed at `now`, oldest first: the
    sweeper's work (the index holds keys only; each challenge is read as it is now)."""
    with translated():
        keys = [(row.purchase_id, row.sk) for row in PurchaseRow.by_due.query(DUE, PurchaseRow.due_at < now)]
    for purchase_id, sk in keys:
        with translated():
            try:
                row = PurchaseRow.get(purchase_id, sk, consistent_read=True)
            except PurchaseRow.DoesNotExist:
                continue
        yield Challenge.model_validate(row.document)


def window_shut(purchase_id: str) -> Stager:
    """A suspension shuts the enrollment window: the window row's deadline goes, so an enrollment
    in flight (conditioned on it) cannot land once the suspension commits; so does a further bidding
    round's (`bid_round`, `round_open_until`), so a quote in flight cannot either. Resuming sets them
    again (repositories.purchases.save does for a purchase open for enrollment, or bidding)."""

    def stage(tx: TransactWrite) -> None:
        tx.update(
            PurchaseRow(purchase_id, WINDOW),
            actions=[
                PurchaseRow.open_until.remove(),
                PurchaseRow.bid_round.remove(),
                PurchaseRow.round_open_until.remove(),
            ],
        )

    return stage


def enrollment(purchase_id: str, agency_id: str) -> Enrollment | None:
    """The agency's enrollment in the purchase, if any: one GetItem."""
    try:
        with translated():
            row = PurchaseRow.get(purchase_id, ENROLLMENT_PREFIX + agency_id, consistent_read=True)
    except NotFound:
        return None
    return Enrollment.model_validate(row.document)


def complaints(industry: str) -> list[Challenge]:
    """The complaints of an industry waiting for a decision, oldest first: one Query of the index
    (keys only), then one BatchGetItem of the rows."""
    with translated():
        keys = [(row.purchase_id, row.sk) for row in PurchaseRow.by_due.query(_complaints(industry))]
        found = {(r.purchase_id, r.sk): r for r in PurchaseRow.batch_get(keys)} if keys else {}
    return [Challenge.model_validate(found[k].document) for k in keys if k in found]
