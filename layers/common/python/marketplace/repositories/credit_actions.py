"""What credit actions write to the `credit` table beside the ledger (repositories.credit): every
write here is a PutItem conditioned on the row being new, so the table stays append-only.

Rows:
- `guard#<credit event id>` / `GUARD`: an event recorded by a regulator, an import or a revocation,
  written in the same transaction as the event: it makes the event once (an import sent twice, two
  requests at once) and says which agency it is about.
- `APPEAL#<event id>` (the agency's appeal) and `APPEAL#<event id>#DECISION` (the admin's decision),
  in the agency's partition: the credit profile's one Query reads them with the ledger.
- `appeal#<event id>` / `GUARD`: one appeal per event, and which agency's partition holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.credit import CreditEvent, CreditStanding
from marketplace.domain.credit_appeals import Appeal
from marketplace.errors import Conflict, ServiceUnavailable
from marketplace.events import DomainEvent
from marketplace.repositories import credit as credit_repo
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import CreditRow

GUARD = "GUARD"
APPEAL = "APPEAL#"
DECIDED = "#DECISION"
STANDING = "STANDING"
ATTEMPTS = 5


def _event_guard(credit_event_id: str) -> str:
    return f"guard#{credit_event_id}"


def _appeal_guard(credit_event_id: str) -> str:
    return f"appeal#{credit_event_id}"


def _new() -> Any:
    return CreditRow.sk.does_not_exist()


def standing(agency_id: str) -> CreditStanding:
    """The agency's standing as just written (a consistent read): the blacklist follows it."""
    with translated():
        try:
            row = CreditRow.get(agency_id, STANDING, consistent_read=True)
        except CreditRow.DoesNotExist:
            return CreditStanding(agency_id=agency_id)
    return CreditStanding.model_validate(row.document)


def recorded_before(credit_event_id: str) -> dict[str, Any] | None:
    """What the guard of an event recorded through one says (its agency, the regulator that
    recorded it), or None if it never was."""
    with translated():
        try:
            row = CreditRow.get(_event_guard(credit_event_id), GUARD, consistent_read=True)
        except CreditRow.DoesNotExist:
            return None
    return dict(row.document or {})


def record_once(
    credit_event: CreditEvent, events: list[DomainEvent], *, recorded_by: str | None = None
) -> bool:
    """Append the event (the ledger and the standing, repositories.credit.staged) with its guard and
    its domain events, in one transaction. False, and nothing written, when the event was recorded
    before; retried when the standing changed meanwhile."""
    guard = CreditRow(
        agency_id=_event_guard(credit_event.credit_event_id),
        sk=GUARD,
        document={
            "agency_id": credit_event.agency_id,
            "recorded_at": credit_event.recorded_at,
            "regulator_id": recorded_by,
        },
    )
    for attempt in range(ATTEMPTS):
        if recorded_before(credit_event.credit_event_id) is not None:
            return False
        stage = credit_repo.staged(credit_event)
        if not stage.recording:
            return False  # in the ledger already
        try:
            with (
                translated(conflict=f"credit of {credit_event.agency_id} changed meanwhile"),
                TransactWrite(connection=connection()) as tx,
            ):
                tx.save(guard, condition=_new())
                stage(tx)
                event_bus.stage(tx, events)
            return True
        except Conflict:
            if attempt == ATTEMPTS - 1:
                if recorded_before(credit_event.credit_event_id) is not None:
                    return False
                raise ServiceUnavailable(
                    "the agency's credit is changing under many writers; retry shortly", retry_after=1
                ) from None
    return False  # pragma: no cover - the loop returns or raises


def find_event(agency_id: str, credit_event_id: str) -> CreditEvent | None:
    """An event of the agency's ledger by its id (the ledger's one Query)."""
    return credit_repo.find_event(agency_id, credit_event_id)


# Appeals.


def _appeal_rows(appeal: Appeal) -> tuple[CreditRow, CreditRow]:
    row = CreditRow(
        agency_id=appeal.agency_id,
        sk=f"{APPEAL}{appeal.credit_event_id}",
        document=appeal.model_dump(mode="json"),
    )
    guard = CreditRow(
        agency_id=_appeal_guard(appeal.credit_event_id), sk=GUARD, document={"agency_id": appeal.agency_id}
    )
    return row, guard


def file_appeal(appeal: Appeal, events: list[DomainEvent]) -> None:
    """The appeal, if the event has none yet (two at once: one is filed, the other is a Conflict)."""
    row, guard = _appeal_rows(appeal)
    conflict = f"event {appeal.credit_event_id} already has an appeal"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(row, condition=_new())
        tx.save(guard, condition=_new())
        event_bus.stage(tx, events)


def appeal_of(credit_event_id: str) -> Appeal | None:
    """The appeal of an event, with its decision if decided."""
    with translated():
        try:
            guard = CreditRow.get(_appeal_guard(credit_event_id), GUARD, consistent_read=True)
        except CreditRow.DoesNotExist:
            return None
        agency_id = str((guard.document or {}).get("agency_id", ""))
        rows = list(
            CreditRow.query(
                agency_id, CreditRow.sk.startswith(f"{APPEAL}{credit_event_id}"), consistent_read=True
            )
        )
    found = _appeals(rows)
    return found[0] if found else None


def appeals(agency_id: str) -> list[Appeal]:
    """Every appeal of the agency, with its decision, oldest first."""
    with translated():
        rows = list(CreditRow.query(agency_id, CreditRow.sk.startswith(APPEAL)))
    return appeals_from(rows)


def appeals_from(rows: list[CreditRow]) -> list[Appeal]:
    """The appeals among rows of an agency's partition (the credit profile's Query reads them all)."""
    return _appeals([r for r in rows if r.sk.startswith(APPEAL)])


def _appeals(rows: list[CreditRow]) -> list[Appeal]:
    filed: dict[str, dict[str, Any]] = {}
    decisions: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.sk.removeprefix(APPEAL)
        if name.endswith(DECIDED):
            decisions[name.removesuffix(DECIDED)] = row.document or {}
        else:
            filed[name] = row.document or {}
    found = [
        Appeal.model_validate({**document, **decisions.get(event_id, {})})
        for event_id, document in filed.items()
    ]
    return sorted(found, key=lambda a: (a.filed_at, a.credit_event_id))


def decide_appeal(
    decided: Appeal,
    events: list[DomainEvent],
    *,
    revocation: Callable[[], Callable[[TransactWrite], None]] | None = None,
) -> None:
    """The decision, if the appeal is still filed (its decision row new), with the revocation event
    when it revokes (`revocation()` stages it, reading the standing afresh on each attempt)."""
    decision = CreditRow(
        agency_id=decided.agency_id,
        sk=f"{APPEAL}{decided.credit_event_id}{DECIDED}",
        document=decided.model_dump(
            mode="json", include={"status", "decision_reasons", "decided_at", "revocation_event_id"}
        ),
    )
    filed = CreditRow(agency_id=decided.agency_id, sk=f"{APPEAL}{decided.credit_event_id}")
    for attempt in range(ATTEMPTS):
        stage = revocation() if revocation is not None else None
        try:
            with (
                translated(conflict=f"the appeal of event {decided.credit_event_id} changed meanwhile"),
                TransactWrite(connection=connection()) as tx,
            ):
                tx.save(decision, condition=_new())
                tx.condition_check(CreditRow, filed.agency_id, filed.sk, condition=CreditRow.sk.exists())
                if stage is not None:
                    stage(tx)
                event_bus.stage(tx, events)
            return
        except Conflict:
            current = appeal_of(decided.credit_event_id)
            if current is None or current.decided_at is not None:
                raise Conflict(f"the appeal of event {decided.credit_event_id} is already decided") from None
            if attempt == ATTEMPTS - 1:
                raise ServiceUnavailable(
                    "the agency's credit is changing under many writers; retry shortly", retry_after=1
                ) from None
