"""Routes of the service-item catalogue (DOMAIN.md §1): admin writes, public reads."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.catalogue import (
    ITEM_CODE_PATTERN,
    ItemDefinition,
    ItemStatus,
    ItemVersion,
    ServiceType,
)
from marketplace.domain.model import Model, StrictModel
from marketplace.services import catalogue as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


class NewItem(ItemDefinition):
    code: str = Field(pattern=ITEM_CODE_PATTERN, description="unified item code, e.g. ZJ-HP-001")
    change_note: str = Field(default="", max_length=500)


class ItemRevision(ItemDefinition):
    expected_version: int | None = Field(
        default=None, ge=1, description="the version the change is based on; a stale one is a 409"
    )
    change_note: str = Field(min_length=1, max_length=500, description="why the item changes")


class Retirement(StrictModel):
    reason: str = Field(min_length=1, max_length=500)
    effective_from: date
    expected_version: int | None = Field(default=None, ge=1)


class ItemListQuery(PageQuery):
    service_type: ServiceType | None = None
    department: str | None = Field(default=None, max_length=100)
    keyword: str | None = Field(default=None, min_length=1, max_length=50)
    status: ItemStatus | None = ItemStatus.active


class ItemDetailQuery(StrictModel):
    version: int | None = Field(default=None, ge=1)


class ItemDetailOut(Model):
    item: ItemVersion = Field(description="the newest version, or the one asked for with ?version=")
    in_force: ItemVersion | None = Field(description="the version in force today")
    history: list[ItemVersion]


@route(
    bp,
    "/catalogue/items",
    "POST",
    name="create_catalogue_item",
    summary="Create a catalogue item",
    roles=("admin",),
    body=NewItem,
    response=ItemVersion,
    status=201,
    idempotent=True,
)
def create_item(call: Call) -> ItemVersion:
    body: NewItem = call.body
    definition = ItemDefinition.model_validate(body.model_dump(exclude={"code", "change_note"}))
    return service.create_item(body.code, definition, call.caller, note=body.change_note)


@route(
    bp,
    "/catalogue/items/{code}",
    "PUT",
    name="revise_catalogue_item",
    summary="Revise a catalogue item (a new version)",
    roles=("admin",),
    body=ItemRevision,
    response=ItemVersion,
)
def revise_item(call: Call) -> ItemVersion:
    body: ItemRevision = call.body
    definition = ItemDefinition.model_validate(body.model_dump(exclude={"expected_version", "change_note"}))
    return service.revise_item(
        call.params["code"],
        definition,
        call.caller,
        expected_version=body.expected_version,
        note=body.change_note,
    )


@route(
    bp,
    "/catalogue/items/{code}/retirement",
    "POST",
    name="retire_catalogue_item",
    summary="Retire a catalogue item (its history stays readable)",
    roles=("admin",),
    body=Retirement,
    response=ItemVersion,
)
def retire_item(call: Call) -> ItemVersion:
    body: Retirement = call.body
    return service.retire_item(
        call.params["code"],
        call.caller,
        effective_from=body.effective_from,
        reason=body.reason,
        expected_version=body.expected_version,
    )


@route(
    bp,
    "/catalogue/items",
    name="list_catalogue_items",
    summary="List catalogue items",
    query=ItemListQuery,
    response=Page[ItemVersion],
)
def list_items(call: Call) -> Page[ItemVersion]:
    q: ItemListQuery = call.query
    page = service.list_items(
        service_type=q.service_type.value if q.service_type else None,
        department=q.department,
        keyword=q.keyword,
        status=q.status.value if q.status else None,
        limit=q.limit,
        cursor=q.cursor,
    )
    return Page[ItemVersion](items=page.items, cursor=page.cursor)


@route(
    bp,
    "/catalogue/items/{code}",
    name="get_catalogue_item",
    summary="A catalogue item with its history",
    query=ItemDetailQuery,
    response=ItemDetailOut,
)
def get_item(call: Call) -> ItemDetailOut:
    q: ItemDetailQuery = call.query
    detail = service.item_detail(call.params["code"], version=q.version)
    return ItemDetailOut(item=detail.selected, in_force=detail.in_force, history=detail.history)
