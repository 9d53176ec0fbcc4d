"""Routes of the owner registry (DOMAIN.md §3)."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import Field

from marketplace.domain.owners import Owner, OwnerProfile, OwnerPublic, OwnerType
from marketplace.services import owners as service
from marketplace.web.http import Call, route
from marketplace.web.pages import Page, PageQuery

bp = Blueprint(__name__)


class OwnerListQuery(PageQuery):
    owner_type: OwnerType | None = None
    keyword: str | None = Field(default=None, min_length=1, max_length=50)


@route(
    bp,
    "/owners",
    "POST",
    name="register_owner",
    summary="Register the caller's unit as a project owner",
    roles=("owner",),
    body=OwnerProfile,
    response=Owner,
    status=201,
    idempotent=True,
    description="The owner id is the organisation id in the caller's token; a unit registers once.",
)
def register(call: Call) -> Owner:
    return service.register_owner(call.body, call.caller)


@route(
    bp,
    "/owners/{owner_id}",
    "PUT",
    name="update_owner",
    summary="Update the caller's own registration",
    roles=("owner",),
    body=OwnerProfile,
    response=Owner,
)
def update(call: Call) -> Owner:
    return service.update_owner(call.params["owner_id"], call.body, call.caller)


@route(
    bp,
    "/owners",
    name="list_owners",
    summary="List owners (admin: everything; others: name and type)",
    optional_auth=True,
    query=OwnerListQuery,
    response=Page[Owner | OwnerPublic],
)
def list_owners(call: Call) -> Page[Owner | OwnerPublic]:
    q: OwnerListQuery = call.query
    owners, cursor = service.list_owners(
        viewer=call.principal,
        owner_type=q.owner_type.value if q.owner_type else None,
        keyword=q.keyword,
        limit=q.limit,
        cursor=q.cursor,
    )
    return Page[Owner | OwnerPublic](items=list(owners), cursor=cursor)


@route(
    bp,
    "/owners/{owner_id}",
    name="get_owner",
    summary="An owner (admin and the owner itself: everything; others: name and type)",
    optional_auth=True,
    response=Owner | OwnerPublic,
)
def get(call: Call) -> Owner | OwnerPublic:
    return service.get_owner(call.params["owner_id"], call.principal)
