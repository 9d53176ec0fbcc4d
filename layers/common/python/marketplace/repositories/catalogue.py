"""Catalogue items and their versions in the `catalogue` table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.transactions import TransactWrite

from marketplace.domain.catalogue import ItemStatus, ItemVersion, search_text
from marketplace.errors import NotFound
from marketplace.events import DomainEvent
from marketplace.repositories import event_bus
from marketplace.repositories.base import connection, query_page, translated
from marketplace.repositories.tables import CatalogueItemRow

HEAD = "HEAD"
LISTING = "ITEM"


def _version_key(version: int) -> str:
    return f"V#{version:06d}"


@dataclass(frozen=True)
class ItemPage:
    items: list[ItemVersion]
    cursor: str | None


def _head_row(item: ItemVersion) -> CatalogueItemRow:
    return CatalogueItemRow(
        code=item.code,
        sk=HEAD,
        latest_version=item.version,
        status=item.status.value,
        listing=LISTING,
        idx_type=item.service_type.value,
        idx_department=item.department,
        search_text=search_text(item, item.code),
        document=item.model_dump(mode="json"),
    )


def _version_row(item: ItemVersion) -> CatalogueItemRow:
    return CatalogueItemRow(
        code=item.code, sk=_version_key(item.version), document=item.model_dump(mode="json")
    )


def add_first_version(item: ItemVersion, events: list[DomainEvent]) -> None:
    """Create an item; a code that already exists, in any state, is a conflict."""
    conflict = f"catalogue item {item.code} already exists"
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(_head_row(item), condition=CatalogueItemRow.code.does_not_exist())
        tx.save(_version_row(item), condition=CatalogueItemRow.code.does_not_exist())
        event_bus.stage(tx, events)


def add_version(item: ItemVersion, expected_latest: int, events: list[DomainEvent]) -> None:
    """Append a version; it only lands if nobody else appended one since `expected_latest`."""
    conflict = (
        f"catalogue item {item.code} changed since version {expected_latest}; read it again and resubmit"
    )
    with translated(conflict=conflict), TransactWrite(connection=connection()) as tx:
        tx.save(_head_row(item), condition=CatalogueItemRow.latest_version == expected_latest)
        tx.save(_version_row(item), condition=CatalogueItemRow.code.does_not_exist())
        event_bus.stage(tx, events)


def latest(code: str) -> ItemVersion:
    with translated(missing=f"catalogue item {code} not found"):
        row = CatalogueItemRow.get(code, HEAD)
    return ItemVersion.model_validate(row.document)


def history(code: str) -> list[ItemVersion]:
    rows = CatalogueItemRow.query(code, CatalogueItemRow.sk.startswith("V#"))
    versions = [ItemVersion.model_validate(r.document) for r in rows]
    if not versions:
        raise NotFound(f"catalogue item {code} not found")
    return versions


def list_items(
    *,
    service_type: str | None,
    department: str | None,
    keyword: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> ItemPage:
    """A page of items (their newest versions), always a Query on one of the table's indexes."""
    filters = [
        CatalogueItemRow.status == status if status else None,
        CatalogueItemRow.search_text.contains(keyword.lower()) if keyword else None,
    ]
    if service_type:
        index: Any = CatalogueItemRow.by_type
        hash_value, index_key = service_type, "idx_type"
        filters.append(CatalogueItemRow.idx_department == department if department else None)
    elif department:
        index, hash_value, index_key = CatalogueItemRow.by_department, department, "idx_department"
    else:
        index, hash_value, index_key = CatalogueItemRow.by_listing, LISTING, "listing"
    rows, next_cursor = query_page(
        index, hash_value, filters=filters, limit=limit, cursor=cursor, cursor_keys={"code", "sk", index_key}
    )
    return ItemPage(items=[ItemVersion.model_validate(r.document) for r in rows], cursor=next_cursor)


def is_active(item: ItemVersion) -> bool:
    return item.status == ItemStatus.active
