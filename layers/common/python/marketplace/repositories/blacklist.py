"""A blacklisted agency's expulsion from its items (清退), in the `agencies` table: the items marked on
the profile and the offering rows (the directory and the announcements' audience read them), and a
`BLACKLIST` row in the expiry index (bucket `BLACKLIST`, keyed by the end of the period) that the
lifting task Queries when the period ends: never a Scan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.agencies import Agency, AgencyStatus
from marketplace.domain.lifecycle import Transition
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.agencies import PROFILE, offering_rows
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import AgencyRow

BUCKET = "BLACKLIST"
ROW = "BLACKLIST"


@dataclass(frozen=True)
class Due:
    agency_id: str
    until: str
    credit_event_id: str


def _profile_update(
    tx: TransactWrite, agency: Agency, previous: Agency, transition: Transition[AgencyStatus]
) -> None:
    tx.update(
        AgencyRow(agency_id=agency.agency_id, sk=PROFILE),
        actions=[
            AgencyRow.document.set(agency.model_dump(mode="json")),
            AgencyRow.revision.set(previous.revision + 1),
        ],
        condition=(AgencyRow.revision == previous.revision) & (AgencyRow.status == transition.source.value),
    )
    for row in offering_rows(agency):
        tx.save(row)


def save_blacklisted(
    agency_id: str,
    until: str,
    credit_event_id: str,
    reason: str,
    events: list[DomainEvent],
    *,
    agency: Agency | None = None,
    previous: Agency | None = None,
    transition: Transition[AgencyStatus] | None = None,
) -> None:
    """The period's row in the index (or its new end) and, for an agency with items, the items
    marked expelled, unless the profile changed since it was read."""
    conflict = f"agency {agency_id} changed meanwhile; read it again"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        if agency is not None and previous is not None and transition is not None:
            _profile_update(tx, agency, previous, transition)
        tx.save(
            AgencyRow(
                agency_id=agency_id,
                sk=ROW,
                expiry_bucket=BUCKET,
                expires_on=f"{until}#{agency_id}",
                document={"until": until, "credit_event_id": credit_event_id, "reason": reason},
            )
        )
        event_bus.stage(tx, events)


def save_lifted(
    agency_id: str,
    until: str,
    events: list[DomainEvent],
    *,
    agency: Agency | None = None,
    previous: Agency | None = None,
    transition: Transition[AgencyStatus] | None = None,
) -> None:
    """The items restored and the period's row gone, if the row still ends at `until` (a new
    finding meanwhile moved it) and the profile is as read."""
    conflict = f"agency {agency_id} changed meanwhile; the next run will see it"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        if agency is not None and previous is not None and transition is not None:
            _profile_update(tx, agency, previous, transition)
        tx.delete(
            AgencyRow(agency_id=agency_id, sk=ROW),
            condition=AgencyRow.expires_on == f"{until}#{agency_id}",
        )
        event_bus.stage(tx, events)


def period(agency_id: str) -> Due | None:
    """The agency's blacklist period as the index holds it, if any."""
    with translated():
        try:
            row = AgencyRow.get(agency_id, ROW, consistent_read=True)
        except AgencyRow.DoesNotExist:
            return None
    return _due(row)


def due(until: str) -> Iterator[Due]:
    """Blacklist periods ending at or before `until`, every page of the index."""
    with translated():
        for row in AgencyRow.by_expiry.query(BUCKET, AgencyRow.expires_on <= f"{until}#~", page_size=200):
            yield _due(row)


def _due(row: Any) -> Due:
    document = row.document or {}
    return Due(
        agency_id=row.agency_id,
        until=str(document.get("until", "")),
        credit_event_id=str(document.get("credit_event_id", "")),
    )
