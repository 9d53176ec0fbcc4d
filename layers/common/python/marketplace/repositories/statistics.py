"""The statistics table (tables.StatisticsRow): aggregate rows kept by atomic ADDs, each purchase's
folded state, and the append-only ledger of folded events, which is also what applies an event once.

Keys: `AGG#<group_by>` / `<month>#<value>` (one group's counters for one month of publication: a
query for a range of months is one Query of one partition); `PURCHASE#<id>` / `STATE`;
`LEDGER#<month of occurrence>` / `<occurred_at>#<event id>`; `LEDGER` / `MONTHS` (the ledger's
months, a string set)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from marketplace.domain.statistics import COUNTERS, GROUP_BYS, Aggregate, Counters, LedgerEntry
from marketplace.errors import Conflict
from marketplace.repositories.base import connection, translated
from marketplace.repositories.tables import StatisticsRow

AGG = "AGG#"
STATE = "STATE"
LEDGER = "LEDGER"
MONTHS = "MONTHS"
HIGHEST = "\uffff"


class StaleState(Exception):
    """The purchase's state changed since it was read (another event of it was folded meanwhile)."""


@dataclass(frozen=True)
class StoredState:
    document: dict[str, Any] | None
    revision: int


def _counter(name: str) -> Any:
    return getattr(StatisticsRow, name)


def purchase_state(purchase_id: str) -> StoredState:
    """The purchase's state as last folded (strongly consistent: its revision conditions the write)."""
    with translated():
        try:
            row = StatisticsRow.get(f"PURCHASE#{purchase_id}", STATE, consistent_read=True)
        except DoesNotExist:
            return StoredState(None, 0)
    return StoredState(dict(row.document or {}), int(row.revision or 0))


def _ledger_key(entry: LedgerEntry) -> tuple[str, str]:
    return f"{LEDGER}#{entry.occurred_at[:7]}", f"{entry.occurred_at}#{entry.event_id}"


def apply(
    entry: LedgerEntry,
    read: StoredState,
    state_document: dict[str, Any],
    add: Mapping[tuple[str, str], Counters],
) -> bool:
    """In one transaction: append the entry to the ledger (only if absent: a redelivered event
    writes nothing), rewrite the purchase's state conditioned on the revision read, and ADD each
    group's counters. False when the event was folded already; raises
    StaleState when the purchase's state moved on (the caller reads it again and refolds)."""
    pk, sk = _ledger_key(entry)
    ledger = StatisticsRow(pk=pk, sk=sk, document=entry.as_dict())
    state = StatisticsRow(
        pk=f"PURCHASE#{entry.purchase_id}", sk=STATE, document=state_document, revision=read.revision + 1
    )
    state_read = (
        StatisticsRow.pk.does_not_exist() if read.revision == 0 else StatisticsRow.revision == read.revision
    )
    # The ledger's month first, outside the transaction: adding a month already in the set changes
    # nothing, a month listed with no entry yet is harmless, and every event writing this one item
    # in its transaction would make them all conflict with each other.
    with translated():
        StatisticsRow(pk=LEDGER, sk=MONTHS).update(actions=[StatisticsRow.months.add({pk.split("#", 1)[1]})])
    try:
        with translated(), TransactWrite(connection=connection()) as tx:
            tx.save(ledger, condition=StatisticsRow.pk.does_not_exist())
            tx.save(state, condition=state_read)
            for (group_by, value), counters in add.items():
                if not counters:
                    continue
                actions: list[Any] = [
                    StatisticsRow.value.set(value),
                    StatisticsRow.month.set(entry.dimensions.month),
                ]
                actions += [_counter(name).add(n) for name, n in sorted(counters.items())]
                tx.update(
                    StatisticsRow(pk=f"{AGG}{group_by}", sk=f"{entry.dimensions.month}#{value}"),
                    actions=actions,
                )
    except Conflict:
        if _in_ledger(pk, sk):
            return False
        raise StaleState(entry.purchase_id) from None
    return True


def _in_ledger(pk: str, sk: str) -> bool:
    with translated():
        try:
            StatisticsRow.get(pk, sk, consistent_read=True, attributes_to_get=["pk"])
        except DoesNotExist:
            return False
    return True


def _aggregate(row: StatisticsRow, group_by: str) -> Aggregate:
    counters = {name: int(v) for name in COUNTERS if (v := getattr(row, name, None))}
    return Aggregate(group_by=group_by, value=str(row.value), month=str(row.month), counters=counters)


def aggregates(group_by: str, start: str, end: str) -> list[Aggregate]:
    """One group_by's rows for the months start..end (YYYY-MM, both included): one Query."""
    with translated():
        rows = StatisticsRow.query(
            f"{AGG}{group_by}", StatisticsRow.sk.between(f"{start}#", f"{end}#{HIGHEST}")
        )
        return [_aggregate(r, group_by) for r in rows]


def all_aggregates() -> dict[tuple[str, str, str], Counters]:
    """Every aggregate row, keyed (group_by, value, month): a Query per group_by."""
    found: dict[tuple[str, str, str], Counters] = {}
    with translated():
        for group_by in GROUP_BYS:
            for row in StatisticsRow.query(f"{AGG}{group_by}", consistent_read=True):
                found[(group_by, str(row.value), str(row.month))] = _aggregate(row, group_by).counters
    return found


def ledger() -> Iterator[LedgerEntry]:
    """Every entry of the ledger, month by month in order of occurrence."""
    with translated():
        try:
            months = sorted(StatisticsRow.get(LEDGER, MONTHS, consistent_read=True).months or ())
        except DoesNotExist:
            return
        for month in months:
            for row in StatisticsRow.query(f"{LEDGER}#{month}", consistent_read=True):
                yield LedgerEntry.from_dict(row.document)


def replace_aggregates(computed: Mapping[tuple[str, str, str], Counters]) -> int:
    """Make the aggregate rows what `computed` says: each row written whole, and rows it does not
    hold deleted. Returns how many rows were written."""
    stored = all_aggregates()
    with translated(), StatisticsRow.batch_write() as batch:
        for key in stored.keys() - computed.keys():
            group_by, value, month = key
            batch.delete(StatisticsRow(pk=f"{AGG}{group_by}", sk=f"{month}#{value}"))
        for (group_by, value, month), counters in computed.items():
            row = StatisticsRow(pk=f"{AGG}{group_by}", sk=f"{month}#{value}", value=value, month=month)
            for name, n in counters.items():
                setattr(row, name, n)
            batch.save(row)
    return len(computed)
