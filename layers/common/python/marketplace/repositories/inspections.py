"""Random inspections in the `purchases` table (rows, not a table of their own: docs/inspections.md).

- Partition `<inspection id>` (`INS-...`, never a purchase id): `INSPECTION` (the public plan in
  `document`, the secret seed in `seed` until the draw reveals it in the proof, `revision` counting
  the results recorded) and `RESULT#<agency id>` (one per drawn agency, put once).
- The `INSPECTION` row is on the `by-listing` index (hash `INSPECTION`, by creation: the public list)
  and, while planned, on the sparse `by-due` index (hash `INSPECTION`, its draw time): the draw task
  Queries it, never Scans.
- Partition `REGULATOR#<org id>` / `INSPECTORS`: a regulator's staff list.
- The candidates: a Query of the catalogue's `by-listing` index (the industry's active items), then
  one Query of the agencies' `by-item` index per item (the admitted offering rows, not suspended).

Every change of an inspection is a write conditioned on its lifecycle row's from-state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.inspections import Inspection, InspectionResult, Staff
from marketplace.domain.lifecycle import Transition
from marketplace.errors import NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import AgencyRow, CatalogueItemRow, PurchaseRow

ROW = "INSPECTION"
LISTING = "INSPECTION"  # by-listing hash key (purchases use their own)
DUE = "INSPECTION"  # by-due hash key: plans waiting for their draw
RESULT = "RESULT#"
STAFF = "INSPECTORS"
DRAW = "DRAW"
ITEM_LISTING = "ITEM"  # repositories.catalogue.LISTING
ACTIVE = "active"
ADMITTED = "admitted"

Stager = Callable[[TransactWrite], None]


def _staff_key(regulator_id: str) -> str:
    return f"REGULATOR#{regulator_id}"


def _document(inspection: Inspection) -> dict[str, Any]:
    return inspection.model_dump(mode="json", exclude={"results"})


# Staff lists.


def save_staff(staff: Staff) -> None:
    with translated():
        PurchaseRow(
            purchase_id=_staff_key(staff.regulator_id), sk=STAFF, document=staff.model_dump(mode="json")
        ).save()


def staff(regulator_id: str) -> Staff | None:
    try:
        with translated():
            row = PurchaseRow.get(_staff_key(regulator_id), STAFF, consistent_read=True)
    except NotFound:
        return None
    return Staff.model_validate(row.document)


# Candidates.


def industry_items(industry: str) -> list[str]:
    """The active catalogue items of an industry: one Query of the catalogue's listing index."""
    with translated():
        rows = CatalogueItemRow.by_listing.query(ITEM_LISTING)
        return sorted(
            r.code
            for r in rows
            if r.status == ACTIVE and isinstance(r.document, dict) and r.document.get("industry") == industry
        )


def admitted_for(item_codes: list[str]) -> list[str]:
    """Agencies admitted (not suspended, not expelled) offering any of the items, the item not
    suspended for them: one Query of the agencies' by-item index per item."""
    found: set[str] = set()
    with translated():
        for code in item_codes:
            for row in AgencyRow.by_item.query(code, filter_condition=AgencyRow.status == ADMITTED):
                if not (row.document or {}).get("suspended"):
                    found.add(row.agency_id)
    return sorted(found)


# Inspections.


def add(inspection: Inspection, seed: bytes, events: list[DomainEvent]) -> None:
    row = PurchaseRow(
        purchase_id=inspection.inspection_id,
        sk=ROW,
        status=inspection.status.value,
        listing=LISTING,
        published_at=inspection.created_at,
        due=DUE,
        due_at=inspection.draw_at,
        seed=seed.hex(),
        revision=0,
        document=_document(inspection),
    )
    with (
        translated(conflict=f"inspection {inspection.inspection_id} already exists"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(row, condition=PurchaseRow.sk.does_not_exist())
        event_bus.stage(tx, events)


def _is_inspection(inspection_id: str) -> bool:
    return inspection_id.startswith("INS-")


def get(inspection_id: str) -> tuple[Inspection, int]:
    """The inspection with its results (one Query of its partition), and its revision."""
    if not _is_inspection(inspection_id):
        raise NotFound(f"inspection {inspection_id} not found")
    with translated():
        rows = list(PurchaseRow.query(inspection_id, consistent_read=True))
    head = next((r for r in rows if r.sk == ROW), None)
    if head is None:
        raise NotFound(f"inspection {inspection_id} not found")
    results = [InspectionResult.model_validate(r.document) for r in rows if r.sk.startswith(RESULT)]
    inspection = Inspection.model_validate({**head.document, "results": []})
    inspection.results = sorted(results, key=lambda r: r.agency_id)
    return inspection, int(head.revision or 0)


def seed_of(inspection_id: str) -> bytes:
    with translated(missing=f"inspection {inspection_id} not found"):
        row = PurchaseRow.get(inspection_id, ROW, consistent_read=True)
    return bytes.fromhex(row.seed or "")


def proof(inspection_id: str) -> dict[str, Any] | None:
    """The draw's proof (the `DRAW` row), None before the draw."""
    if not _is_inspection(inspection_id):
        raise NotFound(f"inspection {inspection_id} not found")
    try:
        with translated():
            row = PurchaseRow.get(inspection_id, DRAW, consistent_read=True)
    except NotFound:
        return None
    return dict(row.document)


def list_page(*, limit: int, cursor: str | None) -> tuple[list[Inspection], str | None]:
    """Newest first: one Query of the listing index (keys), one BatchGetItem of the rows."""
    rows, next_cursor = query_page(
        PurchaseRow.by_listing,
        LISTING,
        filters=[],
        limit=limit,
        cursor=cursor,
        cursor_keys={"purchase_id", "sk", "listing", "published_at"},
        newest_first=True,
    )
    keys = [(r.purchase_id, r.sk) for r in rows]
    with translated():
        found = {(r.purchase_id, r.sk): r for r in PurchaseRow.batch_get(keys)} if keys else {}
    return [Inspection.model_validate(found[k].document) for k in keys if k in found], next_cursor


def due_by(now: str) -> list[str]:
    """Plans whose draw time has come: one Query of the by-due index (keys only)."""
    with translated():
        return [r.purchase_id for r in PurchaseRow.by_due.query(DUE, PurchaseRow.due_at <= now)]


def save_draw(
    inspection: Inspection,
    proof_document: dict[str, Any],
    transition: Transition[Any],
    events: list[DomainEvent],
) -> None:
    """The draw: the plan leaves the due index, the proof row is put; only from `planned` (a second
    drawer racing gets a Conflict and writes nothing)."""
    with (
        translated(conflict=f"inspection {inspection.inspection_id} is not planned any more"),
        TransactWrite(connection=connection()) as tx,
    ):
        _leave_planned(tx, inspection, transition)
        tx.save(
            PurchaseRow(purchase_id=inspection.inspection_id, sk=DRAW, document=proof_document),
            condition=PurchaseRow.sk.does_not_exist(),
        )
        event_bus.stage(tx, events)


def save_cancel(inspection: Inspection, transition: Transition[Any], events: list[DomainEvent]) -> None:
    with (
        translated(conflict=f"inspection {inspection.inspection_id} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        _leave_planned(tx, inspection, transition)
        event_bus.stage(tx, events)


def save_result(
    inspection: Inspection,
    result: InspectionResult,
    *,
    revision: int,
    transition: Transition[Any],
    events: list[DomainEvent],
    also: Stager | None = None,
) -> None:
    """The result (condition: none yet for the agency) and the inspection's count (condition: the
    state the row starts from and the revision read), with `also` (a credit penalty), at once."""
    with (
        translated(conflict=f"inspection {inspection.inspection_id} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.save(
            PurchaseRow(
                purchase_id=inspection.inspection_id,
                sk=RESULT + result.agency_id,
                document=result.model_dump(mode="json"),
            ),
            condition=PurchaseRow.sk.does_not_exist(),
        )
        tx.update(
            PurchaseRow(inspection.inspection_id, ROW),
            actions=[
                PurchaseRow.status.set(inspection.status.value),
                PurchaseRow.document.set(_document(inspection)),
                PurchaseRow.revision.set(revision + 1),
            ],
            condition=(PurchaseRow.status == transition.source.value) & (PurchaseRow.revision == revision),
        )
        if also is not None:
            also(tx)
        event_bus.stage(tx, events)


def result_of(inspection_id: str, agency_id: str) -> InspectionResult | None:
    try:
        with translated():
            row = PurchaseRow.get(inspection_id, RESULT + agency_id, consistent_read=True)
    except NotFound:
        return None
    return InspectionResult.model_validate(row.document)


def each(ids: list[str]) -> Iterator[tuple[Inspection, int]]:
    for inspection_id in ids:
        try:
            yield get(inspection_id)
        except NotFound:
            continue


def _leave_planned(tx: TransactWrite, inspection: Inspection, transition: Transition[Any]) -> None:
    """The plan's new state and document, out of the due index; only from the state it was read in."""
    tx.update(
        PurchaseRow(inspection.inspection_id, ROW),
        actions=[
            PurchaseRow.status.set(inspection.status.value),
            PurchaseRow.document.set(_document(inspection)),
            PurchaseRow.due.remove(),
            PurchaseRow.due_at.remove(),
        ],
        condition=PurchaseRow.status == transition.source.value,
    )
