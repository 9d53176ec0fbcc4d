"""Owners in the `owners` table, with a guard row per credit code."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.transactions import TransactWrite

from marketplace.domain.owners import Owner
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import OwnerRow

LISTING = "OWNER"


def _guard_key(credit_code: str) -> str:
    return f"credit-code#{credit_code}"


@dataclass(frozen=True)
class OwnerPage:
    owners: list[Owner]
    cursor: str | None


def _row(owner: Owner) -> OwnerRow:
    return OwnerRow(
        owner_id=owner.owner_id,
        listing=LISTING,
        owner_type=owner.owner_type.value,
        search_text=owner.name.lower(),
        search_code=owner.credit_code.lower(),
        document=owner.model_dump(mode="json"),
        version=owner.version,
    )


def add(owner: Owner, events: list[DomainEvent]) -> None:
    """Register; the organisation and its credit code must both be new."""
    conflict = (
        f"organisation {owner.owner_id} is already registered, "
        f"or credit code {owner.credit_code} belongs to another owner"
    )
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(_row(owner), condition=OwnerRow.owner_id.does_not_exist())
        tx.save(
            OwnerRow(owner_id=_guard_key(owner.credit_code), holder=owner.owner_id),
            condition=OwnerRow.owner_id.does_not_exist(),
        )
        event_bus.stage(tx, events)


def replace(owner: Owner, previous: Owner, events: list[DomainEvent]) -> None:
    """Save a changed profile if nobody changed it since `previous`; move the credit-code guard
    when the code changes."""
    conflict = f"owner {owner.owner_id} changed meanwhile, or credit code {owner.credit_code} is taken"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(_row(owner), condition=OwnerRow.version == previous.version)
        if owner.credit_code != previous.credit_code:
            tx.delete(
                OwnerRow(owner_id=_guard_key(previous.credit_code)),
                condition=OwnerRow.holder == owner.owner_id,
            )
            tx.save(
                OwnerRow(owner_id=_guard_key(owner.credit_code), holder=owner.owner_id),
                condition=OwnerRow.owner_id.does_not_exist(),
            )
        event_bus.stage(tx, events)


def get(owner_id: str) -> Owner:
    with translated(missing=f"owner {owner_id} not found"):
        if owner_id.startswith("credit-code#"):
            raise OwnerRow.DoesNotExist()
        row = OwnerRow.get(owner_id)
    return Owner.model_validate(row.document)


def list_owners(
    *, owner_type: str | None, keyword: str | None, by_code: bool, limit: int, cursor: str | None
) -> OwnerPage:
    """`keyword` matches the name, and the credit code too when `by_code` (for the admin only: a
    search the public could make would confirm a code it is not shown, character by character). For
    the same reason the public's keyword never matches the name of an owner that is a person (shown
    masked): it would confirm the name."""
    match = None
    if keyword:
        match = OwnerRow.search_text.contains(keyword.lower())
        if by_code:
            match = match | OwnerRow.search_code.contains(keyword.lower())
        else:
            match = match & (OwnerRow.owner_type != "person")
    filters = [OwnerRow.owner_type == owner_type if owner_type else None, match]
    rows, next_cursor = query_page(
        OwnerRow.by_listing,
        LISTING,
        filters=filters,
        limit=limit,
        cursor=cursor,
        cursor_keys={"owner_id", "listing"},
    )
    return OwnerPage(owners=[Owner.model_validate(r.document) for r in rows], cursor=next_cursor)
