"""Consortium memberships (domain/consortium.py) in the `purchases` table: one `MEMBER#<agency>`
row per (purchase, member agency), its `status` and `lead_id` top-level so writes can be
conditioned on them. The lead's enrollment puts the rows (repositories.purchases.enroll) only where
no other consortium holds the member and it has not enrolled itself; the purchase's window row
keeps the set of agencies consortia hold (`members`), which every enrollment's update of that row
is conditioned on (the agency not among them), a decline or a release removing the member."""

from __future__ import annotations

import random
import time
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from marketplace.domain.consortium import FREE, HOLDING, Membership, MembershipStatus
from marketplace.domain.lifecycle import Transition
from marketplace.errors import Conflict, NotFound, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import PurchaseRow

MEMBER_PREFIX = "MEMBER#"
ATTEMPTS = 4
WINDOW = "PURCHASE#WINDOW"  # repositories.purchases.WINDOW: the decision counts as a window change


def member_key(agency_id: str) -> str:
    return MEMBER_PREFIX + agency_id


def row(membership: Membership) -> PurchaseRow:
    return PurchaseRow(
        purchase_id=membership.purchase_id,
        sk=member_key(membership.agency_id),
        status=membership.status.value,
        lead_id=membership.lead_id,
        document=membership.model_dump(mode="json"),
    )


def _states(states: tuple[MembershipStatus, ...]) -> Any:
    return PurchaseRow.status.is_in(*(s.value for s in states))


def not_held() -> Any:
    """No consortium holds the agency in this purchase: no row, or one declined or released."""
    return PurchaseRow.sk.does_not_exist() | _states(FREE)


def held_by(lead_id: str) -> Any:
    return (PurchaseRow.lead_id == lead_id) & _states(HOLDING)


def memberships(purchase_id: str) -> list[Membership]:
    """Every membership row of a purchase (a Query: a purchase has a few dozen at most)."""
    with translated():
        rows = PurchaseRow.query(purchase_id, PurchaseRow.sk.startswith(MEMBER_PREFIX), consistent_read=True)
        return [Membership.model_validate(r.document) for r in rows]


def get(purchase_id: str, agency_id: str) -> Membership | None:
    try:
        with translated():
            found = PurchaseRow.get(purchase_id, member_key(agency_id), consistent_read=True)
    except NotFound:
        return None
    return Membership.model_validate(found.document)


def release_actions(tx: TransactWrite, released: list[Membership]) -> None:
    """Free the members of a withdrawn lead, each only while this lead still holds it."""
    for membership in released:
        tx.update(
            PurchaseRow(membership.purchase_id, member_key(membership.agency_id)),
            actions=[
                PurchaseRow.status.set(membership.status.value),
                PurchaseRow.document.set(membership.model_dump(mode="json")),
            ],
            condition=held_by(membership.lead_id),
        )


def decide(
    decided: Membership, now: str, events: list[DomainEvent], *, transition: Transition[MembershipStatus]
) -> None:
    """Record a member's answer while the lead still holds it in the state the answer starts from,
    and while enrollment is open at `now`; the window's change count moves, so a closing that read
    the memberships before this landed is refused and reads again. Enrollments update the same
    window row: one met in flight (TransactionConflict) is simply tried again."""
    for attempt in range(ATTEMPTS):
        try:
            _decide_once(decided, now, events, transition)
            return
        except ServiceUnavailable:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, not a secret


def _decide_once(
    decided: Membership, now: str, events: list[DomainEvent], transition: Transition[MembershipStatus]
) -> None:
    try:
        with TransactWrite(connection=connection()) as tx:
            event_bus.stage(tx, events)  # puts: sent before the updates
            tx.update(
                PurchaseRow(decided.purchase_id, member_key(decided.agency_id)),
                actions=[
                    PurchaseRow.status.set(decided.status.value),
                    PurchaseRow.document.set(decided.model_dump(mode="json")),
                ],
                condition=(PurchaseRow.lead_id == decided.lead_id)
                & (PurchaseRow.status == transition.source.value),
            )
            window_actions: list[Any] = [PurchaseRow.enrollment_changes.add(1)]
            if decided.status in FREE:  # a decline frees the member in the purchase
                window_actions.append(PurchaseRow.members.delete({decided.agency_id}))
            tx.update(
                PurchaseRow(decided.purchase_id, WINDOW),
                actions=window_actions,
                condition=PurchaseRow.open_until > now,
            )
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
        if len(events) in failed:
            raise Conflict(
                f"agency {decided.agency_id}'s membership changed meanwhile; read it again",
                agency_id=decided.agency_id,
            ) from exc
        if failed:
            raise Conflict("enrollment is closed: the deadline has passed", reason="late") from exc
        with translated():
            raise
