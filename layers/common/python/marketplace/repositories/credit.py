"""The credit ledger in the `credit` table: append-only event rows, and one standing row per agency
rewritten with each event (conditioned on the revision read, so two events never lose one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pynamodb.transactions import TransactWrite

from marketplace.domain.credit import DEFAULT_RULES, CreditEvent, CreditRules, CreditStanding
from marketplace.errors import Conflict
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import CreditRow

STANDING = "STANDING"
ATTEMPTS = 5


def rules_in_force(at: datetime) -> CreditRules:
    """The credit rules in force at `at`. Until an admin loads a version, the shipped defaults."""
    return DEFAULT_RULES


def standings(agency_ids: list[str]) -> dict[str, CreditStanding]:
    """Each agency's standing; one with no credit record has an empty one (the base score)."""
    found = {a: CreditStanding(agency_id=a) for a in agency_ids}
    with translated():
        for row in CreditRow.batch_get([(a, STANDING) for a in agency_ids]):
            found[row.agency_id] = CreditStanding.model_validate(row.document)
    return found


def record(credit_event: CreditEvent, events: list[DomainEvent]) -> None:
    """Append the event and fold it into the standing; retried when another event lands meanwhile."""
    for attempt in range(ATTEMPTS):
        try:
            stager = staged(credit_event)
            with (
                translated(conflict=f"credit of {credit_event.agency_id} changed meanwhile"),
                TransactWrite(connection=connection()) as tx,
            ):
                stager(tx)
                event_bus.stage(tx, events)
            return
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise


def staged(credit_event: CreditEvent) -> Callable[[TransactWrite], None]:
    """What recording the event writes, for a transaction that also changes something else (an
    abandonment changes the purchase and the agency's credit together, or neither). The standing is
    read now; the transaction fails if it changes before the commit."""
    agency_id = credit_event.agency_id
    try:
        row = CreditRow.get(agency_id, STANDING, consistent_read=True)
        standing, revision = CreditStanding.model_validate(row.document), int(row.revision or 0)
    except CreditRow.DoesNotExist:
        standing, revision = CreditStanding(agency_id=agency_id), 0
    standing.events.append(credit_event)
    condition = CreditRow.revision == revision if revision else CreditRow.agency_id.does_not_exist()
    key = f"EVENT#{credit_event.recorded_at}#{credit_event.credit_event_id}"

    def stage(tx: TransactWrite) -> None:
        tx.save(
            CreditRow(agency_id=agency_id, sk=key, document=credit_event.model_dump(mode="json")),
            condition=CreditRow.sk.does_not_exist(),
        )
        tx.save(
            CreditRow(
                agency_id=agency_id,
                sk=STANDING,
                revision=revision + 1,
                document=standing.model_dump(mode="json"),
            ),
            condition=condition,
        )

    return stage
