"""Red flags (docs/red-flags.md) in the `purchases` table, in partitions of their own:

- `<purchase id>` / `PURCHASE#REDFLAGS`: the purchase's flags (every flag it ever had, raised or
  cleared, with its history), rewritten conditioned on the `revision` read. Its sort key starts with
  `PURCHASE`, so the Query that reads a purchase (repositories.purchases.get) reads its flags too.
- `RFAGENCY#<agency id>` / `PURCHASE#REDFLAGS`: an agency's own flags (R025, R048), the same way.
- `RFEVENT#<event id>` / `APPLIED`: an event the consumer has applied (a redelivery stops there).
- `RFKEY#<key>` / `<instant>#<purchase id>`: the purchase belongs to a cross-purchase set (MK01,
  MK03, MK04, an agency's bids): a put keyed by the purchase, so a repeat adds nothing.
- `RFLIST#<filters>` / `<first raised>#<flag id>`: the public list, one partition per combination of
  the route's filters (`all`, `code=R018`, `code=R018&owner=OW-1`, ...): GET /red-flags is one Query.
  Rows are a projection of the flag rows, each written conditioned on the revision it comes from,
  so an older projection never overwrites a newer one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.red_flags import Flag, listing_keys
from marketplace.errors import BadRequest, Conflict
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, decode_cursor, encode_cursor, translated
from marketplace.repositories.tables import PurchaseRow

FLAGS = "PURCHASE#REDFLAGS"
APPLIED = "APPLIED"
EVENT_PREFIX = "RFEVENT#"
KEY_PREFIX = "RFKEY#"
LIST_PREFIX = "RFLIST#"
AGENCY_PREFIX = "RFAGENCY#"
LIST_KEYS = {"purchase_id", "sk"}


def agency_partition(agency_id: str) -> str:
    return AGENCY_PREFIX + agency_id


@dataclass
class FlagSet:
    """One subject's flags as stored, and the revision they were read at."""

    partition: str
    flags: dict[str, Flag]
    revision: int
    projected: int


def flag_set(partition: str) -> FlagSet:
    with translated():
        rows = list(PurchaseRow.query(partition, PurchaseRow.sk == FLAGS, consistent_read=True))
    return _set_of(partition, rows[0] if rows else None)


def _set_of(partition: str, row: PurchaseRow | None) -> FlagSet:
    if row is None:
        return FlagSet(partition, {}, 0, 0)
    flags = {k: Flag.model_validate(v) for k, v in ((row.document or {}).get("flags") or {}).items()}
    return FlagSet(partition, flags, int(row.revision or 0), int(row.projected or 0))


def flags_row(row: PurchaseRow | None) -> list[Flag]:
    """The flags of a `PURCHASE#REDFLAGS` row the purchase's Query read (none: no row)."""
    if row is None:
        return []
    return sorted(_set_of(row.purchase_id, row).flags.values(), key=lambda f: (f.code, f.flag_id))


def save(old: FlagSet, flags: dict[str, Flag], events: list[DomainEvent]) -> int:
    """Write the subject's flags if nobody did since `old` was read; returns the new revision.
    Raises Conflict when another recomputation wrote first (the caller recomputes)."""
    revision = old.revision + 1
    document = {"flags": {k: v.model_dump(mode="json") for k, v in sorted(flags.items())}}
    unchanged = (
        PurchaseRow.revision == old.revision if old.revision else PurchaseRow.revision.does_not_exist()
    )
    with (
        translated(conflict=f"the flags of {old.partition} changed meanwhile"),
        TransactWrite(connection=connection()) as tx,
    ):
        tx.update(
            PurchaseRow(old.partition, FLAGS),
            actions=[PurchaseRow.document.set(document), PurchaseRow.revision.set(revision)],
            condition=unchanged,
        )
        event_bus.stage(tx, events)
    return revision


def project(partition: str, before: dict[str, Flag], after: dict[str, Flag], revision: int) -> None:
    """Bring the public list in line with the flags of `revision`: each changed flag's rows put
    under every filter it matches, and removed from those it no longer matches. Each write is
    conditioned on the row coming from an older revision, so racing projections converge."""
    for flag_id, flag in after.items():
        old = before.get(flag_id)
        if old == flag:
            continue
        keys = listing_keys(flag)
        stale = set(listing_keys(old)) - set(keys) if old is not None else set()
        sort_key = f"{flag.history[0][0] if flag.history else flag.raised_at}#{flag_id}"
        newer = PurchaseRow.revision.does_not_exist() | (PurchaseRow.revision <= revision)
        document = flag.model_dump(mode="json")
        for key in keys:
            row = PurchaseRow(LIST_PREFIX + key, sort_key, document=document, revision=revision)
            _quietly(lambda r=row, c=newer: r.save(condition=c))
        for key in stale:
            row = PurchaseRow(LIST_PREFIX + key, sort_key)
            _quietly(lambda r=row, c=newer: r.delete(condition=c))
    # Recorded last: a recomputation that finds `projected` behind `revision` (this one stopped
    # half-way) projects every flag again.
    _quietly(
        lambda: PurchaseRow(partition, FLAGS).update(
            actions=[PurchaseRow.projected.set(revision)],
            condition=PurchaseRow.projected.does_not_exist() | (PurchaseRow.projected < revision),
        )
    )


def _quietly(write: Any) -> None:
    """A conditional write that loses to a newer one is done, not failed."""
    try:
        with translated():
            write()
    except Conflict:
        return


def applied(event_id: str) -> bool:
    with translated():
        return PurchaseRow.count(EVENT_PREFIX + event_id, PurchaseRow.sk == APPLIED, consistent_read=True) > 0


def mark_applied(event_id: str, at: str) -> None:
    _quietly(
        lambda: PurchaseRow(EVENT_PREFIX + event_id, APPLIED, created_at=at).save(
            condition=PurchaseRow.sk.does_not_exist()
        )
    )


def add_mark(key: str, at: str, purchase_id: str, document: dict[str, Any] | None = None) -> None:
    """The purchase belongs to the set `key` (since `at`): a put keyed by both, so a repeat changes
    nothing but the document (an agency's bid that became a win)."""
    with translated():
        PurchaseRow(KEY_PREFIX + key, f"{at}#{purchase_id}", document=document or {}).save()


def count_marks(key: str, since: str) -> int:
    with translated():
        return PurchaseRow.count(KEY_PREFIX + key, PurchaseRow.sk >= since, consistent_read=True)


def marks(key: str, since: str) -> list[tuple[str, dict[str, Any]]]:
    """(purchase id, document) of each member of `key` since `since`."""
    with translated():
        rows = PurchaseRow.query(KEY_PREFIX + key, PurchaseRow.sk >= since, consistent_read=True)
        return [(r.sk.split("#", 1)[1], r.document or {}) for r in rows]


def page(key: str, *, limit: int, cursor: str | None) -> tuple[list[Flag], str | None]:
    """A page of the public list under one filter combination, newest first: one Query. One row
    more than the page is read, so the last page carries no cursor."""
    partition = LIST_PREFIX + key
    start = decode_cursor(cursor, LIST_KEYS)
    if start is not None and start["purchase_id"].get("S") != partition:
        raise BadRequest("cursor is not valid; pass back the one a previous page returned")
    with translated():
        rows = list(
            PurchaseRow.query(
                partition,
                scan_index_forward=False,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=start,
            )
        )
    shown = rows[:limit]
    flags = [Flag.model_validate(r.document) for r in shown]
    if len(rows) <= limit:
        return flags, None
    last = shown[-1]
    return flags, encode_cursor({"purchase_id": {"S": last.purchase_id}, "sk": {"S": last.sk}})
