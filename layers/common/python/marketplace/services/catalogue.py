"""Use cases of the service-item catalogue (DOMAIN.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from marketplace.auth import Principal
from marketplace.clock import iso, local_today, utcnow
from marketplace.domain.catalogue import ItemDefinition, ItemStatus, ItemVersion, in_force
from marketplace.domain.model import revised
from marketplace.errors import Conflict, NotFound, invalid
from marketplace.events import event
from marketplace.repositories import catalogue as repo
from marketplace.repositories import event_bus


@dataclass(frozen=True)
class ItemDetail:
    selected: ItemVersion
    in_force: ItemVersion | None
    history: list[ItemVersion]


def _summary(item: ItemVersion) -> dict[str, object]:
    return {
        "code": item.code,
        "version": item.version,
        "name": item.name,
        "service_type": item.service_type.value,
        "department": item.department,
        "industry": item.industry,
        "status": item.status.value,
        "effective_from": item.effective_from.isoformat(),
    }


def create_item(code: str, definition: ItemDefinition, by: Principal, note: str = "") -> ItemVersion:
    item = ItemVersion(
        **definition.model_dump(),
        code=code,
        version=1,
        status=ItemStatus.active,
        recorded_at=iso(utcnow()),
        recorded_by=by.subject,
        change_note=note,
    )
    events = [event("CatalogueItemCreated", subject=code, data=_summary(item), actor=by.subject)]
    repo.add_first_version(item, events)
    event_bus.flush(events)
    return item


def revise_item(
    code: str, definition: ItemDefinition, by: Principal, *, expected_version: int | None, note: str
) -> ItemVersion:
    """A change is a new version; the ones before it stay readable."""
    current = repo.latest(code)
    if current.status == ItemStatus.retired:
        raise Conflict(f"catalogue item {code} is retired; retired items are not revised")
    _check_expected(current, expected_version)
    if definition.effective_from < current.effective_from:
        # `in_force` takes the newest version in effect: an earlier date would erase the current one
        # from the record of what was in force when purchases and letters cited it.
        raise invalid("effective_from", "a revision cannot take effect before the version it replaces")
    item = ItemVersion(
        **definition.model_dump(),
        code=code,
        version=current.version + 1,
        status=ItemStatus.active,
        recorded_at=iso(utcnow()),
        recorded_by=by.subject,
        change_note=note,
    )
    events = [event("CatalogueItemRevised", subject=code, data=_summary(item), actor=by.subject)]
    repo.add_version(item, current.version, events)
    event_bus.flush(events)
    return item


def retire_item(
    code: str, by: Principal, *, effective_from: date, reason: str, expected_version: int | None
) -> ItemVersion:
    """Retiring is a last version with status `retired`: the item can no longer be traded."""
    current = repo.latest(code)
    if current.status == ItemStatus.retired:
        raise Conflict(f"catalogue item {code} is already retired")
    _check_expected(current, expected_version)
    if effective_from < current.effective_from:
        raise invalid("effective_from", "a retirement cannot take effect before the version it ends")
    item = revised(
        current,
        version=current.version + 1,
        status=ItemStatus.retired,
        effective_from=effective_from,
        recorded_at=iso(utcnow()),
        recorded_by=by.subject,
        change_note=reason,
    )
    data = _summary(item) | {"reason": reason}
    events = [event("CatalogueItemRetired", subject=code, data=data, actor=by.subject)]
    repo.add_version(item, current.version, events)
    event_bus.flush(events)
    return item


def _check_expected(current: ItemVersion, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            f"catalogue item {current.code} is at version {current.version}, not {expected_version}; "
            "read it again and resubmit"
        )


def item_detail(code: str, *, version: int | None = None, on: date | None = None) -> ItemDetail:
    """The newest version (or `version`), the one in force on `on` (today), and the history."""
    versions = repo.history(code)
    selected = versions[-1]
    if version is not None:
        selected = next((v for v in versions if v.version == version), None) or _no_version(code, version)
    today = on or local_today()  # effective dates are the region's dates, as purchases read them
    return ItemDetail(selected=selected, in_force=in_force(versions, today), history=versions)


def _no_version(code: str, version: int) -> ItemVersion:
    raise NotFound(f"catalogue item {code} has no version {version}")


def list_items(
    *,
    service_type: str | None,
    department: str | None,
    keyword: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> repo.ItemPage:
    return repo.list_items(
        service_type=service_type,
        department=department,
        keyword=keyword,
        status=status,
        limit=limit,
        cursor=cursor,
    )
